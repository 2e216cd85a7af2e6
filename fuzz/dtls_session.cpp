// Fuzz target: arbitrary datagrams fed to a DTLS server session, before and after a
// handshake (peerkit::dtls::openssl::session).
//
// Input: one mode byte, then datagrams framed as [u16 length][bytes] (a short tail is one
// last datagram).
//   mode % 3 == 0: a fresh server session gets the datagrams (ClientHello parsing, flights,
//                  fragment reassembly, alerts).
//   mode % 3 == 1: a server that completed a handshake with an in-memory client gets them
//                  (record layer in epoch 1, stray handshake messages, close/alerts).
//   mode % 3 == 2: as 1, but each datagram is XORed into a genuine application-data record
//                  from the client, so mutations reach decryption and replay checks.
// Deterministic: one certificate pair generated once, a fixed virtual clock that advances
// 10 ms per datagram. The server logs at trace into a sink that only checks each line's size, so
// the logging paths (record inspection, alert names) see every input too. Invariants checked:
// no queue exceeds its limit, a closed or failed session stays so and emits nothing after its
// last event, use_srtp was negotiated and its keys export once connected.
#include <peerkit/dtls/openssl.hpp>
#include <peerkit/log.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <variant>
#include <vector>

namespace dtls = peerkit::dtls;
namespace ossl = peerkit::dtls::openssl;
using namespace std::chrono_literals;

namespace {

void check(bool ok)
{
    if (!ok) std::abort();
}

void check_line(void*, peerkit::log::level, peerkit::log::component c, std::string_view line) noexcept
{
    check(c == peerkit::log::component::dtls && !line.empty() && line.size() <= peerkit::log::logger::line_capacity);
}

struct fixture {
    ossl::certificate client_cert = *ossl::certificate::generate({.common_name = "fuzz-client"});
    ossl::certificate server_cert = *ossl::certificate::generate({.common_name = "fuzz-server"});
    std::shared_ptr<const ossl::context> client_ctx = *ossl::context::create(client_cert);
    std::shared_ptr<const ossl::context> server_ctx = *ossl::context::create(server_cert);
    dtls::session_config server_config{.role = dtls::role::server,
                                       .remote_fingerprints = {client_cert.sha256_fingerprint()},
                                       .max_queued_datagrams = 32,
                                       .max_queued_events = 16,
                                       .logger = peerkit::log::logger{&check_line, nullptr,
                                                                      peerkit::log::levels::all(peerkit::log::level::trace)}};
};

const fixture& fx()
{
    static const fixture f;
    return f;
}

// Drains the server's outputs and checks the invariants.
void drain(ossl::session& s, bool& terminal_seen)
{
    std::size_t sent = 0;
    while (s.poll_transmit()) ++sent;
    check(sent <= s.config().max_queued_datagrams);
    std::size_t events = 0;
    while (auto e = s.poll_event()) {
        check(!terminal_seen || std::holds_alternative<dtls::closed>(*e));
        if (std::holds_alternative<dtls::failed>(*e) || std::holds_alternative<dtls::closed>(*e)) terminal_seen = true;
        ++events;
    }
    check(events <= s.config().max_queued_events);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 1) return 0;
    const fixture& f = fx();
    const int mode = data[0] % 3;
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data + 1), size - 1);

    dtls::time_point now{1000s};
    auto server = *ossl::session::create(f.server_ctx, f.server_config);
    std::optional<ossl::session> client;
    std::vector<std::byte> genuine_record;
    if (mode != 0) {
        client.emplace(*ossl::session::create(
            f.client_ctx, {.role = dtls::role::client, .remote_fingerprints = {f.server_cert.sha256_fingerprint()}}));
        (void)client->start(now);
        for (int round = 0; round < 8; ++round) {
            while (auto d = client->poll_transmit()) (void)server.handle_packet(now, *d);
            while (auto d = server.poll_transmit()) (void)client->handle_packet(now, *d);
        }
        check(server.state() == dtls::session_state::connected);
        check(server.srtp_profile() == dtls::srtp_profile::aead_aes_128_gcm);
        check(dtls::export_srtp_keying_material(server).has_value());
        while (server.poll_event()) {
        }
        const char text[] = "genuine application data";
        (void)client->send(now, peerkit::as_bytes(text));
        genuine_record = *client->poll_transmit();
    }

    bool terminal_seen = false;
    while (!in.empty()) {
        std::span<const std::byte> datagram = in;
        if (in.size() >= 2) {
            const std::size_t len = (std::to_integer<std::size_t>(in[0]) << 8) | std::to_integer<std::size_t>(in[1]);
            if (len + 2 <= in.size()) {
                datagram = in.subspan(2, len);
                in = in.subspan(2 + len);
            } else {
                datagram = in.subspan(2);
                in = {};
            }
        } else {
            in = {};
        }
        const auto before = server.state();
        if (mode == 2) {
            std::vector<std::byte> mutated = genuine_record;
            for (std::size_t i = 0; i < datagram.size() && i < mutated.size(); ++i) mutated[i] ^= datagram[i];
            if (datagram.size() > mutated.size()) mutated.resize(datagram.size() % 1500, std::byte{0x17});
            (void)server.handle_packet(now, mutated);
        } else {
            (void)server.handle_packet(now, datagram);
        }
        // A finished session never comes back.
        if (before == dtls::session_state::closed || before == dtls::session_state::failed) check(server.state() == before);
        now += 10ms;
        server.handle_timeout(now);
        drain(server, terminal_seen);
        if (server.state() == dtls::session_state::connected) {
            (void)server.send(now, peerkit::as_bytes(std::string_view("reply")));
            std::byte km[16];
            check(server.export_keying_material("EXTRACTOR-dtls_srtp", std::span<std::byte>(km)).has_value());
        }
    }
    return 0;
}
