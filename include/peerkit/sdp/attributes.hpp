// Typed WebRTC attributes: one struct per attribute, each with
//   - `static constexpr std::string_view name`  the attribute name after "a=",
//   - `parse_<name>(value)`                       its grammar, read into string_views of `value`,
//   - `append_value(out, x)`                      its canonical text (the inverse of parse).
// The grammar of each is here once; the view parser and the owning model both use it.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/detail/format.hpp>
#include <peerkit/sdp/detail/text.hpp>
#include <peerkit/sdp/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace peerkit::sdp {

// A lazily split list of separated tokens ("0 1 2", "nack pli", "1;2,~3"): no allocation.
class token_list {
public:
    class iterator {
    public:
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(std::string_view rest, char sep) noexcept : rest_(rest), sep_(sep) { advance(); }
        std::string_view operator*() const noexcept { return current_; }
        iterator& operator++() noexcept { advance(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.current_.data() == b.current_.data());
        }

    private:
        void advance() noexcept
        {
            while (!rest_.empty() && rest_.front() == sep_) rest_.remove_prefix(1);
            if (rest_.empty()) { done_ = true; return; }
            current_ = detail::cut(rest_, sep_);
            done_ = false;
        }
        std::string_view rest_{};
        std::string_view current_{};
        char sep_ = ' ';
        bool done_ = true;
    };

    constexpr token_list() = default;
    constexpr explicit token_list(std::string_view text, char sep = ' ') noexcept : text_(text), sep_(sep) {}
    [[nodiscard]] iterator begin() const noexcept { return {text_, sep_}; }
    [[nodiscard]] iterator end() const noexcept { return {}; }
    [[nodiscard]] bool empty() const noexcept { return begin() == end(); }
    [[nodiscard]] std::size_t size() const noexcept
    {
        std::size_t n = 0;
        for (auto it = begin(); it != end(); ++it) ++n;
        return n;
    }
    [[nodiscard]] bool contains(std::string_view token) const noexcept
    {
        for (auto t : *this)
            if (t == token) return true;
        return false;
    }
    [[nodiscard]] std::string_view text() const noexcept { return text_; }
    friend bool operator==(const token_list& a, const token_list& b) noexcept
    {
        auto x = a.begin(), y = b.begin();
        for (; x != a.end() && y != b.end(); ++x, ++y)
            if (*x != *y) return false;
        return x == a.end() && y == b.end();
    }

private:
    std::string_view text_{};
    char sep_ = ' ';
};

// RFC 8866 6.7: the media direction attributes (a property attribute, no value).
enum class direction { sendrecv, sendonly, recvonly, inactive };
[[nodiscard]] constexpr std::string_view to_string(direction d) noexcept
{
    switch (d) {
    case direction::sendrecv: return "sendrecv";
    case direction::sendonly: return "sendonly";
    case direction::recvonly: return "recvonly";
    case direction::inactive: return "inactive";
    }
    return "";
}
[[nodiscard]] constexpr std::optional<direction> direction_from(std::string_view s) noexcept
{
    if (s == "sendrecv") return direction::sendrecv;
    if (s == "sendonly") return direction::sendonly;
    if (s == "recvonly") return direction::recvonly;
    if (s == "inactive") return direction::inactive;
    return std::nullopt;
}
// JSEP 5.3.1 / RFC 3264 6.1: what the answerer says when the offerer said `d`.
[[nodiscard]] constexpr direction reverse(direction d) noexcept
{
    switch (d) {
    case direction::sendonly: return direction::recvonly;
    case direction::recvonly: return direction::sendonly;
    default: return d;
    }
}

