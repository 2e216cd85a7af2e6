// Fuzzes the RTCP codec: parse the compound (reduced-size allowed and not); for each packet try
// every typed view, walk it, rebuild it with compound_builder, parse the rebuild and require
// the same fields. Any mismatch aborts (a crash for libFuzzer).
#include <peerkit/rtp.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "rtcp_packet fuzz: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what)
{
    if (!ok) fail(what);
}

std::array<std::byte, 140000> buffer;

// Builds with `add`, parses, and returns the single packet.
template <class Add>
rtcp::packet_view rebuild(Add add)
{
    rtcp::compound_builder b{buffer};
    add(b);
    const auto out = b.finish();
    require(out.has_value(), "rebuilding a parsed packet failed");
    const auto c = rtcp::compound_view::parse(*out);
    require(c.has_value(), "the rebuild does not parse as a compound");
    require(c->packet_count() == 1, "the rebuild is not one packet");
    return *c->begin();
}

void check_reports(const rtcp::packet_view& p)
{
    const auto r = rtcp::report_view::parse(p);
    if (!r) return;
    std::vector<rtcp::report_block> blocks;
    for (std::size_t i = 0; i < r->block_count(); ++i) blocks.push_back(r->block(i));
    const auto q = rebuild([&](rtcp::compound_builder& b) {
        if (r->is_sender_report()) b.add_sender_report(r->sender(), blocks);
        else b.add_receiver_report(r->ssrc(), blocks);
    });
    const auto again = rtcp::report_view::parse(q);
    require(again.has_value(), "rebuilt report does not parse");
    require(again->sender() == r->sender() && again->block_count() == blocks.size(), "report changed");
    for (std::size_t i = 0; i < blocks.size(); ++i) require(again->block(i) == blocks[i], "report block changed");
}

void check_sdes(const rtcp::packet_view& p)
{
    const auto s = rtcp::sdes_view::parse(p);
    if (!s) return;
    std::size_t items = 0;
    s->for_each_item([&](std::uint32_t ssrc, std::uint8_t type, bytes_view value) {
        ++items;
        require(value.size() <= 255, "SDES item longer than 255");
        if (type != rtcp::sdes_cname) return;
        const auto first = s->cname(ssrc);
        require(first.has_value(), "an iterated CNAME is not found");
        const auto q = rebuild([&](rtcp::compound_builder& b) { b.add_sdes_cname(ssrc, *first); });
        const auto again = rtcp::sdes_view::parse(q);
        require(again.has_value() && again->cname(ssrc) == first, "CNAME changed");
    });
    require(items <= p.body().size() / 2, "more SDES items than the body can hold");
}

void check_bye(const rtcp::packet_view& p)
{
    const auto v = rtcp::bye_view::parse(p);
    if (!v) return;
    std::vector<std::uint32_t> ssrcs;
    for (std::size_t i = 0; i < v->ssrc_count(); ++i) ssrcs.push_back(v->ssrc(i));
    const auto q = rebuild([&](rtcp::compound_builder& b) { b.add_bye(ssrcs, v->reason()); });
    const auto again = rtcp::bye_view::parse(q);
    require(again.has_value() && again->ssrc_count() == ssrcs.size() && again->reason() == v->reason(), "BYE changed");
    for (std::size_t i = 0; i < ssrcs.size(); ++i) require(again->ssrc(i) == ssrcs[i], "BYE SSRC changed");
}

