// peerkit::event_queue: the peer connection core's events on their way to poll_event(), in the
// order they happened. The core pushes ICE, signaling and connection events; its SCTP
// transport (sctp_transport.hpp) pushes the data-channel events and asks has_room() before it
// takes the next one from SCTP, so that a user who stops polling slows the peer instead of
// growing this queue (peer_connection_limits::max_queued_events). Nothing is ever dropped
// here, except after close(): webrtc-pc 4.4.1.6 fires no event once the connection is closing.
#pragma once

#include <peerkit/peer_connection/types.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

namespace peerkit {

class event_queue {
public:
    explicit event_queue(std::size_t max_queued_events = peer_connection_limits{}.max_queued_events) noexcept
        : max_queued_events_(max_queued_events)
    {
    }

    // Messages are bounded by the SCTP receive window (the transport's held_size); other events
    // by what causes them (candidates, channels, states): none is dropped, so none is missed.
    void push(peer_connection_event e)
    {
        if (muted_) return;
        events_.push_back(std::move(e));
    }

    [[nodiscard]] std::optional<peer_connection_event> pop()
    {
        if (events_.empty()) return std::nullopt;
        peer_connection_event e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

    // Whether one more event from SCTP may be taken (below max_queued_events).
    [[nodiscard]] bool has_room() const noexcept { return events_.size() < max_queued_events_; }
    // The last pop() took the queue from its limit to one below it: what waits in SCTP can
    // come up again.
    [[nodiscard]] bool room_just_freed() const noexcept { return events_.size() + 1 == max_queued_events_; }

    // Events not yet polled that `discard` picks go (a rolled-back offer's candidates).
    template <class Predicate>
    void erase_if(Predicate&& discard)
    {
        std::erase_if(events_, std::forward<Predicate>(discard));
    }

    // close() is under way or done: no more events (webrtc-pc 4.4.1.6).
    void mute() noexcept { muted_ = true; }

private:
    std::deque<peer_connection_event> events_;
    std::size_t max_queued_events_;
    bool muted_ = false;
};

}  // namespace peerkit