// RFC 4145 4 / RFC 8842 3.1: a=setup, the DTLS role negotiation.
enum class setup_role { actpass, active, passive, holdconn };
[[nodiscard]] constexpr std::string_view to_string(setup_role r) noexcept
{
    switch (r) {
    case setup_role::actpass: return "actpass";
    case setup_role::active: return "active";
    case setup_role::passive: return "passive";
    case setup_role::holdconn: return "holdconn";
    }
    return "";
}
[[nodiscard]] inline result<setup_role> parse_setup(std::string_view v) noexcept
{
    if (v == "actpass") return setup_role::actpass;
    if (v == "active") return setup_role::active;
    if (v == "passive") return setup_role::passive;
    if (v == "holdconn") return setup_role::holdconn;
    return make_error(errc::bad_attribute, "a=setup: '", v, "' is not actpass, active, passive or holdconn");
}

// RFC 5888 5 + RFC 8843 7: a=group:<semantics> *(SP identification-tag), e.g. BUNDLE, LS.
struct group {
    static constexpr std::string_view name = "group";
    std::string_view semantics;
    token_list mids;
};
[[nodiscard]] inline result<group> parse_group(std::string_view v) noexcept
{
    auto rest = v;
    group g;
    g.semantics = detail::cut(rest, ' ');
    if (!detail::is_token(g.semantics)) return make_error(errc::bad_attribute, "a=group: semantics is not a token");
    for (auto mid : token_list{rest})
        if (!detail::is_token(mid)) return make_error(errc::bad_attribute, "a=group: '", mid, "' is not a token");
    g.mids = token_list{rest};
    return g;
}
inline void append_value(std::string& out, const group& g)
{
    out += g.semantics;
    for (auto mid : g.mids) { out += ' '; out += mid; }
}

// draft-ietf-mmusic-msid (kept by browsers): a=msid-semantic: WMS *(SP id). Chromium writes a
// space after the colon, so leading spaces are skipped (and kept in the line).
struct msid_semantic {
    static constexpr std::string_view name = "msid-semantic";
    std::string_view semantic;
    token_list ids;
};
[[nodiscard]] inline result<msid_semantic> parse_msid_semantic(std::string_view v) noexcept
{
    auto rest = detail::trim(v);
    msid_semantic m;
    m.semantic = detail::cut(rest, ' ');
    if (!detail::is_token(m.semantic)) return make_error(errc::bad_attribute, "a=msid-semantic: semantic is not a token");
    m.ids = token_list{rest};
    return m;
}
inline void append_value(std::string& out, const msid_semantic& m)
{
    out += ' ';  // as browsers write it
    out += m.semantic;
    for (auto id : m.ids) { out += ' '; out += id; }
}

