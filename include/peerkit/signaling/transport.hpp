// The signaling-transport concept, and basic_transport: the handle every peerkit transport
// (in-memory pair, stdio, WebSocket) is built on.
//
//   transport.send(message)                 queue a message; any number may be outstanding
//   transport.async_receive(token)          next message: void(peerkit::result<message>)
//   transport.async_receive_text(token)     next raw frame: void(peerkit::result<std::string>)
//   transport.close()                       from any thread or handler; never blocks
//
// A malformed frame completes its receive with an error (signaling::errc::malformed_json or
// invalid_message, with a detail) and the next receive gets the next frame. Completions run on
// the handler's associated executor, by default the transport's: callbacks, use_future and
// `co_await transport.async_receive(use_awaitable)` all work.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/signaling/detail/transport_impl.hpp>
#include <peerkit/signaling/error.hpp>
#include <peerkit/signaling/json.hpp>
#include <peerkit/signaling/message.hpp>

#include <boost/asio/async_result.hpp>

#include <cassert>
#include <concepts>
#include <memory>
#include <string>
#include <utility>

namespace peerkit::signaling {

namespace detail {
struct receive_handler_archetype {
    void operator()(result<message>) const {}
};
}  // namespace detail

// What the peer connection needs from a signaling channel. Kept small on purpose.
template <class T>
concept signaling_transport = requires(T& t, const message& m) {
    typename T::executor_type;
    { t.get_executor() } -> std::convertible_to<typename T::executor_type>;
    { t.send(m) } -> std::same_as<result<void>>;
    t.async_receive(detail::receive_handler_archetype{});
    t.close();
};

// A move-only handle over a shared implementation: operations in flight keep the
// implementation alive, and destroying the handle closes the transport.
template <class Impl>
class basic_transport {
public:
    using executor_type = typename Impl::executor_type;

    basic_transport(basic_transport&&) noexcept = default;
    basic_transport& operator=(basic_transport&& other) noexcept
    {
        if (this != &other) {
            close();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }
    ~basic_transport() { close(); }

    [[nodiscard]] executor_type get_executor() const noexcept { return impl_->user_executor(); }
    [[nodiscard]] bool is_open() const noexcept { return impl_ && impl_->is_open(); }
    // Messages accepted by send() and not yet written.
    [[nodiscard]] std::size_t queued_sends() const noexcept { return impl_ ? impl_->queued_sends() : 0; }
    // Frames read and not yet taken by a receive (reading pauses at max_queued_receives).
    [[nodiscard]] std::size_t queued_receives() const noexcept { return impl_ ? impl_->queued_receives() : 0; }
    [[nodiscard]] const transport_config& config() const noexcept { return impl_->config(); }

    // Queues a message as JSON. Fails at once (nothing queued) when the transport is closed,
    // the text is over max_message_size, or max_queued_sends messages are already waiting.
    result<void> send(const message& m) { return send_text(to_json(m)); }
    result<void> send(const session_description& d) { return send_text(to_json(d)); }
    result<void> send(const ice_candidate& c) { return send_text(to_json(c)); }
    // Queues one frame as is (a relay, or a protocol of the user's own).
    result<void> send_text(std::string text)
    {
        if (!impl_) return make_error(errc::closed, "send on a moved-from signaling transport");
        return impl_->send_text(std::move(text));
    }

    // The next message. Any number of receives may wait; they complete in order.
    template <class CompletionToken>
    auto async_receive(CompletionToken&& token)
    {
        assert(impl_);
        return boost::asio::async_initiate<CompletionToken, void(result<message>)>(
            [](auto handler, const std::shared_ptr<Impl>& impl) {
                impl->start_receive(detail::message_handler(std::move(handler), impl->user_executor()));
            },
            token, impl_);
    }

    // The next frame, unparsed.
    template <class CompletionToken>
    auto async_receive_text(CompletionToken&& token)
    {
        assert(impl_);
        return boost::asio::async_initiate<CompletionToken, void(result<std::string>)>(
            [](auto handler, const std::shared_ptr<Impl>& impl) {
                impl->start_receive(detail::text_handler(std::move(handler), impl->user_executor()));
            },
            token, impl_);
    }

    // Closes: waiting and later receives complete with errc::closed, later sends fail. Safe
    // from any thread and from inside any completion handler; returns at once.
    void close()
    {
        if (impl_) impl_->close();
    }

protected:
    explicit basic_transport(std::shared_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
    [[nodiscard]] const std::shared_ptr<Impl>& impl() const noexcept { return impl_; }

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace peerkit::signaling
