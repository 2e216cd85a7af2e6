// A DTLS peer for interop tests: runs peerkit::dtls::openssl::session over a UDP socket on
// 127.0.0.1 (the socket and clock live here, the session stays sans-IO).
//
//   interop_dtls_peer --role client --port 4433 --fingerprint "sha-256 AB:..."
//                     --send "hello from peerkit" --expect "hello from openssl"
//   interop_dtls_peer --role server --port 0 ...      (prints "LISTENING <port>")
//
// Prints "CONNECTED <cipher>", "SRTP <profile>" (or "SRTP none"), "KEYING <hex of the
// EXTRACTOR-dtls_srtp export>" (the profile's size, RFC 5764 4.2, or 56 bytes without a
// profile), with a profile the split of that export ("SRTP_CLIENT_KEY <hex>",
// "SRTP_SERVER_KEY", "SRTP_CLIENT_SALT", "SRTP_SERVER_SALT", from
// dtls::export_srtp_keying_material), "RECEIVED <text>", and exits 0 once the expected text
// arrived and close_notify was sent; prints "FAILED: <reason>" to stderr and exits 1
// otherwise. PEERKIT_LOG (e.g. dtls:debug) logs the session to stderr.
#include <peerkit/dtls/openssl.hpp>
#include <peerkit/log/stderr.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dtls = peerkit::dtls;
namespace ossl = peerkit::dtls::openssl;

namespace {

int fail(const std::string& why)
{
    std::fprintf(stderr, "FAILED: %s\n", why.c_str());
    return 1;
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string hex(std::span<const std::byte> data)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (auto b : data) {
        out += digits[std::to_integer<unsigned>(b) >> 4];
        out += digits[std::to_integer<unsigned>(b) & 0xF];
    }
    return out;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string role = "client", fingerprint_text, send_text, expect_text, cert_path, key_path;
    int port = 0;
    int timeout_ms = 15'000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view k = argv[i];
        const std::string v = argv[i + 1];
        if (k == "--role") role = v;
        else if (k == "--port") port = std::atoi(v.c_str());
        else if (k == "--fingerprint") fingerprint_text = v;
        else if (k == "--send") send_text = v;
        else if (k == "--expect") expect_text = v;
        else if (k == "--cert") cert_path = v;
        else if (k == "--key") key_path = v;
        else if (k == "--timeout-ms") timeout_ms = std::atoi(v.c_str());
        else return fail("unknown option " + std::string(k));
    }
    auto fp = dtls::fingerprint::parse(fingerprint_text);
    if (!fp) return fail("--fingerprint: " + fp.error().message());
    auto cert = cert_path.empty() ? ossl::certificate::generate() : ossl::certificate::from_pem(slurp(cert_path), slurp(key_path));
    if (!cert) return fail("certificate: " + cert.error().message());
    auto ctx = ossl::context::create(*cert);
    if (!ctx) return fail("context: " + ctx.error().message());
    const dtls::role r = role == "server" ? dtls::role::server : dtls::role::client;
    auto session = ossl::session::create(
        *ctx, {.role = r, .remote_fingerprints = {*fp}, .logger = peerkit::log::stderr_logger_from_env("PEERKIT_LOG")});
    if (!session) return fail("session: " + session.error().message());
    std::printf("FINGERPRINT %s\n", cert->sha256_fingerprint().to_string().c_str());

    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return fail(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(r == dtls::role::server ? port : 0));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return fail(std::string("bind: ") + std::strerror(errno));
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    if (r == dtls::role::server) {
        std::printf("LISTENING %u\n", ntohs(addr.sin_port));
    } else {
        sockaddr_in peer{};
        peer.sin_family = AF_INET;
        peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        peer.sin_port = htons(static_cast<std::uint16_t>(port));
        if (::connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer) != 0)
            return fail(std::string("connect: ") + std::strerror(errno));
    }
    std::fflush(stdout);

    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
    bool peer_known = r == dtls::role::client;
    bool got_expected = expect_text.empty();
    bool connected = false;
    if (auto s = session->start(clock::now()); !s) return fail("start: " + s.error().message());
    std::vector<std::byte> buffer(65536);
    while (clock::now() < deadline) {
        while (auto d = session->poll_transmit()) {
            if (peer_known) (void)::send(fd, d->data(), d->size(), 0);
        }
        while (auto e = session->poll_event()) {
            if (auto* h = std::get_if<dtls::handshake_complete>(&*e)) {
                connected = true;
                std::printf("CONNECTED %s peer %s\n", std::string(session->cipher_name()).c_str(), h->peer.to_string().c_str());
                std::printf("SRTP %s\n", h->srtp ? std::string(dtls::to_string(*h->srtp)).c_str() : "none");
                const std::size_t length = h->srtp ? dtls::key_lengths(*h->srtp).exported_size() : 56;
                auto km = session->export_keying_material(dtls::srtp_exporter_label, length);
                if (km) std::printf("KEYING %s\n", hex(*km).c_str());
                if (h->srtp) {
                    auto keys = dtls::export_srtp_keying_material(*session);
                    if (!keys) return fail("SRTP keying material: " + keys.error().message());
                    std::printf("SRTP_CLIENT_KEY %s\nSRTP_SERVER_KEY %s\nSRTP_CLIENT_SALT %s\nSRTP_SERVER_SALT %s\n",
                                hex(keys->client().key()).c_str(), hex(keys->server().key()).c_str(),
                                hex(keys->client().salt()).c_str(), hex(keys->server().salt()).c_str());
                }
                if (!send_text.empty()) {
                    const std::string line = send_text + "\n";
                    if (auto s = session->send(clock::now(), peerkit::as_bytes(line)); !s)
                        return fail("send: " + s.error().message());
                }
            } else if (auto* d = std::get_if<dtls::application_data>(&*e)) {
                std::string text(peerkit::as_string_view(d->data));
                while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
                std::printf("RECEIVED %s\n", text.c_str());
                if (!expect_text.empty() && text.find(expect_text) != std::string::npos) got_expected = true;
            } else if (std::holds_alternative<dtls::closed>(*e)) {
                std::printf("CLOSED by peer\n");
            } else if (auto* f = std::get_if<dtls::failed>(&*e)) {
                std::fflush(stdout);
                return fail(f->reason.message());
            }
        }
        std::fflush(stdout);
        if (connected && got_expected) {
            session->close(clock::now());
            while (auto d = session->poll_transmit()) (void)::send(fd, d->data(), d->size(), 0);
            std::printf("DONE\n");
            return 0;
        }
        int wait_ms = 50;
        if (auto t = session->poll_timeout()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*t - clock::now()).count();
            wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 50));
        }
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, wait_ms) > 0) {
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            const auto n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n > 0) {
                if (!peer_known) {  // the first client fixes the 5-tuple
                    if (::connect(fd, reinterpret_cast<sockaddr*>(&from), from_len) != 0)
                        return fail(std::string("connect: ") + std::strerror(errno));
                    peer_known = true;
                }
                auto res = session->handle_packet(clock::now(), std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(n)));
                if (!res) std::printf("DROPPED %s\n", res.error().message().c_str());
            }
        }
        session->handle_timeout(clock::now());
    }
    return fail(connected ? "timed out waiting for \"" + expect_text + "\"" : "timed out before the handshake completed");
}
