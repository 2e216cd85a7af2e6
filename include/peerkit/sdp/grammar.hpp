// The one SDP grammar (RFC 8866 9), written once. `detail::run_grammar(text, options, sink)`
// splits the text into lines, checks each line and the order of lines, checks the known
// WebRTC attributes, enforces the limits, and hands each accepted line to the sink. The view
// parser's sink only counts; the owning parser's sink copies. Both therefore accept exactly
// the same language and report exactly the same errors.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/attributes.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/error.hpp>
#include <peerkit/sdp/fields.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace peerkit::sdp {

// Every limit of the parser. Input over a limit is refused with errc::limit_exceeded and a
// message that names the limit. The defaults are far above what browsers send (a Chromium
// audio+video+data offer is ~8 KB and ~150 lines) and low enough to bound work and memory.
struct parse_limits {
    std::size_t max_size = 256 * 1024;    // bytes of SDP text
    std::size_t max_lines = 8192;         // lines in the whole description
    std::size_t max_line_length = 4096;   // bytes of one line, without its line ending
    std::size_t max_media = 256;          // m= sections
    std::size_t max_candidates = 1024;    // a=candidate lines in the whole description
};

struct parse_options {
    parse_limits limits{};
    // Check the value of every attribute peerkit knows (candidate, fingerprint, rtpmap, ...),
    // so that typed accessors on a parsed description never meet a malformed value. Unknown
    // attributes are always kept verbatim and never checked.
    bool check_attributes = true;
};

// One line of a description: its type letter, its value (after "x="), its 1-based number.
struct line_ref {
    char type = 0;
    std::string_view value;
    std::size_t number = 0;
};

// One attribute: a=<name>[:<value>] (RFC 8866 5.13). `has_value` tells "a=x:" from "a=x".
struct attribute {
    std::string_view name;
    std::string_view value;
    bool has_value = false;
    std::size_t number = 0;  // line number, 0 when the attribute comes from an edited model
};

[[nodiscard]] constexpr attribute split_attribute(std::string_view v, std::size_t number = 0) noexcept
{
    std::size_t colon = 0;
    while (colon < v.size() && v[colon] != ':') ++colon;  // names are short: no library call
    if (colon == v.size()) return {v, {}, false, number};
    return {std::string_view{v.data(), colon}, std::string_view{v.data() + colon + 1, v.size() - colon - 1}, true, number};
}

namespace detail {

// Splits the next line off `rest` (LF or CRLF ending; the last line may lack one).
[[nodiscard]] inline std::string_view next_line(std::string_view& rest, bool& had_cr) noexcept
{
    const void* nl = std::memchr(rest.data(), '\n', rest.size());
    std::string_view line;
    if (nl) {
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - rest.data());
        line = rest.substr(0, len);
        rest.remove_prefix(len + 1);
    } else {
        line = rest;
        rest = {};
    }
    had_cr = !line.empty() && line.back() == '\r';
    if (had_cr) line.remove_suffix(1);
    return line;
}

// The attributes whose values peerkit checks at parse time (their grammars are in
// attributes.hpp and candidate.hpp).
enum class known_attribute : unsigned char {
    none, mid, rid, fmtp, ssrc, msid, rtcp, setup, group, rtpmap, extmap, rtcp_fb, ice_pwd, sctpmap,
    candidate, ice_ufrag, simulcast, sctp_port, ssrc_group, fingerprint, ice_options, msid_semantic,
    max_message_size,
};
// Which known attribute `n` names. Dispatches on the length first, so each line costs one
// compare of a constant-size name (a known name is also a valid token: no further check).
PEERKIT_SDP_HOT [[nodiscard]] inline known_attribute classify_attribute(std::string_view n) noexcept
{
    using detail::equals;
    using k = known_attribute;
    switch (n.size()) {
    case 3: return equals(n, "mid") ? k::mid : equals(n, "rid") ? k::rid : k::none;
    case 4:
        return equals(n, "fmtp") ? k::fmtp : equals(n, "ssrc") ? k::ssrc : equals(n, "msid") ? k::msid
             : equals(n, "rtcp") ? k::rtcp : k::none;
    case 5: return equals(n, "setup") ? k::setup : equals(n, "group") ? k::group : k::none;
    case 6: return equals(n, "rtpmap") ? k::rtpmap : equals(n, "extmap") ? k::extmap : k::none;
    case 7:
        return equals(n, "rtcp-fb") ? k::rtcp_fb : equals(n, "ice-pwd") ? k::ice_pwd
             : equals(n, "sctpmap") ? k::sctpmap : k::none;
    case 9:
        return equals(n, "candidate") ? k::candidate : equals(n, "ice-ufrag") ? k::ice_ufrag
             : equals(n, "simulcast") ? k::simulcast : equals(n, "sctp-port") ? k::sctp_port : k::none;
    case 10: return equals(n, "ssrc-group") ? k::ssrc_group : k::none;
    case 11: return equals(n, "fingerprint") ? k::fingerprint : equals(n, "ice-options") ? k::ice_options : k::none;
    case 13: return equals(n, "msid-semantic") ? k::msid_semantic : k::none;
    case 16: return equals(n, "max-message-size") ? k::max_message_size : k::none;
    default: return k::none;
    }
}