// RFC 8122 5: a=fingerprint:<hash-func> SP 2UHEX *(":" 2UHEX). Several may be given (RFC 8842
// 5); the bytes are decoded into a fixed buffer large enough for SHA-512.
struct fingerprint {
    static constexpr std::string_view name = "fingerprint";
    static constexpr std::size_t max_size = 64;
    std::string_view hash_function;  // "sha-256"; compare case-insensitively (RFC 8122 5)
    std::array<std::uint8_t, max_size> bytes{};
    std::size_t size = 0;
    [[nodiscard]] std::span<const std::uint8_t> digest() const noexcept { return {bytes.data(), size}; }
    friend bool operator==(const fingerprint& a, const fingerprint& b) noexcept
    {
        return detail::iequals(a.hash_function, b.hash_function) && a.size == b.size &&
               std::equal(a.bytes.begin(), a.bytes.begin() + static_cast<std::ptrdiff_t>(a.size), b.bytes.begin());
    }
};
namespace detail {
// One table lookup per digit (a fingerprint is 64-128 of them).
inline constexpr auto hex_values = [] {
    struct table {
        signed char v[256];
    } t{};
    for (int u = 0; u < 256; ++u)
        t.v[u] = static_cast<signed char>(u >= '0' && u <= '9'   ? u - '0'
                                          : u >= 'A' && u <= 'F' ? u - 'A' + 10
                                          : u >= 'a' && u <= 'f' ? u - 'a' + 10  // lenient: RFC 8122 says upper case
                                                                 : -1);
    return t;
}();
[[nodiscard]] constexpr int hex_value(char c) noexcept { return hex_values.v[static_cast<unsigned char>(c)]; }
}  // namespace detail
[[nodiscard]] inline result<fingerprint> parse_fingerprint(std::string_view v) noexcept
{
    auto rest = v;
    fingerprint f;
    f.hash_function = detail::cut(rest, ' ');
    if (!detail::is_token(f.hash_function)) return make_error(errc::bad_attribute, "a=fingerprint: no hash function");
    if (rest.empty()) return make_error(errc::bad_attribute, "a=fingerprint: no fingerprint after '", f.hash_function, "'");
    // The well-formed case (1-64 "XX" pairs joined by ':') is decoded with no branch per
    // byte; anything else takes the checked loop below, which reports the first problem.
    if (rest.size() % 3 == 2 && rest.size() < 3 * fingerprint::max_size) {
        const std::size_t count = (rest.size() + 1) / 3;
        unsigned bad = 0;
        for (std::size_t k = 0; k != count; ++k) {
            const char* const pair = rest.data() + 3 * k;
            const int hi = detail::hex_value(pair[0]), lo = detail::hex_value(pair[1]);
            bad |= static_cast<unsigned>(hi | lo) & ~0xFu;  // -1 for a non-hex digit
            if (k + 1 != count) bad |= static_cast<unsigned char>(pair[2] ^ ':');
            f.bytes[k] = static_cast<std::uint8_t>(hi * 16 + lo);
        }
        if (bad == 0) {
            f.size = count;
            return f;
        }
    }
    std::size_t i = 0;
    for (;;) {
        if (i + 2 > rest.size()) return make_error(errc::bad_attribute, "a=fingerprint: odd number of hex digits");
        const int hi = detail::hex_value(rest[i]), lo = detail::hex_value(rest[i + 1]);
        if (hi < 0 || lo < 0) return make_error(errc::bad_attribute, "a=fingerprint: '", rest.substr(i, 2), "' is not hex");
        if (f.size == fingerprint::max_size) return make_error(errc::bad_attribute, "a=fingerprint: more than 64 bytes");
        f.bytes[f.size++] = static_cast<std::uint8_t>(hi * 16 + lo);
        i += 2;
        if (i == rest.size()) break;
        if (rest[i] != ':') return make_error(errc::bad_attribute, "a=fingerprint: bytes must be separated by ':'");
        ++i;
    }
    return f;
}
inline void append_value(std::string& out, const fingerprint& f)
{
    constexpr char digits[] = "0123456789ABCDEF";
    out += f.hash_function;
    out += ' ';
    for (std::size_t i = 0; i < f.size; ++i) {
        if (i != 0) out += ':';
        out += digits[f.bytes[i] >> 4];
        out += digits[f.bytes[i] & 15];
    }
}

// RFC 8866 6.6: a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
struct rtpmap {
    static constexpr std::string_view name = "rtpmap";
    std::uint8_t payload_type = 0;
    std::string_view encoding_name;  // "opus", "VP8", "H264", "rtx", "red", "ulpfec"...
    std::uint32_t clock_rate = 0;
    std::optional<std::uint16_t> channels;  // audio: the encoding parameters
};
[[nodiscard]] inline result<rtpmap> parse_rtpmap(std::string_view v) noexcept
{
    auto rest = v;
    rtpmap r;
    const auto pt_text = detail::cut(rest, ' ');
    const auto pt = detail::parse_uint<std::uint8_t>(pt_text);
    if (!pt || *pt > 127) return make_error(errc::bad_attribute, "a=rtpmap: payload type '", pt_text, "' is not 0-127");
    r.payload_type = *pt;
    r.encoding_name = detail::cut(rest, '/');
    if (!detail::is_token(r.encoding_name)) return make_error(errc::bad_attribute, "a=rtpmap:", pt_text, " has no encoding name");
    const auto rate_text = detail::cut(rest, '/');
    const auto rate = detail::parse_uint<std::uint32_t>(rate_text);
    if (!rate || *rate == 0) return make_error(errc::bad_attribute, "a=rtpmap:", pt_text, " clock rate '", rate_text, "' is not a number");
    r.clock_rate = *rate;
    if (!rest.empty()) {
        const auto ch = detail::parse_uint<std::uint16_t>(rest);
        if (!ch) return make_error(errc::bad_attribute, "a=rtpmap:", pt_text, " encoding parameters '", rest, "' are not a number");
        r.channels = *ch;
    }
    return r;
}
inline void append_value(std::string& out, const rtpmap& r)
{
    detail::append_number(out, r.payload_type);
    out += ' ';
    out += r.encoding_name;
    out += '/';
    detail::append_number(out, r.clock_rate);
    if (r.channels) { out += '/'; detail::append_number(out, *r.channels); }
}

