// Which m= section of a BUNDLE group an incoming RTP packet belongs to (RFC 8843 9.2, as JSEP,
// RFC 8829 5.9, uses it): by the MID header extension when the packet carries one (RFC 8843
// 15), else by its SSRC as signalled (a=ssrc) or learned from earlier packets, else by a
// payload type that only one section uses. What matched is learned for the SSRC, so that the
// packets after the first few (a sender stops repeating the MID once it is acknowledged, RFC
// 7941 4.2.6) still find their section. RTCP goes by the SSRC it is about
// (section_of_ssrc).
//
// Sans-IO and allocation-free per packet: the tables are sized when the sections are set.
// A remote peer decides what is learned, so learning is bounded: at most
// `max_ssrcs_per_section` learned SSRCs per section (a simulcast sender with RTX needs six),
// the oldest learned one making room, so one section's churn never blocks another's.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/rtp/packet.hpp>
#include <peerkit/rtp/stream/error.hpp>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace peerkit::rtp::stream {

// One m= section of the BUNDLE group, from the remote description.
struct bundle_section {
    std::string mid;                      // a=mid (RFC 8843 5.3 requires one per bundled section)
    std::bitset<128> payload_types;       // the payload types of its m= line (RTX and FEC included)
    std::vector<std::uint32_t> ssrcs;     // a=ssrc values, if the peer signalled any (RFC 5576)
};

struct bundle_demultiplexer_config {
    // The remote description's extmap id of urn:ietf:params:rtp-hdrext:sdes:mid (RFC 8843
    // 15); 0 when it negotiated none.
    std::uint8_t mid_extension_id = 0;
    std::size_t max_ssrcs_per_section = 8;
};

enum class route_rule : std::uint8_t {
    mid,           // the packet's MID header extension
    ssrc,          // an SSRC signalled or learned before
    payload_type,  // a payload type of one section only
};

struct bundle_route {
    std::size_t section = 0;  // index into the sections given to set_sections
    route_rule rule = route_rule::ssrc;
};

struct bundle_demultiplexer_stats {
    std::uint64_t by_mid = 0;
    std::uint64_t by_ssrc = 0;
    std::uint64_t by_payload_type = 0;
    std::uint64_t unknown_mid = 0;           // a MID no section has: dropped
    std::uint64_t payload_type_mismatch = 0; // the section found does not use the packet's payload type: dropped
    std::uint64_t unroutable = 0;            // no MID, unknown SSRC, payload type of several or no sections
    std::uint64_t ssrcs_learned = 0;
    std::uint64_t ssrcs_moved = 0;           // a MID moved an SSRC to another section (RFC 8843 9.2)
    std::uint64_t learned_evicted = 0;       // the oldest learned SSRC of a full section made room
};

class bundle_demultiplexer {
public:
    // Sets (or, at renegotiation, replaces) the sections. SSRCs learned for a MID that is still
    // there stay learned, at the section's new index. Refused: an empty or repeated MID.
    [[nodiscard]] result<void> set_sections(std::span<const bundle_section> sections,
                                            const bundle_demultiplexer_config& config = {})
    {
        for (std::size_t i = 0; i < sections.size(); ++i) {
            if (sections[i].mid.empty())
                return make_error(errc::invalid_config, "BUNDLE section ", i, " has no MID (RFC 8843 5.3)");
            for (std::size_t j = 0; j < i; ++j)
                if (sections[j].mid == sections[i].mid)
                    return make_error(errc::invalid_config, "BUNDLE sections ", j, " and ", i, " share MID '",
                                      sections[i].mid, "'");
        }
        if (config.max_ssrcs_per_section == 0)
            return make_error(errc::invalid_config, "max_ssrcs_per_section is 0");
        std::vector<entry> kept;
        for (const entry& e : entries_) {
            if (!e.learned) continue;
            const auto to = index_of(sections, mids_[e.section]);
            if (!to) continue;
            entry moved = e;
            moved.section = *to;
            kept.push_back(moved);
        }
        config_ = config;
        mids_.clear();
        payload_types_.clear();
        for (const auto& s : sections) {
            mids_.push_back(s.mid);
            payload_types_.push_back(s.payload_types);
        }
        // RFC 8843 9.2: a payload type identifies a section only if no other section uses it.
        unique_payload_type_.fill(no_section);
        for (std::size_t pt = 0; pt < 128; ++pt) {
            std::size_t owner = no_section;
            bool shared = false;
            for (std::size_t i = 0; i < sections.size(); ++i) {
                if (!sections[i].payload_types.test(pt)) continue;
                shared = owner != no_section;
                owner = i;
            }
            if (!shared) unique_payload_type_[pt] = owner;
        }
        entries_.clear();
        std::size_t signalled = 0;
        for (const auto& s : sections) signalled += s.ssrcs.size();
        entries_.reserve(signalled + sections.size() * config_.max_ssrcs_per_section);
        for (std::size_t i = 0; i < sections.size(); ++i)
            for (const std::uint32_t ssrc : sections[i].ssrcs) insert({ssrc, i, false, 0, 0, false});
        for (const entry& e : kept)
            if (find(e.ssrc) == nullptr) insert(e);
        return {};
    }

