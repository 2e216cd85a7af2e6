// Keys (RFC 8489 9.1, 9.2.2, 14.4) and the client side of the long-term 401/438 exchange.
#include "openssl_crypto.hpp"
#include "test_util.hpp"

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/stun.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

using namespace peerkit;
using stun_test::crypto_provider;
using stun_test::to_hex;

namespace {

using client = stun::long_term_client<crypto::openssl_provider>;

stun::transaction_id new_id()
{
    auto id = stun::transaction_id::generate(crypto_provider);
    REQUIRE(id);
    return *id;
}

// A server's challenge: 401 or 438 with REALM and NONCE (and optional PASSWORD-ALGORITHMS).
struct challenge {
    std::array<std::byte, 512> buffer{};
    bytes_view bytes;
    challenge(int code, std::string_view realm, std::string_view nonce,
              std::span<const stun::password_algorithm> algorithms = {}, bool with_realm = true)
    {
        stun::message_builder b{buffer, stun::allocate_error, new_id()};
        b.add(stun::error_code{code, {}});
        if (with_realm) b.add(stun::realm{realm});
        b.add(stun::nonce{nonce});
        if (!algorithms.empty()) b.add(stun::password_algorithms{algorithms});
        b.add_fingerprint();
        bytes = *b.finish();
    }
    stun::message_view view() const { return *stun::message_view::parse(bytes); }
};

}  // namespace

TEST_CASE("long-term keys: MD5 and SHA-256 of username:realm:password, and USERHASH")
{
    // RFC 5769 2.4's credentials; the MD5 key is checked against an independent computation.
    const std::string user = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
    const auto md5 = stun::long_term_key_md5(crypto_provider, user, "example.org", "TheMatrIX");
    const std::string joined = user + ":example.org:TheMatrIX";
    const bytes_view whole[] = {as_bytes(joined)};
    CHECK(to_hex(md5) == to_hex(crypto_provider.md5(whole)));
    CHECK(to_hex(stun::long_term_key_sha256(crypto_provider, user, "example.org", "TheMatrIX")) ==
          to_hex(crypto_provider.sha256(whole)));
    // MD5("user:realm:pass") - a well-known value, so the provider itself is checked too.
    CHECK(to_hex(stun::long_term_key_md5(crypto_provider, "user", "realm", "pass")) == "8493fbc53ba582fb4c044c456bdc40eb");

    const std::string hashed = user + ":example.org";
    const bytes_view hash_in[] = {as_bytes(hashed)};
    CHECK(to_hex(stun::make_userhash(crypto_provider, user, "example.org").value) == to_hex(crypto_provider.sha256(hash_in)));
}

TEST_CASE("nonce cookie security features (RFC 8489 9.2)")
{
    CHECK_FALSE(stun::parse_nonce_cookie("f//499k954d6OL34oL9FSTvy64sA").has_value());
    CHECK_FALSE(stun::parse_nonce_cookie("obMatJos2AA").has_value());
    const auto both = stun::parse_nonce_cookie("obMatJos2wAAAxyz");  // 'w' = 110000
    REQUIRE(both);
    CHECK(both->password_algorithms);
    CHECK(both->username_anonymity);
    const auto first = stun::parse_nonce_cookie("obMatJos2gAAAxyz");  // 'g' = 100000
    REQUIRE(first);
    CHECK(first->password_algorithms);
    CHECK_FALSE(first->username_anonymity);
    CHECK_FALSE(stun::parse_nonce_cookie("obMatJos2AAAAxyz")->password_algorithms);
    CHECK_FALSE(stun::parse_nonce_cookie("obMatJos2*AAAxyz").has_value());
}