// One `key=value` of an fmtp or rid parameter list ("key" alone has an empty value).
struct parameter {
    std::string_view key;
    std::string_view value;
};
// The ';'-separated parameters of RFC 8866 6.15 fmtp (as most codecs write them) or of
// RFC 8851 rid restrictions; surrounding spaces are trimmed.
class parameter_list {
public:
    class iterator {
    public:
        using value_type = parameter;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(std::string_view rest) noexcept : rest_(rest) { advance(); }
        const parameter& operator*() const noexcept { return current_; }
        const parameter* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept { advance(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.current_.key.data() == b.current_.key.data());
        }

    private:
        void advance() noexcept
        {
            for (;;) {
                if (rest_.empty()) { done_ = true; return; }
                auto item = detail::trim(detail::cut(rest_, ';'));
                if (item.empty()) continue;
                const auto eq = item.find('=');
                current_ = {detail::trim(item.substr(0, eq)),
                            eq == std::string_view::npos ? std::string_view{} : detail::trim(item.substr(eq + 1))};
                done_ = false;
                return;
            }
        }
        std::string_view rest_{};
        parameter current_{};
        bool done_ = true;
    };
    constexpr parameter_list() = default;
    constexpr explicit parameter_list(std::string_view text) noexcept : text_(text) {}
    [[nodiscard]] iterator begin() const noexcept { return iterator{text_}; }
    [[nodiscard]] iterator end() const noexcept { return {}; }
    [[nodiscard]] std::optional<std::string_view> find(std::string_view key) const noexcept
    {
        for (const auto& p : *this)
            if (p.key == key) return p.value;
        return std::nullopt;
    }
    [[nodiscard]] std::string_view text() const noexcept { return text_; }

private:
    std::string_view text_{};
};

// RFC 8866 6.15: a=fmtp:<format> <format specific parameters>
struct fmtp {
    static constexpr std::string_view name = "fmtp";
    std::string_view format;      // a payload type for RTP
    std::string_view parameters;  // verbatim, e.g. "minptime=10;useinbandfec=1"
    [[nodiscard]] sdp::parameter_list parameter_items() const noexcept { return sdp::parameter_list{parameters}; }
    [[nodiscard]] std::optional<std::uint8_t> payload_type() const noexcept { return detail::parse_uint<std::uint8_t>(format); }
};
[[nodiscard]] inline result<fmtp> parse_fmtp(std::string_view v) noexcept
{
    auto rest = v;
    fmtp f;
    f.format = detail::cut(rest, ' ');
    if (!detail::is_token(f.format)) return make_error(errc::bad_attribute, "a=fmtp: no format");
    f.parameters = rest;
    return f;
}
inline void append_value(std::string& out, const fmtp& f)
{
    out += f.format;
    out += ' ';
    out += f.parameters;
}