void check_feedback(const rtcp::packet_view& p)
{
    if (const auto n = rtcp::nack_view::parse(p); n && n->pair_count() != 0) {
        std::vector<std::uint16_t> lost;
        for (const auto s : n->lost()) lost.push_back(s);
        require(lost.size() <= 17 * n->pair_count(), "NACK expanded past its pairs");
        const auto q = rebuild([&](rtcp::compound_builder& b) { b.add_nack(n->sender_ssrc(), n->media_ssrc(), lost); });
        const auto again = rtcp::nack_view::parse(q);
        require(again.has_value(), "rebuilt NACK does not parse");
        std::vector<std::uint16_t> back;
        for (const auto s : again->lost()) back.push_back(s);
        std::sort(lost.begin(), lost.end());
        lost.erase(std::unique(lost.begin(), lost.end()), lost.end());
        std::sort(back.begin(), back.end());
        back.erase(std::unique(back.begin(), back.end()), back.end());
        require(lost == back, "NACK lost set changed");
    }
    if (const auto v = rtcp::pli_view::parse(p)) {
        const auto again = rtcp::pli_view::parse(rebuild([&](rtcp::compound_builder& b) { b.add_pli(v->sender_ssrc(), v->media_ssrc()); }));
        require(again.has_value() && again->media_ssrc() == v->media_ssrc(), "PLI changed");
    }
    if (const auto v = rtcp::fir_view::parse(p)) {
        std::vector<rtcp::fir_entry> entries;
        for (std::size_t i = 0; i < v->entry_count(); ++i) entries.push_back(v->entry(i));
        const auto again = rtcp::fir_view::parse(rebuild([&](rtcp::compound_builder& b) { b.add_fir(v->sender_ssrc(), entries); }));
        require(again.has_value() && again->entry_count() == entries.size(), "FIR changed");
        for (std::size_t i = 0; i < entries.size(); ++i) require(again->entry(i) == entries[i], "FIR entry changed");
    }
    if (const auto v = rtcp::remb_view::parse(p)) {
        std::vector<std::uint32_t> ssrcs;
        for (std::size_t i = 0; i < v->ssrc_count(); ++i) ssrcs.push_back(v->ssrc(i));
        const auto again = rtcp::remb_view::parse(
            rebuild([&](rtcp::compound_builder& b) { b.add_remb(v->sender_ssrc(), v->bitrate(), ssrcs); }));
        require(again.has_value() && again->ssrc_count() == ssrcs.size(), "REMB changed");
        if (v->bitrate() != std::numeric_limits<std::uint64_t>::max())
            require(again->bitrate() == v->bitrate(), "REMB bitrate changed");
    }
    if (const auto v = rtcp::twcc_view::parse(p)) {
        require(v->chunk_count() <= v->fci_size() / 2, "more chunks than the FCI holds");
        std::vector<rtcp::twcc_arrival> arrivals;
        std::int64_t ticks = std::int64_t{v->reference_time()} * 256;
        std::size_t n = 0;
        for (const auto& s : v->statuses()) {
            require(s.sequence == static_cast<std::uint16_t>(v->base_sequence() + n), "status out of sequence");
            ++n;
            if (!s.received()) continue;
            ticks += s.delta_ticks;
            arrivals.push_back({s.sequence, ticks * 250});
        }
        require(n == v->status_count(), "status iteration count differs");
        if (arrivals.empty()) return;
        rtcp::compound_builder b{buffer};
        rtcp::add_transport_feedback(b, v->sender_ssrc(), v->media_ssrc(), v->feedback_count(), arrivals);
        const auto out = b.finish();
        if (!out) {
            // Only a reference time beyond 24 bits can be refused (the first delta was negative).
            require(out.error() == errc::invalid_argument, "transport-cc rebuild failed oddly");
            return;
        }
        const auto c = rtcp::compound_view::parse(*out);
        require(c.has_value(), "rebuilt transport-cc does not parse as a compound");
        const auto again = rtcp::twcc_view::parse(*c->begin());
        require(again.has_value(), "rebuilt transport-cc does not parse");
        std::int64_t t = std::int64_t{again->reference_time()} * 256;
        std::size_t k = 0;
        for (const auto& s : again->statuses()) {
            const bool expected = k < arrivals.size() && arrivals[k].sequence == s.sequence;
            require(s.received() == expected, "transport-cc received set changed");
            if (!expected) continue;
            t += s.delta_ticks;
            require(t * 250 == arrivals[k].arrival_us, "transport-cc arrival time changed");
            ++k;
        }
        require(k == arrivals.size(), "transport-cc lost arrivals");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view input{reinterpret_cast<const std::byte*>(data), size};
    const auto strict = rtcp::compound_view::parse(input, {.allow_reduced_size = false});
    const auto c = rtcp::compound_view::parse(input);
    if (!c) {
        require(!strict.has_value(), "strict parse accepted what the lenient one refused");
        return 0;
    }
    require(strict.has_value() == !c->is_reduced_size(), "strict and lenient parses disagree");
    std::size_t count = 0;
    std::size_t bytes = 0;
    for (const auto p : *c) {
        ++count;
        bytes += p.bytes().size();
        check_reports(p);
        check_sdes(p);
        check_bye(p);
        check_feedback(p);
    }
    require(count == c->packet_count(), "iteration count differs from packet_count()");
    require(bytes == size, "packets do not add up to the datagram");
    return 0;
}
