// Header, attribute walk and integrity/fingerprint rules of message_view and message_builder,
// and every error they report.
#include "openssl_crypto.hpp"
#include "test_util.hpp"

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

using namespace peerkit;
using stun_test::crypto_provider;
using stun_test::bytes;
using stun_test::to_hex;

namespace {

stun::transaction_id fixed_id()
{
    stun::transaction_id id;
    for (std::size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<std::byte>(i + 1);
    return id;
}

// A header followed by `body`, with the length field set to match.
std::vector<std::byte> message_with(std::vector<std::byte> body, unsigned type = 0x0001)
{
    auto m = bytes({type >> 8, type & 0xff, 0, 0, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    m[2] = static_cast<std::byte>(body.size() >> 8);
    m[3] = static_cast<std::byte>(body.size() & 0xff);
    m.insert(m.end(), body.begin(), body.end());
    return m;
}

std::string error_text(const result<stun::message_view>& r) { return std::string(r.error().detail()); }

}  // namespace

TEST_CASE("message type encoding interleaves method and class bits (RFC 8489 5)")
{
    CHECK(stun::binding_request.value() == 0x0001);
    CHECK(stun::binding_success.value() == 0x0101);
    CHECK(stun::binding_error.value() == 0x0111);
    CHECK(stun::binding_indication.value() == 0x0011);
    CHECK(stun::allocate_request.value() == 0x0003);
    CHECK(stun::allocate_error.value() == 0x0113);
    CHECK(stun::send_indication.value() == 0x0016);
    CHECK(stun::data_indication.value() == 0x0017);
    CHECK(stun::channel_bind_success.value() == 0x0109);
    for (unsigned m = 0; m < 0x1000; m += 7) {
        for (unsigned c = 0; c < 4; ++c) {
            const stun::message_type t{static_cast<stun::method>(m), static_cast<stun::message_class>(c)};
            CHECK((t.value() & 0xC000u) == 0);
            CHECK(stun::message_type::from_value(t.value()) == t);
        }
    }
}

TEST_CASE("a minimal binding request parses")
{
    const auto m = message_with({});
    auto msg = stun::message_view::parse(m);
    REQUIRE(msg);
    CHECK(msg->type() == stun::binding_request);
    CHECK(msg->attribute_count() == 0);
    CHECK(msg->begin() == msg->end());
    CHECK(msg->id() == fixed_id());
    CHECK(stun::message_view::looks_like_stun(m));
}

TEST_CASE("framing errors are specific")
{
    SECTION("truncated header")
    {
        const auto m = bytes({0, 1, 0, 0, 0x21, 0x12, 0xa4});
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::truncated_header);
        CHECK(error_text(r) == "message of 7 bytes is shorter than the 20-byte STUN header");
        CHECK_FALSE(stun::message_view::parse({}).has_value());
    }
    SECTION("first two bits set")
    {
        auto m = message_with({});
        m[0] = std::byte{0x80};
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::not_stun);
    }
    SECTION("length field larger than the datagram")
    {
        auto m = message_with({});
        m[3] = std::byte{4};
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_length);
        CHECK(error_text(r) == "message length field 4 does not match the 0 bytes after the header");
    }
    SECTION("trailing bytes after the message")
    {
        auto m = message_with({});
        m.push_back(std::byte{0});
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_length);
    }
    SECTION("bad magic cookie")
    {
        auto m = message_with({});
        m[4] = std::byte{0x22};
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_magic_cookie);
        CHECK(error_text(r) == "magic cookie is 0x2212a442, not 0x2112a442");
    }
    SECTION("attribute runs past the end")
    {
        // XOR-MAPPED-ADDRESS claiming 9 bytes with 8 present.
        auto m = message_with(bytes({0x00, 0x20, 0x00, 0x09, 0, 1, 2, 3, 4, 5, 6, 7}));
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::attribute_overrun);
        CHECK(error_text(r) == "attribute 0x0020 length 9 runs past the message end");
    }
    SECTION("attribute value fits but its padding does not")
    {
        // SOFTWARE of 5 bytes, message ends right after the value (length 9, not a multiple of 4).
        auto m = message_with(bytes({0x80, 0x22, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'}));
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_padding);
        CHECK(error_text(r) == "attribute 0x8022 length 5 at offset 20 lacks its 3 padding bytes");
    }
    SECTION("truncated attribute header")
    {
        auto m = message_with(bytes({0x80, 0x22}));
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::truncated_attribute);
    }
    SECTION("too many attributes")
    {
        std::vector<std::byte> body;
        for (int i = 0; i < 10; ++i) {
            const auto a = bytes({0x00, 0x25, 0x00, 0x00});  // USE-CANDIDATE
            body.insert(body.end(), a.begin(), a.end());
        }
        const auto m = message_with(body);
        CHECK(stun::message_view::parse(m));
        auto r = stun::message_view::parse(m, {.max_attributes = 9});
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::too_many_attributes);
    }
}

