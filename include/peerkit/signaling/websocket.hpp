// Signaling over WebSocket (RFC 6455) with Boost.Beast: a client transport, and a server that
// accepts clients (each a transport of its own) and answers plain HTTP requests through a hook
// (the browser-echo example serves its page that way). One text message per frame.
//
//   auto c = co_await websocket_transport::async_connect(ex, "127.0.0.1", port, "/room", use_awaitable);
//   auto s = websocket_server::listen(ex, {address_v4::loopback(), 0});
//   auto t = co_await s->async_accept(use_awaitable);   // t->target() == "/room"
//
// A frame over max_message_size fails the connection with close code 1009 (RFC 6455 7.4.1):
// WebSocket has no way to skip one message. Malformed JSON within the limit is reported on that
// receive and the next message is delivered normally.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/asio/detail/completion.hpp>
#include <peerkit/signaling/detail/transport_impl.hpp>
#include <peerkit/signaling/error.hpp>
#include <peerkit/signaling/transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace peerkit::signaling {

// What the server answers to a plain HTTP request (not a WebSocket upgrade).
struct http_response {
    unsigned status = 404;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body = "not found\n";
};

struct websocket_config {
    transport_config transport{};
    std::chrono::seconds handshake_timeout{10};  // TCP connect + HTTP upgrade, and the close handshake
    std::size_t max_request_header = 8192;       // bytes of an HTTP request header (server)
};

struct websocket_server_config {
    websocket_config websocket{};
    std::size_t max_pending_accepts = 64;  // upgraded clients not yet taken by async_accept; more are refused
    std::size_t max_handshaking = 64;      // connections still in the HTTP stage; more are dropped at once
    // Plain HTTP requests (no upgrade). Default: 404.
    std::function<http_response(std::string_view target)> on_http;
};

template <class Executor>
class basic_websocket_transport;
template <class Executor>
class basic_websocket_server;

namespace detail {

namespace beast = boost::beast;

template <class Executor>
class websocket_impl final : public transport_impl<Executor> {
public:
    [[nodiscard]] std::string_view transport_name() const noexcept override { return "websocket"; }
private:
    using base = transport_impl<Executor>;

public:
    using strand_type = typename base::strand_type;
    using tcp = boost::asio::ip::tcp;
    // Beast's stream over a type-erased executor that holds our strand: every internal
    // completion runs on the strand, and Beast's timer machinery sees the executor type it is
    // tested with (its legacy work tracking does not accept strand<any_io_executor>).
    using stream_type = beast::websocket::stream<beast::tcp_stream>;

    websocket_impl(const Executor& ex, const websocket_config& config)
        : base(ex, config.transport), ws_(boost::asio::any_io_executor(this->strand())), handshake_timeout_(config.handshake_timeout),
          max_request_header_(config.max_request_header)
    {
        ws_.read_message_max(config.transport.codec.max_message_size);
        ws_.auto_fragment(false);
    }

    [[nodiscard]] const std::string& target() const noexcept { return target_; }
    [[nodiscard]] auto& socket() { return beast::get_lowest_layer(ws_).socket(); }

    // Client: resolve, connect, upgrade. `done(result<void>)` runs on the strand.
    template <class F>
    void connect(std::string host, std::uint16_t port, std::string target, F done)
    {
        target_ = std::move(target);
        resolver_.emplace(boost::asio::any_io_executor(this->strand()));
        auto self = shared();
        boost::asio::post(this->strand(), [self, host = std::move(host), port, done = std::move(done)]() mutable {
            self->resolver_->async_resolve(
                host, std::to_string(port),
                [self, host, port, done = std::move(done)](boost::system::error_code ec, tcp::resolver::results_type results) mutable {
                    if (ec) return done(fail(ec, "websocket: resolve ", host));
                    auto& lowest = beast::get_lowest_layer(self->ws_);
                    lowest.expires_after(self->handshake_timeout_);
                    lowest.async_connect(results, [self, host, port, done = std::move(done)](boost::system::error_code ec2,
                                                                                               const tcp::endpoint&) mutable {
                        if (ec2) return done(fail(ec2, "websocket: connect to ", host, ":", port));
                        self->ws_.async_handshake(host + ":" + std::to_string(port), self->target_,
                                                  [self, host, port, done = std::move(done)](boost::system::error_code ec3) mutable {
                                                      if (ec3) {
                                                          if (ec3 == beast::websocket::error::upgrade_declined)
                                                              return done(make_error(errc::rejected, "websocket: ", host, ":", port,
                                                                                     self->target_, " declined the upgrade"));
                                                          return done(fail(ec3, "websocket: handshake with ", host, ":", port));
                                                      }
                                                      self->opened(beast::role_type::client);
                                                      done(result<void>());
                                                  });
                    });
                });
        });
    }

