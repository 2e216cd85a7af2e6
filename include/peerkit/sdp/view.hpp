// The zero-copy SDP parser: `parse_view(text)` checks the whole description once (the grammar
// in grammar.hpp) and returns a session_view whose every string is a std::string_view into
// `text`. Nothing is allocated; the caller keeps `text` alive while it uses the view. For
// servers that only read: route by ICE credentials, pick a codec, collect candidates.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/sdp/fields.hpp>
#include <peerkit/sdp/grammar.hpp>
#include <peerkit/sdp/section.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace peerkit::sdp {

// The lines of a checked text region, in order, each with its line number.
class line_range {
public:
    class iterator {
    public:
        using value_type = line_ref;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(std::string_view rest, std::size_t number) noexcept : rest_(rest), number_(number), done_(false) { advance(); }
        const line_ref& operator*() const noexcept { return current_; }
        const line_ref* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept { advance(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.current_.value.data() == b.current_.value.data());
        }

    private:
        void advance() noexcept
        {
            bool cr = false;
            const auto line = rest_.empty() ? std::string_view{} : detail::next_line(rest_, cr);
            if (line.size() < 2) { done_ = true; return; }  // end, or the trailing blank lines
            current_ = {line[0], line.substr(2), number_++};
        }
        std::string_view rest_{};
        std::size_t number_ = 0;
        line_ref current_{};
        bool done_ = true;
    };
    line_range() = default;
    line_range(std::string_view text, std::size_t first_number) noexcept : text_(text), first_(first_number) {}
    [[nodiscard]] iterator begin() const noexcept { return {text_, first_}; }
    [[nodiscard]] iterator end() const noexcept { return {}; }

private:
    std::string_view text_{};
    std::size_t first_ = 1;
};

// The a= lines of a region, split into name and value.
class attribute_range {
public:
    class iterator {
    public:
        using value_type = attribute;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(line_range::iterator it) noexcept : it_(it) { skip(); }
        attribute operator*() const noexcept { return split_attribute(it_->value, it_->number); }
        iterator& operator++() noexcept { ++it_; skip(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; ++*this; return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.it_ == b.it_; }

    private:
        void skip() noexcept
        {
            while (it_ != line_range::iterator{} && it_->type != 'a') ++it_;
        }
        line_range::iterator it_{};
    };
    attribute_range() = default;
    explicit attribute_range(line_range lines) noexcept : lines_(lines) {}
    [[nodiscard]] iterator begin() const noexcept { return iterator{lines_.begin()}; }
    [[nodiscard]] iterator end() const noexcept { return iterator{line_range::iterator{}}; }

private:
    line_range lines_{};
};

// One m= section: its m= line and every line up to the next m= line.
class media_view : public section_reader<media_view> {
public:
    media_view() = default;
    media_view(std::string_view text, std::size_t first_number) noexcept : text_(text), first_(first_number) {}

    [[nodiscard]] line_range lines() const noexcept { return {text_, first_}; }
    [[nodiscard]] attribute_range attributes() const noexcept { return attribute_range{lines()}; }
    [[nodiscard]] std::string_view text() const noexcept { return text_; }
    [[nodiscard]] std::size_t line_number() const noexcept { return first_; }

    // RFC 8866 5.14: the m= line, typed (always valid on a parsed view).
    [[nodiscard]] media_line m_line() const noexcept
    {
        auto r = parse_media_line(lines().begin()->value);
        return r ? *r : media_line{};
    }
    [[nodiscard]] std::string_view kind() const noexcept { return m_line().media; }
    [[nodiscard]] std::uint16_t port() const noexcept { return m_line().port; }
    [[nodiscard]] std::string_view proto() const noexcept { return m_line().proto; }
    [[nodiscard]] token_list formats() const noexcept { return m_line().formats; }
    // RFC 3264 6: port 0 rejects (or disables) the section; JSEP keeps it with bundle-only.
    [[nodiscard]] bool rejected() const noexcept { return port() == 0 && !bundle_only(); }
    [[nodiscard]] std::optional<sdp::connection> connection() const noexcept
    {
        for (const auto& l : lines())
            if (l.type == 'c')
                if (auto c = parse_connection(l.value)) return *c;
        return std::nullopt;
    }

private:
    std::string_view text_{};
    std::size_t first_ = 0;
};

// The m= sections of a view, in order.
class media_range {
public:
    class iterator {
    public:
        using value_type = media_view;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(std::string_view rest, std::size_t number) noexcept : rest_(rest), number_(number) { advance(); }
        const media_view& operator*() const noexcept { return current_; }
        const media_view* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept { advance(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.current_.text().data() == b.current_.text().data());
        }

