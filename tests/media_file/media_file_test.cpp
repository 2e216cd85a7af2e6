// The IVF and Ogg Opus readers (media_file/): files built here field by field, checked against
// a page ffmpeg's Ogg muxer wrote (the CRC), and every way a file can be broken. Files that real
// encoders write are read in tests/interop/media_file_pyav.py.
#include <peerkit/media_file/ivf.hpp>
#include <peerkit/media_file/ogg.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

using namespace peerkit;
namespace mf = peerkit::media_file;

namespace {

void put_le(std::vector<std::byte>& out, std::uint64_t v, std::size_t bytes)
{
    for (std::size_t i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}
void put_text(std::vector<std::byte>& out, std::string_view s)
{
    for (const char c : s) out.push_back(static_cast<std::byte>(c));
}
std::vector<std::byte> filled(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 7 + seed) & 0xff);
    return v;
}

// An IVF file with the given frames (timestamps 0, 1, 2...), VP8 640x480 at 1/30.
std::vector<std::byte> ivf_file(const std::vector<std::vector<std::byte>>& frames)
{
    std::vector<std::byte> f;
    put_text(f, "DKIF");
    put_le(f, 0, 2);
    put_le(f, 32, 2);
    put_text(f, "VP80");
    put_le(f, 640, 2);
    put_le(f, 480, 2);
    put_le(f, 30, 4);
    put_le(f, 1, 4);
    put_le(f, frames.size(), 4);
    put_le(f, 0, 4);
    std::uint64_t ts = 0;
    for (const auto& frame : frames) {
        put_le(f, frame.size(), 4);
        put_le(f, ts++, 8);
        f.insert(f.end(), frame.begin(), frame.end());
    }
    return f;
}

// One Ogg page (RFC 3533 6) with the given lacing values and body; the CRC is computed by
// the reader's own function, which the ffmpeg page below checks independently.
struct page_spec {
    std::uint8_t flags = 0;
    std::int64_t granule = 0;
    std::uint32_t serial = 7;
    std::uint32_t sequence = 0;
    std::vector<std::uint8_t> lacing;
    std::vector<std::byte> body;
};
std::vector<std::byte> ogg_page(const page_spec& s)
{
    std::vector<std::byte> p;
    put_text(p, "OggS");
    p.push_back(std::byte{0});
    p.push_back(std::byte{s.flags});
    put_le(p, static_cast<std::uint64_t>(s.granule), 8);
    put_le(p, s.serial, 4);
    put_le(p, s.sequence, 4);
    put_le(p, 0, 4);
    p.push_back(static_cast<std::byte>(s.lacing.size()));
    for (const auto l : s.lacing) p.push_back(std::byte{l});
    p.insert(p.end(), s.body.begin(), s.body.end());
    const std::uint32_t crc = mf::detail::ogg_crc(0, p);
    for (std::size_t i = 0; i < 4; ++i) p[22 + i] = static_cast<std::byte>(crc >> (8 * i));
    return p;
}
// Lacing for one packet of `size` bytes (RFC 3533 5: 255s then the remainder).
std::vector<std::uint8_t> lacing_for(std::size_t size)
{
    std::vector<std::uint8_t> l(size / 255, 255);
    l.push_back(static_cast<std::uint8_t>(size % 255));
    return l;
}
void append(std::vector<std::byte>& out, const std::vector<std::byte>& more) { out.insert(out.end(), more.begin(), more.end()); }
std::vector<std::byte> concat(std::vector<std::byte> a, const std::vector<std::byte>& b)
{
    append(a, b);
    return a;
}