    // Server: read the HTTP request; upgrade it or answer it. `done(result<bool upgraded>)`.
    template <class F>
    void serve(const std::function<http_response(std::string_view)>& on_http, F done)
    {
        auto self = shared();
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(max_request_header_));
        parser_->body_limit(4096);
        beast::get_lowest_layer(ws_).expires_after(handshake_timeout_);
        beast::http::async_read(
            beast::get_lowest_layer(ws_), read_buffer_, *parser_,
            [self, on_http, done = std::move(done)](boost::system::error_code ec, std::size_t) mutable {
                if (ec) return done(result<bool>(fail(ec, "websocket server: reading the request")));
                auto request = self->parser_->release();
                self->target_ = std::string(request.target());
                if (!beast::websocket::is_upgrade(request)) {
                    self->answer_http(on_http ? on_http(self->target_) : http_response{}, request.version());
                    return done(result<bool>(false));
                }
                self->ws_.set_option(beast::websocket::stream_base::decorator(
                    [](beast::websocket::response_type& res) { res.set(beast::http::field::server, "peerkit"); }));
                self->ws_.async_accept(request, [self, done = std::move(done)](boost::system::error_code ec2) mutable {
                    if (ec2) return done(result<bool>(fail(ec2, "websocket server: upgrade")));
                    self->opened(beast::role_type::server);
                    done(result<bool>(true));
                });
            });
    }

    // Close with a code and reason (RFC 6455 7.4); any thread.
    void close_with(std::uint16_t code, std::string reason)
    {
        boost::asio::post(this->strand(), [self = shared(), code, reason = std::move(reason)]() mutable {
            self->close_reason_ = beast::websocket::close_reason(static_cast<beast::websocket::close_code>(code), reason);
        });
        this->close();
    }

private:
    std::shared_ptr<websocket_impl> shared() { return std::static_pointer_cast<websocket_impl>(this->shared_from_this()); }

    template <class... Parts>
    static error fail(const boost::system::error_code& ec, const Parts&... parts)
    {
        error e = make_error(std::error_code(ec), parts...);
        const std::string reason = ec.message();
        e.append(": ").append(reason);
        return e;
    }

    void opened(beast::role_type role)
    {
        beast::get_lowest_layer(ws_).expires_never();
        auto timeouts = beast::websocket::stream_base::timeout::suggested(role);
        timeouts.handshake_timeout = handshake_timeout_;
        ws_.set_option(timeouts);
        ws_.text(true);
        open_ = true;
        read();
        write();  // frames sent before the upgrade completed
    }

    void answer_http(const http_response& reply, unsigned version)
    {
        auto res = std::make_shared<beast::http::response<beast::http::string_body>>(
            static_cast<beast::http::status>(reply.status), version);
        res->set(beast::http::field::server, "peerkit");
        res->set(beast::http::field::content_type, reply.content_type);
        res->keep_alive(false);
        res->body() = reply.body;
        res->prepare_payload();
        beast::http::async_write(beast::get_lowest_layer(ws_), *res,
                                 [self = shared(), res](boost::system::error_code, std::size_t) {
                                     boost::system::error_code ignored;
                                     self->socket().shutdown(tcp::socket::shutdown_both, ignored);
                                     self->socket().close(ignored);
                                 });
    }

