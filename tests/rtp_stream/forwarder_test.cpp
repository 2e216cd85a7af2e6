// RTP mode: header rewriting for forwarding (SSRC, payload type, continuous sequence numbers
// and timestamps across a source switch, extension ids in one pass).
#include <peerkit/rtp/rtcp.hpp>
#include <peerkit/rtp/stream/forwarder.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp;
using namespace peerkit::rtp::stream;

namespace {
std::vector<std::byte> make(std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts, std::uint8_t pt = 96,
                            extension_encoding encoding = extension_encoding::one_byte)
{
    const std::array<std::byte, 1> level{std::byte{0x30}};
    const std::array<std::byte, 2> tcc{std::byte{0x01}, std::byte{0x02}};
    const std::array<header_extension, 2> ext{{{1, level}, {3, tcc}}};
    const std::array<std::byte, 3> payload{std::byte{1}, std::byte{2}, std::byte{3}};
    std::vector<std::byte> buffer(100);
    auto out = build_packet(buffer, {.payload_type = pt, .sequence_number = seq, .timestamp = ts, .ssrc = ssrc,
                                     .extensions = ext, .encoding = encoding, .payload = payload});
    REQUIRE(out);
    buffer.resize(out->size());
    return buffer;
}
}  // namespace

TEST_CASE("forwarder rewrites SSRC, payload type and extension ids", "[rtp_stream][forwarder]")
{
    forwarder_config c{.ssrc = 0xF0};
    c.payload_types[96] = 100;
    c.payload_types[97] = 0xFF;
    c.extension_ids[1] = 3;  // a swap: 1 -> 3 and 3 -> 1
    c.extension_ids[3] = 1;
    rtp_forwarder f{c};
    for (const auto encoding : {extension_encoding::one_byte, extension_encoding::two_byte}) {
        auto p = make(0xA, 10, 1000, 96, encoding);
        auto ok = f.rewrite(p);
        REQUIRE(ok);
        CHECK(*ok);
        auto v = packet_view::parse(p);
        REQUIRE(v);
        CHECK(v->ssrc() == 0xF0);
        CHECK(v->payload_type() == 100);
        REQUIRE(v->find_extension(3));
        CHECK(v->find_extension(3)->size() == 1);  // the audio level, now id 3
        REQUIRE(v->find_extension(1));
        CHECK(v->find_extension(1)->size() == 2);  // transport-cc, now id 1
        CHECK(v->payload().size() == 3);
    }
    auto refused = make(0xA, 11, 1000, 97);
    const auto before = refused;
    auto ok = f.rewrite(refused);
    REQUIRE(ok);
    CHECK_FALSE(*ok);
    CHECK(refused == before);
    CHECK(f.stats().refused_payload_type == 1);
}