// One attribute grammar run for its verdict only. Flattened: the parse_* grammar is inlined
// here, so the compiler drops the typed value it builds (only success matters) and the
// zeroing and copying of result<T> (rep stos/movs of ~128 bytes for a candidate_view showed
// in the profile), and each grammar gets its own small function.
template <class Parse>
#if defined(__GNUC__) || defined(__clang__)
[[gnu::flatten]]
#endif
[[nodiscard]] inline std::optional<peerkit::error> attribute_verdict(Parse parse) noexcept
{
    if (auto r = parse(); !r) return r.error();
    return std::nullopt;
}

// Checks the value of one attribute peerkit knows (RFC sections in attributes.hpp); the error,
// if any. (An optional, not a result<void>: this runs for every line and must cost nothing
// when the value is fine.)
// (Name and value by value: two registers each. A struct by reference made the caller store
// the views and reload them as one 16-byte value, a store-forwarding stall on every line.)
// The dispatch is inlined into the line loop and each grammar is one flattened call
// (attribute_verdict): a single flattened function for all of them cost a large frame
// set-up per line, and the grammars called out of line cost their result<T> copies. Measured
// with callgrind on the Chromium offer: 89.4k -> 83.9k instructions per view parse.
#if defined(__GNUC__) || defined(__clang__)
[[gnu::always_inline]]
#endif
[[nodiscard]] inline std::optional<peerkit::error> check_attribute(known_attribute id, std::string_view n,
                                                                    std::string_view v) noexcept
{
    using k = known_attribute;
    switch (id) {
    case k::none: break;
    case k::mid: return attribute_verdict([v] { return parse_mid(v); });
    case k::rid: return attribute_verdict([v] { return parse_rid(v); });
    case k::fmtp: return attribute_verdict([v] { return parse_fmtp(v); });
    case k::ssrc: return attribute_verdict([v] { return parse_ssrc(v); });
    case k::msid: return attribute_verdict([v] { return parse_msid(v); });
    case k::rtcp: return attribute_verdict([v] { return parse_rtcp(v); });
    case k::setup: return attribute_verdict([v] { return parse_setup(v); });
    case k::group: return attribute_verdict([v] { return parse_group(v); });
    case k::rtpmap: return attribute_verdict([v] { return parse_rtpmap(v); });
    case k::extmap: return attribute_verdict([v] { return parse_extmap(v); });
    case k::rtcp_fb: return attribute_verdict([v] { return parse_rtcp_fb(v); });
    case k::ice_pwd:
    case k::ice_ufrag: return attribute_verdict([n, v] { return parse_ice_credential(n, v); });
    case k::sctpmap: return attribute_verdict([v] { return parse_sctpmap(v); });
    case k::candidate: return attribute_verdict([v] { return parse_candidate_value(v); });
    case k::simulcast: return attribute_verdict([v] { return parse_simulcast(v); });
    case k::sctp_port: return attribute_verdict([v] { return parse_sctp_port(v); });
    case k::ssrc_group: return attribute_verdict([v] { return parse_ssrc_group(v); });
    case k::fingerprint: return attribute_verdict([v] { return parse_fingerprint(v); });
    case k::ice_options: return attribute_verdict([v] { return parse_ice_options(v); });
    case k::msid_semantic: return attribute_verdict([v] { return parse_msid_semantic(v); });
    case k::max_message_size: return attribute_verdict([v] { return parse_max_message_size(v); });
    }
    return std::nullopt;
}
// The same check for an attribute whose name has not been classified yet.
[[nodiscard]] inline std::optional<peerkit::error> check_attribute(const attribute& a) noexcept
{
    return check_attribute(classify_attribute(a.name), a.name, a.value);
}

