// A TCP or TLS connection for a sans-IO machine that asks for one (TURN over TCP or TLS,
// RFC 8656 3.1, RFC 7065 turns:; the ICE agent's stream_open). The driver owns these: it
// opens one per stream_open, writes the machine's bytes in order, and reports back
// connected / bytes received / error. The machine does the framing; this moves bytes.
//
// TLS verification is always on: the server's chain against the trust store (the system's,
// SSL_CTX_set_default_verify_paths, or stream_tls_config::ca_file) and its name: the host
// name the machine gave (also sent as SNI), or for an IP literal its IP address SAN
// (RFC 6125; RFC 8656 3.1 and RFC 7065 defer to it). There is no switch to skip it.
#pragma once

#include <peerkit/bytes.hpp>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/basic_resolver.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::asio {

struct stream_tls_config {
    // PEM file with the CA certificates trusted to sign servers' certificates (a private
    // deployment, a test CA). Empty: the system's trust store.
    std::string ca_file;
};

namespace detail {

// The client TLS context every TLS stream of a driver shares: TLS 1.2 or later, peer
// verification on, the trust store loaded. An unusable trust store is an error each TLS
// connection reports (it cannot verify anything, so it must not connect).
struct stream_tls_context {
    boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
    std::string error;  // non-empty: the trust store could not be loaded

    explicit stream_tls_context(const stream_tls_config& config)
    {
        boost::system::error_code ec;
        SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
        context.set_verify_mode(boost::asio::ssl::verify_peer, ec);
        if (config.ca_file.empty()) {
            context.set_default_verify_paths(ec);
            if (ec) error = "cannot load the system's trust store: " + ec.message();
        } else {
            context.load_verify_file(config.ca_file, ec);
            if (ec) error = "cannot load the CA file '" + config.ca_file + "': " + ec.message();
        }
    }
};

enum class stream_event_kind : std::uint8_t { connected, data, error };

template <class Executor>
class stream_connection : public std::enable_shared_from_this<stream_connection<Executor>> {
public:
    using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
    using resolver_type = boost::asio::ip::basic_resolver<boost::asio::ip::tcp, Executor>;
    using tls_type = boost::asio::ssl::stream<socket_type&>;
    // (kind, received bytes for data, the reason for error). Called on the executor.
    using handler = std::function<void(stream_event_kind, bytes_view, std::string_view)>;

    // tls: the shared context, or nullptr for plain TCP.
    stream_connection(const Executor& ex, stream_tls_context* tls, handler on_event)
        : resolver_(ex), socket_(ex), tls_context_(tls), on_event_(std::move(on_event))
    {
    }

    void start(std::string host, std::uint16_t port)
    {
        host_ = std::move(host);
        port_ = port;
        if (tls_context_ != nullptr && !tls_context_->error.empty()) {
            fail(tls_context_->error);
            return;
        }
        resolver_.async_resolve(host_, std::to_string(port_),
                                [self = this->shared_from_this()](boost::system::error_code ec, auto results) {
                                    if (self->done_) return;
                                    if (ec) {
                                        self->fail("cannot resolve '" + self->host_ + "': " + ec.message());
                                        return;
                                    }
                                    self->connect(results);
                                });
    }

    void write(std::vector<std::byte> bytes)
    {
        if (done_ || closing_) return;
        queue_.push_back(std::move(bytes));
        if (connected_ && !writing_) write_next();
    }

    // Writes what is queued, then closes (the TURN client's last words, a Refresh with
    // LIFETIME 0, reach the server before the connection ends).
    void close_after_writes()
    {
        if (done_ || closing_) return;
        closing_ = true;
        if (!connected_) {
            abort();
            return;
        }
        if (!writing_) finish();
    }

    // Closes at once; no more events.
    void abort()
    {
        done_ = true;
        on_event_ = nullptr;
        boost::system::error_code ignored;
        resolver_.cancel();
        socket_.close(ignored);
    }

private:
    template <class Results>
    void connect(const Results& results)
    {
        boost::asio::async_connect(socket_, results, [self = this->shared_from_this()](boost::system::error_code ec, const auto&) {
            if (self->done_) return;
            if (ec) {
                self->fail("TCP connection to " + self->where() + " failed: " + ec.message());
                return;
            }
            boost::system::error_code ignored;
            self->socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
            if (self->tls_context_ == nullptr) {
                self->on_connected();
                return;
            }
            self->handshake();
        });
    }

