// JSEP (RFC 8829, updated by RFC 9429): building offers and answers.
//
// You describe the local side (`local_description`: ICE credentials, DTLS fingerprints, the
// media sections you want with their codecs, data channels) and get an owning
// session_description back, ready to send. For answers you also pass the remote offer; the
// answer accepts or rejects each offered m= section in the offer's order with the offer's
// mids. Renegotiation passes the previous local description, so m= line order and mids stay
// stable (RFC 8829 5.2.2) and the same ICE credentials are kept unless an ICE restart is
// asked for (RFC 8829 5.2.1 / RFC 8839 4.4.1.1.1).
//
// What is produced follows what browsers accept:
//   - one BUNDLE group over every accepted section, one transport (RFC 8843): ICE and DTLS
//     attributes repeated in each section, candidates in the first (the BUNDLE tag section);
//   - port 9 and c=IN IP4 0.0.0.0 until candidates are known (RFC 8829 5.2.1);
//   - a=ice-options:trickle (RFC 8840 4.1.1), a=rtcp-mux, a=rtcp-rsize;
//   - a=setup:actpass in offers (RFC 8842 5.2), active or passive in answers (RFC 8842 5.3);
//   - data channels: m=application 9 UDP/DTLS/SCTP webrtc-datachannel, a=sctp-port,
//     a=max-message-size (RFC 8841 4, 5, 6).
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/attributes.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/description.hpp>
#include <peerkit/sdp/detail/text.hpp>
#include <peerkit/sdp/error.hpp>
#include <peerkit/sdp/fields.hpp>
#include <peerkit/sdp/h264_profile.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::sdp::jsep {

enum class media_kind { audio, video, data };

[[nodiscard]] constexpr std::string_view to_string(media_kind k) noexcept
{
    switch (k) {
    case media_kind::audio: return "audio";
    case media_kind::video: return "video";
    case media_kind::data: return "application";
    }
    return "";
}

// One RTP payload format we can send and receive.
struct codec {
    std::uint8_t payload_type = 0;   // used in offers; answers use the offerer's numbers
    std::string name;                // "opus", "VP8", "rtx"...; compared case-insensitively
    std::uint32_t clock_rate = 0;
    std::uint16_t channels = 0;      // 0: not written (video)
    std::string fmtp;                // "minptime=10;useinbandfec=1"; "apt=<pt>" for rtx
    std::vector<std::string> feedback;  // rtcp-fb values: "nack", "nack pli", "transport-cc"
};

// Opus and telephone-event as browsers offer them.
[[nodiscard]] inline std::vector<codec> default_audio_codecs()
{
    return {codec{111, "opus", 48000, 2, "minptime=10;useinbandfec=1", {"transport-cc"}}};
}
// VP8 with RTX (RFC 4588) as browsers offer it.
[[nodiscard]] inline std::vector<codec> default_video_codecs()
{
    return {codec{96, "VP8", 90000, 0, "", {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}},
            codec{97, "rtx", 90000, 0, "apt=96", {}}};
}

// One section the local side wants: an audio or video transceiver, or the data channel.
struct local_media {
    media_kind kind = media_kind::data;
    std::string mid;                  // empty: "0", "1", ... assigned in order
    sdp::direction direction = sdp::direction::sendrecv;
    std::vector<codec> codecs;        // audio/video
    std::vector<std::string> header_extensions;  // RFC 8285 URIs; ids 1.. in offers
    std::string stream_id;            // RFC 8830 a=msid:<stream> <track> when sending
    std::string track_id;
    std::uint32_t ssrc = 0;           // RFC 5576 a=ssrc lines when non-zero
    std::uint32_t rtx_ssrc = 0;       // and a=ssrc-group:FID <ssrc> <rtx_ssrc>
    std::string cname;
};

