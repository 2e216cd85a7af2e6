// The owning, editable SDP model. `session_description::parse(text)` runs the same grammar as
// parse_view and copies every line; `to_string()` writes them back with CRLF. Lines are kept
// in order and verbatim, known or not, so parse -> to_string is lossless. Typed reads come
// from section_reader; typed writes (set_setup, add_candidate, add(rtpmap{...})...) format
// through the same attribute grammar.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/attributes.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/fields.hpp>
#include <peerkit/sdp/grammar.hpp>
#include <peerkit/sdp/section.hpp>
#include <peerkit/sdp/view.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::sdp {

// One line: its type letter and its value (everything after "x=").
struct line {
    char type = 'a';
    std::string value;
    friend bool operator==(const line&, const line&) = default;
};

// The a= lines of a vector of lines, as sdp::attribute.
class owned_attribute_range {
public:
    class iterator {
    public:
        using value_type = attribute;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(const line* it, const line* end) noexcept : it_(it), end_(end) { skip(); }
        attribute operator*() const noexcept { return split_attribute(it_->value); }
        iterator& operator++() noexcept { ++it_; skip(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; ++*this; return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.it_ == b.it_; }

    private:
        void skip() noexcept
        {
            while (it_ != end_ && it_->type != 'a') ++it_;
        }
        const line* it_ = nullptr;
        const line* end_ = nullptr;
    };
    owned_attribute_range(const line* begin, const line* end) noexcept : begin_(begin), end_(end) {}
    [[nodiscard]] iterator begin() const noexcept { return {begin_, end_}; }
    [[nodiscard]] iterator end() const noexcept { return {end_, end_}; }

private:
    const line* begin_;
    const line* end_;
};

// Attribute editing shared by session and media sections (both hold `std::vector<line> lines`).
template <class Derived>
class section_editor {
public:
    // Appends a=<name>:<value> (a=<name> when `value` is nullopt) after the section's last line.
    Derived& add_attribute(std::string_view name, std::optional<std::string_view> value = std::nullopt)
    {
        lines().push_back(make_attribute(name, value));
        return self();
    }
    Derived& add_flag(std::string_view name) { return add_attribute(name); }
    // Replaces the first a=<name> in place (keeping its position), or appends one.
    Derived& set_attribute(std::string_view name, std::optional<std::string_view> value = std::nullopt)
    {
        auto& ls = lines();
        for (auto& l : ls)
            if (l.type == 'a' && split_attribute(l.value).name == name) {
                l = make_attribute(name, value);
                return self();
            }
        ls.push_back(make_attribute(name, value));
        return self();
    }
    // Sets or clears a property attribute such as rtcp-mux, ice-lite, bundle-only.
    Derived& set_flag(std::string_view name, bool on)
    {
        if (on) return set_attribute(name);
        remove_attribute(name);
        return self();
    }
    // Removes every a=<name>; returns how many.
    std::size_t remove_attribute(std::string_view name)
    {
        auto& ls = lines();
        const auto before = ls.size();
        std::erase_if(ls, [&](const line& l) { return l.type == 'a' && split_attribute(l.value).name == name; });
        return before - ls.size();
    }

    // Typed: add(sdp::rtpmap{111, "opus", 48000, 2}), add(fingerprint), add(ssrc{...}) ...
    template <class T>
        requires requires { T::name; }
    Derived& add(const T& x)
    {
        std::string value;
        append_value(value, x);
        return add_attribute(T::name, value);
    }
    // Typed, one per section: set(sdp::simulcast{...}), set(msid{...}), set(group{...}).
    template <class T>
        requires requires { T::name; }
    Derived& set(const T& x)
    {
        std::string value;
        append_value(value, x);
        return set_attribute(T::name, value);
    }