    // The section `packet` belongs to, or nothing (the packet is to be dropped; stats say why).
    [[nodiscard]] std::optional<bundle_route> route(const packet_view& packet) noexcept
    {
        const std::uint32_t ssrc = packet.ssrc();
        const std::uint8_t pt = packet.payload_type();
        if (config_.mid_extension_id != 0) {
            if (const auto mid = packet.find_extension(config_.mid_extension_id)) {
                const auto section = section_of_mid(as_string_view(*mid));
                if (!section) {
                    ++stats_.unknown_mid;
                    return std::nullopt;
                }
                if (!payload_types_[*section].test(pt)) {
                    ++stats_.payload_type_mismatch;
                    return std::nullopt;
                }
                note_mid(ssrc, *section, packet.sequence_number());
                ++stats_.by_mid;
                return bundle_route{*section, route_rule::mid};
            }
        }
        if (const entry* e = find(ssrc)) {
            if (!payload_types_[e->section].test(pt)) {
                ++stats_.payload_type_mismatch;
                return std::nullopt;
            }
            ++stats_.by_ssrc;
            return bundle_route{e->section, route_rule::ssrc};
        }
        const std::size_t owner = unique_payload_type_[pt];
        if (owner == no_section) {
            ++stats_.unroutable;
            return std::nullopt;
        }
        learn(ssrc, owner, 0, false);
        ++stats_.by_payload_type;
        return bundle_route{owner, route_rule::payload_type};
    }

    // For RTCP: the section of an SSRC signalled or learned (a sender report's SSRC, RFC 3550).
    [[nodiscard]] std::optional<std::size_t> section_of_ssrc(std::uint32_t ssrc) const noexcept
    {
        if (const entry* e = find(ssrc)) return e->section;
        return std::nullopt;
    }
    [[nodiscard]] std::optional<std::size_t> section_of_mid(std::string_view mid) const noexcept
    {
        for (std::size_t i = 0; i < mids_.size(); ++i)
            if (mids_[i] == mid) return i;
        return std::nullopt;
    }

    [[nodiscard]] const bundle_demultiplexer_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t known_ssrcs() const noexcept { return entries_.size(); }

private:
    static constexpr std::size_t no_section = static_cast<std::size_t>(-1);

    struct entry {
        std::uint32_t ssrc = 0;
        std::size_t section = 0;
        bool learned = false;            // from a packet, not from a=ssrc
        std::uint64_t learned_at = 0;    // order of learning, for eviction
        std::uint16_t mid_sequence = 0;  // the sequence number of the packet whose MID set it
        bool has_mid_sequence = false;
    };

    static std::optional<std::size_t> index_of(std::span<const bundle_section> sections, std::string_view mid) noexcept
    {
        for (std::size_t i = 0; i < sections.size(); ++i)
            if (sections[i].mid == mid) return i;
        return std::nullopt;
    }

    // Sorted by SSRC: a lookup per packet is a binary search; inserts are rare (learning).
    [[nodiscard]] const entry* find(std::uint32_t ssrc) const noexcept
    {
        const auto it = std::lower_bound(entries_.begin(), entries_.end(), ssrc,
                                         [](const entry& e, std::uint32_t s) { return e.ssrc < s; });
        return it != entries_.end() && it->ssrc == ssrc ? &*it : nullptr;
    }
    [[nodiscard]] entry* find(std::uint32_t ssrc) noexcept
    {
        return const_cast<entry*>(static_cast<const bundle_demultiplexer*>(this)->find(ssrc));
    }
    void insert(const entry& e)
    {
        const auto it = std::lower_bound(entries_.begin(), entries_.end(), e.ssrc,
                                         [](const entry& x, std::uint32_t s) { return x.ssrc < s; });
        entries_.insert(it, e);
    }

    // RFC 8843 9.2: a MID maps the packet's SSRC to its section, unless an earlier packet
    // (by sequence number, RFC 7941 4.2.6) said otherwise after a later one.
    void note_mid(std::uint32_t ssrc, std::size_t section, std::uint16_t sequence) noexcept
    {
        if (entry* e = find(ssrc)) {
            if (e->section == section) {
                e->mid_sequence = sequence;
                e->has_mid_sequence = true;
                return;
            }
            const bool newer = !e->has_mid_sequence || static_cast<std::int16_t>(sequence - e->mid_sequence) > 0;
            if (!newer) return;
            ++stats_.ssrcs_moved;
            if (!e->learned) {  // a signalled SSRC that the peer now sends for another MID
                e->section = section;
                e->mid_sequence = sequence;
                e->has_mid_sequence = true;
                return;
            }
            erase(ssrc);
        }
        learn(ssrc, section, sequence, true);
    }

    void learn(std::uint32_t ssrc, std::size_t section, std::uint16_t sequence, bool from_mid) noexcept
    {
        std::size_t in_section = 0;
        const entry* oldest = nullptr;
        for (const entry& e : entries_) {
            if (!e.learned || e.section != section) continue;
            ++in_section;
            if (oldest == nullptr || e.learned_at < oldest->learned_at) oldest = &e;
        }
        if (in_section >= config_.max_ssrcs_per_section && oldest != nullptr) {
            erase(oldest->ssrc);
            ++stats_.learned_evicted;
        }
        // The capacity was reserved for every section's share: this insert does not allocate.
        insert({ssrc, section, true, next_learned_++, sequence, from_mid});
        ++stats_.ssrcs_learned;
    }

    void erase(std::uint32_t ssrc) noexcept
    {
        const auto it = std::lower_bound(entries_.begin(), entries_.end(), ssrc,
                                         [](const entry& e, std::uint32_t s) { return e.ssrc < s; });
        if (it != entries_.end() && it->ssrc == ssrc) entries_.erase(it);
    }

    bundle_demultiplexer_config config_{};
    std::vector<std::string> mids_;
    std::vector<std::bitset<128>> payload_types_;
    std::array<std::size_t, 128> unique_payload_type_ = filled_no_section();
    std::vector<entry> entries_;
    std::uint64_t next_learned_ = 0;
    bundle_demultiplexer_stats stats_{};

    static constexpr std::array<std::size_t, 128> filled_no_section() noexcept
    {
        std::array<std::size_t, 128> a{};
        a.fill(no_section);
        return a;
    }
};

}  // namespace peerkit::rtp::stream
