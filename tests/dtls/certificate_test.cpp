#include "dtls_harness.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdint>
#include <algorithm>
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

TEST_CASE("generated certificate has the fields browsers generate, and its DER parses back")
{
    auto c = ossl::certificate::generate({.common_name = "WebRTC"});
    REQUIRE(c.has_value());
    X509* x = c->native_certificate();
    CHECK(X509_get_version(x) == 2);  // v3
    CHECK(X509_get_signature_nid(x) == NID_ecdsa_with_SHA256);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
    std::uint64_t serial_value = 0;
    REQUIRE(ASN1_INTEGER_get_uint64(&serial_value, serial) == 1);  // positive (RFC 5280 4.1.2.2)
    CHECK(serial_value != 0);
    char cn[64] = {};
    CHECK(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) == 6);
    CHECK(std::string(cn) == "WebRTC");
    CHECK(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0);
    CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    CHECK(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    // SubjectPublicKeyInfo (RFC 5480 section 2): id-ecPublicKey, the named curve prime256v1 and
    // the key's uncompressed point, byte for byte.
    unsigned char point[65];
    std::size_t point_size = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(c->native_key(), "pub", point, sizeof point, &point_size) == 1);
    REQUIRE(point_size == 65);
    const unsigned char spki_prefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
                                         0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
    unsigned char* spki = nullptr;
    const int spki_size = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    REQUIRE(spki_size == static_cast<int>(sizeof spki_prefix + point_size));
    CHECK(std::equal(spki, spki + sizeof spki_prefix, spki_prefix));
    CHECK(std::equal(spki + sizeof spki_prefix, spki + spki_size, point));
    OPENSSL_free(spki);
    // What a peer does with it: parse the DER, take the public key, check the signature and
    // that it belongs to our private key.
    unsigned char* der = nullptr;
    const int der_size = i2d_X509(x, &der);
    REQUIRE(der_size > 0);
    const unsigned char* p = der;
    X509* parsed = d2i_X509(nullptr, &p, der_size);
    OPENSSL_free(der);
    REQUIRE(parsed != nullptr);
    EVP_PKEY* peer_view = X509_get0_pubkey(parsed);
    REQUIRE(peer_view != nullptr);
    CHECK(X509_verify(parsed, peer_view) == 1);
    CHECK(EVP_PKEY_eq(peer_view, c->native_key()) == 1);
    CHECK(X509_check_private_key(parsed, c->native_key()) == 1);
    X509_free(parsed);
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

TEST_CASE("RSA certificates: generated on request, modulus length checked, algorithm and expiry reported")
{
    using namespace std::chrono;
    auto rsa = ossl::certificate::generate({.algorithm = ossl::key_algorithm::rsa});
    REQUIRE(rsa.has_value());
    CHECK(rsa->algorithm() == ossl::key_algorithm::rsa);
    CHECK(EVP_PKEY_get_base_id(rsa->native_key()) == EVP_PKEY_RSA);
    CHECK(EVP_PKEY_get_bits(rsa->native_key()) == 2048);
    CHECK(X509_get_signature_nid(rsa->native_certificate()) == NID_sha256WithRSAEncryption);
    CHECK(X509_verify(rsa->native_certificate(), rsa->native_key()) == 1);
    // Valid for the default 30 days from now (to the second the certificate was signed).
    const auto left = rsa->expires() - system_clock::now();
    CHECK(left > hours(24 * 30) - minutes(1));
    CHECK(left <= hours(24 * 30));

    auto ec = ossl::certificate::generate({.validity = hours(2)});
    REQUIRE(ec.has_value());
    CHECK(ec->algorithm() == ossl::key_algorithm::ecdsa_p256);
    CHECK(ec->expires() - system_clock::now() > hours(2) - minutes(1));
    CHECK(ec->expires() - system_clock::now() <= hours(2));

    for (unsigned bits : {1024u, 8192u}) {
        auto refused = ossl::certificate::generate({.algorithm = ossl::key_algorithm::rsa, .rsa_modulus_bits = bits});
        REQUIRE_FALSE(refused.has_value());
        CHECK(refused.error() == dtls::errc::bad_config);
        CHECK_THAT(std::string(refused.error().detail()), Catch::Contains(std::to_string(bits) + " bits"));
    }
    auto other = ossl::certificate::generate({.algorithm = ossl::key_algorithm::other});
    REQUIRE_FALSE(other.has_value());
    CHECK(other.error() == dtls::errc::bad_config);

    // Loaded certificates are classified by their key.
    auto loaded = ossl::certificate::from_pem(*rsa->certificate_pem(), *rsa->private_key_pem());
    REQUIRE(loaded.has_value());
    CHECK(loaded->algorithm() == ossl::key_algorithm::rsa);
    CHECK(loaded->expires() == rsa->expires());
    CHECK(loaded->sha256_fingerprint() == rsa->sha256_fingerprint());
}

TEST_CASE("a context takes several certificates of different key types, and refuses two of one type")
{
    auto ec1 = ossl::certificate::generate();
    auto ec2 = ossl::certificate::generate();
    auto rsa = ossl::certificate::generate({.algorithm = ossl::key_algorithm::rsa});
    REQUIRE(ec1.has_value());
    REQUIRE(ec2.has_value());
    REQUIRE(rsa.has_value());

    const std::vector<ossl::certificate> both{*ec1, *rsa};
    auto ctx = ossl::context::create(both);
    REQUIRE(ctx.has_value());
    REQUIRE((*ctx)->certificates().size() == 2);
    CHECK((*ctx)->local_certificate().sha256_fingerprint() == ec1->sha256_fingerprint());

    const std::vector<ossl::certificate> same_type{*ec1, *rsa, *ec2};
    auto refused = ossl::context::create(same_type);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error() == dtls::errc::bad_config);
    CHECK_THAT(std::string(refused.error().detail()), Catch::Contains("certificates 1 and 3 have the same key type"));

    auto none = ossl::context::create(std::span<const ossl::certificate>{});
    REQUIRE_FALSE(none.has_value());
    CHECK(none.error() == dtls::errc::bad_config);
}