    Derived& set_ice_credentials(std::string_view ufrag, std::string_view pwd)
    {
        set_attribute("ice-ufrag", ufrag);
        return set_attribute("ice-pwd", pwd);
    }
    Derived& set_ice_options(std::string_view options) { return set_attribute("ice-options", options); }
    Derived& set_setup(setup_role role) { return set_attribute("setup", to_string(role)); }
    Derived& set_mid(std::string_view mid) { return set_attribute("mid", mid); }
    // RFC 8866 6.7: exactly one direction attribute; an existing one is replaced in place.
    Derived& set_direction(sdp::direction d)
    {
        auto& ls = lines();
        bool done = false;
        std::erase_if(ls, [&](line& l) {
            if (l.type != 'a' || !direction_from(l.value)) return false;
            if (done) return true;
            l.value = to_string(d);
            done = true;
            return false;
        });
        if (!done) add_flag(to_string(d));
        return self();
    }
    Derived& add_candidate(const candidate& c) { return add_attribute("candidate", to_attribute_value(c)); }
    Derived& set_sctp_port(std::uint16_t port) { return set_attribute("sctp-port", std::to_string(port)); }
    Derived& set_max_message_size(std::uint64_t size) { return set_attribute("max-message-size", std::to_string(size)); }

private:
    static line make_attribute(std::string_view name, std::optional<std::string_view> value)
    {
        line l{'a', std::string(name)};
        if (value) {
            l.value.reserve(name.size() + 1 + value->size());
            l.value += ':';
            l.value += *value;
        }
        return l;
    }
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    std::vector<line>& lines() noexcept { return self().lines; }
};

// One m= section. lines[0] is the m= line.
class media_description : public section_reader<media_description>, public section_editor<media_description> {
public:
    std::vector<line> lines;

    media_description() = default;
    // A new section with this m= line and, when given, a c= line (JSEP 5.2.1 uses
    // "c=IN IP4 0.0.0.0" and port 9 until candidates are known).
    explicit media_description(const media_line& m, std::string_view connection = "IN IP4 0.0.0.0")
    {
        std::string value;
        append_value(value, m);
        lines.push_back({'m', std::move(value)});
        if (!connection.empty()) lines.push_back({'c', std::string(connection)});
    }

    [[nodiscard]] owned_attribute_range attributes() const noexcept
    {
        return {lines.data(), lines.data() + lines.size()};
    }
    // The typed m= line; an error when the model was edited into something invalid.
    [[nodiscard]] result<media_line> m_line() const noexcept
    {
        if (lines.empty() || lines.front().type != 'm') return make_error(errc::missing_line, "media section has no m= line");
        return parse_media_line(lines.front().value);
    }
    [[nodiscard]] std::string_view kind() const noexcept { auto m = m_line(); return m ? m->media : std::string_view{}; }
    [[nodiscard]] std::uint16_t port() const noexcept { auto m = m_line(); return m ? m->port : std::uint16_t{0}; }
    [[nodiscard]] bool rejected() const noexcept { return port() == 0 && !bundle_only(); }
    // Rewrites the port of the m= line (port 0 rejects the section, RFC 3264 6).
    result<void> set_port(std::uint16_t port)
    {
        auto m = m_line();
        if (!m) return m.error();
        m->port = port;
        std::string value;
        append_value(value, *m);
        lines.front().value = std::move(value);
        return {};
    }

    friend bool operator==(const media_description& a, const media_description& b) noexcept { return a.lines == b.lines; }
};

// A whole session description.
class session_description : public section_reader<session_description>, public section_editor<session_description> {
public:
    std::vector<line> lines;  // session level, v= first
    std::vector<media_description> media;

    [[nodiscard]] owned_attribute_range attributes() const noexcept
    {
        return {lines.data(), lines.data() + lines.size()};
    }

