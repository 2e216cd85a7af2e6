// STUN credentials (RFC 8489 9): keys for MESSAGE-INTEGRITY(-SHA256), prepared once per
// credential, and the client side of the long-term mechanism's 401/438 exchange as a small
// sans-IO object.
//
//   crypto::openssl_provider crypto;
//   auto key = stun::make_short_term_key(crypto, remote_ice_pwd);       // ICE (RFC 8445 7.2.2)
//   b.add_message_integrity(key.sha1());
//   msg.check_message_integrity(key.sha1());
//
//   stun::long_term_client auth{crypto, "user", "pass"};               // TURN (RFC 8656 9)
//   send(allocate without credentials) -> 401
//   if (auto r = auth.handle_error_response(response); !r) fail(r.error());
//   auth.add_credentials(b);  ... b.add(...);  auth.add_integrity(b);   -> send again
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/error.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/builder.hpp>
#include <peerkit/stun/error.hpp>
#include <peerkit/stun/message.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::stun {

// The prepared HMAC-SHA1 and HMAC-SHA256 states of one key: compute once per credential,
// use for every message (RFC 8489 14.5 and 14.6 both key the HMAC with the same key).
template <crypto::provider Crypto>
class basic_integrity_key {
public:
    using sha1_key = typename Crypto::hmac_sha1_key;
    using sha256_key = typename Crypto::hmac_sha256_key;

    basic_integrity_key(const Crypto& crypto, bytes_view key) noexcept
        : sha1_(crypto.prepare_hmac_sha1(key)), sha256_(crypto.prepare_hmac_sha256(key))
    {
    }
    [[nodiscard]] const sha1_key& sha1() const noexcept { return sha1_; }
    [[nodiscard]] const sha256_key& sha256() const noexcept { return sha256_; }

private:
    sha1_key sha1_;
    sha256_key sha256_;
};

// RFC 8489 9.1.1: the short-term key is the password (after OpaqueString, RFC 8265; ICE
// passwords are ASCII, for which it changes nothing).
template <crypto::provider Crypto>
[[nodiscard]] basic_integrity_key<Crypto> make_short_term_key(const Crypto& crypto, std::string_view password) noexcept
{
    return basic_integrity_key<Crypto>(crypto, as_bytes(password));
}

// RFC 8489 9.2.2: key = MD5(username ":" OpaqueString(realm) ":" OpaqueString(password)).
// The inputs must already be prepared; the codec does not implement OpaqueString/SASLprep.
template <crypto::provider Crypto>
[[nodiscard]] crypto::md5_digest long_term_key_md5(const Crypto& crypto, std::string_view user,
                                                   std::string_view realm_value, std::string_view password) noexcept
{
    const bytes_view parts[] = {as_bytes(user), as_bytes(":"), as_bytes(realm_value), as_bytes(":"), as_bytes(password)};
    return crypto.md5(parts);
}

// RFC 8489 9.2.2: the same with SHA-256 (PASSWORD-ALGORITHM 0x0002).
template <crypto::provider Crypto>
[[nodiscard]] crypto::sha256_digest long_term_key_sha256(const Crypto& crypto, std::string_view user,
                                                         std::string_view realm_value, std::string_view password) noexcept
{
    const bytes_view parts[] = {as_bytes(user), as_bytes(":"), as_bytes(realm_value), as_bytes(":"), as_bytes(password)};
    return crypto.sha256(parts);
}

template <crypto::provider Crypto>
[[nodiscard]] basic_integrity_key<Crypto> make_long_term_key(const Crypto& crypto, std::string_view user,
                                                             std::string_view realm_value, std::string_view password,
                                                             password_algorithm_id algorithm = password_algorithm_id::md5) noexcept
{
    if (algorithm == password_algorithm_id::sha256) {
        const auto k = long_term_key_sha256(crypto, user, realm_value, password);
        return basic_integrity_key<Crypto>(crypto, k);
    }
    const auto k = long_term_key_md5(crypto, user, realm_value, password);
    return basic_integrity_key<Crypto>(crypto, k);
}

// RFC 8489 14.4: USERHASH = SHA-256(OpaqueString(username) ":" OpaqueString(realm)).
template <crypto::provider Crypto>
[[nodiscard]] userhash make_userhash(const Crypto& crypto, std::string_view user, std::string_view realm_value) noexcept
{
    const bytes_view parts[] = {as_bytes(user), as_bytes(":"), as_bytes(realm_value)};
    return userhash{crypto.sha256(parts)};
}

