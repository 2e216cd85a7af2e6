// The ICE candidate codec: one `candidate:...` line <-> a struct (RFC 8839 5.1, RFC 6544 4.5).
//
// Used both inside SDP (`a=candidate:...`) and alone by trickle ICE, where a candidate arrives
// as {"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0} (RFC 8840 / JSEP 5.8).
//
//   candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP
//                         priority SP connection-address SP port SP cand-type
//                         [SP rel-addr] [SP rel-port] *(SP cand-extension)
//   foundation   = 1*32ice-char          component-id = 1*3DIGIT
//   transport    = "UDP" / token         priority     = 1*10DIGIT
//   cand-type    = "typ" SP ("host" / "srflx" / "prflx" / "relay" / token)
//   rel-addr     = "raddr" SP connection-address     rel-port = "rport" SP port
//   cand-extension = extension-att-name SP extension-att-value
//
// Two forms, one grammar: `parse_candidate` gives a `candidate_view` whose strings point into
// the caller's text (no allocation); `candidate` owns its strings and is what an ICE agent
// keeps, edits and formats. The address is text on purpose: it may be an IPv4 or IPv6
// literal, or an mDNS `.local` name (draft-ietf-mmusic-mdns-ice-candidates) that the ICE
// agent resolves; a shared IP address type lives in peerkit/net/address.hpp.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/detail/format.hpp>
#include <peerkit/sdp/detail/text.hpp>
#include <peerkit/sdp/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::sdp {

// RFC 8445 5.1.1: the four kinds of candidate. `unknown` is a future type token (RFC 8839
// lets one appear; an ICE agent ignores such candidates).
enum class candidate_type { host, srflx, prflx, relay, unknown };
// RFC 8839 5.1 "UDP"; RFC 6544 "TCP". Compared case-insensitively (browsers write "udp").
enum class transport_protocol { udp, tcp, unknown };
// RFC 6544 4.5: tcp-type = "active" / "passive" / "so".
enum class tcp_type { none, active, passive, so };

[[nodiscard]] constexpr std::string_view to_string(candidate_type t) noexcept
{
    switch (t) {
    case candidate_type::host: return "host";
    case candidate_type::srflx: return "srflx";
    case candidate_type::prflx: return "prflx";
    case candidate_type::relay: return "relay";
    case candidate_type::unknown: break;
    }
    return "";
}
[[nodiscard]] constexpr candidate_type candidate_type_from(std::string_view token) noexcept
{
    if (token == "host") return candidate_type::host;
    if (token == "srflx") return candidate_type::srflx;
    if (token == "prflx") return candidate_type::prflx;
    if (token == "relay") return candidate_type::relay;
    return candidate_type::unknown;
}
[[nodiscard]] constexpr transport_protocol transport_from(std::string_view token) noexcept
{
    if (detail::iequals(token, "udp")) return transport_protocol::udp;
    if (detail::iequals(token, "tcp")) return transport_protocol::tcp;
    return transport_protocol::unknown;
}
[[nodiscard]] constexpr tcp_type tcp_type_from(std::string_view token) noexcept
{
    if (token == "active") return tcp_type::active;
    if (token == "passive") return tcp_type::passive;
    if (token == "so") return tcp_type::so;
    return tcp_type::none;
}
[[nodiscard]] constexpr std::string_view to_string(tcp_type t) noexcept
{
    switch (t) {
    case tcp_type::active: return "active";
    case tcp_type::passive: return "passive";
    case tcp_type::so: return "so";
    case tcp_type::none: break;
    }
    return "";
}

// One extension pair (`generation 0`, `ufrag abcd`, `network-id 1`, `network-cost 10`...).
struct candidate_extension_view {
    std::string_view name;
    std::string_view value;
    friend bool operator==(const candidate_extension_view&, const candidate_extension_view&) = default;
};

// The extension pairs of a candidate, in their original order, read lazily from the text.
// raddr, rport and tcptype are typed fields of the candidate and are not repeated here.
class candidate_extension_range {
public:
    class iterator {
    public:
        using value_type = candidate_extension_view;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(std::string_view rest) noexcept : rest_(rest) { advance(); }
        const candidate_extension_view& operator*() const noexcept { return current_; }
        const candidate_extension_view* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept { advance(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.rest_.data() == b.rest_.data());
        }

    private:
        void advance() noexcept
        {
            for (;;) {
                if (rest_.empty()) { done_ = true; return; }
                const auto name = detail::cut(rest_, ' ');
                const auto value = detail::cut(rest_, ' ');
                if (name == "raddr" || name == "rport" || name == "tcptype") continue;
                current_ = {name, value};
                done_ = false;
                return;
            }
        }
        std::string_view rest_{};
        candidate_extension_view current_{};
        bool done_ = true;
    };