    private:
        void advance() noexcept
        {
            if (rest_.size() < 2 || rest_[0] != 'm') { done_ = true; return; }
            // Find where the next section starts: the next line that begins with "m=".
            auto scan = rest_;
            std::size_t lines = 0;
            for (;;) {
                bool cr = false;
                (void)detail::next_line(scan, cr);
                ++lines;
                if (scan.empty() || (scan.size() >= 2 && scan[0] == 'm' && scan[1] == '=')) break;
            }
            const auto length = static_cast<std::size_t>(scan.data() - rest_.data());
            current_ = media_view{rest_.substr(0, length), number_};
            rest_ = scan;
            number_ += lines;
            done_ = false;
        }
        std::string_view rest_{};
        std::size_t number_ = 0;
        media_view current_{};
        bool done_ = true;
    };
    media_range() = default;
    media_range(std::string_view text, std::size_t first_number, std::size_t count) noexcept
        : text_(text), first_(first_number), count_(count) {}
    [[nodiscard]] iterator begin() const noexcept { return {text_, first_}; }
    [[nodiscard]] iterator end() const noexcept { return {}; }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    // The i-th section (linear scan), or nullopt.
    [[nodiscard]] std::optional<media_view> at(std::size_t index) const noexcept
    {
        for (const auto& m : *this)
            if (index-- == 0) return m;
        return std::nullopt;
    }

private:
    std::string_view text_{};
    std::size_t first_ = 1;
    std::size_t count_ = 0;
};

// A checked session description, viewed in place.
class session_view : public section_reader<session_view> {
public:
    session_view() = default;

    // Session-level lines only (v= up to the first m=).
    [[nodiscard]] line_range lines() const noexcept { return {text_.substr(0, session_size_), 1}; }
    [[nodiscard]] line_range all_lines() const noexcept { return {text_, 1}; }
    [[nodiscard]] attribute_range attributes() const noexcept { return attribute_range{lines()}; }
    [[nodiscard]] media_range media() const noexcept
    {
        return {text_.substr(session_size_), session_lines_ + 1, media_count_};
    }
    [[nodiscard]] std::string_view text() const noexcept { return text_; }

    [[nodiscard]] sdp::origin origin() const noexcept { return typed_line<sdp::origin, parse_origin>('o').value_or(sdp::origin{}); }
    [[nodiscard]] std::string_view session_name() const noexcept { return line_value('s').value_or(std::string_view{}); }
    [[nodiscard]] std::optional<sdp::connection> connection() const noexcept { return typed_line<sdp::connection, parse_connection>('c'); }
    [[nodiscard]] std::optional<sdp::timing> timing() const noexcept { return typed_line<sdp::timing, parse_timing>('t'); }
    [[nodiscard]] std::optional<std::string_view> line_value(char type) const noexcept
    {
        for (const auto& l : lines())
            if (l.type == type) return l.value;
        return std::nullopt;
    }

private:
    template <class T, auto Parse>
    [[nodiscard]] std::optional<T> typed_line(char type) const noexcept
    {
        if (auto v = line_value(type))
            if (auto r = Parse(*v)) return *r;
        return std::nullopt;
    }

    friend result<session_view> parse_view(std::string_view, const parse_options&) noexcept;
    std::string_view text_{};
    std::size_t session_size_ = 0;   // bytes before the first m= line
    std::size_t session_lines_ = 0;  // lines before the first m= line
    std::size_t media_count_ = 0;
};

// Checks `text` and returns a view into it. No allocation.
[[nodiscard]] inline result<session_view> parse_view(std::string_view text, const parse_options& options = {}) noexcept
{
    struct sink {
        std::string_view text;
        session_view* view;
        void line(const line_ref& l) noexcept
        {
            if (l.type != 'm') return;
            if (view->media_count_++ == 0) {
                view->session_size_ = static_cast<std::size_t>(l.value.data() - 2 - text.data());
                view->session_lines_ = l.number - 1;
            }
        }
    };
    session_view view;
    view.text_ = text;
    view.session_size_ = text.size();
    sink s{text, &view};
    if (auto r = detail::run_grammar(text, options, s); !r) return r.error();
    return view;
}

namespace detail {
inline void append_line(std::string& out, char type, std::string_view value)
{
    out += type;
    out += '=';
    out += value;
    out += "\r\n";
}
}  // namespace detail

// Writes the viewed description with CRLF line endings (RFC 8866 5): byte for byte the input
// when it used CRLF, otherwise the input with its line endings normalised.
inline void serialize_to(const session_view& view, std::string& out)
{
    out.reserve(out.size() + view.text().size() + 256);
    for (const auto& l : view.all_lines()) detail::append_line(out, l.type, l.value);
}
[[nodiscard]] inline std::string serialize(const session_view& view)
{
    std::string out;
    serialize_to(view, out);
    return out;
}

}  // namespace peerkit::sdp
