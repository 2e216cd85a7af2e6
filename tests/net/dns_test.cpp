// peerkit::net::dns: the mDNS query builder and response view (RFC 1035 4.1, RFC 6762), with
// the answers headless Chromium 156's mDNS responder really sent (captured in a network
// namespace, docs/net.md) and hostile messages.
#include <peerkit/net/dns.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dns = peerkit::net::dns;
using peerkit::net::ip_address;

namespace {

std::vector<std::byte> from_hex(std::string_view hex)
{
    std::vector<std::byte> out;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    return out;
}

// A message built by hand: header, then raw bytes.
std::vector<std::byte> message(std::uint16_t flags, std::uint16_t qd, std::uint16_t an, std::uint16_t ns, std::uint16_t ar,
                               std::vector<int> body)
{
    std::vector<std::byte> m;
    for (std::uint16_t v : {std::uint16_t{0}, flags, qd, an, ns, ar}) {
        m.push_back(static_cast<std::byte>(v >> 8));
        m.push_back(static_cast<std::byte>(v & 0xff));
    }
    for (int b : body) m.push_back(static_cast<std::byte>(b));
    return m;
}

std::string error_of(const std::vector<std::byte>& m)
{
    auto v = dns::message_view::parse(m);
    return v ? std::string("parsed") : std::string(v.error().detail());
}

constexpr std::string_view chromium_name = "6c43771a-82cb-4489-8e1b-7cef46bca1f2.local";
// Chromium's answer to an A question (QM, from port 5353): no question, A 198.18.0.2 with the
// cache-flush bit, TTL 120, and an NSEC saying there is no other type (RFC 6762 6.1).
constexpr std::string_view chromium_a_answer =
    "000084000000000100000001"
    "2436633433373731612d383263622d343438392d386531622d376365663436626361316632056c6f63616c00"
    "0001800100000078"
    "0004c6120002"
    "2436633433373731612d383263622d343438392d386531622d376365663436626361316632056c6f63616c00"
    "002f8001000000780005c046000140";
// Its answer to an AAAA question: the NSEC as the answer, the A record as an additional.
constexpr std::string_view chromium_aaaa_answer =
    "000084000000000100000001"
    "2436633433373731612d383263622d343438392d386531622d376365663436626361316632056c6f63616c00"
    "002f8001000000780005c00c000140"
    "2436633433373731612d383263622d343438392d386531622d376365663436626361316632056c6f63616c00"
    "00018001000000780004c6120002";

}  // namespace

TEST_CASE("dns: a query for a .local name, byte for byte")
{
    std::array<std::byte, 512> buf{};
    auto n = dns::build_query(buf, "Ab.local.", dns::record_type::aaaa);
    REQUIRE(n);
    const auto want = from_hex("000000000001000000000000" "024162056c6f63616c00" "001c0001");
    CHECK(std::vector<std::byte>(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n)) == want);

    n = dns::build_query(buf, "x.local", dns::record_type::a, {.id = 0x1234, .unicast_response = true});
    REQUIRE(n);
    auto v = dns::message_view::parse(std::span(buf).first(*n));
    REQUIRE(v);
    CHECK(v->header().id == 0x1234);
    CHECK_FALSE(v->header().is_response());
    int questions = 0;
    v->for_each(
        [&](const dns::question& q) {
            ++questions;
            CHECK(v->name_equals(q.name_offset, "X.LOCAL"));
            CHECK(q.type == 1);
            CHECK(q.klass == 0x8001);  // QU
        },
        [](const dns::record&) { FAIL("no records in a query"); });
    CHECK(questions == 1);
}

