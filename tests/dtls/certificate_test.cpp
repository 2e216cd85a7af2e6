#include "dtls_harness.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <thread>

using namespace dtls_test;

TEST_CASE("generated certificate is ECDSA P-256, self-signed, with a matching fingerprint")
{
    auto c = ossl::certificate::generate();
    REQUIRE(c.has_value());
    X509* x = c->native_certificate();
    CHECK(EVP_PKEY_get_base_id(c->native_key()) == EVP_PKEY_EC);
    char curve[64] = {};
    size_t len = 0;
    REQUIRE(EVP_PKEY_get_utf8_string_param(c->native_key(), "group", curve, sizeof curve, &len) == 1);
    CHECK(std::string(curve) == "prime256v1");
    CHECK(X509_verify(x, c->native_key()) == 1);  // self-signed
    // The fingerprint is SHA-256 over the DER certificate (RFC 8122 section 5).
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    REQUIRE(X509_digest(x, EVP_sha256(), md, &n) == 1);
    REQUIRE(n == 32);
    CHECK(std::equal(md, md + n, reinterpret_cast<const unsigned char*>(c->sha256_fingerprint().digest().data())));
    auto sha1 = c->compute_fingerprint(dtls::hash_function::sha_1);
    REQUIRE(sha1.has_value());
    CHECK(sha1->digest().size() == 20);
    auto md2 = c->compute_fingerprint(dtls::hash_function::md2);
    REQUIRE_FALSE(md2.has_value());
    CHECK(md2.error() == dtls::errc::unknown_hash_function);
    // Two certificates differ.
    CHECK_FALSE(ossl::certificate::generate()->sha256_fingerprint() == c->sha256_fingerprint());
}

TEST_CASE("certificate round-trips through PEM")
{
    auto c = ossl::certificate::generate({.common_name = "round trip"});
    REQUIRE(c.has_value());
    auto cert_pem = c->certificate_pem();
    auto key_pem = c->private_key_pem();
    REQUIRE(cert_pem.has_value());
    REQUIRE(key_pem.has_value());
    CHECK_THAT(*cert_pem, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
    auto back = ossl::certificate::from_pem(*cert_pem, *key_pem);
    REQUIRE(back.has_value());
    CHECK(back->sha256_fingerprint() == c->sha256_fingerprint());
}

TEST_CASE("from_pem reports garbage and mismatched keys")
{
    auto bad = ossl::certificate::from_pem("not pem", "not pem");
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == dtls::errc::certificate_error);
    CHECK_THAT(std::string(bad.error().detail()), Catch::Contains("no PEM certificate"));

    auto c1 = ossl::certificate::generate();
    auto c2 = ossl::certificate::generate();
    auto mismatch = ossl::certificate::from_pem(*c1->certificate_pem(), *c2->private_key_pem());
    REQUIRE_FALSE(mismatch.has_value());
    CHECK_THAT(std::string(mismatch.error().detail()), Catch::Contains("does not belong"));
}

TEST_CASE("certificate options are validated")
{
    auto r = ossl::certificate::generate({.common_name = std::string(65, 'x')});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == dtls::errc::bad_config);
    auto v = ossl::certificate::generate({.validity = std::chrono::seconds(0)});
    REQUIRE_FALSE(v.has_value());
}

TEST_CASE("one certificate and context serve concurrent sessions on several threads")
{
    // Shared ownership: the threads hold copies of the same handles.
    const auto cert = *ossl::certificate::generate();
    const auto ctx = *ossl::context::create(cert);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 3; ++i) {
                dtls::session_config cc{.role = dtls::role::client, .remote_fingerprints = {cert.sha256_fingerprint()}};
                dtls::session_config sc{.role = dtls::role::server, .remote_fingerprints = {cert.sha256_fingerprint()}};
                auto c = ossl::session::create(ctx, cc);
                auto s = ossl::session::create(ctx, sc);
                if (!c || !s) return;
                time_point now{std::chrono::seconds(t * 100 + i)};
                (void)c->start(now);
                for (int round = 0; round < 20; ++round) {
                    while (auto d = c->poll_transmit()) (void)s->handle_packet(now, *d);
                    while (auto d = s->poll_transmit()) (void)c->handle_packet(now, *d);
                }
                if (c->state() == dtls::session_state::connected && s->state() == dtls::session_state::connected) ++ok;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(ok.load() == 12);
}
