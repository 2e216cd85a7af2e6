// An in-memory SCTP message transport for the data-channel tests: it records what the
// endpoint sends and resets, and a pump hands that to the other side as the association
// would (messages, incoming and outgoing reset events). The real association is tested in
// tests/sctp_association; here only the channel layer's behaviour matters.
#pragma once

#include <peerkit/datachannel.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace peerkit::test {

struct fake_transport {
    struct sent_message {
        std::uint16_t stream;
        std::uint32_t ppid;
        std::vector<std::byte> data;
        sctp::send_options options;
    };
    std::vector<sent_message> sent;                    // not yet pumped to the peer
    std::vector<sent_message> log;                     // everything ever sent
    std::vector<std::vector<std::uint16_t>> resets;    // not yet pumped
    std::map<std::uint16_t, std::size_t> buffered;
    std::map<std::uint16_t, std::size_t> thresholds;
    bool refuse_sends = false;

    result<void> send(datachannel::time_point, std::uint16_t stream, std::uint32_t ppid, bytes_view data,
                      const sctp::send_options& options)
    {
        if (refuse_sends) return make_error(sctp::association_errc::send_buffer_full, "fake: refused");
        sent_message m{stream, ppid, {data.begin(), data.end()}, options};
        log.push_back(m);
        sent.push_back(std::move(m));
        buffered[stream] += data.size();
        return {};
    }
    result<void> reset_streams(datachannel::time_point, std::span<const std::uint16_t> streams)
    {
        resets.emplace_back(streams.begin(), streams.end());
        return {};
    }
    std::size_t buffered_amount(std::uint16_t stream) const
    {
        auto it = buffered.find(stream);
        return it == buffered.end() ? 0 : it->second;
    }
    void set_buffered_amount_low_threshold(std::uint16_t stream, std::size_t bytes) { thresholds[stream] = bytes; }
    // The receive window's count of bytes held above the transport (holding_transport).
    std::size_t held = 0;
    std::size_t max_held = 0;
    void hold_delivered(std::size_t bytes)
    {
        held += bytes;
        max_held = std::max(max_held, held);
    }
    bool release_delivered(std::size_t bytes)
    {
        held -= std::min(held, bytes);
        return false;
    }
};

static_assert(datachannel::message_transport<fake_transport>);
static_assert(datachannel::holding_transport<fake_transport>);

using fake_endpoint = datachannel::endpoint;

// Delivers everything `from` sent to `to`'s endpoint, and completes `from`'s resets (the
// peer sees an incoming reset, the sender a successful outgoing reset). Returns the number
// of items moved.
inline std::size_t pump_one_way(datachannel::time_point now, fake_transport& from, fake_endpoint& from_ep,
                                fake_endpoint& to_ep)
{
    // What the endpoint queued goes into its transport first, as the core moves it.
    std::size_t moved = datachannel::transmit_to(now, from_ep, from);
    auto messages = std::move(from.sent);
    from.sent.clear();
    for (auto& m : messages) {
        to_ep.handle_message(now, m.stream, m.ppid, std::move(m.data));
        ++moved;
    }
    auto resets = std::move(from.resets);
    from.resets.clear();
    for (auto& r : resets) {
        to_ep.handle_incoming_reset(now, r);
        from_ep.handle_outgoing_reset(now, r, true);
        ++moved;
    }
    return moved;
}

inline void pump(datachannel::time_point now, fake_transport& a, fake_endpoint& a_ep, fake_transport& b,
                 fake_endpoint& b_ep)
{
    while (pump_one_way(now, a, a_ep, b_ep) + pump_one_way(now, b, b_ep, a_ep) != 0) {
    }
}

}  // namespace peerkit::test