    candidate_extension_range() = default;
    explicit candidate_extension_range(std::string_view text) noexcept : text_(text) {}
    [[nodiscard]] iterator begin() const noexcept { return iterator{text_}; }
    [[nodiscard]] iterator end() const noexcept { return iterator{}; }
    [[nodiscard]] bool empty() const noexcept { return begin() == end(); }
    // The value of the first extension called `name`, if any (e.g. find("ufrag")).
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const noexcept
    {
        for (const auto& e : *this)
            if (e.name == name) return e.value;
        return std::nullopt;
    }

private:
    std::string_view text_{};
};

// A parsed candidate whose strings point into the parsed text.
struct candidate_view {
    std::string_view foundation;
    std::uint16_t component = 0;          // 1 = RTP (and everything bundled), 2 = RTCP
    std::string_view transport;           // as written: "udp", "UDP", "tcp"...
    std::uint32_t priority = 0;
    std::string_view address;             // IPv4, IPv6, or an mDNS ".local" name
    std::uint16_t port = 0;
    std::string_view type;                // as written: "host", "srflx", "prflx", "relay"...
    std::string_view related_address;     // raddr; empty when absent
    std::optional<std::uint16_t> related_port;  // rport
    tcp_type tcp = tcp_type::none;        // RFC 6544 tcptype
    std::string_view extension_text;      // everything after cand-type, for extensions()

    [[nodiscard]] candidate_type kind() const noexcept { return candidate_type_from(type); }
    [[nodiscard]] transport_protocol protocol() const noexcept { return transport_from(transport); }
    [[nodiscard]] candidate_extension_range extensions() const noexcept
    {
        return candidate_extension_range{extension_text};
    }
};

// Parses the value of an SDP a=candidate attribute: "<foundation> <component> ...".
[[nodiscard]] inline result<candidate_view> parse_candidate_value(std::string_view text) noexcept
{
    using detail::cut;
    candidate_view c;
    auto rest = text;
    bool ok = false;
    c.foundation = detail::cut_class<detail::cc_ice>(rest, ' ', ok);
    if (!ok || c.foundation.size() > 32)
        return make_error(errc::bad_candidate, "candidate foundation '", c.foundation,
                          "' is not 1 to 32 ice-chars");
    const auto component = cut(rest, ' ');
    const auto comp = detail::parse_uint<std::uint16_t>(component);
    if (component.size() > 3 || !comp || *comp == 0 || *comp > 256)
        return make_error(errc::bad_candidate, "candidate component id '", component,
                          "' is not a number from 1 to 256");
    c.component = *comp;
    c.transport = detail::cut_class<detail::cc_token>(rest, ' ', ok);
    if (!ok)
        return make_error(errc::bad_candidate, "candidate has no transport");
    const auto priority = cut(rest, ' ');
    const auto prio = detail::parse_uint<std::uint32_t>(priority);
    if (priority.size() > 10 || !prio)
        return make_error(errc::bad_candidate, "candidate priority '", priority,
                          "' is not a 32-bit number");
    c.priority = *prio;
    // RFC 8839 5.1: connection-address from RFC 8866 (IPv4, IPv6 or FQDN). A literal or a
    // name has no spaces and no control characters; the ICE agent validates it further.
    c.address = detail::cut_class<detail::cc_visible>(rest, ' ', ok);
    if (!ok)
        return make_error(errc::bad_candidate, "candidate has no connection address");
    const auto port_text = cut(rest, ' ');
    const auto port = detail::parse_port(port_text);
    if (!port) return make_error(errc::bad_candidate, "candidate port '", port_text, "' is not a port");
    c.port = *port;
    if (!detail::equals(cut(rest, ' '), "typ")) return make_error(errc::bad_candidate, "candidate has no 'typ'");
    c.type = detail::cut_class<detail::cc_token>(rest, ' ', ok);
    if (!ok) return make_error(errc::bad_candidate, "candidate has no type after 'typ'");

    // The rest is name/value pairs. RFC 8839 puts raddr and rport first, but stacks differ, so
    // they (and RFC 6544 tcptype) are recognised wherever they are; others stay in order.
    c.extension_text = rest;
    bool seen_raddr = false, seen_tcptype = false;
    while (!rest.empty()) {
        const auto name = detail::cut_class<detail::cc_token>(rest, ' ', ok);
        if (!ok)
            return make_error(errc::bad_candidate, "candidate extension name is empty or not a token");
        const auto value = detail::cut_class<detail::cc_visible>(rest, ' ', ok);
        if (!ok)
            return make_error(errc::bad_candidate, "candidate extension '", name, "' has no value");
        if (name.size() != 5 && name.size() != 7) continue;  // none of raddr, rport, tcptype
        if (detail::equals(name, "raddr")) {
            if (seen_raddr) return make_error(errc::bad_candidate, "candidate has two raddr");
            seen_raddr = true;
            c.related_address = value;
        } else if (detail::equals(name, "rport")) {
            if (c.related_port) return make_error(errc::bad_candidate, "candidate has two rport");
            const auto rport = detail::parse_port(value);
            if (!rport) return make_error(errc::bad_candidate, "candidate rport '", value, "' is not a port");
            c.related_port = *rport;
        } else if (detail::equals(name, "tcptype")) {
            if (seen_tcptype) return make_error(errc::bad_candidate, "candidate has two tcptype");
            seen_tcptype = true;
            c.tcp = tcp_type_from(value);
            if (c.tcp == tcp_type::none)
                return make_error(errc::bad_candidate, "candidate tcptype '", value,
                                  "' is not active, passive or so");
        }
    }
    // RFC 8839 5.1: rel-addr and rel-port are for srflx, prflx and relay candidates; a host
    // candidate may carry them (harmless), but one without the other is malformed.
    if (seen_raddr != c.related_port.has_value())
        return make_error(errc::bad_candidate, "candidate has ", seen_raddr ? "raddr without rport" : "rport without raddr");
    return c;
}

