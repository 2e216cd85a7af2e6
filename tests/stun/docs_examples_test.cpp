// The code blocks of docs/stun.md, compiled and run. The last test case checks that every
// ```cpp block of the document appears verbatim in this file, so the document cannot drift
// from the API.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace stun = peerkit::stun;
namespace net = peerkit::net;
namespace crypto = peerkit::crypto;
using peerkit::bytes_view;
using peerkit::result;

namespace docs {

// [parse]
// Answer a Binding request; returns the response bytes, or nothing to drop the datagram.
std::optional<bytes_view> on_datagram(bytes_view datagram, const net::endpoint& from,
                                      std::span<std::byte> out)
{
    auto msg = stun::message_view::parse(datagram);  // checks framing and FINGERPRINT
    if (!msg) {
        std::cerr << "dropped: " << msg.error().message() << '\n';
        return std::nullopt;
    }
    if (msg->type() != stun::binding_request) return std::nullopt;

    // RFC 8489 6.3.1.1: a request with comprehension-required attributes we do not know gets
    // a 420 listing them; otherwise the answer is the source address, XOR'ed.
    const auto unknown = msg->unknown_comprehension_required();
    stun::message_builder b{out, unknown.empty() ? stun::binding_success : stun::binding_error, msg->id()};
    if (unknown.empty())
        b.add(stun::xor_mapped_address{from});
    else
        b.add(stun::error_code::standard(stun::error_codes::unknown_attribute)).add(stun::unknown_attributes{unknown});
    b.add_fingerprint();
    auto bytes = b.finish();
    if (!bytes) return std::nullopt;
    return *bytes;
}
// [parse]

// [ice]
// An ICE connectivity check and its verification with the short-term key (RFC 8445 7.2.2).
result<bytes_view> make_check(std::span<std::byte> out, const crypto::openssl_provider& crypto,
                              std::string_view username,  // "remote-ufrag:local-ufrag"
                              const stun::basic_integrity_key<crypto::openssl_provider>& remote_key,
                              std::uint32_t prio, std::uint64_t tie_breaker)
{
    auto id = stun::transaction_id::generate(crypto);  // from the CSPRNG (RFC 8489 6)
    if (!id) return id.error();
    stun::message_builder b{out, stun::binding_request, *id};
    b.add(stun::username{username})
        .add(stun::priority{prio})
        .add(stun::ice_controlling{tie_breaker})
        .add(stun::use_candidate{})
        .add_message_integrity(remote_key.sha1())  // HMAC-SHA1, length fixed up
        .add_fingerprint();                        // CRC-32, always last
    return b.finish();  // a view of `out`, or the first error (e.g. buffer too small)
}

bool check_is_authentic(bytes_view datagram, const stun::basic_integrity_key<crypto::openssl_provider>& key)
{
    auto msg = stun::message_view::parse(datagram, {.fingerprint = stun::fingerprint_check::require});
    return msg && msg->check_message_integrity(key.sha1());
}
// [ice]

// [turn]
// A TURN Allocate with long-term credentials: first without, then answering the 401.
struct allocate_attempt {
    stun::long_term_client<crypto::openssl_provider>& auth;
    std::array<std::byte, 1280> buffer{};

    result<bytes_view> request(const stun::transaction_id& id)
    {
        stun::message_builder b{buffer, stun::allocate_request, id};
        auth.add_credentials(b);  // nothing before the first challenge
        b.add(stun::requested_transport{stun::requested_transport::udp});
        auth.add_integrity(b);  // MESSAGE-INTEGRITY(-SHA256), once challenged
        b.add_fingerprint();
        return b.finish();
    }
    // true: send request() again with a new transaction id.
    bool on_error_response(const stun::message_view& response)
    {
        auto retry = auth.handle_error_response(response);  // 401 / 438 handling
        if (!retry) std::cerr << "allocate failed: " << retry.error().message() << '\n';
        return retry.has_value();
    }
};
// [turn]

// [demux]
void on_udp(bytes_view datagram)
{
    switch (net::classify(datagram)) {
    case net::packet_kind::stun: /* stun::message_view::parse(datagram) ... */ break;
    case net::packet_kind::dtls: /* to the DTLS session */ break;
    case net::packet_kind::turn_channel_data: {
        auto cd = stun::channel_data_view::parse(datagram);
        if (cd) { /* cd->channel, cd->payload */ }
        break;
    }
    case net::packet_kind::rtp_rtcp:
    case net::packet_kind::zrtp:
    case net::packet_kind::unknown: break;
    }
}
// [demux]

}  // namespace docs

