// The SCTP handshake's own state (RFC 9260 5.1-5.2): what an INIT / INIT ACK offers, the state
// cookie we sign and later verify (5.1.3, 5.1.5), the cookie and offer kept between INIT ACK
// and COOKIE ACK (COOKIE-ECHOED), and how a valid COOKIE ECHO meets an existing association
// (5.2.4). dcSCTP keeps the same part beside its socket (transmission control block setup and
// state cookie). The association decides what to send and when (timers, tags, packets); this
// piece owns the cookie format and the checks.
//
//   sctp::handshake hs;
//   hs.configure(config);                              // secret, MAC, lifetime, RFC 9653 method
//   auto cookie = hs.make_cookie(now, init_info::decode(init), tag, tsn);   // in the INIT ACK
//   auto opened = hs.open_cookie(echoed, packet_tag, now);                  // at COOKIE ECHO
//   if (opened) switch (handshake::on_valid_cookie(state, opened.contents, ...)) ...
//
// Invariants (tests/sctp_parts/handshake_test.cpp):
//   - answering an INIT creates no state: make_cookie() is const and bytes_held() does not
//     grow; its work is one MAC over a fixed-size body, whatever the INIT carried;
//   - a cookie is taken only if it has the exact size, our version, a MAC that verifies, the
//     packet's verification tag, and is neither from the future nor older than its lifetime;
//     each refusal names its reason (cookie_refusal) and leaves no state behind;
//   - bytes_held() is at most cookie_size (the one cookie we echo while COOKIE-ECHOED).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/sctp/association_types.hpp>
#include <peerkit/sctp/chunks.hpp>
#include <peerkit/sctp/detail/association_hmac.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace peerkit::sctp {

// What an INIT or INIT ACK offers (RFC 9260 3.3.2 / 3.3.3, with the extensions we know).
struct init_info {
    std::uint32_t tag = 0;
    std::uint32_t a_rwnd = 0;
    std::uint16_t outbound = 0;
    std::uint16_t inbound = 0;
    std::uint32_t initial_tsn = 0;
    bool forward_tsn = false;
    bool reconfig = false;
    bool i_data = false;
    std::uint32_t zero_checksum_edmid = edmid_none;
    bytes_view cookie;

    static init_info decode(const init_chunk& c)
    {
        init_info out;
        out.tag = c.initiate_tag;
        out.a_rwnd = c.a_rwnd;
        out.outbound = c.outbound_streams;
        out.inbound = c.inbound_streams;
        out.initial_tsn = c.initial_tsn;
        out.forward_tsn = c.params.forward_tsn_supported || c.params.supports(chunk_type::forward_tsn);
        out.reconfig = c.params.supports(chunk_type::re_config);
        out.i_data = c.params.supports(chunk_type::i_data);
        out.zero_checksum_edmid = c.params.zero_checksum_edmid.value_or(edmid_none);
        out.cookie = c.params.state_cookie.value_or(bytes_view{});
        return out;
    }
};

class handshake {
public:
    // What our cookie carries: everything needed to build the association at COOKIE ECHO.
    struct cookie_contents {
        std::uint32_t my_tag = 0, peer_tag = 0, my_initial_tsn = 0, peer_initial_tsn = 0;
        std::uint32_t peer_a_rwnd = 0;
        std::uint16_t peer_outbound = 0, peer_inbound = 0;
        bool forward_tsn = false, reconfig = false, i_data = false, zero_checksum = false;
        std::int64_t created_ns = 0;
    };
    // version(1) flags(1) reserved(2) 5 x u32, 2 x u16, created(u64); then the 32-byte MAC.
    static constexpr std::size_t cookie_body_size = 36;
    static constexpr std::size_t cookie_size = cookie_body_size + 32;
    static constexpr std::uint8_t cookie_version = 1;
    using cookie = std::array<std::byte, cookie_size>;

    // Why a COOKIE ECHO was not taken (RFC 9260 5.1.5). Only `stale` is answered (with a
    // Stale Cookie error, 5.1.5 3); the others are dropped silently.
    enum class cookie_refusal : std::uint8_t {
        none,
        wrong_size,    // not a cookie of ours: truncated or padded
        forged,        // the MAC does not verify (5.1.5 2)
        bad_version,   // signed by us, but in a format we no longer read
        wrong_tag,     // the packet's tag is not the one the cookie gave (8.5.1 D)
        from_future,   // created after now: not one of ours
        stale,         // older than the cookie lifetime (5.1.5 3)
    };
    struct opened_cookie {
        cookie_refusal refusal = cookie_refusal::none;
        cookie_contents contents;
        std::uint32_t stale_us = 0;  // with `stale`: by how much (the cause's Measure of Staleness)
        explicit operator bool() const noexcept { return refusal == cookie_refusal::none; }
    };