TEST_CASE("dns: names a query cannot carry")
{
    std::array<std::byte, 512> buf{};
    CHECK(dns::build_query(buf, "", dns::record_type::a).error() == dns::errc::bad_name);
    CHECK(dns::build_query(buf, "a..local", dns::record_type::a).error() == dns::errc::bad_name);
    CHECK(dns::build_query(buf, ".local", dns::record_type::a).error() == dns::errc::bad_name);
    const std::string label64(64, 'a');
    auto r = dns::build_query(buf, label64 + ".local", dns::record_type::a);
    CHECK(r.error() == dns::errc::label_too_long);
    CHECK(r.error().detail().find("label of 64 bytes") != std::string_view::npos);
    CHECK(dns::build_query(buf, std::string(63, 'a') + ".local", dns::record_type::a));
    std::string long_name;
    for (int i = 0; i < 5; ++i) long_name += std::string(60, 'b') + ".";
    CHECK(dns::build_query(buf, long_name + "local", dns::record_type::a).error() == dns::errc::name_too_long);
    std::array<std::byte, 20> small{};
    auto s = dns::build_query(small, "abcdef.local", dns::record_type::a);
    CHECK(s.error() == dns::errc::buffer_too_small);
}

TEST_CASE("dns: Chromium's real answers give its host address")
{
    for (auto hex : {chromium_a_answer, chromium_aaaa_answer}) {
        const auto m = from_hex(hex);
        auto v = dns::message_view::parse(m);
        REQUIRE(v);
        CHECK(v->header().is_response());
        CHECK(v->header().flags == 0x8400);  // QR, AA
        std::array<ip_address, 4> out{};
        REQUIRE(v->addresses_for(chromium_name, out) == 1);
        CHECK(out[0] == ip_address::v4(198, 18, 0, 2));
        // Case-insensitive (RFC 6762 16), a final dot is fine, other names get nothing.
        CHECK(v->addresses_for("6C43771A-82CB-4489-8E1B-7CEF46BCA1F2.LOCAL.", out) == 1);
        CHECK(v->addresses_for("6c43771a-82cb-4489-8e1b-7cef46bca1f2.loca", out) == 0);
        CHECK(v->addresses_for("6c43771a-82cb-4489-8e1b-7cef46bca1f2.local.x", out) == 0);
        CHECK(v->addresses_for("local", out) == 0);
        CHECK(v->addresses_for(chromium_name, std::span(out).first(0)) == 0);
        std::array<char, 254> text{};
        int records = 0;
        v->for_each([](const dns::question&) {},
                    [&](const dns::record& rr) {
                        ++records;
                        auto n = v->name_text(rr.name_offset, text);
                        REQUIRE(n);
                        CHECK(std::string_view(text.data(), *n) == chromium_name);
                        CHECK(rr.ttl == 120);
                    });
        CHECK(records == 2);
    }
}

TEST_CASE("dns: compressed names, AAAA, goodbyes and other sections")
{
    // Question "h.local" at 12; answer AAAA via a pointer to 12; an additional A for the
    // name "x" + pointer to "local" (offset 14); an authority A for h.local (ignored: probes put
    // proposed records there); an A with TTL 0 (a goodbye, ignored).
    const auto m = message(0x8400, 1, 2, 1, 1,
                           {1, 'h', 5, 'l', 'o', 'c', 'a', 'l', 0, 0, 28, 0, 1,                      //
                            0xc0, 12, 0, 28, 0x80, 1, 0, 0, 0, 120, 0, 16, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                            0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 9,                       // goodbye
                            0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 10, 0, 0, 7,                       // authority
                            1, 'x', 0xc0, 14, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 10, 0, 0, 8});
    auto v = dns::message_view::parse(m);
    REQUIRE(v);
    std::array<ip_address, 4> out{};
    REQUIRE(v->addresses_for("h.local", out) == 1);
    CHECK(out[0] == *ip_address::parse("2001:db8::1"));
    REQUIRE(v->addresses_for("x.local", out) == 1);
    CHECK(out[0] == ip_address::v4(10, 0, 0, 8));
}