std::vector<std::byte> opus_head_packet(std::uint8_t channels = 2, std::uint8_t version = 1)
{
    std::vector<std::byte> h;
    put_text(h, "OpusHead");
    h.push_back(std::byte{version});
    h.push_back(std::byte{channels});
    put_le(h, 312, 2);
    put_le(h, 48000, 4);
    put_le(h, 0, 2);
    h.push_back(std::byte{0});
    return h;
}
std::vector<std::byte> opus_tags_packet()
{
    std::vector<std::byte> t;
    put_text(t, "OpusTags");
    put_le(t, 6, 4);
    put_text(t, "peerki");
    put_le(t, 0, 4);
    return t;
}
// An Ogg Opus file: head and tags pages, then `audio` packets on pages of `per_page` each.
std::vector<std::byte> ogg_opus_file(const std::vector<std::vector<std::byte>>& audio, std::size_t per_page = 2)
{
    std::vector<std::byte> f = ogg_page({.flags = 0x02, .granule = 0, .sequence = 0, .lacing = lacing_for(19), .body = opus_head_packet()});
    const auto tags = opus_tags_packet();
    append(f, ogg_page({.flags = 0, .granule = 0, .sequence = 1, .lacing = lacing_for(tags.size()), .body = tags}));
    std::uint32_t sequence = 2;
    for (std::size_t i = 0; i < audio.size(); i += per_page) {
        page_spec s{.flags = 0, .granule = static_cast<std::int64_t>(960 * (i + per_page)), .sequence = sequence++, .lacing = {}, .body = {}};
        for (std::size_t j = i; j < std::min(audio.size(), i + per_page); ++j) {
            const auto l = lacing_for(audio[j].size());
            s.lacing.insert(s.lacing.end(), l.begin(), l.end());
            s.body.insert(s.body.end(), audio[j].begin(), audio[j].end());
        }
        if (i + per_page >= audio.size()) s.flags |= 0x04;
        append(f, ogg_page(s));
    }
    return f;
}

}  // namespace

TEST_CASE("ivf: frames come out as views into the file, with their timestamps")
{
    const std::vector<std::vector<std::byte>> frames{filled(100, 1), filled(0, 2), filled(3000, 3)};
    const auto file = ivf_file(frames);
    auto r = mf::ivf_reader::open(file);
    REQUIRE(r.has_value());
    CHECK(r->header().codec() == "VP80");
    CHECK(r->header().width == 640);
    CHECK(r->header().height == 480);
    CHECK(r->header().timebase_numerator == 1);
    CHECK(r->header().timebase_denominator == 30);
    CHECK(r->header().frame_count == 3);
    for (int pass = 0; pass < 2; ++pass) {  // the second pass after rewind() (media-send --loop)
        for (std::size_t i = 0; i < frames.size(); ++i) {
            auto f = r->next();
            REQUIRE(f.has_value());
            CHECK(f->timestamp == i);
            CHECK(std::ranges::equal(f->data, frames[i]));
            CHECK((f->data.empty() || (f->data.data() >= file.data() && f->data.data() < file.data() + file.size())));
        }
        CHECK_FALSE(r->next().has_value());
        CHECK_FALSE(r->error().has_value());
        CHECK(r->frames_read() == 3);
        r->rewind();
    }
}

TEST_CASE("ivf: a broken file is refused with what is wrong, and a broken frame stops the reader")
{
    const auto good = ivf_file({filled(50, 1), filled(60, 2)});
    auto with = [&](std::size_t at, std::uint8_t value) {
        auto f = good;
        f[at] = std::byte{value};
        return f;
    };
    CHECK(mf::ivf_reader::open(std::vector<std::byte>(good.begin(), good.begin() + 31)).error() == mf::errc::truncated);
    CHECK(mf::ivf_reader::open(with(0, 'X')).error() == mf::errc::bad_signature);
    CHECK(mf::ivf_reader::open(with(4, 1)).error() == mf::errc::unsupported_version);
    CHECK(mf::ivf_reader::open(with(6, 16)).error() == mf::errc::bad_header);      // header size 16
    CHECK(mf::ivf_reader::open(with(16, 0)).error() == mf::errc::bad_header);      // time base 1/0
    const auto e = mf::ivf_reader::open(with(0, 'X')).error();
    CHECK_THAT(std::string(e.detail()), Catch::Contains("DKIF"));

    // The second frame claims more bytes than are left: the first is read, then the reason.
    auto cut = good;
    cut.resize(cut.size() - 1);
    auto r = mf::ivf_reader::open(cut);
    REQUIRE(r.has_value());
    REQUIRE(r->next().has_value());
    CHECK_FALSE(r->next().has_value());
    REQUIRE(r->error().has_value());
    CHECK(*r->error() == mf::errc::truncated);
    CHECK_THAT(std::string(r->error()->detail()), Catch::Contains("60 bytes, 59 left"));
    CHECK_FALSE(r->next().has_value());  // and stays stopped

    // A frame over the reader's limit is refused before anything is lent.
    auto limited = mf::ivf_reader::open(good, 55);
    REQUIRE(limited.has_value());
    REQUIRE(limited->next().has_value());
    CHECK_FALSE(limited->next().has_value());
    CHECK(*limited->error() == mf::errc::packet_too_large);

    // A frame header cut short.
    auto short_header = ivf_file({filled(10, 1)});
    short_header.resize(32 + 5);
    auto h = mf::ivf_reader::open(short_header);
    REQUIRE(h.has_value());
    CHECK_FALSE(h->next().has_value());
    CHECK(*h->error() == mf::errc::truncated);
}