TEST_CASE("long-term client: 401, retry with MESSAGE-INTEGRITY, success (RFC 5389-style server)")
{
    client auth{crypto_provider, "alice", "wonderland"};
    CHECK_FALSE(auth.has_challenge());

    const challenge c{401, "example.org", "nonce-1"};
    REQUIRE(auth.handle_error_response(c.view()));
    CHECK(auth.has_challenge());
    CHECK(auth.realm() == "example.org");
    CHECK(auth.nonce() == "nonce-1");
    CHECK_FALSE(auth.uses_sha256_integrity());
    CHECK(auth.algorithm() == stun::password_algorithm_id::md5);

    std::array<std::byte, 512> buffer{};
    stun::message_builder b{buffer, stun::allocate_request, new_id()};
    auth.add_credentials(b);
    b.add(stun::requested_transport{});
    auth.add_integrity(b);
    b.add_fingerprint();
    const auto request = b.finish();
    REQUIRE(request);

    // The server's view: it finds USERNAME/REALM/NONCE and checks with its own key.
    const auto msg = stun::message_view::parse(*request);
    REQUIRE(msg);
    CHECK(msg->get<stun::username>()->value == "alice");
    CHECK(msg->get<stun::realm>()->value == "example.org");
    CHECK(msg->get<stun::nonce>()->value == "nonce-1");
    CHECK_FALSE(msg->contains(stun::attribute_type::password_algorithms));
    const auto server_key = stun::make_long_term_key(crypto_provider, "alice", "example.org", "wonderland");
    CHECK(msg->check_message_integrity(server_key.sha1()));
    CHECK_FALSE(msg->has_message_integrity_sha256());

    // A success response signed by the server verifies on the client.
    std::array<std::byte, 256> rbuf{};
    stun::message_builder rb{rbuf, stun::allocate_success, msg->id()};
    rb.add(stun::lifetime{std::chrono::seconds(600)}).add_message_integrity(server_key.sha1()).add_fingerprint();
    const auto response = stun::message_view::parse(*rb.finish());
    REQUIRE(response);
    CHECK(auth.check_response(*response));
    auth.handle_success_response();
}

TEST_CASE("long-term client: a 401 to a request with credentials is a failure")
{
    client auth{crypto_provider, "alice", "wrong"};
    REQUIRE(auth.handle_error_response(challenge{401, "r", "n1"}.view()));
    std::array<std::byte, 256> buffer{};
    stun::message_builder b{buffer, stun::allocate_request, new_id()};
    auth.add_credentials(b);
    auth.add_integrity(b);
    REQUIRE(b.finish());
    const auto again = auth.handle_error_response(challenge{401, "r", "n2"}.view());
    REQUIRE_FALSE(again);
    CHECK(again.error() == stun::errc::authentication_failed);
    CHECK(again.error().detail().find("rejected the credentials of user 'alice'") != std::string_view::npos);
}

TEST_CASE("long-term client: 438 stale nonce takes the new nonce, a bounded number of times")
{
    client auth{crypto_provider, "u", "p", stun::long_term_config{.max_stale_nonce_retries = 2}};
    REQUIRE(auth.handle_error_response(challenge{401, "r", "n1"}.view()));
    REQUIRE(auth.handle_error_response(challenge{438, "r", "n2"}.view()));
    CHECK(auth.nonce() == "n2");
    REQUIRE(auth.handle_error_response(challenge{438, "r", "n3"}.view()));
    const auto third = auth.handle_error_response(challenge{438, "r", "n4"}.view());
    REQUIRE_FALSE(third);
    CHECK(third.error() == stun::errc::authentication_failed);
    auth.handle_success_response();
    CHECK(auth.handle_error_response(challenge{438, "r", "n5"}.view()));
}