TEST_CASE("every truncation of a valid message is rejected without reading out of bounds")
{
    std::array<std::byte, 256> buffer{};
    const auto key = stun::make_short_term_key(crypto_provider, "pw");
    stun::message_builder b{buffer, stun::binding_request, fixed_id()};
    b.add(stun::username{"user:peer"}).add(stun::priority{1}).add_message_integrity(key.sha1()).add_fingerprint();
    const auto full = b.finish();
    REQUIRE(full);
    for (std::size_t n = 0; n < full->size(); ++n) {
        const std::vector<std::byte> copy(full->begin(), full->begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_FALSE(stun::message_view::parse(copy).has_value());
    }
}

TEST_CASE("RFC 3489 classic messages are accepted only when allowed")
{
    auto m = message_with(bytes({0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0}));  // CHANGE-REQUEST
    m[4] = std::byte{0x5a};
    CHECK(stun::message_view::parse(m).error() == stun::errc::bad_magic_cookie);
    auto msg = stun::message_view::parse(m, {.allow_classic = true});
    REQUIRE(msg);
    CHECK(msg->is_classic());
    CHECK(msg->classic_id().bytes[0] == std::byte{0x5a});
    const auto change = msg->get<stun::change_request>();
    REQUIRE(change);
    CHECK_FALSE(change->change_ip);

    // RFC 8489 12: the server answers with MAPPED-ADDRESS and echoes the 16-byte id.
    std::array<std::byte, 64> buffer{};
    stun::message_builder b{buffer, stun::binding_success, msg->classic_id()};
    b.add(stun::mapped_address{{net::ip_address::v4(192, 0, 2, 7), 4000}});
    const auto out = b.finish();
    REQUIRE(out);
    auto reply = stun::message_view::parse(*out, {.allow_classic = true});
    REQUIRE(reply);
    CHECK(reply->is_classic());
    CHECK(reply->classic_id() == msg->classic_id());
    CHECK(reply->get<stun::mapped_address>()->value.to_string() == "192.0.2.7:4000");
}

TEST_CASE("unknown comprehension-required attributes are reported, optional ones are not")
{
    const auto m = message_with(bytes({0x00, 0x7f, 0x00, 0x00,       // 0x007F: unknown, required
                                       0xc0, 0x57, 0x00, 0x04, 1, 2, 3, 4,  // GOOG-NETWORK-INFO: optional
                                       0x00, 0x24, 0x00, 0x04, 0, 0, 0, 1,  // PRIORITY: known
                                       0x3f, 0xff, 0x00, 0x00}));      // 0x3FFF: unknown, required
    auto msg = stun::message_view::parse(m);
    REQUIRE(msg);
    REQUIRE(msg->unknown_comprehension_required().size() == 2);
    CHECK(msg->unknown_comprehension_required()[0] == static_cast<stun::attribute_type>(0x007f));
    CHECK(msg->unknown_comprehension_required()[1] == static_cast<stun::attribute_type>(0x3fff));

    // An application that understands less: PRIORITY becomes unknown.
    auto narrow = stun::message_view::parse(
        m, {.is_known = [](stun::attribute_type t) noexcept { return t == stun::attribute_type::username; }});
    REQUIRE(narrow);
    CHECK(narrow->unknown_comprehension_required().size() == 3);

    // The 420 answer (RFC 8489 6.3.1.1) lists them in UNKNOWN-ATTRIBUTES.
    std::array<std::byte, 128> buffer{};
    stun::message_builder b{buffer, stun::binding_error, msg->id()};
    b.add(stun::error_code::standard(stun::error_codes::unknown_attribute))
        .add(stun::unknown_attributes{msg->unknown_comprehension_required()})
        .add_fingerprint();
    auto reply = stun::message_view::parse(*b.finish());
    REQUIRE(reply);
    const auto ec = reply->get<stun::error_code>();
    REQUIRE(ec);
    CHECK(ec->code == 420);
    CHECK(ec->reason == "Unknown Attribute");
    const auto list = reply->get<stun::unknown_attributes>();
    REQUIRE(list);
    REQUIRE(list->count() == 2);
    CHECK(list->contains(static_cast<stun::attribute_type>(0x3fff)));
}

TEST_CASE("integrity and fingerprint rules (RFC 8489 14.5-14.7)")
{
    const auto key = stun::make_short_term_key(crypto_provider, "secret");
    std::array<std::byte, 256> buffer{};

    SECTION("attributes after MESSAGE-INTEGRITY are ignored, except FINGERPRINT")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add(stun::username{"a:b"}).add_message_integrity(key.sha1());
        b.add_raw(stun::attribute_type::priority, bytes({0, 0, 0, 9}));  // smuggled after MI
        b.add_fingerprint();
        auto msg = stun::message_view::parse(*b.finish());
        REQUIRE(msg);
        CHECK(msg->ignored_attribute_count() == 1);
        CHECK_FALSE(msg->contains(stun::attribute_type::priority));
        CHECK(msg->attribute_count() == 3);
        std::size_t seen = 0;
        for (const auto a : *msg) {
            CHECK(a.type != stun::attribute_type::priority);
            ++seen;
        }
        CHECK(seen == 3);
        // The MAC covers the bytes before it, so it still verifies.
        CHECK(msg->check_message_integrity(key.sha1()));
    }
    SECTION("a second MESSAGE-INTEGRITY is an error")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_message_integrity(key.sha1());
        b.add_raw(stun::attribute_type::message_integrity, std::vector<std::byte>(20));
        auto r = stun::message_view::parse(*b.finish());
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::duplicate_integrity);
        CHECK(error_text(r) == "second MESSAGE-INTEGRITY at offset 44");
    }
    SECTION("a second MESSAGE-INTEGRITY-SHA256 is an error")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_message_integrity_sha256(key.sha256());
        b.add_raw(stun::attribute_type::message_integrity_sha256, std::vector<std::byte>(32));
        auto r = stun::message_view::parse(*b.finish());
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::duplicate_integrity);
    }
    SECTION("MESSAGE-INTEGRITY with a wrong length")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_raw(stun::attribute_type::message_integrity, std::vector<std::byte>(16));
        auto r = stun::message_view::parse(*b.finish());
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_attribute_value);
    }
    SECTION("an attribute after FINGERPRINT is an error")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_fingerprint();
        auto out = b.finish();
        REQUIRE(out);
        std::vector<std::byte> m(out->begin(), out->end());
        const auto extra = bytes({0x00, 0x25, 0x00, 0x00});
        m.insert(m.end(), extra.begin(), extra.end());
        m[3] = static_cast<std::byte>(std::to_integer<unsigned>(m[3]) + 4);
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::fingerprint_not_last);
    }
    SECTION("fingerprint mismatch, missing fingerprint when required, skipped check")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add(stun::software{"x"}).add_fingerprint();
        auto out = b.finish();
        REQUIRE(out);
        std::vector<std::byte> m(out->begin(), out->end());
        m.back() ^= std::byte{0xff};
        auto r = stun::message_view::parse(m);
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::fingerprint_mismatch);
        auto skipped = stun::message_view::parse(m, {.fingerprint = stun::fingerprint_check::skip});
        REQUIRE(skipped);
        CHECK(skipped->check_fingerprint().error() == stun::errc::fingerprint_mismatch);

        auto none = message_with({});
        auto req = stun::message_view::parse(none, {.fingerprint = stun::fingerprint_check::require});
        REQUIRE_FALSE(req);
        CHECK(req.error() == stun::errc::missing_fingerprint);
    }
    SECTION("integrity checks on a message without integrity")
    {
        auto msg = stun::message_view::parse(message_with({}));
        REQUIRE(msg);
        CHECK(msg->check_message_integrity(key.sha1()).error() == stun::errc::missing_integrity);
        CHECK(msg->check_message_integrity_sha256(key.sha256()).error() == stun::errc::missing_integrity);
        CHECK(stun::check_integrity(*msg, key).error() == stun::errc::missing_integrity);
    }
    SECTION("both integrity attributes, and a truncated SHA-256 MAC")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add(stun::username{"u"}).add_message_integrity(key.sha1()).add_message_integrity_sha256(key.sha256(), 16);
        b.add_fingerprint();
        auto msg = stun::message_view::parse(*b.finish());
        REQUIRE(msg);
        CHECK(msg->has_message_integrity());
        CHECK(msg->has_message_integrity_sha256());
        CHECK(msg->check_message_integrity(key.sha1()));
        CHECK(msg->check_message_integrity_sha256(key.sha256()));
        CHECK(stun::check_integrity(*msg, key));
        const auto other = stun::make_short_term_key(crypto_provider, "Secret");
        CHECK(stun::check_integrity(*msg, other).error() == stun::errc::integrity_mismatch);
        CHECK(msg->get<stun::message_integrity_sha256>()->hmac.size() == 16);
    }
    SECTION("MESSAGE-INTEGRITY-SHA256 with a bad length")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_raw(stun::attribute_type::message_integrity_sha256, std::vector<std::byte>(18));
        auto r = stun::message_view::parse(*b.finish());
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_attribute_value);
    }
    SECTION("the MAC depends on every byte before it, and on the header length fix-up")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add(stun::username{"alice"}).add_message_integrity(key.sha1()).add_fingerprint();
        auto out = b.finish();
        REQUIRE(out);
        std::vector<std::byte> m(out->begin(), out->end());
        m[21] ^= std::byte{0x01};  // USERNAME type 0x0006 -> 0x0007; fingerprint skipped below
        auto msg = stun::message_view::parse(m, {.fingerprint = stun::fingerprint_check::skip});
        REQUIRE(msg);
        CHECK(msg->check_message_integrity(key.sha1()).error() == stun::errc::integrity_mismatch);
    }
}