    // Parses and copies. Same grammar, limits and errors as parse_view.
    [[nodiscard]] static result<session_description> parse(std::string_view text, const parse_options& options = {})
    {
        struct sink {
            session_description* d;
            void line(const line_ref& l)
            {
                if (l.type == 'm') {
                    d->media.emplace_back();
                    d->media.back().lines.reserve(48);
                }
                auto& target = d->media.empty() ? d->lines : d->media.back().lines;
                target.push_back({l.type, std::string(l.value)});
            }
        };
        session_description d;
        d.lines.reserve(16);
        sink s{&d};
        if (auto r = detail::run_grammar(text, options, s); !r) return r.error();
        return d;
    }
    // Copies a checked view.
    [[nodiscard]] static session_description from(const session_view& view)
    {
        session_description d;
        for (const auto& l : view.lines()) d.lines.push_back({l.type, std::string(l.value)});
        for (const auto& m : view.media()) {
            auto& md = d.media.emplace_back();
            for (const auto& l : m.lines()) md.lines.push_back({l.type, std::string(l.value)});
        }
        return d;
    }

    [[nodiscard]] std::size_t serialized_size() const noexcept
    {
        std::size_t n = 0;
        for (const auto& l : lines) n += l.value.size() + 4;
        for (const auto& m : media)
            for (const auto& l : m.lines) n += l.value.size() + 4;
        return n;
    }
    // RFC 8866 5: every line as <type>=<value> CRLF, in order.
    void serialize_to(std::string& out) const
    {
        out.reserve(out.size() + serialized_size());
        for (const auto& l : lines) detail::append_line(out, l.type, l.value);
        for (const auto& m : media)
            for (const auto& l : m.lines) detail::append_line(out, l.type, l.value);
    }
    [[nodiscard]] std::string to_string() const
    {
        std::string out;
        serialize_to(out);
        return out;
    }

    // --- session-level typed lines ---------------------------------------------------------
    [[nodiscard]] std::optional<sdp::origin> origin() const noexcept
    {
        if (auto v = line_value('o'))
            if (auto o = parse_origin(*v)) return *o;
        return std::nullopt;
    }
    [[nodiscard]] std::optional<std::string_view> line_value(char type) const noexcept
    {
        for (const auto& l : lines)
            if (l.type == type) return l.value;
        return std::nullopt;
    }
    // Replaces the first line of `type` at session level, or inserts it in RFC 8866 9 order.
    void set_line(char type, std::string value)
    {
        for (auto& l : lines)
            if (l.type == type) { l.value = std::move(value); return; }
        const int rank = detail::session_order(type).rank;
        auto at = std::find_if(lines.begin(), lines.end(), [&](const line& l) { return detail::session_order(l.type).rank > rank; });
        lines.insert(at, line{type, std::move(value)});
    }
    // Finds a media section by its a=mid.
    [[nodiscard]] media_description* find_media(std::string_view mid) noexcept
    {
        for (auto& m : media)
            if (m.mid() == mid) return &m;
        return nullptr;
    }
    [[nodiscard]] const media_description* find_media(std::string_view mid) const noexcept
    {
        for (const auto& m : media)
            if (m.mid() == mid) return &m;
        return nullptr;
    }
    // A minimal valid session-level part (JSEP 5.2.1): v=0, o=- <id> <version> IN IP4
    // 127.0.0.1, s=-, t=0 0.
    [[nodiscard]] static session_description make(std::uint64_t session_id, std::uint64_t version = 2)
    {
        session_description d;
        d.lines.push_back({'v', "0"});
        std::string o = "- ";
        detail::append_number(o, session_id);
        o += ' ';
        detail::append_number(o, version);
        o += " IN IP4 127.0.0.1";
        d.lines.push_back({'o', std::move(o)});
        d.lines.push_back({'s', "-"});
        d.lines.push_back({'t', "0 0"});
        return d;
    }

    friend bool operator==(const session_description& a, const session_description& b) noexcept
    {
        return a.lines == b.lines && a.media == b.media;
    }
};

}  // namespace peerkit::sdp