    // RFC 9260 5.2.4 Table 2 without tie-tags (a WebRTC association never restarts, so our
    // cookies carry none): how the cookie's tags compare with the association's.
    enum class cookie_case : std::uint8_t {
        a_restart,       // both tags differ: a peer restart (or another association's cookie)
        b_collision,     // our tag matches, the peer's is new: the INIT collision of 5.2.1
        c_late_init,     // the peer's tag matches, ours does not: a late INIT's cookie
        d_both_match,    // both match: a retransmitted COOKIE ECHO, or the collision's answer
    };
    // What the association does with a valid cookie.
    enum class cookie_action : std::uint8_t {
        establish,      // build the association from the cookie, send COOKIE ACK
        ack_again,      // already established by this cookie: COOKIE ACK once more
        drop,           // silently discarded
    };

    // Takes the secret, MAC, lifetime and RFC 9653 method from the (already completed)
    // configuration: association's constructor draws the secret and sets the default MAC.
    void configure(const association_config& config)
    {
        secret_ = config.cookie_secret;
        mac_ = config.cookie_mac;
        lifetime_ = config.cookie_lifetime;
        zero_checksum_edmid_ = config.zero_checksum_edmid;
        if (!mac_)
            mac_ = [](bytes_view key, bytes_view data, std::span<std::byte, 32> out) {
                const auto mac = detail::hmac_sha256(key, data);
                std::memcpy(out.data(), mac.data(), out.size());
            };
    }

    // True when both sides name the same RFC 9653 method, so the peer may send zero checksums.
    [[nodiscard]] bool zero_checksum_agreed(std::uint32_t peer_edmid) const noexcept
    {
        return zero_checksum_edmid_ != edmid_none && peer_edmid == zero_checksum_edmid_;
    }

