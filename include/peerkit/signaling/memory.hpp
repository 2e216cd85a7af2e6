// An in-memory pair of connected signaling transports, each on any executor: what the
// loopback demo and tests use. A frame sent on one end is received on the other; closing one
// end ends the other's stream after the frames already sent. max_queued_sends bounds the
// frames sent and not yet received by the other end's user.
#pragma once

#include <peerkit/signaling/detail/transport_impl.hpp>
#include <peerkit/signaling/transport.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <string>
#include <utility>

namespace peerkit::signaling {

namespace detail {
template <class Executor>
class memory_impl final : public transport_impl<Executor> {
public:
    [[nodiscard]] std::string_view transport_name() const noexcept override { return "memory"; }
private:
    using base = transport_impl<Executor>;

public:
    using base::base;

    static void connect(const std::shared_ptr<memory_impl>& a, const std::shared_ptr<memory_impl>& b)
    {
        a->peer_ = b;
        b->peer_ = a;
    }

private:
    void on_send(std::string text) override
    {
        auto peer = peer_.lock();
        if (!peer) {
            this->sent(1);
            return;
        }
        // The other end's strand takes it from here; its user taking it calls sent() on us.
        boost::asio::post(peer->strand(), [peer, t = std::move(text)]() mutable { peer->deliver(std::move(t)); });
    }

    void on_frame_taken() override
    {
        if (auto peer = peer_.lock()) peer->sent(1);
    }

    void on_close_requested() override
    {
        if (auto peer = peer_.lock()) {
            boost::asio::post(peer->strand(), [peer] {
                peer->remote_closed(make_error(errc::closed, "the other end of the in-memory pair closed"));
            });
        }
    }

    std::weak_ptr<memory_impl> peer_;  // set once before either end is used
};
}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_memory_transport : public basic_transport<detail::memory_impl<Executor>> {
    using base = basic_transport<detail::memory_impl<Executor>>;

public:
    // Use make_memory_pair.
    explicit basic_memory_transport(std::shared_ptr<detail::memory_impl<Executor>> impl) noexcept
        : base(std::move(impl))
    {
    }
};

// Two connected ends; each runs on its own executor (two strands, two io_contexts, or the
// same executor twice).
template <class Executor>
std::pair<basic_memory_transport<Executor>, basic_memory_transport<Executor>> make_memory_pair(
    const Executor& a, const Executor& b, const transport_config& config = {})
{
    auto ia = std::make_shared<detail::memory_impl<Executor>>(a, config);
    auto ib = std::make_shared<detail::memory_impl<Executor>>(b, config);
    detail::memory_impl<Executor>::connect(ia, ib);
    return {basic_memory_transport<Executor>(std::move(ia)), basic_memory_transport<Executor>(std::move(ib))};
}

template <class Executor>
std::pair<basic_memory_transport<Executor>, basic_memory_transport<Executor>> make_memory_pair(
    const Executor& ex, const transport_config& config = {})
{
    return make_memory_pair(ex, ex, config);
}

using memory_transport = basic_memory_transport<>;

}  // namespace peerkit::signaling