    void read()
    {
        if (reading_ || !open_ || this->closed()) return;
        if (this->inbox_full()) return;  // resumed by on_inbox_space
        reading_ = true;
        ws_.async_read(read_buffer_, [self = shared()](boost::system::error_code ec, std::size_t) {
            self->reading_ = false;
            if (ec) {
                self->open_ = false;
                // A close frame may have arrived even when the read then failed (the peer tore
                // the TCP connection down before our close reply went out): report its code.
                if (ec == beast::websocket::error::closed || self->ws_.reason().code != beast::websocket::close_code::none) {
                    const auto& r = self->ws_.reason();
                    const std::string reason(r.reason.data(), r.reason.size());
                    self->remote_closed(make_error(errc::closed, "websocket closed by peer: ", static_cast<unsigned>(r.code),
                                                   reason.empty() ? "" : " ", reason));
                } else if (ec == beast::websocket::error::message_too_big) {
                    self->remote_closed(make_error(errc::message_too_large, "websocket: a message exceeded max_message_size ",
                                                   self->config().codec.max_message_size, "; connection failed (1009)"));
                } else if (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset ||
                           ec == boost::asio::error::broken_pipe || ec == beast::error::timeout) {
                    const std::string reason = ec.message();
                    self->remote_closed(make_error(errc::closed, "websocket connection lost: ", reason));
                } else {
                    self->remote_closed(fail(ec, "websocket: read"));
                }
                self->release();
                return;
            }
            self->deliver(beast::buffers_to_string(self->read_buffer_.data()));
            self->read_buffer_.consume(self->read_buffer_.size());
            self->read();
        });
    }

    void on_inbox_space() override { read(); }

    void on_send(std::string text) override
    {
        outbox_.push_back(std::move(text));
        write();
    }

    void write()
    {
        if (writing_ || !open_ || outbox_.empty()) return;
        writing_ = true;
        ws_.async_write(boost::asio::buffer(outbox_.front()), [self = shared()](boost::system::error_code ec, std::size_t) {
            self->writing_ = false;
            self->outbox_.pop_front();
            self->sent(1);
            if (ec) {
                self->sent(self->outbox_.size());
                self->outbox_.clear();
                return;  // the read side reports the failure
            }
            if (!self->outbox_.empty()) self->write();
            else if (self->close_pending_) self->start_close();
        });
    }

    void on_close_requested() override
    {
        close_pending_ = true;
        if (!open_) {
            this->sent(outbox_.size());
            outbox_.clear();
            release();
            return;
        }
        if (!writing_) start_close();  // else once the queued frames are written
    }

    void start_close()
    {
        if (closing_) return;
        closing_ = true;
        const auto reason = close_reason_.value_or(beast::websocket::close_reason(beast::websocket::close_code::normal));
        ws_.async_close(reason, [self = shared()](boost::system::error_code) { self->release(); });
    }

    void release()
    {
        open_ = false;
        beast::get_lowest_layer(ws_).close();
    }

