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
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::sdp {

// One line as a section hands it out: its type letter and its value (everything after "x=").
// The value views the section's text: it stays valid until that section is next changed.
struct line {
    char type = 'a';
    std::string_view value;
    friend bool operator==(const line&, const line&) = default;
};

// The lines of one section, stored compactly: one text buffer per section and, per line, its
// type and where its value lies in the buffer. Parsing copies a section's text once (one
// allocation for the text, one for the index) instead of one std::string per line; an edit
// appends the new value to the buffer and re-points the line, and the buffer is compacted when
// more than half of it is no longer referenced.
class line_list {
    struct entry {
        std::size_t offset;
        std::size_t size;
        char type;
    };

public:
    class iterator {
    public:
        using value_type = line;
        using difference_type = std::ptrdiff_t;
        using iterator_category = std::random_access_iterator_tag;
        iterator() = default;
        iterator(const line_list* list, std::size_t index) noexcept : list_(list), index_(index) {}
        line operator*() const noexcept { return (*list_)[index_]; }
        line operator[](difference_type n) const noexcept { return (*list_)[index_ + static_cast<std::size_t>(n)]; }
        iterator& operator++() noexcept { ++index_; return *this; }
        iterator operator++(int) noexcept { auto copy = *this; ++index_; return copy; }
        iterator& operator--() noexcept { --index_; return *this; }
        iterator operator--(int) noexcept { auto copy = *this; --index_; return copy; }
        iterator& operator+=(difference_type n) noexcept { index_ += static_cast<std::size_t>(n); return *this; }
        iterator& operator-=(difference_type n) noexcept { index_ -= static_cast<std::size_t>(n); return *this; }
        friend iterator operator+(iterator it, difference_type n) noexcept { return it += n; }
        friend iterator operator+(difference_type n, iterator it) noexcept { return it += n; }
        friend iterator operator-(iterator it, difference_type n) noexcept { return it -= n; }
        friend difference_type operator-(const iterator& a, const iterator& b) noexcept
        {
            return static_cast<difference_type>(a.index_) - static_cast<difference_type>(b.index_);
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.index_ == b.index_; }
        friend auto operator<=>(const iterator& a, const iterator& b) noexcept { return a.index_ <=> b.index_; }
        [[nodiscard]] std::size_t index() const noexcept { return index_; }

    private:
        const line_list* list_ = nullptr;
        std::size_t index_ = 0;
    };

    line_list() = default;
    line_list(std::initializer_list<line> lines)
    {
        for (const auto& l : lines) push_back(l.type, l.value);
    }

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
    [[nodiscard]] line operator[](std::size_t i) const noexcept
    {
        const auto& e = entries_[i];
        return {e.type, std::string_view{text_.data() + e.offset, e.size}};
    }
    [[nodiscard]] line front() const noexcept { return (*this)[0]; }
    [[nodiscard]] line back() const noexcept { return (*this)[size() - 1]; }
    [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
    [[nodiscard]] iterator end() const noexcept { return {this, size()}; }

    void push_back(char type, std::string_view value) { insert(size(), type, value); }
    void push_back(const line& l) { insert(size(), l.type, l.value); }
    // Inserts before position `index` (size() appends).
    void insert(std::size_t index, char type, std::string_view value) { insert_parts(index, type, value, {}, {}); }
    // Replaces the value of line `index`, keeping its type and position.
    void set_value(std::size_t index, std::string_view value) { replace_parts(index, entries_[index].type, value, {}, {}); }
    void set(std::size_t index, char type, std::string_view value) { replace_parts(index, type, value, {}, {}); }
    void erase(std::size_t index)
    {
        live_ -= entries_[index].size;
        entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(index));
    }
    // Removes every line for which pred(line) is true; returns how many.
    template <class Pred>
    std::size_t erase_if(Pred pred)
    {
        const auto before = entries_.size();
        std::erase_if(entries_, [&](const entry& e) {
            const bool gone = pred(line{e.type, std::string_view{text_.data() + e.offset, e.size}});
            if (gone) live_ -= e.size;
            return gone;
        });
        return before - entries_.size();
    }
    void clear() noexcept
    {
        entries_.clear();
        text_.clear();
        live_ = 0;
    }
    void reserve(std::size_t lines) { entries_.reserve(lines); }

    friend bool operator==(const line_list& a, const line_list& b) noexcept
    {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (a[i] != b[i]) return false;
        return true;
    }

private:
    friend class session_description;
    template <class Derived>
    friend class section_editor;

    // A value made of up to three pieces (name ":" value), written without a temporary.
    void insert_parts(std::size_t index, char type, std::string_view a, std::string_view b, std::string_view c)
    {
        const auto at = append_text(a, b, c);
        entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(index), entry{at, a.size() + b.size() + c.size(), type});
        live_ += a.size() + b.size() + c.size();
    }
    void replace_parts(std::size_t index, char type, std::string_view a, std::string_view b, std::string_view c)
    {
        const auto at = append_text(a, b, c);
        auto& e = entries_[index];
        live_ = live_ - e.size + a.size() + b.size() + c.size();
        e = entry{at, a.size() + b.size() + c.size(), type};
    }
    [[nodiscard]] bool aliases(std::string_view v) const noexcept
    {
        const std::less_equal<const char*> le;
        return !v.empty() && le(text_.data(), v.data()) && le(v.data(), text_.data() + text_.size());
    }
    // Appends the pieces to the buffer and returns where they start. A piece may view this very
    // buffer (m.set_mid(*m.mid())): it is copied out first, since growing the buffer moves it.
    std::size_t append_text(std::string_view a, std::string_view b, std::string_view c)
    {
        if (aliases(a) || aliases(b) || aliases(c)) {
            std::string copy;
            copy.reserve(a.size() + b.size() + c.size());
            copy.append(a).append(b).append(c);
            return append_text(copy, {}, {});
        }
        // Compact when most of the buffer is dead text (replaced or erased values). Offsets of
        // live lines change; the pieces are not in the buffer (checked above).
        if (text_.size() > 256 && text_.size() - live_ > live_) compact();
        const auto at = text_.size();
        text_.append(a).append(b).append(c);
        return at;
    }
    void compact()
    {
        std::string text;
        text.reserve(live_ + live_ / 2);
        for (auto& e : entries_) {
            const auto at = text.size();
            text.append(text_, e.offset, e.size);
            e.offset = at;
        }
        text_ = std::move(text);
    }

    std::string text_;
    std::vector<entry> entries_;
    std::size_t live_ = 0;  // bytes of text_ that some line refers to
};

