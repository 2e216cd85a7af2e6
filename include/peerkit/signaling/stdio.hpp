// Signaling over JSON lines on a pair of file descriptors (stdin/stdout by default), through
// Asio POSIX stream descriptors: one message per line, "\n"-terminated ("\r\n" accepted).
// This is the `peer` example's contract: tests and benchmarks pipe two programs together.
//
// Notes: the descriptors are dup()ed, so close() never closes the process's own stdin and
// stdout. Pipes, sockets, terminals and regular files all work (`peer < messages.jsonl`:
// the file's end is the end of the stream). Writing to a
// pipe whose reader has gone raises SIGPIPE, as for any program: ignore it if that can happen.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/signaling/detail/transport_impl.hpp>
#include <peerkit/signaling/error.hpp>
#include <peerkit/signaling/transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/basic_stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::signaling {

namespace detail {
template <class Executor>
class stdio_impl final : public transport_impl<Executor> {
public:
    [[nodiscard]] std::string_view transport_name() const noexcept override { return "stdio"; }
private:
    using base = transport_impl<Executor>;
    using descriptor = boost::asio::posix::basic_stream_descriptor<typename base::strand_type>;

public:
    stdio_impl(const Executor& ex, const transport_config& config)
        : base(ex, config), in_(this->strand()), out_(this->strand())
    {
    }

    result<void> open(int in_fd, int out_fd)
    {
        for (const auto& [fd, d, what] : {std::tuple{in_fd, &in_, "input"}, std::tuple{out_fd, &out_, "output"}}) {
            const int copy = ::dup(fd);
            if (copy < 0) {
                const int e = errno;
                return make_error(std::error_code(e, std::system_category()), "stdio signaling: dup of ", what,
                                  " descriptor ", fd, ": ", std::strerror(e));
            }
            boost::system::error_code ec;
            d->assign(copy, ec);
            if (ec) {
                ::close(copy);
                const std::string reason = ec.message();
                return make_error(std::error_code(ec), "stdio signaling: ", what, " descriptor ", fd,
                                  " cannot be watched: ", reason);
            }
        }
        return {};
    }

    void start()
    {
        boost::asio::post(this->strand(), [self = shared()] { self->read(); });
    }

private:
    std::shared_ptr<stdio_impl> shared() { return std::static_pointer_cast<stdio_impl>(this->shared_from_this()); }

    result<void> validate_frame(std::string_view text) const override
    {
        if (text.find('\n') != std::string_view::npos)
            return make_error(errc::invalid_message, "a stdio signaling frame cannot contain a newline");
        return {};
    }

    void read()
    {
        if (reading_ || this->closed() || ended_) return;
        if (this->inbox_full()) return;  // resumed by on_inbox_space
        reading_ = true;
        in_.async_read_some(boost::asio::buffer(buffer_), [self = shared()](boost::system::error_code ec, std::size_t n) {
            self->reading_ = false;
            self->consume(std::string_view(self->buffer_.data(), n));
            if (ec) {
                self->ended_ = true;
                if (!self->line_.empty() && !self->oversized_) self->finish_line();  // a last line without "\n"
                const std::string reason = ec == boost::asio::error::eof ? std::string("end of input") : ec.message();
                self->remote_closed(make_error(errc::closed, "stdio signaling: ", reason));
                return;
            }
            self->read();
        });
    }

    void consume(std::string_view data)
    {
        const std::size_t max = this->config().codec.max_message_size;
        while (!data.empty()) {
            const auto nl = data.find('\n');
            const std::string_view part = data.substr(0, nl);
            if (!oversized_) {
                if (line_.size() + part.size() > max + 1) {  // +1: a '\r' before the '\n'
                    oversized_ = true;
                    oversized_bytes_ = line_.size();
                    line_.clear();
                } else {
                    line_.append(part);
                }
            }
            if (oversized_) oversized_bytes_ += part.size();
            if (nl == std::string_view::npos) return;
            data.remove_prefix(nl + 1);
            if (oversized_) {
                // The line is dropped and reported; the next line is read normally.
                this->deliver(make_error(errc::message_too_large, "stdio signaling: line of ", oversized_bytes_,
                                         " bytes exceeds max_message_size ", max));
                oversized_ = false;
                oversized_bytes_ = 0;
            } else {
                finish_line();
            }
        }
    }

    void finish_line()
    {
        if (!line_.empty() && line_.back() == '\r') line_.pop_back();
        if (line_.size() > this->config().codec.max_message_size) {
            this->deliver(make_error(errc::message_too_large, "stdio signaling: line of ", line_.size(),
                                     " bytes exceeds max_message_size ", this->config().codec.max_message_size));
        } else if (!line_.empty()) {  // blank lines are keep-alives, not messages
            this->deliver(std::move(line_));
        }
        line_.clear();
    }

    void on_inbox_space() override { read(); }

    void on_send(std::string text) override
    {
        text.push_back('\n');
        outbox_.push_back(std::move(text));
        write();
    }

    void write()
    {
        if (writing_.size() != 0 || outbox_.empty() || write_failed_) return;
        buffers_.clear();
        while (!outbox_.empty() && writing_.size() < 64) {
            writing_.push_back(std::move(outbox_.front()));
            outbox_.pop_front();
        }
        for (const auto& s : writing_) buffers_.push_back(boost::asio::buffer(s));
        boost::asio::async_write(out_, buffers_, [self = shared()](boost::system::error_code ec, std::size_t) {
            self->sent(self->writing_.size());
            self->writing_.clear();
            if (ec) {
                self->write_failed_ = true;
                self->sent(self->outbox_.size());
                self->outbox_.clear();
                const std::string reason = ec.message();
                self->remote_closed(make_error(errc::closed, "stdio signaling: write failed: ", reason));
                self->release();
                return;
            }
            if (!self->outbox_.empty()) self->write();
            else if (self->close_pending_) self->release();
        });
    }

    void on_close_requested() override
    {
        close_pending_ = true;
        boost::system::error_code ignored;
        in_.close(ignored);  // cancels the read
        if (writing_.empty()) release();  // else after the queued lines are written
    }

    void release()
    {
        boost::system::error_code ignored;
        in_.close(ignored);
        out_.close(ignored);
    }

    descriptor in_;
    descriptor out_;
    std::array<char, 16384> buffer_{};
    std::string line_;
    bool reading_ = false;
    bool ended_ = false;
    bool oversized_ = false;
    std::size_t oversized_bytes_ = 0;
    std::deque<std::string> outbox_;
    std::vector<std::string> writing_;
    std::vector<boost::asio::const_buffer> buffers_;
    bool write_failed_ = false;
    bool close_pending_ = false;
};
}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_stdio_transport : public basic_transport<detail::stdio_impl<Executor>> {
    using base = basic_transport<detail::stdio_impl<Executor>>;

public:
    // Watches copies of `in_fd` and `out_fd` (default stdin and stdout) and starts reading.
    static result<basic_stdio_transport> open(const Executor& ex, int in_fd = 0, int out_fd = 1,
                                              const transport_config& config = {})
    {
        auto impl = std::make_shared<detail::stdio_impl<Executor>>(ex, config);
        if (auto r = impl->open(in_fd, out_fd); !r) return r.error();
        impl->start();
        return basic_stdio_transport(std::move(impl));
    }

private:
    explicit basic_stdio_transport(std::shared_ptr<detail::stdio_impl<Executor>> impl) noexcept : base(std::move(impl)) {}
};

using stdio_transport = basic_stdio_transport<>;

}  // namespace peerkit::signaling