    stream_type ws_;
    std::chrono::seconds handshake_timeout_;
    std::size_t max_request_header_;
    std::optional<tcp::resolver> resolver_;
    std::optional<beast::http::request_parser<beast::http::empty_body>> parser_;
    beast::flat_buffer read_buffer_;
    std::string target_;
    std::deque<std::string> outbox_;
    std::optional<beast::websocket::close_reason> close_reason_;
    bool open_ = false;
    bool reading_ = false;
    bool writing_ = false;
    bool close_pending_ = false;
    bool closing_ = false;
};

}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_websocket_transport : public basic_transport<detail::websocket_impl<Executor>> {
    using base = basic_transport<detail::websocket_impl<Executor>>;
    using impl_type = detail::websocket_impl<Executor>;

public:
    // Connects to ws://host:port/target: void(peerkit::result<basic_websocket_transport>).
    template <class CompletionToken>
    static auto async_connect(const Executor& ex, std::string host, std::uint16_t port, std::string target,
                              const websocket_config& config, CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(result<basic_websocket_transport>)>(
            [](auto handler, const Executor& e, std::string h, std::uint16_t p, std::string t, const websocket_config& c) {
                auto impl = std::make_shared<impl_type>(e, c);
                peerkit::asio::detail::posted_completion<result<basic_websocket_transport>> done(std::move(handler), e);
                impl->connect(std::move(h), p, std::move(t), [impl, done = std::move(done)](result<void> r) mutable {
                    if (!r) {
                        impl->close();
                        done.post(r.error());
                        return;
                    }
                    done.post(basic_websocket_transport(impl));
                });
            },
            token, ex, std::move(host), port, std::move(target), config);
    }
    template <class CompletionToken>
    static auto async_connect(const Executor& ex, std::string host, std::uint16_t port, std::string target,
                              CompletionToken&& token)
    {
        return async_connect(ex, std::move(host), port, std::move(target), websocket_config{},
                             std::forward<CompletionToken>(token));
    }

    // The request target ("/room?x=y") the client asked for.
    [[nodiscard]] const std::string& target() const noexcept { return this->impl()->target(); }

    // Closes with a WebSocket close code and reason (after the queued frames).
    void close(std::uint16_t code, std::string reason)
    {
        if (this->impl()) this->impl()->close_with(code, std::move(reason));
    }
    using base::close;

    explicit basic_websocket_transport(std::shared_ptr<impl_type> impl) noexcept : base(std::move(impl)) {}
};

namespace detail {

template <class Executor>
class websocket_server_impl final : public std::enable_shared_from_this<websocket_server_impl<Executor>>,
                                    public peerkit::asio::detail::context_shutdown_participant {
public:
    using tcp = boost::asio::ip::tcp;
    using strand_type = boost::asio::strand<Executor>;
    using transport_type = basic_websocket_transport<Executor>;
    using accept_completion = peerkit::asio::detail::posted_completion<result<transport_type>>;

    websocket_server_impl(const Executor& ex, websocket_server_config config)
        : executor_(ex), strand_(boost::asio::make_strand(ex)), acceptor_(strand_), config_(std::move(config))
    {
    }

    result<void> listen(const tcp::endpoint& local)
    {
        boost::system::error_code ec;
        acceptor_.open(local.protocol(), ec);
        if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor_.bind(local, ec);
        if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
        if (ec) {
            const std::string where = local.address().to_string();
            const std::string reason = ec.message();
            return make_error(std::error_code(ec), "websocket server: listen on ", where, ":", local.port(), ": ", reason);
        }
        local_ = acceptor_.local_endpoint(ec);
        peerkit::asio::detail::register_for_context_shutdown(executor_, this->weak_from_this());
        boost::asio::post(strand_, [self = this->shared_from_this()] { self->accept(); });
        return {};
    }

    [[nodiscard]] const tcp::endpoint& local_endpoint() const noexcept { return local_; }
    [[nodiscard]] const Executor& executor() const noexcept { return executor_; }

    void start_accept(accept_completion done)
    {
        boost::asio::post(strand_, [self = this->shared_from_this(), done = std::move(done)]() mutable {
            if (!self->ready_.empty()) {
                auto impl = std::move(self->ready_.front());
                self->ready_.pop_front();
                done.post(transport_type(std::move(impl)));
                return;
            }
            if (self->closed_) {
                done.post(make_error(errc::closed, "websocket server is closed"));
                return;
            }
            self->waiters_.push_back(std::move(done));
        });
    }

    // The context is going away: waiting accepts are destroyed unrun (shutdown_registry.hpp).
    void on_context_shutdown() noexcept override
    {
        closed_ = true;
        waiters_.clear();
        ready_.clear();
    }

    void close()
    {
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            if (self->closed_) return;
            self->closed_ = true;
            boost::system::error_code ignored;
            self->acceptor_.close(ignored);
            for (auto& impl : self->ready_) impl->close();
            self->ready_.clear();
            while (!self->waiters_.empty()) {
                self->waiters_.front().post(make_error(errc::closed, "websocket server closed"));
                self->waiters_.pop_front();
            }
        });
    }