// RFC 4585 4.2: a=rtcp-fb:<payload type or *> <type> [<parameter>]
struct rtcp_fb {
    static constexpr std::string_view name = "rtcp-fb";
    std::string_view payload_type;  // "*" means every payload type
    std::string_view type;          // "nack", "ccm", "goog-remb", "transport-cc"...
    std::string_view parameter;     // "pli", "fir", or empty
};
[[nodiscard]] inline result<rtcp_fb> parse_rtcp_fb(std::string_view v) noexcept
{
    auto rest = v;
    rtcp_fb f;
    f.payload_type = detail::cut(rest, ' ');
    if (!detail::equals(f.payload_type, "*") && !detail::parse_uint<std::uint8_t>(f.payload_type))
        return make_error(errc::bad_attribute, "a=rtcp-fb: '", f.payload_type, "' is not a payload type or *");
    f.type = detail::cut(rest, ' ');
    if (!detail::is_token(f.type)) return make_error(errc::bad_attribute, "a=rtcp-fb:", f.payload_type, " has no feedback type");
    f.parameter = rest;
    return f;
}
inline void append_value(std::string& out, const rtcp_fb& f)
{
    out += f.payload_type;
    out += ' ';
    out += f.type;
    if (!f.parameter.empty()) { out += ' '; out += f.parameter; }
}

// RFC 8285 7: a=extmap:<value>["/"<direction>] <URI> [<extension attributes>]
struct extmap {
    static constexpr std::string_view name = "extmap";
    std::uint16_t id = 0;  // 1-14 one-byte, 1-255 two-byte headers (RFC 8285 4)
    std::optional<sdp::direction> direction;
    std::string_view uri;
    std::string_view attributes;
};
[[nodiscard]] inline result<extmap> parse_extmap(std::string_view v) noexcept
{
    auto rest = v;
    extmap e;
    const auto id_part = detail::cut(rest, ' ');
    auto direction_text = id_part;
    const auto id_text = detail::cut(direction_text, '/');  // leaves what follows a '/'
    const bool has_direction = id_text.size() != id_part.size();
    const auto id = detail::parse_uint<std::uint16_t>(id_text);
    // RFC 8285 7: 1-255 in use; 4096-4351 were for legacy negotiation and are accepted too.
    if (!id || *id == 0 || (*id > 255 && (*id < 4096 || *id > 4351)))
        return make_error(errc::bad_attribute, "a=extmap: id '", id_text, "' is not 1-255");
    e.id = *id;
    if (has_direction) {
        e.direction = direction_from(direction_text);
        if (!e.direction) return make_error(errc::bad_attribute, "a=extmap:", *id, " has a bad direction");
    }
    e.uri = detail::cut(rest, ' ');
    if (!detail::is_non_ws_string(e.uri)) return make_error(errc::bad_attribute, "a=extmap:", *id, " has no URI");
    e.attributes = rest;
    return e;
}
inline void append_value(std::string& out, const extmap& e)
{
    detail::append_number(out, e.id);
    if (e.direction) { out += '/'; out += to_string(*e.direction); }
    out += ' ';
    out += e.uri;
    if (!e.attributes.empty()) { out += ' '; out += e.attributes; }
}

// RFC 5576 4.1: a=ssrc:<ssrc-id> <attribute>[:<value>]   (cname, msid, ...)
struct ssrc {
    static constexpr std::string_view name = "ssrc";
    std::uint32_t id = 0;
    std::string_view attribute;
    std::string_view value;  // empty when the attribute has none
};
[[nodiscard]] inline result<ssrc> parse_ssrc(std::string_view v) noexcept
{
    auto rest = v;
    ssrc s;
    const auto id_text = detail::cut(rest, ' ');
    const auto id = detail::parse_uint<std::uint32_t>(id_text);
    if (!id) return make_error(errc::bad_attribute, "a=ssrc: '", id_text, "' is not a 32-bit SSRC");
    s.id = *id;
    const auto colon = rest.find(':');
    s.attribute = rest.substr(0, colon);
    if (!detail::is_token(s.attribute)) return make_error(errc::bad_attribute, "a=ssrc:", id_text, " has no attribute");
    if (colon != std::string_view::npos) s.value = rest.substr(colon + 1);
    return s;
}
inline void append_value(std::string& out, const ssrc& s)
{
    detail::append_number(out, s.id);
    out += ' ';
    out += s.attribute;
    if (!s.value.empty()) { out += ':'; out += s.value; }
}