// Everything about the local side that goes into an offer or answer.
struct local_description {
    std::uint64_t session_id = 1;     // o= sess-id: random, < 2^63 (RFC 8829 5.2.1)
    std::string ice_ufrag;            // RFC 8839 5.4: 4-256 ice-chars
    std::string ice_pwd;              // RFC 8839 5.4: 22-256 ice-chars
    bool ice_lite = false;
    std::vector<sdp::fingerprint> fingerprints;  // at least one (RFC 8842 5.1)
    setup_role answer_role = setup_role::active;  // our role when answering actpass
    std::uint16_t sctp_port = 5000;
    std::uint64_t max_message_size = 262144;
    std::vector<candidate> candidates;  // already gathered (none with trickle)
    bool end_of_candidates = false;     // gathering is complete (RFC 8840 8.2)
    std::vector<local_media> media;
};

struct offer_options {
    // The previous local description (offer or answer) of this session: m= line order, mids,
    // o= session id and ICE credentials are kept, the o= version is incremented.
    const session_description* previous = nullptr;
    // RFC 8829 5.2.1 iceRestart: new credentials (those in local_description) are required.
    bool ice_restart = false;
};

struct answer_options {
    const session_description* previous = nullptr;  // our previous local description
    // The ICE ufrag of the previous remote description: when the offer's differs, the offer
    // is an ICE restart and the answer must carry new credentials too (RFC 8839 4.4.1.1.1).
    std::string previous_remote_ufrag;
};

