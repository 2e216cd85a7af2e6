// Typed read access shared by every kind of section: the zero-copy views (session_view,
// media_view) and the owning model (session_description, media_description). A section only
// has to provide `attributes()`, a range of sdp::attribute; everything typed is written here
// once, on top of the grammar in attributes.hpp and candidate.hpp.
//
// Accessors return the first matching attribute (std::optional) or a lazy range over all of
// them. A range skips values that fail their grammar: on a parsed description there are
// none (parse checks them), on an edited model a bad value is invisible rather than fatal.
#pragma once

#include <peerkit/sdp/attributes.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/grammar.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace peerkit::sdp {

// The attributes called `name` of a section, each parsed with `Parse` into a T.
template <class Range, class T, auto Parse>
class typed_range {
    using base_iterator = decltype(std::declval<const Range&>().begin());

public:
    class iterator {
    public:
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        iterator(base_iterator it, base_iterator end, std::string_view name) noexcept
            : it_(std::move(it)), end_(std::move(end)), name_(name), done_(false)
        {
            advance();
        }
        const T& operator*() const noexcept { return current_; }
        const T* operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept { advance(); return *this; }
        iterator operator++(int) noexcept { auto copy = *this; advance(); return copy; }
        friend bool operator==(const iterator& a, const iterator& b) noexcept
        {
            return a.done_ == b.done_ && (a.done_ || a.it_ == b.it_);
        }

    private:
        void advance() noexcept
        {
            while (!(it_ == end_)) {
                const attribute a = *it_;
                ++it_;
                if (a.name != name_) continue;
                auto parsed = Parse(a.value);
                if (!parsed) continue;
                current_ = *parsed;
                return;
            }
            done_ = true;
        }
        base_iterator it_{};
        base_iterator end_{};
        std::string_view name_{};
        T current_{};
        bool done_ = true;
    };

    typed_range(Range range, std::string_view name) noexcept : range_(std::move(range)), name_(name) {}
    [[nodiscard]] iterator begin() const noexcept { return {range_.begin(), range_.end(), name_}; }
    [[nodiscard]] iterator end() const noexcept { return {}; }
    [[nodiscard]] bool empty() const noexcept { return begin() == end(); }
    [[nodiscard]] std::size_t size() const noexcept
    {
        std::size_t n = 0;
        for (auto it = begin(); it != end(); ++it) ++n;
        return n;
    }
    [[nodiscard]] std::optional<T> front() const noexcept
    {
        auto it = begin();
        if (it == end()) return std::nullopt;
        return *it;
    }

private:
    Range range_;
    std::string_view name_;
};

namespace detail {
inline result<std::string_view> parse_ice_ufrag(std::string_view v) noexcept { return parse_ice_credential("ice-ufrag", v); }
inline result<std::string_view> parse_ice_pwd(std::string_view v) noexcept { return parse_ice_credential("ice-pwd", v); }
}  // namespace detail

template <class Derived>
class section_reader {
public:
    // --- generic ---------------------------------------------------------------------------
    [[nodiscard]] std::optional<attribute> find_attribute(std::string_view name) const noexcept
    {
        for (const attribute a : self().attributes())
            if (a.name == name) return a;
        return std::nullopt;
    }
    [[nodiscard]] bool has_attribute(std::string_view name) const noexcept { return find_attribute(name).has_value(); }
    // The value of the first a=<name>:<value>, if any.
    [[nodiscard]] std::optional<std::string_view> attribute_value(std::string_view name) const noexcept
    {
        if (auto a = find_attribute(name)) return a->value;
        return std::nullopt;
    }

    // --- ICE (RFC 8839 5) ------------------------------------------------------------------
    [[nodiscard]] std::optional<std::string_view> ice_ufrag() const noexcept { return first<std::string_view, detail::parse_ice_ufrag>("ice-ufrag"); }
    [[nodiscard]] std::optional<std::string_view> ice_pwd() const noexcept { return first<std::string_view, detail::parse_ice_pwd>("ice-pwd"); }
    // RFC 8839 5.6: "trickle", "ice2"...; empty when absent.
    [[nodiscard]] token_list ice_options() const noexcept { return first<token_list, parse_ice_options>("ice-options").value_or(token_list{}); }
    [[nodiscard]] bool has_ice_option(std::string_view tag) const noexcept { return ice_options().contains(tag); }
    [[nodiscard]] bool ice_lite() const noexcept { return has_attribute("ice-lite"); }  // RFC 8839 5.3
    [[nodiscard]] auto candidates() const noexcept { return typed<candidate_view, parse_candidate_value>("candidate"); }
    [[nodiscard]] bool end_of_candidates() const noexcept { return has_attribute("end-of-candidates"); }  // RFC 8840 8.2

    // --- DTLS (RFC 8842, RFC 8122) ---------------------------------------------------------
    [[nodiscard]] auto fingerprints() const noexcept { return typed<fingerprint, parse_fingerprint>("fingerprint"); }
    [[nodiscard]] std::optional<setup_role> setup() const noexcept { return first<setup_role, parse_setup>("setup"); }