// RFC 5576 4.2: a=ssrc-group:<semantics> *(SP <ssrc-id>)   (FID for RTX, FEC-FR, SIM)
struct ssrc_group {
    static constexpr std::string_view name = "ssrc-group";
    std::string_view semantics;
    token_list ssrcs;
};
[[nodiscard]] inline result<ssrc_group> parse_ssrc_group(std::string_view v) noexcept
{
    auto rest = v;
    ssrc_group g;
    g.semantics = detail::cut(rest, ' ');
    if (!detail::is_token(g.semantics)) return make_error(errc::bad_attribute, "a=ssrc-group: no semantics");
    g.ssrcs = token_list{rest};
    for (auto id : g.ssrcs)
        if (!detail::parse_uint<std::uint32_t>(id))
            return make_error(errc::bad_attribute, "a=ssrc-group:", g.semantics, " '", id, "' is not an SSRC");
    return g;
}
inline void append_value(std::string& out, const ssrc_group& g)
{
    out += g.semantics;
    for (auto id : g.ssrcs) { out += ' '; out += id; }
}

// RFC 8830 2: a=msid:<stream id> [<track id>]   (msid-id = 1*64token-char)
struct msid {
    static constexpr std::string_view name = "msid";
    std::string_view stream_id;  // "-" means "no stream"
    std::string_view track_id;   // msid-appdata, optional
};
[[nodiscard]] inline result<msid> parse_msid(std::string_view v) noexcept
{
    auto rest = v;
    msid m;
    m.stream_id = detail::cut(rest, ' ');
    if (!detail::is_token(m.stream_id) || m.stream_id.size() > 64)
        return make_error(errc::bad_attribute, "a=msid: id is not 1-64 token chars");
    m.track_id = rest;
    if (!m.track_id.empty() && (!detail::is_token(m.track_id) || m.track_id.size() > 64))
        return make_error(errc::bad_attribute, "a=msid: appdata is not 1-64 token chars");
    return m;
}
inline void append_value(std::string& out, const msid& m)
{
    out += m.stream_id;
    if (!m.track_id.empty()) { out += ' '; out += m.track_id; }
}

// RFC 8851 10: a=rid:<rid-id> SP ("send" / "recv") [SP <restrictions>]
enum class rid_direction { send, recv };
struct rid {
    static constexpr std::string_view name = "rid";
    std::string_view id;  // 1*(ALPHA / DIGIT / "-" / "_")
    rid_direction dir = rid_direction::send;
    std::string_view restrictions;  // "pt=96,97;max-width=1280", verbatim
    [[nodiscard]] parameter_list restriction_list() const noexcept { return parameter_list{restrictions}; }
};
namespace detail {
[[nodiscard]] constexpr bool is_rid_id(std::string_view s) noexcept
{
    if (s.empty()) return false;
    for (char c : s)
        if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_')) return false;
    return true;
}
}  // namespace detail
[[nodiscard]] inline result<rid> parse_rid(std::string_view v) noexcept
{
    auto rest = v;
    rid r;
    r.id = detail::cut(rest, ' ');
    if (!detail::is_rid_id(r.id)) return make_error(errc::bad_attribute, "a=rid: '", r.id, "' is not a rid-id");
    const auto dir = detail::cut(rest, ' ');
    if (dir == "send") r.dir = rid_direction::send;
    else if (dir == "recv") r.dir = rid_direction::recv;
    else return make_error(errc::bad_attribute, "a=rid:", r.id, " direction '", dir, "' is not send or recv");
    r.restrictions = rest;
    return r;
}
inline void append_value(std::string& out, const rid& r)
{
    out += r.id;
    out += r.dir == rid_direction::send ? " send" : " recv";
    if (!r.restrictions.empty()) { out += ' '; out += r.restrictions; }
}