namespace detail {

[[nodiscard]] inline result<void> check_local(const local_description& local)
{
    if (local.ice_ufrag.size() < 4 || local.ice_ufrag.size() > 256 || !sdp::detail::is_ice_chars(local.ice_ufrag))
        return make_error(errc::negotiation_failed, "ICE ufrag must be 4 to 256 ice-chars (RFC 8839 5.4)");
    if (local.ice_pwd.size() < 22 || local.ice_pwd.size() > 256 || !sdp::detail::is_ice_chars(local.ice_pwd))
        return make_error(errc::negotiation_failed, "ICE pwd must be 22 to 256 ice-chars (RFC 8839 5.4)");
    if (local.fingerprints.empty())
        return make_error(errc::negotiation_failed, "a DTLS fingerprint is required (RFC 8842 5.1)");
    for (const auto& m : local.media) {
        if (!m.mid.empty() && !sdp::detail::is_token(m.mid))
            return make_error(errc::negotiation_failed, "mid '", m.mid, "' is not a token");
        if (m.kind != media_kind::data && m.codecs.empty())
            return make_error(errc::negotiation_failed, to_string(m.kind), " section has no codecs");
    }
    return {};
}

[[nodiscard]] inline std::string next_mid(const std::vector<std::string>& used)
{
    for (std::uint64_t n = 0;; ++n) {
        auto candidate_mid = std::to_string(n);
        if (std::find(used.begin(), used.end(), candidate_mid) == used.end()) return candidate_mid;
    }
}

// ICE and DTLS attributes of one section (RFC 8829 5.2.1 / 5.3.1, RFC 8843 7.1).
inline void add_transport(media_description& m, std::string_view ufrag, std::string_view pwd,
                          const local_description& local, setup_role role)
{
    m.add_attribute("ice-ufrag", ufrag);
    m.add_attribute("ice-pwd", pwd);
    m.add_attribute("ice-options", "trickle");
    for (const auto& fp : local.fingerprints) m.add(fp);
    m.add_attribute("setup", to_string(role));
}

inline void add_candidates(media_description& m, const local_description& local)
{
    for (const auto& c : local.candidates) m.add_candidate(c);
    if (local.end_of_candidates) m.add_flag("end-of-candidates");
}

// The a=msid / a=ssrc lines of a sending transceiver.
inline void add_sender(media_description& m, const local_media& lm, direction d)
{
    const bool sends = d == direction::sendrecv || d == direction::sendonly;
    if (!sends) return;
    if (!lm.stream_id.empty() || !lm.track_id.empty())
        m.add(sdp::msid{lm.stream_id.empty() ? std::string_view("-") : std::string_view(lm.stream_id), lm.track_id});
    if (lm.ssrc != 0) {
        if (lm.rtx_ssrc != 0) {
            const auto ids = std::to_string(lm.ssrc) + " " + std::to_string(lm.rtx_ssrc);
            m.add(sdp::ssrc_group{"FID", token_list{ids}});
        }
        for (auto id : {lm.ssrc, lm.rtx_ssrc}) {
            if (id == 0) continue;
            if (!lm.cname.empty()) m.add(sdp::ssrc{id, "cname", lm.cname});
            if (!lm.stream_id.empty()) {
                const auto value = lm.track_id.empty() ? lm.stream_id : lm.stream_id + " " + lm.track_id;
                m.add(sdp::ssrc{id, "msid", value});
            }
        }
    }
}

inline void add_codec(media_description& m, const codec& c, std::uint8_t pt, std::string_view fmtp,
                      const std::vector<std::string>& feedback)
{
    m.add(sdp::rtpmap{pt, c.name, c.clock_rate, c.channels ? std::optional<std::uint16_t>(c.channels) : std::nullopt});
    for (const auto& fb : feedback) {
        const auto pt_text = std::to_string(pt);
        auto rest = std::string_view(fb);
        const auto type = sdp::detail::cut(rest, ' ');
        m.add(sdp::rtcp_fb{pt_text, type, rest});
    }
    if (!fmtp.empty()) {
        const auto pt_text = std::to_string(pt);
        m.add(sdp::fmtp{pt_text, fmtp});
    }
}

// A description's sections: media() of a view, the media vector of a model.
template <class Description>
[[nodiscard]] decltype(auto) sections_of(const Description& d) noexcept
{
    if constexpr (requires { d.media(); }) return d.media();
    else return (d.media);
}
[[nodiscard]] inline result<media_line> m_line_of(const media_view& m) noexcept { return m.m_line(); }
[[nodiscard]] inline result<media_line> m_line_of(const media_description& m) noexcept { return m.m_line(); }

// The header extension ids of an offer: one id per URI across the whole BUNDLE group (the group
// is one RTP session, RFC 8843 9.1, and RFC 8285 5 maps ids per session; Chromium refuses an
// offer that maps one id to two URIs), kept from the previous description (RFC 8829 5.2.2).
class extension_ids {
public:
    // Learns the ids the previous description used, then gives the URIs of `media` the lowest
    // free ids in the order they appear.
    extension_ids(const std::vector<local_media>& media, const session_description* previous)
    {
        if (previous != nullptr)
            for (const auto& m : previous->media)
                for (const auto& e : m.extmaps())
                    if (e.id != 0 && !id_of(e.uri) && !taken(e.id)) ids_.push_back({e.id, std::string(e.uri)});
        for (const auto& m : media)
            for (const auto& uri : m.header_extensions) {
                if (id_of(uri)) continue;
                std::uint16_t id = 1;
                while (taken(id)) ++id;
                ids_.push_back({id, uri});
            }
    }
    [[nodiscard]] std::optional<std::uint16_t> id_of(std::string_view uri) const noexcept
    {
        for (const auto& [id, u] : ids_)
            if (u == uri) return id;
        return std::nullopt;
    }

private:
    [[nodiscard]] bool taken(std::uint16_t id) const noexcept
    {
        return std::any_of(ids_.begin(), ids_.end(), [&](const auto& e) { return e.first == id; });
    }
    std::vector<std::pair<std::uint16_t, std::string>> ids_;
};

// An offered section for one local transceiver or the data channel.
[[nodiscard]] inline media_description offer_section(const local_media& lm, std::string_view mid, std::string_view ufrag,
                                                     std::string_view pwd, const local_description& local,
                                                     const extension_ids& extensions)
{
    if (lm.kind == media_kind::data) {
        media_description m{media_line{"application", 9, {}, "UDP/DTLS/SCTP", token_list{"webrtc-datachannel"}}};
        add_transport(m, ufrag, pwd, local, setup_role::actpass);
        m.set_mid(mid);
        m.set_sctp_port(local.sctp_port);
        m.set_max_message_size(local.max_message_size);
        return m;
    }
    std::string formats;
    for (const auto& c : lm.codecs) {
        if (!formats.empty()) formats += ' ';
        formats += std::to_string(c.payload_type);
    }
    media_description m{media_line{to_string(lm.kind), 9, {}, "UDP/TLS/RTP/SAVPF", token_list{formats}}};
    m.add(sdp::rtcp{9, "IN", "IP4", "0.0.0.0"});  // RFC 8829 5.2.1: dummy a=rtcp with rtcp-mux
    add_transport(m, ufrag, pwd, local, setup_role::actpass);
    m.set_mid(mid);
    for (const auto& uri : lm.header_extensions)
        if (const auto id = extensions.id_of(uri)) m.add(sdp::extmap{*id, {}, uri, {}});
    m.add_flag(to_string(lm.direction));
    add_sender(m, lm, lm.direction);
    m.add_flag("rtcp-mux");  // RFC 8829 5.2.1, RFC 8858
    m.add_flag("rtcp-rsize");  // RFC 8829 5.2.1, RFC 5506
    for (const auto& c : lm.codecs) add_codec(m, c, c.payload_type, c.fmtp, c.feedback);
    return m;
}

[[nodiscard]] inline session_description make_session(const local_description& local, const session_description* previous)
{
    std::uint64_t id = local.session_id, version = 2;
    if (previous) {
        if (auto o = previous->origin()) {
            if (auto n = sdp::detail::parse_uint<std::uint64_t>(o->session_id)) id = *n;
            version = o->session_version + 1;  // RFC 8829 5.2.2: incremented for each change
        }
    }
    auto d = session_description::make(id, version);
    if (local.ice_lite) d.add_flag("ice-lite");
    return d;
}

// The credentials for a new description: the previous ones unless restarting (RFC 8829 5.2.2).
[[nodiscard]] inline result<std::pair<std::string, std::string>> pick_credentials(const local_description& local,
                                                                                const session_description* previous,
                                                                                bool restart)
{
    if (!previous) return std::pair{local.ice_ufrag, local.ice_pwd};
    std::optional<std::string_view> ufrag, pwd;
    for (const auto& m : previous->media) {
        if (!ufrag) ufrag = m.ice_ufrag();
        if (!pwd) pwd = m.ice_pwd();
    }
    if (!ufrag) ufrag = previous->ice_ufrag();
    if (!pwd) pwd = previous->ice_pwd();
    if (!restart) {
        if (ufrag && pwd) return std::pair{std::string(*ufrag), std::string(*pwd)};
        return std::pair{local.ice_ufrag, local.ice_pwd};
    }
    if (ufrag && *ufrag == local.ice_ufrag)
        return make_error(errc::negotiation_failed, "ICE restart needs a new ufrag; '", local.ice_ufrag, "' was used before");
    if (pwd && *pwd == local.ice_pwd)
        return make_error(errc::negotiation_failed, "ICE restart needs a new pwd");
    return std::pair{local.ice_ufrag, local.ice_pwd};
}

inline void add_bundle_group(session_description& d)
{
    std::string mids = "BUNDLE";
    bool any = false;
    for (const auto& m : d.media) {
        if (m.port() == 0 && !m.bundle_only()) continue;
        if (auto mid = m.mid()) {
            mids += ' ';
            mids += *mid;
            any = true;
        }
    }
    if (any) d.add_attribute("group", mids);
}

// A section kept only to hold its place: port 0, its mid, nothing else (RFC 8829 5.2.2).
[[nodiscard]] inline media_description rejected_copy(const media_line& offered, std::string_view mid)
{
    media_line m = offered;
    m.port = 0;
    m.port_count.reset();
    media_description out{m};
    if (!mid.empty()) out.set_mid(mid);
    return out;
}

}  // namespace detail