TEST_CASE("ogg: the CRC is RFC 3533's, as ffmpeg's Ogg muxer writes it")
{
    // The first page of an Ogg Opus file made by ffmpeg (PyAV, libopus): OpusHead, CRC c369ede3.
    const std::array<std::uint8_t, 47> page{
        0x4f, 0x67, 0x67, 0x53, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x35, 0xf2,
        0x41, 0xc1, 0x00, 0x00, 0x00, 0x00, 0xe3, 0xed, 0x69, 0xc3, 0x01, 0x13, 0x4f, 0x70, 0x75, 0x73,
        0x48, 0x65, 0x61, 0x64, 0x01, 0x02, 0x38, 0x01, 0x80, 0xbb, 0x00, 0x00, 0x00, 0x00, 0x00};
    std::vector<std::byte> bytes(page.size());
    for (std::size_t i = 0; i < page.size(); ++i) bytes[i] = std::byte{page[i]};
    std::vector<std::byte> zeroed = bytes;
    for (std::size_t i = 22; i < 26; ++i) zeroed[i] = std::byte{0};
    CHECK(mf::detail::ogg_crc(0, zeroed) == 0xc369ede3u);
    auto r = mf::ogg_reader::open(bytes);
    REQUIRE(r.has_value());
    auto p = r->next(peerkit::mutable_bytes{});
    REQUIRE(p.has_value());
    CHECK(p->data.size() == 19);
    CHECK(peerkit::as_string_view(p->data.first(8)) == "OpusHead");
    bytes[40] ^= std::byte{1};  // one bit of the body
    CHECK(mf::ogg_reader::open(bytes).error() == mf::errc::bad_checksum);
}

TEST_CASE("ogg opus: head, tags, then each packet once; granule on the last packet of a page")
{
    std::vector<std::vector<std::byte>> audio;
    for (unsigned i = 0; i < 7; ++i) audio.push_back(filled(100 + 40 * i, i));
    audio.push_back(filled(255, 9));  // a multiple of 255: lacing 255, 0
    audio.push_back(filled(0, 10));   // an empty packet (lacing 0) is a packet (RFC 3533 5)
    const auto file = ogg_opus_file(audio, 2);
    auto r = mf::ogg_opus_reader::open(file);
    REQUIRE(r.has_value());
    CHECK(r->head().channels == 2);
    CHECK(r->head().pre_skip == 312);
    CHECK(r->head().input_sample_rate == 48000);
    std::array<std::byte, 4096> scratch{};
    for (std::size_t i = 0; i < audio.size(); ++i) {
        INFO("packet " << i);
        auto p = r->next(scratch);
        REQUIRE(p.has_value());
        CHECK(std::ranges::equal(p->data, audio[i]));
        // Each page holds two packets: the second one carries the page's granule position.
        const bool last_on_page = i % 2 == 1 || i + 1 == audio.size();
        CHECK(p->granule_position == (last_on_page ? static_cast<std::int64_t>(960 * (i / 2 * 2 + 2)) : -1));
        CHECK(p->end_of_stream == (i + 1 == audio.size()));
    }
    CHECK_FALSE(r->next(scratch).has_value());
    CHECK_FALSE(r->error().has_value());
}

TEST_CASE("ogg: a packet spanning pages is assembled in the caller's buffer, and refused when it does not fit")
{
    const auto big = filled(700, 5);
    std::vector<std::byte> file =
        ogg_page({.flags = 0x02, .sequence = 0, .lacing = {255, 255}, .body = {big.begin(), big.begin() + 510}});
    append(file, ogg_page({.flags = 0x01 | 0x04, .granule = 960, .sequence = 1, .lacing = {190, 4},
                           .body = concat({big.begin() + 510, big.end()}, filled(4, 6))}));
    std::array<std::byte, 1024> scratch{};
    auto r = mf::ogg_reader::open(file);
    REQUIRE(r.has_value());
    auto p = r->next(scratch);
    REQUIRE(p.has_value());
    CHECK(std::ranges::equal(p->data, big));
    CHECK(p->data.data() == scratch.data());
    CHECK(p->granule_position == -1);  // the page's second packet completes after it
    auto q = r->next(scratch);
    REQUIRE(q.has_value());
    CHECK(q->data.size() == 4);
    CHECK(q->granule_position == 960);
    CHECK(q->end_of_stream);
    CHECK(r->pages_read() == 2);

    std::array<std::byte, 600> small{};
    auto s = mf::ogg_reader::open(file);
    REQUIRE(s.has_value());
    CHECK_FALSE(s->next(small).has_value());
    CHECK(*s->error() == mf::errc::packet_too_large);
}