// RFC 8853 5.1: a=simulcast:<send|recv> <streams> [<recv|send> <streams>]
// streams = alternatives *(";" alternatives); alternatives = rid *("," rid); "~" = paused.
struct simulcast_rid {
    std::string_view id;
    bool paused = false;
};
struct simulcast {
    static constexpr std::string_view name = "simulcast";
    std::string_view send;  // "1;2;3" or "h,~m;l"; empty when absent
    std::string_view recv;
    // The simulcast streams (each a ','-list of alternatives), e.g. streams(send).
    [[nodiscard]] static token_list streams(std::string_view list) noexcept { return token_list{list, ';'}; }
    [[nodiscard]] static token_list alternatives(std::string_view stream) noexcept { return token_list{stream, ','}; }
    [[nodiscard]] static simulcast_rid rid_of(std::string_view alternative) noexcept
    {
        if (alternative.starts_with('~')) return {alternative.substr(1), true};
        return {alternative, false};
    }
};
[[nodiscard]] inline result<simulcast> parse_simulcast(std::string_view v) noexcept
{
    auto rest = v;
    simulcast s;
    bool any = false;
    while (!rest.empty()) {
        const auto dir = detail::cut(rest, ' ');
        const auto list = detail::cut(rest, ' ');
        std::string_view* slot = dir == "send" ? &s.send : dir == "recv" ? &s.recv : nullptr;
        if (!slot) return make_error(errc::bad_attribute, "a=simulcast: '", dir, "' is not send or recv");
        if (!slot->empty()) return make_error(errc::bad_attribute, "a=simulcast: '", dir, "' given twice");
        if (list.empty()) return make_error(errc::bad_attribute, "a=simulcast: ", dir, " has no streams");
        for (auto stream : simulcast::streams(list))
            for (auto alt : simulcast::alternatives(stream))
                if (!detail::is_rid_id(simulcast::rid_of(alt).id))
                    return make_error(errc::bad_attribute, "a=simulcast: '", alt, "' is not a rid");
        *slot = list;
        any = true;
    }
    if (!any) return make_error(errc::bad_attribute, "a=simulcast: no send or recv streams");
    return s;
}
inline void append_value(std::string& out, const simulcast& s)
{
    if (!s.send.empty()) { out += "send "; out += s.send; }
    if (!s.recv.empty()) {
        if (!s.send.empty()) out += ' ';
        out += "recv ";
        out += s.recv;
    }
}

// RFC 3605 2.1: a=rtcp:<port> [<nettype> <addrtype> <connection-address>]
struct rtcp {
    static constexpr std::string_view name = "rtcp";
    std::uint16_t port = 0;
    std::string_view net_type;
    std::string_view address_type;
    std::string_view address;
};
[[nodiscard]] inline result<rtcp> parse_rtcp(std::string_view v) noexcept
{
    auto rest = v;
    rtcp r;
    const auto port_text = detail::cut(rest, ' ');
    const auto port = detail::parse_port(port_text);
    if (!port) return make_error(errc::bad_attribute, "a=rtcp: '", port_text, "' is not a port");
    r.port = *port;
    if (!rest.empty()) {
        r.net_type = detail::cut(rest, ' ');
        r.address_type = detail::cut(rest, ' ');
        r.address = rest;
        if (!detail::is_token(r.net_type) || !detail::is_token(r.address_type) || !detail::is_non_ws_string(r.address))
            return make_error(errc::bad_attribute, "a=rtcp:", port_text, " address is not <nettype> <addrtype> <address>");
    }
    return r;
}
inline void append_value(std::string& out, const rtcp& r)
{
    detail::append_number(out, r.port);
    if (!r.address.empty()) {
        out += ' '; out += r.net_type; out += ' '; out += r.address_type; out += ' '; out += r.address;
    }
}