TEST_CASE("dns: hostile and broken messages are refused with what was wrong")
{
    CHECK(error_of(from_hex("0000840000")) == "message of 5 bytes is shorter than the 12-byte header");
    // A truncated name, question, record header and record data.
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {3, 'a', 'b'})) == "label at offset 12 runs past the message end");
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {1, 'a'})) == "name at offset 12 runs past the message end (14 bytes)");
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {1, 'a', 0, 0, 1})) == "question at offset 15 runs past the message end");
    CHECK(error_of(message(0x8400, 0, 1, 0, 0, {1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 9})) ==
          "record at offset 15 runs past the message end");
    CHECK(error_of(message(0x8400, 0, 1, 0, 0, {1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 10, 0})) ==
          "record data of 4 bytes at offset 25 runs past the message end");
    CHECK(error_of(message(0x8400, 0, 1, 0, 0, {1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 9, 0, 3, 10, 0, 0})) ==
          "A record at offset 25 has 3 bytes of data, not 4");
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {0xc0})) == "compression pointer at offset 12 runs past the message end");
    // Pointer to itself, into its own name, forward, and a two-pointer loop (seen as forward).
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {0xc0, 12, 0, 1, 0, 1})) ==
          "compression pointer at offset 12 points to 12, inside the name it continues");
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {1, 'a', 0xc0, 12, 0, 1, 0, 1})) ==
          "compression pointer at offset 14 points to 12, inside the name it continues");
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {0xc0, 20, 0, 1, 0, 1, 0, 0, 1, 'a', 0})) ==
          "compression pointer at offset 12 points forward to 20");
    CHECK(dns::message_view::parse(message(0x8400, 2, 0, 0, 0, {0xc0, 18, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1}))
              .error() == dns::errc::forward_pointer);
    // A chain of backward pointers longer than the jump limit.
    {
        std::vector<int> body{1, 'a', 0, 0, 1, 0, 1};  // question 1 at 12 (7 bytes)
        for (int i = 0; i < 20; ++i) {
            const int prev = i == 0 ? 12 : 19 + (i - 1) * 6;
            for (int b : {0xc0, prev, 0, 1, 0, 1}) body.push_back(b);
        }
        const auto m = message(0x8400, 21, 0, 0, 0, body);
        auto v = dns::message_view::parse(m);
        REQUIRE_FALSE(v);
        CHECK(v.error() == dns::errc::too_many_pointers);
        CHECK(v.error().detail() == "name at offset 115 follows more than 16 compression pointers (limits::max_pointer_jumps)");
        CHECK(dns::message_view::parse(m, {.max_records = 64, .max_pointer_jumps = 32}));
    }
    // Label lengths 64..191 are the reserved types 0x40 / 0x80 (RFC 1035 4.1.4, RFC 6891).
    CHECK(error_of(message(0x8400, 1, 0, 0, 0, {64, 'a'})) ==
          "label length byte 0x40 at offset 12: over 63 or an unsupported label type");
    CHECK(dns::message_view::parse(message(0x8400, 1, 0, 0, 0, {0x80})).error() == dns::errc::label_too_long);
    // A name longer than 255 bytes, made of pointers to the same labels.
    {
        std::vector<int> body;
        body.push_back(63);
        for (int i = 0; i < 63; ++i) body.push_back('a');
        body.push_back(0);  // name 1 at 12: 65 bytes
        for (int b : {0, 1, 0, 1}) body.push_back(b);
        int prev = 12;
        for (int i = 0; i < 4; ++i) {  // each next name: a 63-byte label + pointer to the previous
            const int at = static_cast<int>(body.size()) + 12;
            body.push_back(63);
            for (int k = 0; k < 63; ++k) body.push_back('b');
            for (int b : {0xc0, prev, 0, 1, 0, 1}) body.push_back(b);
            prev = at;
        }
        auto v = dns::message_view::parse(message(0x8400, 5, 0, 0, 0, body));
        REQUIRE_FALSE(v);
        CHECK(v.error() == dns::errc::name_too_long);
    }
    CHECK(error_of(message(0x8400, 65, 0, 0, 0, {})) == "message has 65 questions and records, over 64 (limits::max_records)");
}
