// A human summary of a description: what a WebRTC developer looks for first (per m= line:
// kind, mid, direction, codecs, candidates; BUNDLE; ICE credentials; fingerprints; setup).
// Used by examples/sdp-roundtrip --summary.
#pragma once

#include <peerkit/sdp/view.hpp>

#include <string>
#include <string_view>

namespace peerkit::sdp {

namespace detail {
template <class Section>
void summarize_transport(std::string& out, const Section& s, std::string_view indent)
{
    if (auto u = s.ice_ufrag()) { out += indent; out += "ice-ufrag: "; out += *u; out += '\n'; }
    if (auto p = s.ice_pwd()) { out += indent; out += "ice-pwd: "; out += *p; out += '\n'; }
    if (!s.ice_options().empty()) { out += indent; out += "ice-options: "; out += s.ice_options().text(); out += '\n'; }
    if (s.ice_lite()) { out += indent; out += "ice-lite\n"; }
    for (const auto& f : s.fingerprints()) { out += indent; out += "fingerprint: "; append_value(out, f); out += '\n'; }
    if (auto r = s.setup()) { out += indent; out += "setup: "; out += to_string(*r); out += '\n'; }
}
}  // namespace detail

[[nodiscard]] inline std::string summarize(const session_view& v)
{
    std::string out;
    const auto o = v.origin();
    out += "session: id ";
    out += o.session_id;
    out += " version ";
    detail::append_number(out, o.session_version);
    out += '\n';
    for (const auto& g : v.groups()) {
        out += "group: ";
        append_value(out, g);
        out += '\n';
    }
    if (!v.bundle_group()) out += "BUNDLE: none\n";
    detail::summarize_transport(out, v, "");
    std::size_t index = 0;
    for (const auto& m : v.media()) {
        const auto ml = m.m_line();
        out += "m-line ";
        detail::append_number(out, index++);
        out += ": ";
        out += ml.media;
        out += " mid=";
        out += m.mid().value_or("(none)");
        out += ' ';
        out += ml.media == "application" ? std::string_view("-") : to_string(m.effective_direction());
        out += " port=";
        detail::append_number(out, ml.port);
        out += ' ';
        out += ml.proto;
        if (m.rejected()) out += " (rejected)";
        if (m.bundle_only()) out += " bundle-only";
        out += '\n';
        detail::summarize_transport(out, m, "  ");
        if (ml.is_data_channel() || m.sctpmap()) {
            out += "  data channel: sctp-port ";
            if (auto p = m.sctp_port()) detail::append_number(out, *p);
            else if (auto sm = m.sctpmap()) detail::append_number(out, sm->port);
            else out += "(none)";
            if (auto mms = m.max_message_size()) { out += " max-message-size "; detail::append_number(out, *mms); }
            out += '\n';
        }
        if (!m.rtpmaps().empty()) {
            out += "  codecs:";
            for (auto f : ml.formats) {
                const auto pt = detail::parse_uint<std::uint8_t>(f);
                const auto map = pt ? m.rtpmap_for(*pt) : std::nullopt;
                out += ' ';
                out += f;
                if (map) {
                    out += ' ';
                    out += map->encoding_name;
                    out += '/';
                    detail::append_number(out, map->clock_rate);
                    if (map->channels) { out += '/'; detail::append_number(out, *map->channels); }
                }
                out += ',';
            }
            out.pop_back();
            out += '\n';
        }
        for (const auto& c : m.candidates()) {
            out += "  candidate: ";
            out += c.type;
            out += ' ';
            out += c.transport;
            out += ' ';
            out += c.address;
            out += ' ';
            detail::append_number(out, c.port);
            if (c.related_port) {
                out += " from ";
                out += c.related_address;
                out += ' ';
                detail::append_number(out, *c.related_port);
            }
            if (c.tcp != tcp_type::none) { out += " tcptype "; out += to_string(c.tcp); }
            out += '\n';
        }
        if (m.end_of_candidates()) out += "  end-of-candidates\n";
    }
    return out;
}

}  // namespace peerkit::sdp