TEST_CASE("builder refuses what the RFC forbids and reports the first error")
{
    const auto key = stun::make_short_term_key(crypto_provider, "pw");
    std::array<std::byte, 512> buffer{};

    SECTION("attribute after MESSAGE-INTEGRITY")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_message_integrity(key.sha1()).add(stun::priority{1}).add(stun::software{"later"});
        auto r = b.finish();
        REQUIRE_FALSE(r);
        CHECK(r.error() == stun::errc::bad_attribute_order);
        CHECK(r.error().detail() == "PRIORITY (0x0024) cannot follow MESSAGE-INTEGRITY (RFC 8489 14.5)");
    }
    SECTION("MESSAGE-INTEGRITY after FINGERPRINT, fingerprint twice")
    {
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add_fingerprint().add_message_integrity(key.sha1());
        CHECK(b.finish().error() == stun::errc::bad_attribute_order);
        stun::message_builder b2{buffer, stun::binding_request, fixed_id()};
        b2.add_fingerprint().add_fingerprint();
        CHECK(b2.finish().error() == stun::errc::bad_attribute_order);
        stun::message_builder b3{buffer, stun::binding_request, fixed_id()};
        b3.add_message_integrity_sha256(key.sha256()).add_message_integrity(key.sha1());
        CHECK(b3.finish().error() == stun::errc::bad_attribute_order);
    }
    SECTION("buffer too small, at the header and at an attribute")
    {
        std::array<std::byte, 19> tiny{};
        stun::message_builder b{tiny, stun::binding_request, fixed_id()};
        CHECK(b.finish().error() == stun::errc::buffer_too_small);
        std::array<std::byte, 30> small{};
        stun::message_builder b2{small, stun::binding_request, fixed_id()};
        b2.add(stun::priority{7});  // 28 bytes: fits
        CHECK(b2.ok());
        b2.add(stun::priority{8});  // 36: does not
        CHECK(b2.finish().error() == stun::errc::buffer_too_small);
        CHECK(b2.size() == 28);
        b2.add_fingerprint();  // still refused: errors are sticky
        CHECK(b2.size() == 28);
    }
    SECTION("values the RFC forbids")
    {
        const std::string long_name(509, 'u');
        stun::message_builder b{buffer, stun::binding_request, fixed_id()};
        b.add(stun::username{long_name});
        CHECK(b.finish().error() == stun::errc::invalid_argument);
        CHECK(b.finish().error().detail() == "USERNAME of 509 bytes exceeds 508");
        stun::message_builder b2{buffer, stun::binding_error, fixed_id()};
        b2.add(stun::error_code{700, "nope"});
        CHECK(b2.finish().error() == stun::errc::invalid_argument);
        stun::message_builder b3{buffer, stun::binding_request, fixed_id()};
        b3.add_message_integrity_sha256(key.sha256(), 18);
        CHECK(b3.finish().error() == stun::errc::invalid_argument);
    }
}

