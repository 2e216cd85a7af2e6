// The signaling messages of a WebRTC session, as plain structs (no Boost): what the browser
// puts in RTCSessionDescriptionInit and RTCIceCandidateInit. The JSON codec is in json.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace peerkit::signaling {

// RTCSdpType (W3C webrtc-pc 4.8.1).
enum class sdp_type { offer, answer, pranswer, rollback };

[[nodiscard]] constexpr std::string_view to_string(sdp_type t) noexcept
{
    switch (t) {
    case sdp_type::offer: return "offer";
    case sdp_type::answer: return "answer";
    case sdp_type::pranswer: return "pranswer";
    case sdp_type::rollback: return "rollback";
    }
    return "offer";
}

[[nodiscard]] constexpr std::optional<sdp_type> sdp_type_from_string(std::string_view s) noexcept
{
    if (s == "offer") return sdp_type::offer;
    if (s == "answer") return sdp_type::answer;
    if (s == "pranswer") return sdp_type::pranswer;
    if (s == "rollback") return sdp_type::rollback;
    return std::nullopt;
}

// {"type":"offer","sdp":"v=0\r\n..."}; a rollback carries no SDP.
struct session_description {
    sdp_type type = sdp_type::offer;
    std::string sdp;

    friend bool operator==(const session_description&, const session_description&) = default;
};

// {"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"..."}.
// An empty `candidate` is the end-of-candidates indication (webrtc-pc 4.8.2, RFC 8838 13).
struct ice_candidate {
    std::string candidate;  // the candidate-attribute without "a=", e.g. "candidate:1 1 udp ..."
    std::optional<std::string> sdp_mid;
    std::optional<std::uint16_t> sdp_m_line_index;
    std::optional<std::string> username_fragment;

    [[nodiscard]] bool end_of_candidates() const noexcept { return candidate.empty(); }

    friend bool operator==(const ice_candidate&, const ice_candidate&) = default;
};

using message = std::variant<session_description, ice_candidate>;

[[nodiscard]] inline ice_candidate end_of_candidates() { return ice_candidate{}; }

}  // namespace peerkit::signaling