private:
    using impl_type = websocket_impl<Executor>;

    void accept()
    {
        if (closed_) return;
        auto impl = std::make_shared<impl_type>(executor_, config_.websocket);
        acceptor_.async_accept(impl->socket(), [self = this->shared_from_this(), impl](boost::system::error_code ec) {
            if (self->closed_) return;
            if (!ec) self->handshake(impl);
            self->accept();  // transient accept errors (EMFILE ...) do not stop the server
        });
    }

    void handshake(const std::shared_ptr<impl_type>& impl)
    {
        if (handshaking_ >= config_.max_handshaking) {
            impl->close();
            return;
        }
        ++handshaking_;
        impl->serve(config_.on_http, [self = this->shared_from_this(), impl](result<bool> upgraded) {
            boost::asio::post(self->strand_, [self, impl, upgraded]() {
                --self->handshaking_;
                if (!upgraded || !*upgraded) {
                    if (!upgraded) impl->close();
                    return;
                }
                if (self->closed_) {
                    impl->close();
                    return;
                }
                if (!self->waiters_.empty()) {
                    self->waiters_.front().post(transport_type(impl));
                    self->waiters_.pop_front();
                    return;
                }
                if (self->ready_.size() >= self->config_.max_pending_accepts) {
                    impl->close_with(1013, "server busy");  // RFC 6455 7.4.1 try again later
                    return;
                }
                self->ready_.push_back(impl);
            });
        });
    }

    Executor executor_;
    strand_type strand_;
    boost::asio::basic_socket_acceptor<tcp, strand_type> acceptor_;
    websocket_server_config config_;
    tcp::endpoint local_;
    bool closed_ = false;
    std::size_t handshaking_ = 0;
    std::deque<std::shared_ptr<impl_type>> ready_;
    std::deque<accept_completion> waiters_;
};

}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_websocket_server {
    using impl_type = detail::websocket_server_impl<Executor>;

public:
    using executor_type = Executor;
    using transport_type = basic_websocket_transport<Executor>;

    // Listens on `local` (port 0: a free port) and starts accepting.
    static result<basic_websocket_server> listen(const Executor& ex, const boost::asio::ip::tcp::endpoint& local,
                                                 websocket_server_config config = {})
    {
        auto impl = std::make_shared<impl_type>(ex, std::move(config));
        if (auto r = impl->listen(local); !r) return r.error();
        return basic_websocket_server(std::move(impl));
    }

    basic_websocket_server(basic_websocket_server&&) noexcept = default;
    basic_websocket_server& operator=(basic_websocket_server&& other) noexcept
    {
        if (this != &other) {
            close();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }
    ~basic_websocket_server() { close(); }

    [[nodiscard]] executor_type get_executor() const noexcept { return impl_->executor(); }
    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const { return impl_->local_endpoint(); }

    // The next upgraded client: void(peerkit::result<basic_websocket_transport<Executor>>).
    template <class CompletionToken>
    auto async_accept(CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(result<transport_type>)>(
            [](auto handler, const std::shared_ptr<impl_type>& impl) {
                impl->start_accept(typename impl_type::accept_completion(std::move(handler), impl->executor()));
            },
            token, impl_);
    }

    // Stops listening; waiting accepts complete with errc::closed. Accepted clients stay open.
    void close()
    {
        if (impl_) impl_->close();
    }

private:
    explicit basic_websocket_server(std::shared_ptr<impl_type> impl) noexcept : impl_(std::move(impl)) {}
    std::shared_ptr<impl_type> impl_;
};

using websocket_transport = basic_websocket_transport<>;
using websocket_server = basic_websocket_server<>;

}  // namespace peerkit::signaling