// The a= lines of a section, as sdp::attribute.
class owned_attribute_range {
public:
    class iterator {
    public:
        using value_type = attribute;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(const line_list* lines, std::size_t index) noexcept : lines_(lines), index_(index) { skip(); }
        attribute operator*() const noexcept { return split_attribute((*lines_)[index_].value); }
        iterator& operator++() noexcept { ++index_; skip(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; ++*this; return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.index_ == b.index_; }

    private:
        void skip() noexcept
        {
            while (index_ < lines_->size() && (*lines_)[index_].type != 'a') ++index_;
        }
        const line_list* lines_ = nullptr;
        std::size_t index_ = 0;
    };
    explicit owned_attribute_range(const line_list& lines) noexcept : lines_(&lines) {}
    [[nodiscard]] iterator begin() const noexcept { return {lines_, 0}; }
    [[nodiscard]] iterator end() const noexcept { return {lines_, lines_->size()}; }

private:
    const line_list* lines_;
};

// Attribute editing shared by session and media sections (both hold `line_list lines`).
template <class Derived>
class section_editor {
public:
    // Appends a=<name>:<value> (a=<name> when `value` is nullopt) after the section's last line.
    Derived& add_attribute(std::string_view name, std::optional<std::string_view> value = std::nullopt)
    {
        auto& ls = lines();
        if (value) ls.insert_parts(ls.size(), 'a', name, ":", *value);
        else ls.insert_parts(ls.size(), 'a', name, {}, {});
        return self();
    }
    Derived& add_flag(std::string_view name) { return add_attribute(name); }
    // Replaces the first a=<name> in place (keeping its position), or appends one.
    Derived& set_attribute(std::string_view name, std::optional<std::string_view> value = std::nullopt)
    {
        auto& ls = lines();
        for (std::size_t i = 0; i < ls.size(); ++i) {
            const auto l = ls[i];
            if (l.type == 'a' && split_attribute(l.value).name == name) {
                if (value) ls.replace_parts(i, 'a', name, ":", *value);
                else ls.replace_parts(i, 'a', name, {}, {});
                return self();
            }
        }
        return add_attribute(name, value);
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
        return lines().erase_if([&](const line& l) { return l.type == 'a' && split_attribute(l.value).name == name; });
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
    // RFC 8866 6.7: exactly one direction attribute; the first is replaced in place, the
    // others are removed.
    Derived& set_direction(sdp::direction d)
    {
        auto& ls = lines();
        std::size_t first = ls.size();
        for (std::size_t i = 0; i < ls.size() && first == ls.size(); ++i)
            if (ls[i].type == 'a' && direction_from(ls[i].value)) first = i;
        if (first == ls.size()) return add_flag(to_string(d));
        ls.set_value(first, to_string(d));
        std::size_t i = 0;
        ls.erase_if([&](const line& l) { return i++ > first && l.type == 'a' && direction_from(l.value); });
        return self();
    }
    Derived& add_candidate(const candidate& c) { return add_attribute("candidate", to_attribute_value(c)); }
    Derived& set_sctp_port(std::uint16_t port) { return set_attribute("sctp-port", std::to_string(port)); }
    Derived& set_max_message_size(std::uint64_t size) { return set_attribute("max-message-size", std::to_string(size)); }

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    line_list& lines() noexcept { return self().lines; }
};

// One m= section. lines[0] is the m= line.
class media_description : public section_reader<media_description>, public section_editor<media_description> {
public:
    line_list lines;