TEST_CASE("stream framing helper and demultiplexing (RFC 7983)")
{
    const auto m = message_with(bytes({0x00, 0x25, 0x00, 0x00}));
    CHECK(stun::message_view::message_size(m) == m.size());
    CHECK_FALSE(stun::message_view::message_size(bytes({0, 1, 0})).has_value());
    CHECK(net::classify(m) == net::packet_kind::stun);
    CHECK(net::classify(bytes({22, 254, 253})) == net::packet_kind::dtls);
    CHECK(net::classify(bytes({20})) == net::packet_kind::dtls);
    CHECK(net::classify(bytes({63})) == net::packet_kind::dtls);
    CHECK(net::classify(bytes({0x40, 0x00, 0, 0})) == net::packet_kind::turn_channel_data);
    CHECK(net::classify(bytes({79})) == net::packet_kind::turn_channel_data);
    CHECK(net::classify(bytes({0x80, 0x60})) == net::packet_kind::rtp_rtcp);
    CHECK(net::classify(bytes({191})) == net::packet_kind::rtp_rtcp);
    CHECK(net::classify(bytes({17})) == net::packet_kind::zrtp);
    CHECK(net::classify(bytes({4})) == net::packet_kind::unknown);
    CHECK(net::classify(bytes({80})) == net::packet_kind::unknown);
    CHECK(net::classify(bytes({192})) == net::packet_kind::unknown);
    CHECK(net::classify({}) == net::packet_kind::unknown);
    CHECK(net::to_string(net::packet_kind::turn_channel_data) == "turn-channel-data");
    CHECK_FALSE(stun::message_view::looks_like_stun(bytes({0x40, 0, 0, 0})));
}

TEST_CASE("transaction ids come from the random source")
{
    const auto a = stun::transaction_id::generate(crypto_provider);
    const auto b = stun::transaction_id::generate(crypto_provider);
    REQUIRE(a);
    REQUIRE(b);
    CHECK_FALSE(*a == *b);

    struct failing_source {
        bool random_bytes(mutable_bytes) const noexcept { return false; }
    };
    const auto bad = stun::transaction_id::generate(failing_source{});
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == stun::errc::random_failure);
}