TEST_CASE("long-term client: RFC 8489 server with password algorithms gets SHA-256 key and MAC")
{
    const std::array<stun::password_algorithm, 2> offered{
        stun::password_algorithm{stun::password_algorithm_id::sha256, {}},
        stun::password_algorithm{stun::password_algorithm_id::md5, {}}};
    client auth{crypto_provider, "bob", "builder"};
    REQUIRE(auth.handle_error_response(challenge{401, "example.org", "obMatJos2gAAAabcdef", offered}.view()));
    CHECK(auth.uses_sha256_integrity());
    CHECK(auth.algorithm() == stun::password_algorithm_id::sha256);

    std::array<std::byte, 512> buffer{};
    stun::message_builder b{buffer, stun::allocate_request, new_id()};
    auth.add_credentials(b);
    auth.add_integrity(b);
    const auto msg = stun::message_view::parse(*b.finish());
    REQUIRE(msg);
    // RFC 8489 9.2.4: PASSWORD-ALGORITHMS echoed, PASSWORD-ALGORITHM chosen, MI-SHA256 used.
    const auto echoed = msg->get<stun::password_algorithms>();
    REQUIRE(echoed);
    CHECK(echoed->count() == 2);
    CHECK(msg->get<stun::password_algorithm>()->algorithm == stun::password_algorithm_id::sha256);
    const auto server_key = stun::make_long_term_key(crypto_provider, "bob", "example.org", "builder",
                                                     stun::password_algorithm_id::sha256);
    CHECK(msg->check_message_integrity_sha256(server_key.sha256()));
    CHECK_FALSE(msg->has_message_integrity());
}

TEST_CASE("long-term client: refusals name the reason")
{
    client auth{crypto_provider, "u", "p"};
    // Bid-down: the nonce says password algorithms are in use, but the list is gone.
    auto r = auth.handle_error_response(challenge{401, "r", "obMatJos2gAAAxyz"}.view());
    REQUIRE_FALSE(r);
    CHECK(r.error().detail().find("bid-down") != std::string_view::npos);
    // No supported algorithm offered.
    const std::array<stun::password_algorithm, 1> odd{
        stun::password_algorithm{static_cast<stun::password_algorithm_id>(0x7777), {}}};
    r = auth.handle_error_response(challenge{401, "r", "obMatJos2gAAAxyz", odd}.view());
    REQUIRE_FALSE(r);
    CHECK(r.error() == stun::errc::authentication_failed);
    // No REALM.
    r = auth.handle_error_response(challenge{401, "r", "n", {}, false}.view());
    REQUIRE_FALSE(r);
    CHECK(r.error().detail() == "challenge 401 has no valid REALM");
    // Not an authentication error.
    r = auth.handle_error_response(challenge{437, "r", "n"}.view());
    REQUIRE_FALSE(r);
    CHECK(r.error().detail() == "server answered 437 Allocation Mismatch, not a credential challenge");
    CHECK_FALSE(auth.has_challenge());
    // MD5 refused by configuration.
    client strict{crypto_provider, "u", "p", stun::long_term_config{.allow_md5 = false}};
    CHECK_FALSE(strict.handle_error_response(challenge{401, "r", "n"}.view()));
}

TEST_CASE("prepared HMAC keys match one-shot HMAC (RFC 2202 / RFC 4231 test cases)")
{
    // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
    const auto sha1 = crypto_provider.prepare_hmac_sha1(as_bytes("Jefe"));
    const bytes_view data[] = {as_bytes("what do ya "), as_bytes("want for nothing?")};
    CHECK(to_hex(sha1.sign(data)) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    // RFC 4231 test case 2.
    const auto sha256 = crypto_provider.prepare_hmac_sha256(as_bytes("Jefe"));
    CHECK(to_hex(sha256.sign(data)) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // RFC 2202 test case 6: a key longer than the block (80 x 0xaa) is hashed first.
    const std::vector<std::byte> long_key(80, std::byte{0xaa});
    const auto hashed = crypto_provider.prepare_hmac_sha1(long_key);
    const bytes_view text[] = {as_bytes("Test Using Larger Than Block-Size Key - Hash Key First")};
    CHECK(to_hex(hashed.sign(text)) == "aa4ae5e15272d00e95705637ce8a3b55ed402112");
    // A copy of a prepared key signs the same.
    const auto copy = sha1;
    CHECK(to_hex(copy.sign(data)) == to_hex(sha1.sign(data)));
}