TEST_CASE("ogg: broken lacing, missing pages and other streams")
{
    const auto body = filled(10, 1);
    const auto first = ogg_page({.flags = 0x02, .sequence = 0, .lacing = {10}, .body = body});
    std::array<std::byte, 512> scratch{};
    auto packets_of = [&](const std::vector<std::byte>& file) {
        std::size_t n = 0;
        auto r = mf::ogg_reader::open(file);
        REQUIRE(r.has_value());
        while (r->next(scratch)) ++n;
        return std::pair{n, r->error()};
    };
    // A page marked "continued" when no packet was begun.
    auto [n1, e1] = packets_of(concat(first, ogg_page({.flags = 0x01, .sequence = 1, .lacing = {10}, .body = body})));
    CHECK(n1 == 1);
    REQUIRE(e1.has_value());
    CHECK(*e1 == mf::errc::bad_packet);
    // A packet left open (last lacing 255) followed by a page not marked "continued".
    const auto open_packet = ogg_page({.flags = 0x02, .sequence = 0, .lacing = {255}, .body = filled(255, 2)});
    auto [n2, e2] = packets_of(concat(open_packet, ogg_page({.flags = 0, .sequence = 1, .lacing = {10}, .body = body})));
    CHECK(n2 == 0);
    CHECK(*e2 == mf::errc::bad_packet);
    // A page missing from the sequence.
    auto [n3, e3] = packets_of(concat(first, ogg_page({.flags = 0, .sequence = 2, .lacing = {10}, .body = body})));
    CHECK(n3 == 1);
    CHECK(*e3 == mf::errc::bad_packet);
    // Pages of another logical stream in between are skipped; an empty page carries nothing.
    auto mixed = concat(first, ogg_page({.flags = 0x02, .serial = 99, .sequence = 0, .lacing = {10}, .body = body}));
    append(mixed, ogg_page({.flags = 0, .sequence = 1, .lacing = {}, .body = {}}));
    append(mixed, ogg_page({.flags = 0x04, .sequence = 2, .lacing = {10}, .body = body}));
    auto [n4, e4] = packets_of(mixed);
    CHECK(n4 == 2);
    CHECK_FALSE(e4.has_value());
    // The first page must begin a stream; the file must be Ogg; a page cut short.
    CHECK(mf::ogg_reader::open(ogg_page({.flags = 0, .sequence = 0, .lacing = {10}, .body = body})).error() ==
          mf::errc::bad_packet);
    CHECK(mf::ogg_reader::open(filled(40, 3)).error() == mf::errc::bad_signature);
    auto cut = first;
    cut.pop_back();
    CHECK(mf::ogg_reader::open(cut).error() == mf::errc::truncated);
}

TEST_CASE("ogg opus: the headers are checked (RFC 7845 5)")
{
    auto file_with_head = [](const std::vector<std::byte>& head) {
        std::vector<std::byte> f = ogg_page({.flags = 0x02, .sequence = 0, .lacing = lacing_for(head.size()), .body = head});
        const auto tags = opus_tags_packet();
        append(f, ogg_page({.flags = 0x04, .sequence = 1, .lacing = lacing_for(tags.size()), .body = tags}));
        return f;
    };
    CHECK(mf::ogg_opus_reader::open(file_with_head(opus_head_packet(2, 1))).has_value());
    CHECK(mf::ogg_opus_reader::open(file_with_head(opus_head_packet(2, 0x0f))).has_value());  // minor versions are compatible
    CHECK(mf::ogg_opus_reader::open(file_with_head(opus_head_packet(2, 0x10))).error() == mf::errc::unsupported_version);
    CHECK(mf::ogg_opus_reader::open(file_with_head(opus_head_packet(0))).error() == mf::errc::bad_header);
    CHECK(mf::ogg_opus_reader::open(file_with_head(opus_head_packet(3))).error() == mf::errc::bad_header);
    auto not_opus = opus_head_packet();
    not_opus[0] = std::byte{'X'};
    CHECK(mf::ogg_opus_reader::open(file_with_head(not_opus)).error() == mf::errc::bad_signature);
    // The stream ends after the head: no OpusTags.
    const auto head = opus_head_packet();
    const auto only_head = ogg_page({.flags = 0x02 | 0x04, .sequence = 0, .lacing = lacing_for(head.size()), .body = head});
    CHECK(mf::ogg_opus_reader::open(only_head).error() == mf::errc::truncated);
}
