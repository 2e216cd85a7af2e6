// The machinery every signaling transport shares: a bounded inbox of received frames, the
// queue of waiting receives, send accounting and closing. A transport implementation derives
// from transport_impl and supplies the I/O (writing queued frames, reading frames).
//
// Threading: all state below is touched only on the impl's private strand (over the user's
// executor), except the atomics that let send() and close() answer synchronously from any
// thread. Completion handlers are never run inside that strand: each is posted to its own
// associated executor (by default the transport's executor), so a handler may call send(),
// async_receive() or close() without re-entering the impl or blocking on it.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/signaling/error.hpp>
#include <peerkit/signaling/json.hpp>
#include <peerkit/signaling/message.hpp>

#include <peerkit/asio/detail/completion.hpp>
#include <peerkit/asio/detail/shutdown_registry.hpp>

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace peerkit::signaling {

// Limits shared by every transport. Each is a bound on memory a misbehaving peer or a slow
// reader could otherwise grow without end.
struct transport_config {
    codec_limits codec{};                    // max_message_size bounds every frame, both ways
    std::size_t max_queued_sends = 1024;     // messages accepted by send() and not yet written
    std::size_t max_queued_receives = 1024;  // frames read and not yet taken; reading pauses when full
    // Component `runtime`, debug: received messages that could not be parsed (which transport,
    // why). The receiver gets the same error from async_receive. Off by default.
    log::logger logger{};
};

namespace detail {

using text_handler = peerkit::asio::detail::posted_completion<result<std::string>>;
using message_handler = peerkit::asio::detail::posted_completion<result<message>>;

template <class Executor>
class transport_impl : public std::enable_shared_from_this<transport_impl<Executor>>,
                       public peerkit::asio::detail::context_shutdown_participant {
public:
    using executor_type = Executor;
    using strand_type = boost::asio::strand<Executor>;

    transport_impl(const Executor& ex, const transport_config& config)
        : user_executor_(ex), strand_(boost::asio::make_strand(ex)), config_(config)
    {
    }
    transport_impl(const transport_impl&) = delete;
    transport_impl& operator=(const transport_impl&) = delete;
    virtual ~transport_impl() = default;
    // For log lines: "stdio", "websocket", "memory".
    [[nodiscard]] virtual std::string_view transport_name() const noexcept = 0;

    [[nodiscard]] const Executor& user_executor() const noexcept { return user_executor_; }
    [[nodiscard]] const strand_type& strand() const noexcept { return strand_; }
    [[nodiscard]] const transport_config& config() const noexcept { return config_; }
    [[nodiscard]] bool is_open() const noexcept { return !send_closed_.load(std::memory_order_acquire); }
    [[nodiscard]] std::size_t queued_sends() const noexcept { return queued_sends_.load(std::memory_order_acquire); }
    // Any thread: frames read and not yet taken (at most max_queued_receives, plus the one a
    // read in progress may add).
    [[nodiscard]] std::size_t queued_receives() const noexcept { return queued_receives_.load(std::memory_order_acquire); }

    // Any thread. Queues one frame; fails at once when closed, too large or the queue is full.
    result<void> send_text(std::string text)
    {
        if (send_closed_.load(std::memory_order_acquire))
            return make_error(errc::closed, "send on a closed signaling transport");
        if (text.size() > config_.codec.max_message_size)
            return make_error(errc::message_too_large, "message of ", text.size(),
                              " bytes exceeds max_message_size ", config_.codec.max_message_size);
        if (auto valid = validate_frame(text); !valid) return valid;
        if (queued_sends_.fetch_add(1, std::memory_order_acq_rel) >= config_.max_queued_sends) {
            queued_sends_.fetch_sub(1, std::memory_order_acq_rel);
            return make_error(errc::send_queue_full, "max_queued_sends (", config_.max_queued_sends,
                              ") messages are already waiting");
        }
        boost::asio::post(strand_, [self = this->shared_from_this(), t = std::move(text)]() mutable {
            if (self->closed_) {
                self->sent(1);  // closed meanwhile: the frame is discarded
                return;
            }
            self->on_send(std::move(t));
        });
        return {};
    }

    // Any thread, idempotent, never blocks: the work happens on the strand.
    void close()
    {
        send_closed_.store(true, std::memory_order_release);
        if (close_requested_.exchange(true, std::memory_order_acq_rel)) return;
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            self->fail_receives_on_local_close();
            self->on_close_requested();
        });
    }

    // The user's context is going away: waiting receives are destroyed unrun, as Asio does with
    // its own pending operations (shutdown_registry.hpp). Implementations that store handlers
    // of their own extend this.
    void on_context_shutdown() noexcept override
    {
        closed_ = true;
        waiters_.clear();
        inbox_.clear();
        note_inbox();
    }

    void start_receive(text_handler h) { start_waiter(waiter{std::move(h), 0}); }
    void start_receive(message_handler h) { start_waiter(waiter{std::move(h), 0}); }

protected:
    // Any thread, must not touch state: can this text be sent as one frame?
    virtual result<void> validate_frame(std::string_view) const { return {}; }

    // --- hooks, called on the strand -----------------------------------------------------
    // A frame accepted by send_text(): write it (in order) and call sent() when it is written.
    virtual void on_send(std::string text) = 0;
    // close() was called: receives are already failed; flush what is queued (or not) and
    // release the I/O objects.
    virtual void on_close_requested() = 0;
    // The inbox has room again after being full: resume reading.
    virtual void on_inbox_space() {}
    // One frame left the inbox (taken by a receive, or dropped on close).
    virtual void on_frame_taken() {}

    // --- for implementations, on the strand -----------------------------------------------
    void sent(std::size_t count) noexcept { queued_sends_.fetch_sub(count, std::memory_order_acq_rel); }

    [[nodiscard]] bool inbox_full() const noexcept { return inbox_.size() >= config_.max_queued_receives; }
    [[nodiscard]] bool closed() const noexcept { return closed_; }

    // A frame arrived (or a per-frame error such as an oversized line: the transport carries
    // on after it).
    void deliver(result<std::string> frame)
    {
        if (closed_) {
            on_frame_taken();
            return;
        }
        if (!waiters_.empty()) {
            waiter w = std::move(waiters_.front());
            waiters_.pop_front();
            on_frame_taken();
            complete(std::move(w), std::move(frame));
            return;
        }
        inbox_.push_back(std::move(frame));
        note_inbox();
    }

    // No more frames will arrive; frames already queued are still delivered first.
    void remote_closed(error reason)
    {
        send_closed_.store(true, std::memory_order_release);
        if (end_) return;
        end_ = reason;
        while (!waiters_.empty() && inbox_.empty()) {
            waiter w = std::move(waiters_.front());
            waiters_.pop_front();
            complete(std::move(w), result<std::string>(reason));
        }
    }

private:
    struct waiter {
        std::variant<text_handler, message_handler> handler;  // keeps its executor's work count up
        std::uint64_t id = 0;
    };

    void note_inbox() noexcept { queued_receives_.store(inbox_.size(), std::memory_order_release); }

    void start_waiter(waiter w)
    {
        boost::asio::post(strand_, [self = this->shared_from_this(), w = std::move(w)]() mutable {
            self->on_receive(std::move(w));
        });
    }

    void on_receive(waiter w)
    {
        if (closed_) {
            complete(std::move(w), result<std::string>(make_error(errc::closed, "receive on a closed signaling transport")));
            return;
        }
        if (!inbox_.empty()) {
            const bool was_full = inbox_full();
            result<std::string> frame = std::move(inbox_.front());
            inbox_.pop_front();
            note_inbox();
            on_frame_taken();
            complete(std::move(w), std::move(frame));
            if (was_full && !end_) on_inbox_space();
            return;
        }
        if (end_) {
            complete(std::move(w), result<std::string>(*end_));
            return;
        }
        if (!registered_for_shutdown_) {
            registered_for_shutdown_ = true;
            peerkit::asio::detail::register_for_context_shutdown(user_executor_, this->weak_from_this());
        }
        w.id = ++next_waiter_id_;
        const std::uint64_t id = w.id;
        std::visit(
            [&](auto& h) {
                auto slot = h.cancellation_slot();
                if (slot.is_connected()) {
                    slot.assign([weak = this->weak_from_this(), id](boost::asio::cancellation_type) {
                        if (auto self = weak.lock())
                            boost::asio::post(self->strand_, [self, id] { self->cancel_waiter(id); });
                    });
                }
            },
            w.handler);
        waiters_.push_back(std::move(w));
    }

    void cancel_waiter(std::uint64_t id)
    {
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
            if (it->id == id) {
                waiter w = std::move(*it);
                waiters_.erase(it);
                complete(std::move(w), result<std::string>(make_error(errc::cancelled, "receive cancelled")));
                return;
            }
        }
    }

    void fail_receives_on_local_close()
    {
        closed_ = true;
        while (!inbox_.empty()) {
            inbox_.pop_front();
            note_inbox();
            on_frame_taken();
        }
        while (!waiters_.empty()) {
            waiter w = std::move(waiters_.front());
            waiters_.pop_front();
            complete(std::move(w), result<std::string>(make_error(errc::closed, "signaling transport closed locally")));
        }
    }

    // Runs the handler on its own executor, never inline.
    void complete(waiter w, result<std::string> frame)
    {
        if (auto* text = std::get_if<text_handler>(&w.handler)) {
            text->post(std::move(frame));
            return;
        }
        result<message> parsed = frame ? parse_message(*frame, config_.codec) : result<message>(frame.error());
        if (frame && !parsed)
            PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "signaling (", transport_name(),
                           "): could not parse a received message of ", frame->size(), " bytes: ", parsed.error());
        std::get<message_handler>(w.handler).post(std::move(parsed));
    }

    Executor user_executor_;
    strand_type strand_;
    transport_config config_;
    std::atomic<bool> send_closed_{false};
    std::atomic<bool> close_requested_{false};
    std::atomic<std::size_t> queued_sends_{0};
    std::atomic<std::size_t> queued_receives_{0};
    // strand-only state
    bool closed_ = false;
    std::optional<error> end_;
    std::deque<result<std::string>> inbox_;
    std::deque<waiter> waiters_;
    std::uint64_t next_waiter_id_ = 0;
    bool registered_for_shutdown_ = false;
};

}  // namespace detail
}  // namespace peerkit::signaling
