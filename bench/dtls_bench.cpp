// DTLS benchmarks (results in docs/performance.md, "## DTLS"):
// - one complete DTLS 1.2 handshake, both sides in memory, including session creation,
//   fingerprint verification and the SRTP key export (goal: <= 700 us CPU);
// - generating a self-signed ECDSA P-256 certificate (goal: <= 0.2 ms);
// - record protection for 1200-byte application data: encrypt only (send + poll_transmit)
//   and encrypt+decrypt (through the peer session), against raw EVP AES-128-GCM and
//   `openssl speed -evp aes-128-gcm -bytes 1200` (goal: >= 80%); the second argument is 1
//   for peerkit's record layer (the default), 0 for OpenSSL's (SSL_write/SSL_read).
#include <peerkit/dtls/openssl.hpp>

#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <vector>

namespace dtls = peerkit::dtls;
namespace ossl = peerkit::dtls::openssl;
using namespace std::chrono_literals;

namespace {

struct certs {
    ossl::certificate a = *ossl::certificate::generate();
    ossl::certificate b = *ossl::certificate::generate();
    std::shared_ptr<const ossl::context> ctx_a = *ossl::context::create(a);
    std::shared_ptr<const ossl::context> ctx_b = *ossl::context::create(b);
    // Sessions whose application records are OpenSSL's own.
    std::shared_ptr<const ossl::context> openssl_records_a = *ossl::context::create(a, {.peerkit_application_records = false});
    std::shared_ptr<const ossl::context> openssl_records_b = *ossl::context::create(b, {.peerkit_application_records = false});
};
const certs& shared()
{
    static const certs c;
    return c;
}

struct connected_pair {
    ossl::session client;
    ossl::session server;
};

// mtu: 1200 for the WebRTC default; 1237 lets one record carry 1200 bytes of plaintext
// (13-byte header, 8-byte explicit nonce, 16-byte tag), the size `openssl speed` encrypts.
connected_pair connect(std::size_t mtu = 1200, bool peerkit_records = true)
{
    const auto& c = shared();
    auto client = *ossl::session::create(peerkit_records ? c.ctx_a : c.openssl_records_a, {.role = dtls::role::client, .remote_fingerprints = {c.b.sha256_fingerprint()}, .mtu = mtu});
    auto server = *ossl::session::create(peerkit_records ? c.ctx_b : c.openssl_records_b, {.role = dtls::role::server, .remote_fingerprints = {c.a.sha256_fingerprint()}, .mtu = mtu});
    const dtls::time_point now{1000s};
    (void)client.start(now);
    while (client.state() != dtls::session_state::connected || server.state() != dtls::session_state::connected) {
        bool moved = false;
        while (auto d = client.poll_transmit()) {
            (void)server.handle_packet(now, *d);
            moved = true;
        }
        while (auto d = server.poll_transmit()) {
            (void)client.handle_packet(now, *d);
            moved = true;
        }
        if (!moved) break;
    }
    return {std::move(client), std::move(server)};
}

void handshake(benchmark::State& state)
{
    (void)shared();
    for (auto _ : state) {
        auto p = connect();
        if (p.server.state() != dtls::session_state::connected) state.SkipWithError("handshake failed");
        auto keys = p.client.export_keying_material(dtls::srtp_exporter_label, 56);
        benchmark::DoNotOptimize(keys);
    }
}
BENCHMARK(handshake)->Unit(benchmark::kMicrosecond);

// The same handshake with OpenSSL alone (no peerkit): memory BIOs, the same context
// settings, a verify callback that accepts the certificate. Our overhead is the difference.
extern "C" int accept_any(X509_STORE_CTX*, void*) { return 1; }
void openssl_raw_handshake(benchmark::State& state)
{
    const auto& c = shared();
    auto make_ctx = [](const ossl::certificate& cert) {
        SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
        SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
        SSL_CTX_set_cipher_list(ctx, ossl::context_config{}.cipher_list.c_str());
        SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
        SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
        SSL_CTX_set_cert_verify_callback(ctx, &accept_any, nullptr);
        SSL_CTX_use_certificate(ctx, cert.native_certificate());
        SSL_CTX_use_PrivateKey(ctx, cert.native_key());
        return ctx;
    };
    SSL_CTX* ca = make_ctx(c.a);
    SSL_CTX* cb = make_ctx(c.b);
    for (auto _ : state) {
        SSL* client = SSL_new(ca);
        SSL* server = SSL_new(cb);
        BIO* c_in = BIO_new(BIO_s_mem());
        BIO* c_out = BIO_new(BIO_s_mem());
        BIO* s_in = BIO_new(BIO_s_mem());
        BIO* s_out = BIO_new(BIO_s_mem());
        SSL_set_bio(client, c_in, c_out);
        SSL_set_bio(server, s_in, s_out);
        SSL_set_mtu(client, 1200);
        SSL_set_mtu(server, 1200);
        SSL_set_tlsext_use_srtp(client, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");
        SSL_set_tlsext_use_srtp(server, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");
        SSL_set_connect_state(client);
        SSL_set_accept_state(server);
        char buf[4096];
        for (int round = 0; round < 6; ++round) {
            (void)SSL_do_handshake(client);
            int n = 0;
            while ((n = BIO_read(c_out, buf, sizeof buf)) > 0) BIO_write(s_in, buf, n);
            (void)SSL_do_handshake(server);
            while ((n = BIO_read(s_out, buf, sizeof buf)) > 0) BIO_write(c_in, buf, n);
        }
        if (SSL_is_init_finished(client) != 1 || SSL_is_init_finished(server) != 1)
            state.SkipWithError("raw handshake failed");
        unsigned char keys[56];
        SSL_export_keying_material(client, keys, sizeof keys, "EXTRACTOR-dtls_srtp", 19, nullptr, 0, 0);
        benchmark::DoNotOptimize(keys);
        SSL_free(client);
        SSL_free(server);
    }
    SSL_CTX_free(ca);
    SSL_CTX_free(cb);
}
BENCHMARK(openssl_raw_handshake)->Unit(benchmark::kMicrosecond);

void certificate_generate(benchmark::State& state)
{
    for (auto _ : state) {
        auto c = ossl::certificate::generate();
        benchmark::DoNotOptimize(c);
    }
}
BENCHMARK(certificate_generate)->Unit(benchmark::kMicrosecond);

void record_encrypt(benchmark::State& state)
{
    auto p = connect(1237, state.range(1) != 0);
    if (p.client.application_records_by_peerkit() != (state.range(1) != 0)) state.SkipWithError("wrong record layer");
    const std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5A});
    const dtls::time_point now{1000s};
    for (auto _ : state) {
        (void)p.client.send(now, payload);
        auto d = p.client.poll_transmit();
        benchmark::DoNotOptimize(d);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(record_encrypt)->Args({1200, 1})->Args({1200, 0})->Args({1024, 1})->Args({1024, 0});

void record_encrypt_decrypt(benchmark::State& state)
{
    auto p = connect(1237, state.range(1) != 0);
    if (p.client.application_records_by_peerkit() != (state.range(1) != 0)) state.SkipWithError("wrong record layer");
    const std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{0x5A});
    const dtls::time_point now{1000s};
    for (auto _ : state) {
        (void)p.client.send(now, payload);
        auto d = p.client.poll_transmit();
        (void)p.server.handle_packet(now, *d);
        auto e = p.server.poll_event();
        benchmark::DoNotOptimize(e);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(record_encrypt_decrypt)->Args({1200, 1})->Args({1200, 0})->Args({1024, 1})->Args({1024, 0});

// The same work OpenSSL's record layer has to do per record, without it: a fresh IV, 13 bytes
// of AAD, 1200 bytes, the tag. A baseline between `openssl speed` (one endless stream) and us.
void evp_aes_128_gcm_record(benchmark::State& state)
{
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    unsigned char key[16] = {1}, iv[12] = {2}, aad[13] = {3}, tag[16];
    std::vector<unsigned char> in(static_cast<std::size_t>(state.range(0)), 0x5A), out(in.size() + 16);
    EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, key, nullptr);
    int len = 0;
    for (auto _ : state) {
        ++iv[11];
        EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv);
        EVP_EncryptUpdate(ctx, nullptr, &len, aad, sizeof aad);
        EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size()));
        EVP_EncryptFinal_ex(ctx, out.data() + len, &len);
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
        benchmark::DoNotOptimize(tag);
    }
    EVP_CIPHER_CTX_free(ctx);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(evp_aes_128_gcm_record)->Arg(1200);

}  // namespace

BENCHMARK_MAIN();