    media_description() = default;
    // A new section with this m= line and, when given, a c= line (JSEP 5.2.1 uses
    // "c=IN IP4 0.0.0.0" and port 9 until candidates are known).
    explicit media_description(const media_line& m, std::string_view connection = "IN IP4 0.0.0.0")
    {
        std::string value;
        append_value(value, m);
        lines.push_back('m', value);
        if (!connection.empty()) lines.push_back('c', connection);
    }

    [[nodiscard]] owned_attribute_range attributes() const noexcept { return owned_attribute_range{lines}; }
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
        lines.set_value(0, value);
        return {};
    }

    friend bool operator==(const media_description& a, const media_description& b) noexcept { return a.lines == b.lines; }
};

// A whole session description.
class session_description : public section_reader<session_description>, public section_editor<session_description> {
public:
    line_list lines;  // session level, v= first
    std::vector<media_description> media;

    [[nodiscard]] owned_attribute_range attributes() const noexcept { return owned_attribute_range{lines}; }

    // Parses and copies. Same grammar, limits and errors as parse_view. Each section gets one
    // copy of its text and one index of its lines (a few allocations, not one per line).
    [[nodiscard]] static result<session_description> parse(std::string_view text, const parse_options& options = {})
    {
        builder b{text};
        if (auto r = detail::run_grammar(text, options, b); !r) return r.error();
        return b.finish();
    }
    // Copies a checked view.
    [[nodiscard]] static session_description from(const session_view& view)
    {
        builder b{view.text()};
        for (const auto& l : view.all_lines()) b.line(l);
        return b.finish();
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
    void set_line(char type, std::string_view value)
    {
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i].type == type) { lines.set_value(i, value); return; }
        const int rank = detail::session_order(type).rank;
        std::size_t at = 0;
        while (at < lines.size() && detail::session_order(lines[at].type).rank <= rank) ++at;
        lines.insert(at, type, value);
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
        d.lines.push_back('v', "0");
        std::string o = "- ";
        detail::append_number(o, session_id);
        o += ' ';
        detail::append_number(o, version);
        o += " IN IP4 127.0.0.1";
        d.lines.push_back('o', o);
        d.lines.push_back('s', "-");
        d.lines.push_back('t', "0 0");
        return d;
    }

    friend bool operator==(const session_description& a, const session_description& b) noexcept
    {
        return a.lines == b.lines && a.media == b.media;
    }

private:
    // Collects the checked lines of `text` (offsets into it) and then gives each section its
    // own copy of its part of the text, with the offsets rebased.
    struct builder {
        std::string_view text;
        std::vector<line_list::entry> entries{};
        std::size_t media = 0;

        void line(const line_ref& l)
        {
            if (entries.empty()) entries.reserve(text.size() / 24 + 16);
            media += l.type == 'm';
            entries.push_back({static_cast<std::size_t>(l.value.data() - text.data()), l.value.size(), l.type});
        }
        session_description finish()
        {
            session_description d;
            d.media.resize(media);
            std::size_t first = 0;
            for (std::size_t s = 0; s <= media; ++s) {
                std::size_t last = first + 1;  // the next m= line, or the end
                while (last < entries.size() && entries[last].type != 'm') ++last;
                auto& section = s == 0 ? d.lines : d.media[s - 1].lines;
                // A section's text starts at its first line's type letter ("v=" is at 0).
                const std::size_t begin = s == 0 ? 0 : entries[first].offset - 2;
                const std::size_t end = last < entries.size() ? entries[last].offset - 2 : text.size();
                section.text_.assign(text.data() + begin, end - begin);
                section.entries_.reserve(last - first);
                for (std::size_t i = first; i < last; ++i) {
                    auto e = entries[i];
                    e.offset -= begin;
                    section.live_ += e.size;
                    section.entries_.push_back(e);
                }
                first = last;
            }
            return d;
        }
    };
};

}  // namespace peerkit::sdp