    void handshake()
    {
        tls_.emplace(socket_, tls_context_->context);
        SSL* ssl = tls_->native_handle();
        boost::system::error_code not_ip;
        // Only the error is wanted: it says whether host_ is an IP literal or a name.
        (void)boost::asio::ip::make_address(host_, not_ip);
        if (!not_ip) {
            // RFC 6125 / RFC 5280: an IP literal is matched against the iPAddress SANs; no SNI
            // for addresses (RFC 6066 3).
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
        } else {
            // SSL_set_tlsext_host_name, without the macro's C cast.
            SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     static_cast<void*>(const_cast<char*>(host_.c_str())));
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            SSL_set1_host(ssl, host_.c_str());
        }
        tls_->async_handshake(boost::asio::ssl::stream_base::client,
                              [self = this->shared_from_this()](boost::system::error_code ec) {
                                  if (self->done_) return;
                                  if (ec) {
                                      const long verify = SSL_get_verify_result(self->tls_->native_handle());
                                      if (verify != X509_V_OK)
                                          self->fail("TLS certificate of " + self->where() + " not trusted: " +
                                                     X509_verify_cert_error_string(verify));
                                      else
                                          self->fail("TLS handshake with " + self->where() + " failed: " + ec.message());
                                      return;
                                  }
                                  self->on_connected();
                              });
    }

    void on_connected()
    {
        connected_ = true;
        emit(stream_event_kind::connected, {}, {});
        if (done_) return;
        read();
        if (!queue_.empty() && !writing_) write_next();
        else if (closing_ && !writing_) finish();
    }

    void read()
    {
        auto on_read = [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (self->done_) return;
            if (ec) {
                // After our close the server's end of the stream is expected.
                if (self->closing_) self->abort();
                else self->fail(ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated
                                    ? "the TURN server " + self->where() + " closed the connection"
                                    : "reading from " + self->where() + ": " + ec.message());
                return;
            }
            if (!self->closing_) self->emit(stream_event_kind::data, bytes_view(self->buffer_.data(), n), {});
            if (!self->done_) self->read();
        };
        auto buffer = boost::asio::buffer(buffer_.data(), buffer_.size());
        if (tls_) tls_->async_read_some(buffer, std::move(on_read));
        else socket_.async_read_some(buffer, std::move(on_read));
    }

    void write_next()
    {
        writing_ = true;
        auto on_written = [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
            self->writing_ = false;
            if (self->done_) return;
            if (ec) {
                self->fail("writing to " + self->where() + ": " + ec.message());
                return;
            }
            self->queue_.pop_front();
            if (!self->queue_.empty()) self->write_next();
            else if (self->closing_) self->finish();
        };
        auto buffer = boost::asio::buffer(queue_.front().data(), queue_.front().size());
        if (tls_) boost::asio::async_write(*tls_, buffer, std::move(on_written));
        else boost::asio::async_write(socket_, buffer, std::move(on_written));
    }

    // Everything is written: end our direction and let the server close its own (a close with
    // unread input would reset the connection, and the server could lose our last message).
    void finish()
    {
        boost::system::error_code ignored;
        socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    }

    void fail(std::string reason)
    {
        emit(stream_event_kind::error, {}, reason);
        abort();
    }

    void emit(stream_event_kind kind, bytes_view data, std::string_view reason)
    {
        // A copy: the handler may close this connection, which drops on_event_.
        if (auto h = on_event_) h(kind, data, reason);
    }

    std::string where() const { return host_ + ":" + std::to_string(port_); }

    resolver_type resolver_;
    socket_type socket_;
    stream_tls_context* tls_context_;
    std::optional<tls_type> tls_;
    handler on_event_;
    std::string host_;
    std::uint16_t port_ = 0;
    std::deque<std::vector<std::byte>> queue_;
    std::array<std::byte, 16384> buffer_{};
    bool connected_ = false, writing_ = false, closing_ = false, done_ = false;
};

}  // namespace detail

}  // namespace peerkit::asio