TEST_CASE("docs: answering a Binding request")
{
    std::array<std::byte, 64> req_buffer{}, out{};
    const stun::transaction_id id{};
    stun::message_builder b{req_buffer, stun::binding_request, id};
    b.add_fingerprint();
    const auto request = b.finish();
    REQUIRE(request);
    const net::endpoint from{net::ip_address::v4(192, 0, 2, 10), 40000};
    const auto response = docs::on_datagram(*request, from, out);
    REQUIRE(response);
    auto msg = stun::message_view::parse(*response);
    REQUIRE(msg);
    CHECK(msg->get<stun::xor_mapped_address>()->value == from);
    docs::on_udp(*request);
}

TEST_CASE("docs: ICE check")
{
    const crypto::openssl_provider crypto;
    std::array<std::byte, 256> out{};
    // Prepare once per remote password and keep it: every check reuses it.
    const auto key = stun::make_short_term_key(crypto, "remote-password-22chars");
    const auto check = docs::make_check(out, crypto, "rfrag:lfrag", key, 1, 2);
    REQUIRE(check);
    CHECK(docs::check_is_authentic(*check, stun::make_short_term_key(crypto, "remote-password-22chars")));
    CHECK_FALSE(docs::check_is_authentic(*check, stun::make_short_term_key(crypto, "another")));
    CHECK(stun::message_view::parse(*check)->get<stun::username>()->value == "rfrag:lfrag");
}

TEST_CASE("docs: TURN allocate retries after 401")
{
    const crypto::openssl_provider crypto;
    stun::long_term_client<crypto::openssl_provider> auth{crypto, "user", "pass"};
    docs::allocate_attempt attempt{auth};
    const auto first = attempt.request(*stun::transaction_id::generate(crypto));
    REQUIRE(first);
    CHECK_FALSE(stun::message_view::parse(*first)->contains(stun::attribute_type::username));

    std::array<std::byte, 256> challenge{};
    stun::message_builder b{challenge, stun::allocate_error, stun::message_view::parse(*first)->id()};
    b.add(stun::error_code::standard(401)).add(stun::realm{"example.org"}).add(stun::nonce{"abc"});
    REQUIRE(attempt.on_error_response(*stun::message_view::parse(*b.finish())));
    const auto second = attempt.request(*stun::transaction_id::generate(crypto));
    REQUIRE(second);
    auto msg = stun::message_view::parse(*second);
    REQUIRE(msg);
    CHECK(msg->check_message_integrity(stun::make_long_term_key(crypto, "user", "example.org", "pass").sha1()));
}

TEST_CASE("docs: every cpp block of docs/stun.md is compiled here")
{
    const auto read = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary | std::ios::ate);
        REQUIRE(in.good());
        std::string text(static_cast<std::size_t>(in.tellg()), '\0');
        in.seekg(0);
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        return text;
    };
    // CMake compiles with absolute source paths: the document is at ../../docs from here.
    const std::string self_path = __FILE__;
    const std::string root = self_path.substr(0, self_path.rfind("tests/stun/"));
    const std::string doc = read(root + "docs/stun.md");
    const std::string self = read(self_path);
    std::size_t blocks = 0;
    for (std::size_t at = doc.find("```cpp\n"); at != std::string::npos; at = doc.find("```cpp\n", at)) {
        at += 7;
        const std::size_t end = doc.find("```", at);
        REQUIRE(end != std::string::npos);
        const std::string block = doc.substr(at, end - at);
        INFO("docs/stun.md block:\n" << block);
        CHECK(self.find(block) != std::string::npos);
        ++blocks;
        at = end + 3;
    }
    CHECK(blocks >= 4);
}
