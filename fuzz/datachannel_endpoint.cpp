// Fuzzes the data-channel endpoint (RFC 8831, with DCEP RFC 8832): the input is cut into
// messages with a stream and a PPID each, or user actions (create, close, send, stream
// resets), and fed to an endpoint over a transport that accepts everything. Invariants: the
// channel limit holds, delivered messages respect max_message_size, partial pieces held are
// what the transport's window was told (hold_delivered / release_delivered) and stay within
// max_partial_bytes, closed channels leave no entry, closing the transport gives everything back.
#include <peerkit/datachannel.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

using namespace peerkit;
using namespace peerkit::datachannel;

namespace {
void check(bool ok)
{
    if (!ok) __builtin_trap();
}

struct sink_transport {
    std::size_t bytes = 0;
    result<void> send(time_point, std::uint16_t, std::uint32_t, bytes_view data, const sctp::send_options&)
    {
        bytes += data.size();
        return {};
    }
    result<void> reset_streams(time_point, std::span<const std::uint16_t>) { return {}; }
    std::size_t buffered_amount(std::uint16_t) const { return bytes; }
    void set_buffered_amount_low_threshold(std::uint16_t, std::size_t) {}
    std::size_t held = 0;  // the window's count of bytes held above (holding_transport)
    void hold_delivered(std::size_t n) { held += n; }
    bool release_delivered(std::size_t n)
    {
        check(n <= held);
        held -= n;
        return false;
    }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view input{reinterpret_cast<const std::byte*>(data), size};
    // Messages: [stream (1)] [ppid selector (1)] [length (1)] [payload...], repeated.
    sink_transport transport;
    endpoint ep{(size & 1) != 0 ? dtls_role::client : dtls_role::server,
                endpoint_config{.max_message_size = 512, .max_partial_bytes = 1024, .max_channels = 8, .max_streams = 16}};
    const time_point now{};
    ep.handle_transport_open(now);
    static constexpr std::uint32_t ppids[8]{50, 51, 52, 53, 54, 56, 57, 99};
    std::size_t at = 0;
    while (size - at >= 3) {
        const auto stream = static_cast<std::uint16_t>(data[at] % 20);
        const std::uint32_t ppid = ppids[data[at + 1] % 8];
        const std::size_t length = std::min<std::size_t>(data[at + 2], size - at - 3);
        const bytes_view payload = input.subspan(at + 3, length);
        at += 3 + length;
        switch (data[at - length - 2] >> 5) {  // the high bits of the selector pick an action
        case 1: (void)ep.create_channel(now, "f", {}); break;
        case 2: if (auto c = ep.get(stream)) (void)c->close(now); break;
        case 3: {
            const std::uint16_t ids[1]{stream};
            ep.handle_incoming_reset(now, ids);
            ep.handle_outgoing_reset(now, ids, (data[at - 1] & 1) != 0);
            break;
        }
        case 4: if (auto c = ep.get(stream)) (void)datachannel::send(now, ep, transport, *c, payload, true); break;
        default: ep.handle_message(now, stream, ppid, payload); break;
        }
        transmit_to(now, ep, transport);  // the endpoint's requests, as the core moves them
        while (auto e = ep.poll_event()) {
            if (auto* msg = std::get_if<message_event>(&*e)) check(msg->data.size() <= 512);
        }
        check(ep.channel_count() <= 8);
        check(ep.entry_count() == ep.channel_count());
        check(ep.partial_bytes_held() == transport.held && transport.held <= 1024);
    }
    ep.handle_transport_closed(now);
    transmit_to(now, ep, transport);
    check(ep.channel_count() == 0);
    check(ep.entry_count() == 0 && transport.held == 0);
    return 0;
}