// Parses "candidate:<foundation> ..." (the trickle form). The "a=" and "candidate:" prefixes
// are optional, so an SDP line or the value of an a=candidate attribute parse too.
[[nodiscard]] inline result<candidate_view> parse_candidate(std::string_view text) noexcept
{
    if (text.starts_with("a=")) text.remove_prefix(2);
    if (text.starts_with("candidate:")) text.remove_prefix(10);
    // Trickle messages sometimes carry the line ending along.
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
    return parse_candidate_value(text);
}

struct candidate_extension {
    std::string name;
    std::string value;
    friend bool operator==(const candidate_extension&, const candidate_extension&) = default;
};

// An owning candidate: what an ICE agent gathers, stores and sends.
struct candidate {
    std::string foundation;
    std::uint16_t component = 1;
    std::string transport = "udp";
    std::uint32_t priority = 0;
    std::string address;
    std::uint16_t port = 0;
    std::string type = "host";
    std::string related_address;             // empty when absent
    std::optional<std::uint16_t> related_port;
    tcp_type tcp = tcp_type::none;
    std::vector<candidate_extension> extensions;  // in order; not raddr/rport/tcptype

    [[nodiscard]] candidate_type kind() const noexcept { return candidate_type_from(type); }
    [[nodiscard]] transport_protocol protocol() const noexcept { return transport_from(transport); }
    [[nodiscard]] const std::string* extension(std::string_view name) const noexcept
    {
        for (const auto& e : extensions)
            if (e.name == name) return &e.value;
        return nullptr;
    }

    [[nodiscard]] static candidate from(const candidate_view& v)
    {
        candidate c;
        c.foundation = v.foundation;
        c.component = v.component;
        c.transport = v.transport;
        c.priority = v.priority;
        c.address = v.address;
        c.port = v.port;
        c.type = v.type;
        c.related_address = v.related_address;
        c.related_port = v.related_port;
        c.tcp = v.tcp;
        for (const auto& e : v.extensions()) c.extensions.push_back({std::string(e.name), std::string(e.value)});
        return c;
    }
    [[nodiscard]] static result<candidate> parse(std::string_view text)
    {
        auto v = parse_candidate(text);
        if (!v) return v.error();
        return from(*v);
    }
    friend bool operator==(const candidate&, const candidate&) = default;
};

// Appends the attribute value (without "candidate:"): foundation ... typ T [raddr A rport P]
// [tcptype T] [extensions in order]. This is the order RFC 8839 and RFC 6544 give.
inline void append_candidate_value(std::string& out, const candidate& c)
{
    out += c.foundation;
    out += ' ';
    detail::append_number(out, c.component);
    out += ' ';
    out += c.transport;
    out += ' ';
    detail::append_number(out, c.priority);
    out += ' ';
    out += c.address;
    out += ' ';
    detail::append_number(out, c.port);
    out += " typ ";
    out += c.type;
    if (!c.related_address.empty() || c.related_port) {
        out += " raddr ";
        out += c.related_address.empty() ? std::string_view("0.0.0.0") : std::string_view(c.related_address);
        out += " rport ";
        detail::append_number(out, c.related_port.value_or(0));
    }
    if (c.tcp != tcp_type::none) {
        out += " tcptype ";
        out += to_string(c.tcp);
    }
    for (const auto& e : c.extensions) {
        out += ' ';
        out += e.name;
        out += ' ';
        out += e.value;
    }
}

// The SDP attribute value: "<foundation> 1 udp ...".
[[nodiscard]] inline std::string to_attribute_value(const candidate& c)
{
    std::string out;
    out.reserve(96);
    append_candidate_value(out, c);
    return out;
}

// The trickle form: "candidate:<foundation> 1 udp ...".
[[nodiscard]] inline std::string to_string(const candidate& c)
{
    std::string out = "candidate:";
    out.reserve(106);
    append_candidate_value(out, c);
    return out;
}

// RFC 8445 5.1.2.1: priority = 2^24 * type preference + 2^8 * local preference + (256 - component).
[[nodiscard]] constexpr std::uint32_t compute_priority(std::uint32_t type_preference,
                                                       std::uint32_t local_preference,
                                                       std::uint16_t component) noexcept
{
    return (type_preference << 24) + (local_preference << 8) + (256u - component);
}

}  // namespace peerkit::sdp