// Verifies whichever integrity the message carries, preferring MESSAGE-INTEGRITY-SHA256 when
// both are present (RFC 8489 9.1.3 / 9.2.4: the stronger one is the one that counts).
template <crypto::provider Crypto>
[[nodiscard]] result<void> check_integrity(const message_view& msg, const basic_integrity_key<Crypto>& key) noexcept
{
    if (msg.has_message_integrity_sha256()) return msg.check_message_integrity_sha256(key.sha256());
    if (msg.has_message_integrity()) return msg.check_message_integrity(key.sha1());
    return make_error(errc::missing_integrity, "message has neither MESSAGE-INTEGRITY nor MESSAGE-INTEGRITY-SHA256");
}

// ---------------------------------------------------------------------------------------------
// The nonce cookie (RFC 8489 9.2): "obMatJos2" followed by four base64 characters carrying 24
// bits of security features.
// ---------------------------------------------------------------------------------------------
inline constexpr std::string_view nonce_cookie = "obMatJos2";

struct security_features {
    bool password_algorithms = false;  // bit 0 (most significant): PASSWORD-ALGORITHMS in use
    bool username_anonymity = false;   // bit 1: USERHASH may replace USERNAME
};

// The features a nonce announces, or nullopt when it does not start with the nonce cookie
// (a server of RFC 5389 times).
[[nodiscard]] constexpr std::optional<security_features> parse_nonce_cookie(std::string_view nonce_value) noexcept
{
    if (!nonce_value.starts_with(nonce_cookie) || nonce_value.size() < nonce_cookie.size() + 4) return std::nullopt;
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const char c = nonce_value[nonce_cookie.size() + i];
        int v = -1;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        if (v < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
    }
    return security_features{(bits & 0x800000u) != 0, (bits & 0x400000u) != 0};
}

// ---------------------------------------------------------------------------------------------
// Client side of the long-term credential mechanism (RFC 8489 9.2.4, 9.2.5; RFC 8656 uses it
// for every TURN request).
// ---------------------------------------------------------------------------------------------
struct long_term_config {
    // How many 438 (Stale Nonce) answers in a row are retried before giving up.
    std::size_t max_stale_nonce_retries = 3;
    // Accept servers that only offer the MD5 key (RFC 5389 servers, coturn). RFC 8489 18.5.1
    // keeps MD5 for compatibility.
    bool allow_md5 = true;
};

// Sans-IO: feed it the error responses your requests get; it says whether to retry and adds
// the right attributes to the retry. It owns copies of the strings it needs (realm, nonce,
// the server's PASSWORD-ALGORITHMS) and the prepared key.
template <crypto::provider Crypto>
class long_term_client {
public:
    long_term_client(Crypto crypto, std::string user, std::string password, long_term_config config = {})
        : crypto_(std::move(crypto)), username_(std::move(user)), password_(std::move(password)), config_(config)
    {
    }

    // Call with an error response to a request built by this client. Success means "send the
    // request again (new transaction id) with add_credentials() and add_integrity()". An error
    // (errc::authentication_failed) says why not: wrong credentials, too many stale nonces, a
    // response without REALM/NONCE, no supported password algorithm, or an error code that is
    // not about authentication.
    result<void> handle_error_response(const message_view& response)
    {
        auto ec = response.get<error_code>();
        if (!ec) return make_error(errc::authentication_failed, "error response without ERROR-CODE");
        const int code = ec->code;
        if (code != error_codes::unauthenticated && code != error_codes::stale_nonce)
            return make_error(errc::authentication_failed, "server answered ", code, " ", ec->text().substr(0, 60),
                              ", not a credential challenge");
        if (code == error_codes::unauthenticated && sent_credentials_)
            // RFC 8489 9.2.5: a 401 to a request that carried credentials is a failure.
            return make_error(errc::authentication_failed, "server rejected the credentials of user '",
                              std::string_view(username_).substr(0, 40), "' (401 ", ec->text().substr(0, 40), ")");
        if (code == error_codes::stale_nonce && ++stale_count_ > config_.max_stale_nonce_retries)
            return make_error(errc::authentication_failed, "more than ", config_.max_stale_nonce_retries,
                              " stale-nonce (438) answers in a row");

        auto r = response.get<stun::realm>();
        auto n = response.get<stun::nonce>();
        if (!r) return make_error(errc::authentication_failed, "challenge ", code, " has no valid REALM");
        if (!n) return make_error(errc::authentication_failed, "challenge ", code, " has no valid NONCE");

        // RFC 8489 9.2.5: a nonce cookie with the "password algorithms" bit means an RFC 8489
        // server; PASSWORD-ALGORITHMS must then be present (bid-down protection) and the client
        // takes the first algorithm it supports.
        const auto features = parse_nonce_cookie(n->value);
        password_algorithm_id algorithm = password_algorithm_id::md5;
        std::vector<std::byte> algorithms_raw;
        bool have_algorithms = false;
        if (auto algs = response.get<password_algorithms>()) {
            have_algorithms = true;
            bool chosen = false;
            algs->for_each([&](const password_algorithm& a) {
                if (chosen || !a.parameters.empty()) return;
                if (a.algorithm == password_algorithm_id::sha256 ||
                    (a.algorithm == password_algorithm_id::md5 && config_.allow_md5)) {
                    algorithm = a.algorithm;
                    chosen = true;
                }
            });
            if (!chosen)
                return make_error(errc::authentication_failed, "PASSWORD-ALGORITHMS offers no algorithm this client supports");
            algorithms_raw.assign(algs->raw().begin(), algs->raw().end());
        } else if (response.contains(attribute_type::password_algorithms)) {
            return algs.error();
        }
        const bool rfc8489_server = features && features->password_algorithms;
        if (rfc8489_server && !have_algorithms)
            return make_error(errc::authentication_failed,
                              "nonce announces password algorithms but PASSWORD-ALGORITHMS is missing (bid-down?)");
        if (!rfc8489_server && !config_.allow_md5)
            return make_error(errc::authentication_failed, "server only supports the MD5 key (allow_md5 is off)");

        realm_.assign(r->value);
        nonce_.assign(n->value);
        algorithms_raw_ = std::move(algorithms_raw);
        have_algorithms_ = have_algorithms;
        algorithm_ = algorithm;
        use_sha256_integrity_ = rfc8489_server;
        key_.emplace(make_long_term_key(crypto_, username_, realm_, password_, algorithm_));
        return {};
    }