TEST_CASE("forwarder keeps numbering continuous across a source switch", "[rtp_stream][forwarder]")
{
    rtp_forwarder f{{.ssrc = 0xF0, .switch_timestamp_step = 3000}};
    std::vector<std::uint16_t> seqs;
    std::vector<std::uint32_t> stamps;
    const auto forward = [&](std::uint32_t ssrc, std::uint16_t seq, std::uint32_t ts) {
        auto p = make(ssrc, seq, ts);
        auto ok = f.rewrite(p);
        REQUIRE(ok);
        if (!*ok) return false;
        auto v = packet_view::parse(p);
        REQUIRE(v);
        seqs.push_back(v->sequence_number());
        stamps.push_back(v->timestamp());
        return true;
    };
    CHECK(forward(0xA, 65534, 100));
    CHECK(forward(0xA, 65535, 3100));
    CHECK(forward(0xB, 500, 9'000'000));  // switch: continues at 0 with +3000
    CHECK(forward(0xB, 502, 9'006'000));  // a gap stays a gap (the receiver NACKs it)
    CHECK(forward(0xB, 501, 9'003'000));  // reordered: mapped consistently
    CHECK_FALSE(forward(0xA, 65533, 6100));  // late packet of the old source (older than its last)
    CHECK(forward(0xA, 40, 90'000));      // a newer packet of A: switching back
    CHECK(seqs == std::vector<std::uint16_t>{65534, 65535, 0, 2, 1, 3});
    CHECK(stamps == std::vector<std::uint32_t>{100, 3100, 6100, 12100, 9100, 15100});
    CHECK(f.stats().source_switches == 2);
    CHECK(f.stats().from_old_source == 1);
}

namespace {
struct translated {
    std::vector<std::pair<std::uint32_t, std::vector<std::uint16_t>>> nacks;  // media SSRC, numbers
    std::vector<std::uint32_t> plis;
    std::vector<rtcp::fir_entry> firs;
    std::vector<std::uint32_t> senders;
};

translated read_feedback(bytes_view rtcp)
{
    translated t;
    auto compound = rtcp::compound_view::parse(rtcp);
    REQUIRE(compound);
    for (const rtcp::packet_view p : *compound) {
        if (auto nack = rtcp::nack_view::parse(p)) {
            std::vector<std::uint16_t> numbers;
            for (const std::uint16_t s : nack->lost()) numbers.push_back(s);
            t.nacks.emplace_back(nack->media_ssrc(), numbers);
            t.senders.push_back(nack->sender_ssrc());
        } else if (auto pli = rtcp::pli_view::parse(p)) {
            t.plis.push_back(pli->media_ssrc());
            t.senders.push_back(pli->sender_ssrc());
        } else if (auto fir = rtcp::fir_view::parse(p)) {
            for (std::size_t i = 0; i < fir->entry_count(); ++i) t.firs.push_back(fir->entry(i));
            t.senders.push_back(fir->sender_ssrc());
        } else {
            FAIL("unexpected RTCP packet type in the translation");
        }
    }
    return t;
}

std::vector<std::byte> feedback(const std::function<void(rtcp::compound_builder&)>& add)
{
    std::vector<std::byte> buffer(1200);
    rtcp::compound_builder b{buffer};
    add(b);
    auto out = b.finish();
    REQUIRE(out);
    buffer.resize(out->size());
    return buffer;
}

void forward(rtp_forwarder& f, std::uint32_t ssrc, std::uint16_t seq)
{
    auto p = make(ssrc, seq, seq * 90u);
    auto ok = f.rewrite(p);
    REQUIRE(ok);
    REQUIRE(*ok);
}
}  // namespace

TEST_CASE("forwarder translates NACKs back to each source's SSRC and numbers", "[rtp_stream][forwarder][rtcp]")
{
    rtp_forwarder f{{.ssrc = 0xF0, .feedback_ssrc = 0xEE}};
    forward(f, 0xA, 65534);  // out 65534
    forward(f, 0xA, 65535);  // out 65535
    for (std::uint16_t s = 500; s < 504; ++s) forward(f, 0xB, s);  // out 0..3
    // The receiver lost out 65535, 1 and 2; 9 was never sent, 60000 is long gone.
    const std::array<std::uint16_t, 5> lost{60000, 65535, 1, 2, 9};
    const auto in = feedback([&](rtcp::compound_builder& b) { b.add_nack(0x99, 0xF0, lost); });
    std::array<std::byte, 1200> out{};
    auto t = f.translate_feedback(in, out);
    REQUIRE(t);
    REQUIRE(*t);
    const auto got = read_feedback(**t);
    REQUIRE(got.nacks.size() == 2);
    CHECK(got.nacks[0].first == 0xA);
    CHECK(got.nacks[0].second == std::vector<std::uint16_t>{65535});
    CHECK(got.nacks[1].first == 0xB);
    CHECK(got.nacks[1].second == std::vector<std::uint16_t>{501, 502});
    CHECK(got.senders == std::vector<std::uint32_t>{0xEE, 0xEE});
    CHECK(f.stats().nacked_translated == 3);
    CHECK(f.stats().nacked_unmapped == 2);
    // A NACK naming another SSRC, or only numbers that map to nothing, gives nothing.
    const std::array<std::uint16_t, 1> other{1};
    auto none = f.translate_feedback(feedback([&](rtcp::compound_builder& b) { b.add_nack(0x99, 0xF1, other); }), out);
    REQUIRE(none);
    CHECK_FALSE(*none);
    const std::array<std::uint16_t, 2> unsent{10, 11};
    none = f.translate_feedback(feedback([&](rtcp::compound_builder& b) { b.add_nack(0x99, 0xF0, unsent); }), out);
    REQUIRE(none);
    CHECK_FALSE(*none);
    CHECK(f.stats().feedback_ignored == 1);
    CHECK(f.stats().nacked_unmapped == 4);
}

TEST_CASE("forwarder forgets the runs of sources beyond remembered_sources", "[rtp_stream][forwarder][rtcp]")
{
    rtp_forwarder f{{.ssrc = 0xF0, .remembered_sources = 2}};
    forward(f, 0xA, 100);  // out 100
    forward(f, 0xB, 7);    // out 101
    forward(f, 0xC, 9);    // out 102: A's run is forgotten
    const std::array<std::uint16_t, 3> lost{100, 101, 102};
    std::array<std::byte, 1200> out{};
    auto t = f.translate_feedback(feedback([&](rtcp::compound_builder& b) { b.add_nack(0x99, 0xF0, lost); }), out);
    REQUIRE(t);
    REQUIRE(*t);
    const auto got = read_feedback(**t);
    REQUIRE(got.nacks.size() == 2);
    CHECK(got.nacks[0] == std::pair<std::uint32_t, std::vector<std::uint16_t>>{0xB, {7}});
    CHECK(got.nacks[1] == std::pair<std::uint32_t, std::vector<std::uint16_t>>{0xC, {9}});
    CHECK(f.stats().nacked_unmapped == 1);
}

TEST_CASE("forwarder passes PLI and FIR to the current source", "[rtp_stream][forwarder][rtcp]")
{
    rtp_forwarder f{{.ssrc = 0xF0, .feedback_ssrc = 0xEE}};
    std::array<std::byte, 1200> out{};
    // Before any packet there is no source to ask.
    auto t = f.translate_feedback(feedback([](rtcp::compound_builder& b) { b.add_pli(0x99, 0xF0); }), out);
    REQUIRE(t);
    CHECK_FALSE(*t);
    forward(f, 0xA, 1);
    forward(f, 0xB, 1);  // the current source is B
    t = f.translate_feedback(feedback([](rtcp::compound_builder& b) {
                                 b.add_receiver_report(0x99, {});  // hop by hop: not passed back
                                 b.add_pli(0x99, 0xF0);
                                 b.add_pli(0x99, 0x1234);  // not ours
                             }),
                             out);
    REQUIRE(t);
    REQUIRE(*t);
    auto got = read_feedback(**t);
    CHECK(got.plis == std::vector<std::uint32_t>{0xB});
    CHECK(got.senders == std::vector<std::uint32_t>{0xEE});
    CHECK(f.stats().plis_translated == 1);
    CHECK(f.stats().feedback_ignored == 3);  // the first PLI, the RR, the PLI for 0x1234
    // RFC 5104 4.3.1.2: a repeated FIR keeps its number, a new one advances ours.
    std::vector<std::uint8_t> numbers;
    for (const std::uint8_t seq : std::array<std::uint8_t, 3>{7, 7, 8}) {
        const std::array<rtcp::fir_entry, 2> entries{{{0xF0, seq}, {0x1234, 3}}};
        t = f.translate_feedback(feedback([&](rtcp::compound_builder& b) { b.add_fir(0x99, entries); }), out);
        REQUIRE(t);
        REQUIRE(*t);
        got = read_feedback(**t);
        REQUIRE(got.firs.size() == 1);
        CHECK(got.firs[0].ssrc == 0xB);
        numbers.push_back(got.firs[0].sequence);
    }
    CHECK(numbers == std::vector<std::uint8_t>{0, 0, 1});
    CHECK(f.stats().firs_translated == 3);
}