// RFC 8829 5.2: an offer for `local`.
[[nodiscard]] inline result<session_description> create_offer(const local_description& local, const offer_options& options = {})
{
    if (auto r = detail::check_local(local); !r) return r.error();
    auto creds = detail::pick_credentials(local, options.previous, options.ice_restart);
    if (!creds) return creds.error();
    const auto& [ufrag, pwd] = *creds;

    auto d = detail::make_session(local, options.previous);
    const detail::extension_ids extensions(local.media, options.previous);
    std::vector<bool> used(local.media.size(), false);
    std::vector<std::string> mids;
    for (const auto& m : local.media)
        if (!m.mid.empty()) mids.push_back(m.mid);

    // RFC 8829 5.2.2: sections of the previous description keep their place and mid. A local
    // section claims the previous one with its mid; one without a mid claims the first
    // unclaimed, still active previous section of its kind (the transceiver it was before).
    if (options.previous) {
        const auto& prev_media = options.previous->media;
        std::vector<std::optional<std::size_t>> owner(prev_media.size());
        for (std::size_t p = 0; p < prev_media.size(); ++p) {
            const auto mid = prev_media[p].mid().value_or("");
            for (std::size_t i = 0; i < local.media.size(); ++i)
                if (!used[i] && !mid.empty() && local.media[i].mid == mid && prev_media[p].port() != 0) {
                    owner[p] = i;
                    used[i] = true;
                    break;
                }
        }
        for (std::size_t p = 0; p < prev_media.size(); ++p) {
            if (owner[p] || prev_media[p].port() == 0) continue;
            const auto kind = prev_media[p].kind();
            for (std::size_t i = 0; i < local.media.size(); ++i)
                if (!used[i] && local.media[i].mid.empty() && to_string(local.media[i].kind) == kind) {
                    owner[p] = i;
                    used[i] = true;
                    break;
                }
        }
        for (std::size_t p = 0; p < prev_media.size(); ++p) {
            const auto mid = std::string(prev_media[p].mid().value_or(""));
            if (!mid.empty()) mids.push_back(mid);
            if (!owner[p]) {
                // Stopped (or previously rejected): stays, with port 0 (RFC 8829 5.2.2).
                auto ml = prev_media[p].m_line();
                if (!ml) return ml.error();
                d.media.push_back(detail::rejected_copy(*ml, mid));
                continue;
            }
            d.media.push_back(detail::offer_section(local.media[*owner[p]], mid, ufrag, pwd, local, extensions));
        }
    }
    for (std::size_t i = 0; i < local.media.size(); ++i) {
        if (used[i]) continue;
        std::string mid = local.media[i].mid;
        if (mid.empty()) {
            mid = detail::next_mid(mids);
            mids.push_back(mid);
        }
        d.media.push_back(detail::offer_section(local.media[i], mid, ufrag, pwd, local, extensions));
    }
    if (d.media.empty()) return make_error(errc::negotiation_failed, "an offer needs at least one m= section");

    detail::add_bundle_group(d);
    bool any_rtp = false;
    for (const auto& lm : local.media) any_rtp = any_rtp || lm.kind != media_kind::data;
    if (any_rtp) d.add_attribute("msid-semantic", " WMS");
    // Candidates go in the first accepted section: the BUNDLE tag (RFC 8843 7.1).
    for (auto& m : d.media)
        if (m.port() != 0) {
            detail::add_candidates(m, local);
            break;
        }
    return d;
}