    // Call when a request with credentials succeeded: resets the stale-nonce count.
    void handle_success_response() noexcept { stale_count_ = 0; }

    // True once a challenge supplied realm and nonce.
    [[nodiscard]] bool has_challenge() const noexcept { return key_.has_value(); }
    [[nodiscard]] std::string_view realm() const noexcept { return realm_; }
    [[nodiscard]] std::string_view nonce() const noexcept { return nonce_; }
    [[nodiscard]] std::string_view username() const noexcept { return username_; }
    [[nodiscard]] password_algorithm_id algorithm() const noexcept { return algorithm_; }
    [[nodiscard]] bool uses_sha256_integrity() const noexcept { return use_sha256_integrity_; }
    // Only valid when has_challenge().
    [[nodiscard]] const basic_integrity_key<Crypto>& key() const noexcept { return *key_; }

    // RFC 8489 9.2.4: USERNAME, REALM, NONCE and, for an RFC 8489 server, PASSWORD-ALGORITHMS
    // (echoed verbatim) and PASSWORD-ALGORITHM. Add the request's own attributes after these,
    // then add_integrity(). Does nothing before the first challenge.
    message_builder& add_credentials(message_builder& b)
    {
        if (!key_) return b;
        sent_credentials_ = true;
        b.add(stun::username{username_}).add(stun::realm{realm_}).add(stun::nonce{nonce_});
        if (have_algorithms_) {
            b.add_raw(attribute_type::password_algorithms, algorithms_raw_);
            b.add(password_algorithm{algorithm_, {}});
        }
        return b;
    }

    // MESSAGE-INTEGRITY-SHA256 for an RFC 8489 server, MESSAGE-INTEGRITY otherwise.
    message_builder& add_integrity(message_builder& b) const noexcept
    {
        if (!key_) return b;
        if (use_sha256_integrity_) return b.add_message_integrity_sha256(key_->sha256());
        return b.add_message_integrity(key_->sha1());
    }

    // Verifies a response's integrity with the current key (RFC 8489 9.2.5).
    [[nodiscard]] result<void> check_response(const message_view& response) const noexcept
    {
        if (!key_) return make_error(errc::missing_integrity, "no credentials yet to check the response with");
        return check_integrity(response, *key_);
    }

private:
    Crypto crypto_;
    std::string username_;
    std::string password_;
    long_term_config config_;
    std::string realm_;
    std::string nonce_;
    std::vector<std::byte> algorithms_raw_;
    bool have_algorithms_ = false;
    bool use_sha256_integrity_ = false;
    bool sent_credentials_ = false;
    std::size_t stale_count_ = 0;
    password_algorithm_id algorithm_ = password_algorithm_id::md5;
    std::optional<basic_integrity_key<Crypto>> key_;
};

}  // namespace peerkit::stun