// RFC 8866 9: the order of lines. Session: v o s i u e p c b (t r*)+ z k a*; media: m i c* b* k a*.
// Each type gets a rank; ranks never decrease, and `once` types appear at most once.
struct order_rule {
    int rank;   // -1: not allowed in this section
    bool once;
};
[[nodiscard]] constexpr order_rule session_order(char t) noexcept
{
    switch (t) {
    case 'v': return {0, true};
    case 'o': return {1, true};
    case 's': return {2, true};
    case 'i': return {3, true};
    case 'u': return {4, true};
    case 'e': return {5, false};
    case 'p': return {6, false};
    case 'c': return {7, true};
    case 'b': return {8, false};
    case 't': return {9, false};
    case 'r': return {9, false};
    case 'z': return {10, true};
    case 'k': return {11, true};
    case 'a': return {12, false};
    default: return {-1, false};
    }
}
[[nodiscard]] constexpr order_rule media_order(char t) noexcept
{
    switch (t) {
    case 'm': return {0, true};
    case 'i': return {1, true};
    case 'c': return {2, false};  // RFC 8866 5.7: several for layered multicast
    case 'b': return {3, false};
    case 'k': return {4, true};
    case 'a': return {5, false};
    default: return {-1, false};
    }
}

// Runs the grammar over `text`. The sink gets `line(const line_ref&)` for every line, in order.
template <class Sink>
[[nodiscard]] result<void> run_grammar(std::string_view text, const parse_options& options, Sink& sink) noexcept
{
    const auto& lim = options.limits;
    if (text.size() > lim.max_size)
        return make_error(errc::limit_exceeded, "SDP is ", text.size(), " bytes, over the limit of ", lim.max_size);
    const char* p = text.data();
    const char* const end = p + text.size();
    std::size_t number = 0, media = 0, candidates = 0;
    bool in_media = false, seen_o = false, seen_s = false, seen_t = false;
    int last_rank = -1;
    char last_type = 0;
    while (p != end) {
        // One scan finds the line end and, in the same pass, any CR or NUL inside the line.
        // A lone LF, a CRLF, or a final CR without LF end a line (LF-only input is accepted;
        // serialization normalises to CRLF). Anything else (CR not before LF, a NUL) sends the
        // line down the general path below, which reports it after the checks that come first.
        std::string_view line;
        bool odd = false;
        const char* const stop = find_line_break(p, end);
        if (stop == end) {
            line = {p, static_cast<std::size_t>(end - p)};
            p = end;
        } else if (*stop == '\n') {
            line = {p, static_cast<std::size_t>(stop - p)};
            p = stop + 1;
        } else if (*stop == '\r' && (stop + 1 == end || stop[1] == '\n')) {
            line = {p, static_cast<std::size_t>(stop - p)};
            p = stop + 1 == end ? end : stop + 2;
        } else {
            std::string_view rest{p, static_cast<std::size_t>(end - p)};
            bool had_cr = false;
            line = next_line(rest, had_cr);
            p = end - rest.size();
            odd = true;
        }
        ++number;
        if (number > lim.max_lines)
            return make_error(errc::limit_exceeded, "SDP has more than ", lim.max_lines, " lines");
        if (line.size() > lim.max_line_length)
            return make_line_error(errc::limit_exceeded, number, "line is ", line.size(),
                                   " bytes, over the limit of ", lim.max_line_length);
        if (line.empty()) {
            // Blank lines may only trail the description (some signalling adds one); they are
            // dropped like the line endings are normalised. A blank line inside is an error.
            std::string_view tail{p, static_cast<std::size_t>(end - p)};
            bool only_blank = true;
            while (!tail.empty() && only_blank) {
                bool cr = false;
                only_blank = next_line(tail, cr).empty();
            }
            if (only_blank && number > 1) break;
            return make_line_error(errc::malformed_line, number, "empty line");
        }
        if (line.size() < 2 || line[1] != '=')
            return make_line_error(errc::malformed_line, number, "line is not <type>=<value>");
        const char type = line[0];
        if (!(type >= 'a' && type <= 'z'))
            return make_line_error(errc::malformed_line, number, "line type must be a lower-case letter");
        const std::string_view value{line.data() + 2, line.size() - 2};
        // RFC 8866 9: byte-string excludes NUL, CR and LF.
        if (odd) {
            if (std::memchr(value.data(), '\r', value.size()))
                return make_line_error(errc::malformed_line, number, "stray CR in line");
            if (std::memchr(value.data(), '\0', value.size()))
                return make_line_error(errc::malformed_line, number, "NUL byte in line");
        }

        if (number == 1) {
            if (type != 'v') return make_line_error(errc::missing_line, 1, "SDP must start with v=");
            if (value != "0") return make_line_error(errc::bad_field, 1, "v= must be 0, not '", value, "'");
            last_rank = 0;
            last_type = 'v';
            sink.line(line_ref{type, value, number});
            continue;
        }
        if (type == 'm') {
            if (!seen_o) return make_line_error(errc::missing_line, number, "no o= line before the first m= line");
            if (!seen_s) return make_line_error(errc::missing_line, number, "no s= line before the first m= line");
            if (!seen_t) return make_line_error(errc::missing_line, number, "no t= line before the first m= line");
            if (++media > lim.max_media)
                return make_line_error(errc::limit_exceeded, number, "more than ", lim.max_media, " m= sections");
            in_media = true;
            last_rank = -1;
        }
        const auto rule = in_media ? media_order(type) : session_order(type);
        if (rule.rank < 0) {
            if (session_order(type).rank >= 0 || type == 'm')
                return make_line_error(errc::misplaced_line, number, type, "= line is not allowed ",
                                       in_media ? "in a media section" : "at session level");
            return make_line_error(errc::unknown_line_type, number, "unknown line type '", type, "'");
        }
        if (rule.rank < last_rank || (rule.once && rule.rank == last_rank && type == last_type) ||
            (type == 'r' && last_type != 't' && last_type != 'r'))
            return make_line_error(errc::misplaced_line, number, type, "= line after ", last_type,
                                   "= line (RFC 8866 9 fixes the order)");
        last_rank = rule.rank;
        last_type = type;

        switch (type) {
        case 'o': {
            seen_o = true;
            if (auto r = parse_origin(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        }
        case 's': seen_s = true; break;
        case 'c':
            if (auto r = parse_connection(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 'b':
            if (auto r = parse_bandwidth(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 't':
            seen_t = true;
            if (auto r = parse_timing(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 'r':
            if (auto r = check_repeat(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 'z':
            if (auto r = check_zone(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 'k':
            if (auto r = check_key(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 'm':
            if (auto r = parse_media_line(value); !r) return make_line_error(errc::bad_field, number, r.error().detail());
            break;
        case 'a': {
            // RFC 8866 5.13: a=<attribute-name>[:<attribute-value>]. A known name is a token
            // already; only other names are checked byte by byte.
            const char* const colon = find_byte(value.data(), value.data() + value.size(), ':');
            const bool has_value = colon != value.data() + value.size();
            const std::string_view name{value.data(), static_cast<std::size_t>(colon - value.data())};
            const std::string_view attribute_value =
                has_value ? std::string_view{colon + 1, value.size() - name.size() - 1} : std::string_view{};
            const auto id = classify_attribute(name);
            if (id == known_attribute::none && !detail::is_token(name))
                return make_line_error(errc::bad_attribute, number, "attribute name '", name, "' is not a token");
            if (id == known_attribute::candidate && ++candidates > lim.max_candidates)
                return make_line_error(errc::limit_exceeded, number, "more than ", lim.max_candidates, " candidates");
            if (options.check_attributes && id != known_attribute::none)  // unknown: kept verbatim
                if (auto e = check_attribute(id, name, attribute_value))
                    return make_line_error(*e == errc::bad_candidate ? errc::bad_candidate : errc::bad_attribute,
                                           number, e->detail());
            break;
        }
        default: break;  // i=, u=, e=, p=: free text
        }
        sink.line(line_ref{type, value, number});
    }
    if (number == 0) return make_error(errc::missing_line, "SDP is empty: no v= line");
    if (!seen_o) return make_error(errc::missing_line, "SDP has no o= line");
    if (!seen_s) return make_error(errc::missing_line, "SDP has no s= line");
    if (!seen_t) return make_error(errc::missing_line, "SDP has no t= line");
    return {};
}

}  // namespace detail
}  // namespace peerkit::sdp