namespace detail {

[[nodiscard]] inline bool same_codec(const codec& c, const rtpmap& r) noexcept
{
    return sdp::detail::iequals(c.name, r.encoding_name) && c.clock_rate == r.clock_rate &&
           (c.channels == 0 || !r.channels || c.channels == *r.channels);
}

// RFC 6184 8.2.2: H.264 payloads match only with the same packetization-mode and the same
// profile (profile-level-id read as ITU-T H.264 A.2 defines profiles, h264_profile.hpp); the
// level may differ. A profile-level-id we cannot read matches nothing.
[[nodiscard]] inline bool fmtp_compatible(const codec& c, std::string_view offered) noexcept
{
    if (!sdp::detail::iequals(c.name, "H264")) return true;
    const parameter_list mine_list{c.fmtp};
    const parameter_list theirs_list{offered};
    if (mine_list.find("packetization-mode").value_or("0") != theirs_list.find("packetization-mode").value_or("0"))
        return false;
    const auto mine = parse_h264_profile_level_id(mine_list.find("profile-level-id").value_or(h264_default_profile_level_id));
    const auto theirs =
        parse_h264_profile_level_id(theirs_list.find("profile-level-id").value_or(h264_default_profile_level_id));
    return mine && theirs && mine->profile == theirs->profile;
}

// Answers one offered audio/video section with the local transceiver `lm`; nullopt when no
// codec matches (the caller rejects the section).
template <class Section>
[[nodiscard]] std::optional<media_description> answer_rtp(const Section& offered, const media_line& ml, const local_media& lm,
                                                         std::string_view mid, std::string_view ufrag, std::string_view pwd,
                                                         const local_description& local, setup_role role)
{
    struct accepted {
        std::uint8_t pt;
        const codec* local;
        std::string fmtp;
        std::vector<std::string> feedback;
    };
    std::vector<accepted> chosen;
    // RFC 8829 5.3.1: the answer lists the offered payload types it supports, in the offer's
    // order, with the offer's numbers.
    for (auto f : ml.formats) {
        const auto pt = sdp::detail::parse_uint<std::uint8_t>(f);
        if (!pt) continue;
        const auto map = offered.rtpmap_for(*pt);
        if (!map || sdp::detail::iequals(map->encoding_name, "rtx")) continue;
        const auto offered_fmtp = offered.fmtp_for(*pt);
        for (const auto& c : lm.codecs) {
            if (!same_codec(c, *map) || !fmtp_compatible(c, offered_fmtp ? offered_fmtp->parameters : std::string_view{})) continue;
            accepted a{*pt, &c, offered_fmtp ? std::string(offered_fmtp->parameters) : c.fmtp, {}};
            // Feedback both sides do (RFC 4585 4.2).
            for (const auto& fb : offered.rtcp_fbs()) {
                if (fb.payload_type != f && fb.payload_type != "*") continue;
                std::string value(fb.type);
                if (!fb.parameter.empty()) { value += ' '; value += fb.parameter; }
                if (std::find(c.feedback.begin(), c.feedback.end(), value) != c.feedback.end()) a.feedback.push_back(value);
            }
            chosen.push_back(std::move(a));
            break;
        }
    }
    if (chosen.empty()) return std::nullopt;
    // RTX (RFC 4588): offered rtx payloads whose apt is a chosen payload, if we do rtx.
    const auto local_rtx = std::find_if(lm.codecs.begin(), lm.codecs.end(), [](const codec& c) { return sdp::detail::iequals(c.name, "rtx"); });
    if (local_rtx != lm.codecs.end()) {
        std::vector<accepted> rtx;
        for (const auto& r : offered.rtpmaps()) {
            if (!sdp::detail::iequals(r.encoding_name, "rtx")) continue;
            const auto f = offered.fmtp_for(r.payload_type);
            if (!f) continue;
            const auto apt = f->parameter_items().find("apt");
            if (!apt) continue;
            const auto target = sdp::detail::parse_uint<std::uint8_t>(*apt);
            if (!target) continue;
            if (std::any_of(chosen.begin(), chosen.end(), [&](const accepted& a) { return a.pt == *target; }))
                rtx.push_back({r.payload_type, &*local_rtx, std::string(f->parameters), {}});
        }
        chosen.insert(chosen.end(), rtx.begin(), rtx.end());
    }

    std::string formats;
    for (const auto& a : chosen) {
        if (!formats.empty()) formats += ' ';
        formats += std::to_string(a.pt);
    }
    media_description m{media_line{ml.media, 9, {}, ml.proto, token_list{formats}}};
    m.add(sdp::rtcp{9, "IN", "IP4", "0.0.0.0"});
    add_transport(m, ufrag, pwd, local, role);
    m.set_mid(mid);
    // RFC 8285 6: answer only the extensions we know, with the offered ids.
    for (const auto& e : offered.extmaps())
        if (std::find(lm.header_extensions.begin(), lm.header_extensions.end(), e.uri) != lm.header_extensions.end())
            m.add(sdp::extmap{e.id, {}, e.uri, {}});
    // RFC 3264 6.1: we send only what they receive, receive only what they send.
    const auto theirs = offered.effective_direction();
    const bool they_send = theirs == direction::sendrecv || theirs == direction::sendonly;
    const bool they_recv = theirs == direction::sendrecv || theirs == direction::recvonly;
    const bool we_send = (lm.direction == direction::sendrecv || lm.direction == direction::sendonly) && they_recv;
    const bool we_recv = (lm.direction == direction::sendrecv || lm.direction == direction::recvonly) && they_send;
    const auto d = we_send && we_recv ? direction::sendrecv : we_send ? direction::sendonly : we_recv ? direction::recvonly : direction::inactive;
    m.add_flag(to_string(d));
    add_sender(m, lm, d);
    if (offered.rtcp_mux()) m.add_flag("rtcp-mux");
    if (offered.rtcp_rsize()) m.add_flag("rtcp-rsize");
    for (const auto& a : chosen) add_codec(m, *a.local, a.pt, a.fmtp, a.feedback);
    return m;
}

}  // namespace detail

