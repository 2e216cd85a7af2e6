// Send-time header extensions, written as a packet leaves (after the send stream, before
// SRTP): the transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01
// section 2; one counter per transport, so every stream of a BUNDLE group and every RTX packet
// takes the next number) and abs-send-time (webrtc.org's abs-send-time: 24 bits, NTP seconds
// in 6.18 fixed point). The send stream reserves the elements (`send_stream_config::
// transport_cc_id`, `abs_send_time_id`); stamping fills them in place, so a retransmission gets
// a fresh number rather than repeating its original's.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/stream/clock.hpp>
#include <peerkit/rtp/stream/error.hpp>
#include <peerkit/time.hpp>

#include <cstdint>
#include <optional>

namespace peerkit::rtp::stream {

struct transport_stamper_config {
    std::optional<std::uint8_t> transport_cc_id{};   // the extmap id of transport-wide-cc-extensions-01
    std::optional<std::uint8_t> abs_send_time_id{};  // the extmap id of abs-send-time
    ntp_mapping ntp{};
    std::uint16_t first_sequence = 0;
};

struct stamped {
    std::optional<std::uint16_t> transport_sequence;  // what the feedback will name this packet by
};

class transport_stamper {
public:
    explicit transport_stamper(transport_stamper_config config) noexcept
        : config_(config), next_(config.first_sequence)
    {
    }

    // Fills the reserved elements of `packet` that it has; an element of the wrong size is an
    // error (it was not reserved by us). A packet without them is left alone.
    result<stamped> stamp(time_point now, mutable_bytes packet)
    {
        auto view = packet_view::parse(packet);
        if (!view) return view.error();
        stamped out;
        if (config_.transport_cc_id) {
            if (auto value = view->find_extension(*config_.transport_cc_id)) {
                if (value->size() != 2)
                    return make_error(errc::invalid_config, "transport-cc element of ", value->size(), " bytes, not 2");
                peerkit::detail::store_be16(packet.data() + (value->data() - packet.data()), next_);
                out.transport_sequence = next_++;
            }
        }
        if (config_.abs_send_time_id) {
            if (auto value = view->find_extension(*config_.abs_send_time_id)) {
                if (value->size() != 3)
                    return make_error(errc::invalid_config, "abs-send-time element of ", value->size(), " bytes, not 3");
                // 6.18 fixed point seconds: bits 14..37 of the 32.32 NTP time.
                const auto t = static_cast<std::uint32_t>(ntp_at(config_.ntp, now) >> 14) & 0xFFFFFFu;
                peerkit::detail::store_be24(packet.data() + (value->data() - packet.data()), t);
            }
        }
        return out;
    }

    [[nodiscard]] std::uint16_t next_sequence() const noexcept { return next_; }

private:
    transport_stamper_config config_;
    std::uint16_t next_;
};

}  // namespace peerkit::rtp::stream