    // --- bundle and grouping (RFC 5888, RFC 8843) ----------------------------------------
    [[nodiscard]] auto groups() const noexcept { return typed<group, parse_group>("group"); }
    [[nodiscard]] std::optional<group> bundle_group() const noexcept
    {
        for (const auto& g : groups())
            if (g.semantics == "BUNDLE") return g;
        return std::nullopt;
    }
    [[nodiscard]] std::optional<std::string_view> mid() const noexcept { return first<std::string_view, parse_mid>("mid"); }
    [[nodiscard]] bool bundle_only() const noexcept { return has_attribute("bundle-only"); }  // RFC 8843 6

    // --- media streams -----------------------------------------------------------------------
    [[nodiscard]] auto msid_semantics() const noexcept { return typed<msid_semantic, parse_msid_semantic>("msid-semantic"); }
    [[nodiscard]] bool extmap_allow_mixed() const noexcept { return has_attribute("extmap-allow-mixed"); }  // RFC 8285 6
    // RFC 8866 6.7: the first direction attribute; nullopt when there is none.
    [[nodiscard]] std::optional<sdp::direction> direction() const noexcept
    {
        for (const attribute a : self().attributes())
            if (!a.has_value)
                if (auto d = direction_from(a.name)) return d;
        return std::nullopt;
    }
    // RFC 8866 6.7: sendrecv is the default when no direction is given.
    [[nodiscard]] sdp::direction effective_direction() const noexcept { return direction().value_or(direction::sendrecv); }
    [[nodiscard]] bool rtcp_mux() const noexcept { return has_attribute("rtcp-mux"); }      // RFC 5761 5.1.1
    [[nodiscard]] bool rtcp_mux_only() const noexcept { return has_attribute("rtcp-mux-only"); }  // RFC 8858
    [[nodiscard]] bool rtcp_rsize() const noexcept { return has_attribute("rtcp-rsize"); }  // RFC 5506 5
    [[nodiscard]] std::optional<sdp::rtcp> rtcp() const noexcept { return first<sdp::rtcp, parse_rtcp>("rtcp"); }
    [[nodiscard]] auto rtpmaps() const noexcept { return typed<rtpmap, parse_rtpmap>("rtpmap"); }
    [[nodiscard]] auto fmtps() const noexcept { return typed<fmtp, parse_fmtp>("fmtp"); }
    [[nodiscard]] auto rtcp_fbs() const noexcept { return typed<rtcp_fb, parse_rtcp_fb>("rtcp-fb"); }
    [[nodiscard]] auto extmaps() const noexcept { return typed<extmap, parse_extmap>("extmap"); }
    [[nodiscard]] auto ssrcs() const noexcept { return typed<ssrc, parse_ssrc>("ssrc"); }
    [[nodiscard]] auto ssrc_groups() const noexcept { return typed<ssrc_group, parse_ssrc_group>("ssrc-group"); }
    [[nodiscard]] auto msids() const noexcept { return typed<msid, parse_msid>("msid"); }
    [[nodiscard]] auto rids() const noexcept { return typed<rid, parse_rid>("rid"); }
    [[nodiscard]] std::optional<sdp::simulcast> simulcast() const noexcept { return first<sdp::simulcast, parse_simulcast>("simulcast"); }
    [[nodiscard]] std::optional<rtpmap> rtpmap_for(std::uint8_t payload_type) const noexcept
    {
        for (const auto& r : rtpmaps())
            if (r.payload_type == payload_type) return r;
        return std::nullopt;
    }
    [[nodiscard]] std::optional<fmtp> fmtp_for(std::uint8_t payload_type) const noexcept
    {
        for (const auto& f : fmtps())
            if (f.payload_type() == payload_type) return f;
        return std::nullopt;
    }

    // --- data channels (RFC 8841) --------------------------------------------------------
    [[nodiscard]] std::optional<std::uint16_t> sctp_port() const noexcept { return first<std::uint16_t, parse_sctp_port>("sctp-port"); }
    [[nodiscard]] std::optional<std::uint64_t> max_message_size() const noexcept { return first<std::uint64_t, parse_max_message_size>("max-message-size"); }
    [[nodiscard]] std::optional<sdp::sctpmap> sctpmap() const noexcept { return first<sdp::sctpmap, parse_sctpmap>("sctpmap"); }

protected:
    template <class T, auto Parse>
    [[nodiscard]] auto typed(std::string_view name) const noexcept
    {
        using range = decltype(std::declval<const Derived&>().attributes());
        return typed_range<range, T, Parse>(self().attributes(), name);
    }
    template <class T, auto Parse>
    [[nodiscard]] std::optional<T> first(std::string_view name) const noexcept
    {
        return typed<T, Parse>(name).front();
    }

private:
    [[nodiscard]] const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

}  // namespace peerkit::sdp