// RFC 8829 5.3: the answer of `local` to `offer` (a session_view or a session_description).
template <class Offer>
[[nodiscard]] result<session_description> create_answer(const Offer& offer, const local_description& local,
                                                         const answer_options& options = {})
{
    if (auto r = detail::check_local(local); !r) return r.error();

    // ICE restart (RFC 8839 4.4.1.1.1): the offer's credentials changed since last time.
    std::optional<std::string_view> remote_ufrag = offer.ice_ufrag();
    for (const auto& m : detail::sections_of(offer))
        if (!remote_ufrag) remote_ufrag = m.ice_ufrag();
    const bool restart = options.previous && !options.previous_remote_ufrag.empty() && remote_ufrag &&
                         *remote_ufrag != options.previous_remote_ufrag;
    auto creds = detail::pick_credentials(local, options.previous, restart);
    if (!creds) return creds.error();
    const auto& [ufrag, pwd] = *creds;

    auto d = detail::make_session(local, options.previous);
    const auto offered_bundle = offer.bundle_group();
    std::vector<bool> used(local.media.size(), false);
    bool any_rtp = false;

    auto pick_local = [&](media_kind kind, std::string_view mid) -> const local_media* {
        // The transceiver with this mid, else the first unused one of this kind (RFC 8829 5.10).
        for (std::size_t i = 0; i < local.media.size(); ++i)
            if (!used[i] && local.media[i].kind == kind && local.media[i].mid == mid) { used[i] = true; return &local.media[i]; }
        for (std::size_t i = 0; i < local.media.size(); ++i)
            if (!used[i] && local.media[i].kind == kind && local.media[i].mid.empty()) { used[i] = true; return &local.media[i]; }
        return nullptr;
    };

    for (const auto& offered : detail::sections_of(offer)) {
        const auto parsed_m_line = detail::m_line_of(offered);
        if (!parsed_m_line) return parsed_m_line.error();
        const media_line& ml = *parsed_m_line;
        if (ml.media.empty()) return make_error(errc::negotiation_failed, "offered section has no m= line");
        const auto mid = offered.mid().value_or("");
        // RFC 8829 5.3.1: a section rejected in the offer is rejected in the answer.
        if (ml.port == 0 && !offered.bundle_only()) {
            d.media.push_back(detail::rejected_copy(ml, mid));
            continue;
        }
        if (mid.empty()) return make_error(errc::negotiation_failed, "offered ", ml.media, " section has no a=mid (RFC 8843 requires one)");
        // RFC 8842 5.3: answer actpass with our preferred role, otherwise the opposite one.
        const auto their_setup = offered.setup().value_or(offer.setup().value_or(setup_role::active));
        setup_role role = local.answer_role;
        if (their_setup == setup_role::active) role = setup_role::passive;
        else if (their_setup == setup_role::passive) role = setup_role::active;
        else if (their_setup == setup_role::holdconn) role = setup_role::holdconn;
        if (role == setup_role::actpass) role = setup_role::active;

        // Sections we cannot take (other media, other protocols) are rejected, not failed.
        std::optional<media_kind> kind;
        if (ml.is_data_channel()) kind = media_kind::data;
        else if (ml.media == "audio" && ml.proto.find("RTP") != std::string_view::npos) kind = media_kind::audio;
        else if (ml.media == "video" && ml.proto.find("RTP") != std::string_view::npos) kind = media_kind::video;
        const local_media* lm = kind ? pick_local(*kind, mid) : nullptr;
        if (!lm) {
            d.media.push_back(detail::rejected_copy(ml, mid));
            continue;
        }
        if (*kind == media_kind::data) {
            media_description m{media_line{ml.media, 9, {}, ml.proto, ml.formats}};
            detail::add_transport(m, ufrag, pwd, local, role);
            m.set_mid(mid);
            if (offered.sctpmap()) {
                // draft-ietf-mmusic-sctp-sdp-05 peers: answer in kind.
                m.add(sdp::sctpmap{local.sctp_port, "webrtc-datachannel", 1024});
            } else {
                m.set_sctp_port(local.sctp_port);
            }
            m.set_max_message_size(local.max_message_size);
            d.media.push_back(std::move(m));
            continue;
        }
        any_rtp = true;
        auto m = detail::answer_rtp(offered, ml, *lm, mid, ufrag, pwd, local, role);
        if (!m) {
            d.media.push_back(detail::rejected_copy(ml, mid));
            continue;
        }
        d.media.push_back(std::move(*m));
    }
    if (d.media.empty()) return make_error(errc::negotiation_failed, "the offer has no m= sections");

    // RFC 8843 7.3.1: the answer's BUNDLE group holds the accepted sections of the offer's group.
    if (offered_bundle) {
        std::string mids = "BUNDLE";
        for (auto mid : offered_bundle->mids) {
            const auto* m = d.find_media(mid);
            if (m && m->port() != 0) { mids += ' '; mids += mid; }
        }
        if (mids != "BUNDLE") d.add_attribute("group", mids);
    }
    if (any_rtp) d.add_attribute("msid-semantic", " WMS");
    for (auto& m : d.media)
        if (m.port() != 0) {
            detail::add_candidates(m, local);
            break;
        }
    return d;
}

// RFC 8842 5: the DTLS role this side takes, from our setup attribute and theirs.
// Returns active (DTLS client) or passive (DTLS server).
template <class Local, class Remote>
[[nodiscard]] result<setup_role> dtls_role(const Local& local, const Remote& remote)
{
    auto setup_of = [](const auto& d) -> std::optional<setup_role> {
        if (auto s = d.setup()) return s;
        for (const auto& m : detail::sections_of(d))
            if (auto s = m.setup()) return s;
        return std::nullopt;
    };
    const auto mine = setup_of(local), theirs = setup_of(remote);
    if (mine == setup_role::active || theirs == setup_role::passive) return setup_role::active;
    if (mine == setup_role::passive || theirs == setup_role::active) return setup_role::passive;
    return make_error(errc::negotiation_failed, "no DTLS role: neither side said active or passive");
}

}  // namespace peerkit::sdp::jsep