    // RFC 9260 5.1 B / 5.1.3: the cookie for an INIT ACK, holding all the association needs so
    // that we keep no state until a valid COOKIE ECHO comes back. const: an INIT costs one MAC.
    [[nodiscard]] cookie make_cookie(time_point now, const init_info& init, std::uint32_t my_tag,
                                     std::uint32_t my_initial_tsn) const
    {
        ++work_;
        cookie out{};
        byte_writer c(out);
        c.write_u8(cookie_version);
        std::uint8_t flags = 0;
        if (init.forward_tsn) flags |= 1;
        if (init.reconfig) flags |= 2;
        if (init.i_data) flags |= 4;
        if (zero_checksum_agreed(init.zero_checksum_edmid)) flags |= 8;
        c.write_u8(flags);
        c.write_u16(0);
        c.write_u32(my_tag);
        c.write_u32(init.tag);
        c.write_u32(my_initial_tsn);
        c.write_u32(init.initial_tsn);
        c.write_u32(init.a_rwnd);
        c.write_u16(init.outbound);
        c.write_u16(init.inbound);
        c.write_u64(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()));
        assert(c.size() == cookie_body_size);
        mac_(secret_, bytes_view(out).first(cookie_body_size),
             std::span<std::byte, 32>(out.data() + cookie_body_size, 32));
        return out;
    }

    // RFC 9260 5.1.5: authenticates the cookie before anything else, then checks the tag of
    // the packet that carried it (8.5.1 D) and its age. Costs one MAC, whatever the input.
    [[nodiscard]] opened_cookie open_cookie(bytes_view value, std::uint32_t packet_tag, time_point now) const
    {
        opened_cookie out;
        auto refuse = [&](cookie_refusal why) {
            ++refused_;
            out.refusal = why;
            return out;
        };
        if (value.size() != cookie_size) return refuse(cookie_refusal::wrong_size);
        ++work_;
        std::array<std::byte, 32> mac{};
        mac_(secret_, value.first(cookie_body_size), mac);
        // Compared in constant time: how many bytes match must not leak through timing.
        std::byte diff{0};
        for (std::size_t i = 0; i < 32; ++i) diff |= mac[i] ^ value[cookie_body_size + i];
        if (diff != std::byte{0}) return refuse(cookie_refusal::forged);
        if (std::to_integer<std::uint8_t>(value[0]) != cookie_version) return refuse(cookie_refusal::bad_version);
        cookie_contents& c = out.contents;
        const std::byte* p = value.data();
        const auto flags = std::to_integer<std::uint8_t>(p[1]);
        c.forward_tsn = (flags & 1) != 0;
        c.reconfig = (flags & 2) != 0;
        c.i_data = (flags & 4) != 0;
        c.zero_checksum = (flags & 8) != 0;
        c.my_tag = peerkit::detail::load_be32(p + 4);
        c.peer_tag = peerkit::detail::load_be32(p + 8);
        c.my_initial_tsn = peerkit::detail::load_be32(p + 12);
        c.peer_initial_tsn = peerkit::detail::load_be32(p + 16);
        c.peer_a_rwnd = peerkit::detail::load_be32(p + 20);
        c.peer_outbound = peerkit::detail::load_be16(p + 24);
        c.peer_inbound = peerkit::detail::load_be16(p + 26);
        c.created_ns = static_cast<std::int64_t>(peerkit::detail::load_be64(p + 28));
        // RFC 9260 8.5.1 D: the packet's tag is the one the cookie gave us.
        if (c.my_tag != packet_tag) return refuse(cookie_refusal::wrong_tag);
        const std::int64_t now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
        const std::int64_t lifetime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(lifetime_).count();
        if (c.created_ns > now_ns) return refuse(cookie_refusal::from_future);
        if (now_ns - c.created_ns > lifetime_ns) {
            // RFC 9260 5.1.5 3: stale; the error cause says by how much (in microseconds).
            out.stale_us = static_cast<std::uint32_t>(
                std::min<std::int64_t>((now_ns - c.created_ns - lifetime_ns) / 1000, 0xFFFFFFFF));
            return refuse(cookie_refusal::stale);
        }
        return out;
    }

    // RFC 9260 5.2.4 Table 2 (tie-tags left out, see cookie_case).
    [[nodiscard]] static cookie_case classify(const cookie_contents& c, std::uint32_t my_tag,
                                              std::uint32_t peer_tag) noexcept
    {
        const bool local = c.my_tag == my_tag;
        const bool peer = c.peer_tag == peer_tag;
        if (local && peer) return cookie_case::d_both_match;
        if (local) return cookie_case::b_collision;
        if (peer) return cookie_case::c_late_init;
        return cookie_case::a_restart;
    }

    // RFC 9260 5.1.5 and 5.2.4: what a valid cookie does in each state. `may_open` is false
    // when the association takes no incoming association (config) or already ran once: a
    // replayed COOKIE ECHO then opens nothing.
    [[nodiscard]] static cookie_action on_valid_cookie(association_state state, const cookie_contents& c,
                                                       std::uint32_t my_tag, std::uint32_t my_initial_tsn,
                                                       std::uint32_t peer_tag, bool may_open) noexcept
    {
        switch (state) {
        case association_state::closed:
            // 5.1.5: a fresh association from a valid cookie.
            return may_open ? cookie_action::establish : cookie_action::drop;
        case association_state::cookie_wait:
        case association_state::cookie_echoed:
            // 5.2.4 B / D: an INIT collision; the cookie must carry our current tag and TSN
            // (our INIT ACK answered their INIT with them, 5.2.1).
        {
            const cookie_case kind = classify(c, my_tag, peer_tag);
            const bool ours = kind == cookie_case::b_collision || kind == cookie_case::d_both_match;
            return ours && c.my_initial_tsn == my_initial_tsn ? cookie_action::establish : cookie_action::drop;
        }
        default:
            // 5.2.4 D: a retransmitted COOKIE ECHO of this association: ack it again. A and B
            // (a restart, which WebRTC does not do) and C are dropped.
            return classify(c, my_tag, peer_tag) == cookie_case::d_both_match ? cookie_action::ack_again
                                                                               : cookie_action::drop;
        }
    }

    // RFC 9260 5.1 C: our INIT was answered; keep the cookie to echo and the peer's offer,
    // applied when the COOKIE ACK arrives (5.1 E).
    void on_init_ack(const init_info& ack)
    {
        echo_.assign(ack.cookie.begin(), ack.cookie.end());
        offer_ = ack;
        offer_.cookie = {};
    }
    [[nodiscard]] bytes_view cookie_to_echo() const noexcept { return echo_; }
    [[nodiscard]] const init_info& peer_offer() const noexcept { return offer_; }
    // Established, or the cookie went stale (5.2.6, a new INIT follows): not echoed again.
    void forget_cookie() noexcept { echo_.clear(); }

    // Bytes kept for the peer between INIT ACK and COOKIE ACK (the cookie we echo; its size
    // is bounded by the INIT ACK chunk, which fits one packet).
    [[nodiscard]] std::size_t bytes_held() const noexcept { return echo_.size(); }
    // MACs computed (cookies made and checked): one per INIT or COOKIE ECHO at most.
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }
    [[nodiscard]] std::uint64_t cookies_refused() const noexcept { return refused_; }

private:
    std::array<std::byte, 32> secret_{};
    cookie_mac_function mac_;
    duration lifetime_ = std::chrono::seconds(60);
    std::uint32_t zero_checksum_edmid_ = edmid_none;
    std::vector<std::byte> echo_;  // the cookie we echo (COOKIE-ECHOED)
    init_info offer_;              // the peer's INIT ACK, applied at COOKIE ACK
    mutable std::uint64_t work_ = 0;
    mutable std::uint64_t refused_ = 0;
};

}  // namespace peerkit::sctp