// draft-ietf-mmusic-sctp-sdp-05 (legacy, before RFC 8841): a=sctpmap:<port> <app> [<streams>]
struct sctpmap {
    static constexpr std::string_view name = "sctpmap";
    std::uint16_t port = 0;
    std::string_view protocol;  // "webrtc-datachannel"
    std::optional<std::uint32_t> streams;
};
[[nodiscard]] inline result<sctpmap> parse_sctpmap(std::string_view v) noexcept
{
    auto rest = v;
    sctpmap m;
    const auto port_text = detail::cut(rest, ' ');
    const auto port = detail::parse_port(port_text);
    if (!port) return make_error(errc::bad_attribute, "a=sctpmap: '", port_text, "' is not a port");
    m.port = *port;
    m.protocol = detail::cut(rest, ' ');
    if (!detail::is_token(m.protocol)) return make_error(errc::bad_attribute, "a=sctpmap:", port_text, " has no protocol");
    if (!rest.empty()) {
        const auto streams = detail::parse_uint<std::uint32_t>(rest);
        if (!streams) return make_error(errc::bad_attribute, "a=sctpmap:", port_text, " streams '", rest, "' is not a number");
        m.streams = *streams;
    }
    return m;
}
inline void append_value(std::string& out, const sctpmap& m)
{
    detail::append_number(out, m.port);
    out += ' ';
    out += m.protocol;
    if (m.streams) { out += ' '; detail::append_number(out, *m.streams); }
}

// RFC 8841 5.2: a=sctp-port:<port>;  RFC 8841 6: a=max-message-size:<bytes> (0 = no limit).
[[nodiscard]] inline result<std::uint16_t> parse_sctp_port(std::string_view v) noexcept
{
    const auto port = detail::parse_port(v);
    if (!port) return make_error(errc::bad_attribute, "a=sctp-port: '", v, "' is not a port");
    return *port;
}
[[nodiscard]] inline result<std::uint64_t> parse_max_message_size(std::string_view v) noexcept
{
    const auto size = detail::parse_uint<std::uint64_t>(v);
    if (!size) return make_error(errc::bad_attribute, "a=max-message-size: '", v, "' is not a number");
    return *size;
}

// RFC 8839 5.4: ice-ufrag = 4*256ice-char, ice-pwd = 22*256ice-char. Validated leniently as
// one non-space word (some stacks use characters outside ice-char); JSEP output uses ice-char.
[[nodiscard]] inline result<std::string_view> parse_ice_credential(std::string_view attribute, std::string_view v) noexcept
{
    if (!detail::is_non_ws_string(v) || v.size() > 256)
        return make_error(errc::bad_attribute, "a=", attribute, ": value is not 1-256 non-space characters");
    return v;
}

// RFC 8839 5.6: a=ice-options:<tag> *(SP <tag>)   ("trickle", "ice2", "renomination"...)
[[nodiscard]] inline result<token_list> parse_ice_options(std::string_view v) noexcept
{
    token_list tags{v};
    if (tags.empty()) return make_error(errc::bad_attribute, "a=ice-options: no option tags");
    for (auto t : tags)
        if (!detail::is_non_ws_string(t)) return make_error(errc::bad_attribute, "a=ice-options: bad tag");
    return tags;
}

// RFC 5888 4 / RFC 8843: a=mid:<identification-tag> (a token)
[[nodiscard]] inline result<std::string_view> parse_mid(std::string_view v) noexcept
{
    if (!detail::is_token(v)) return make_error(errc::bad_attribute, "a=mid: '", v, "' is not a token");
    return v;
}

// The attribute value text of any typed attribute above.
template <class T>
[[nodiscard]] std::string to_value(const T& x)
{
    std::string out;
    append_value(out, x);
    return out;
}

}  // namespace peerkit::sdp
