// session_config::logger: what a DTLS session reports, and at which level.
#include "dtls_harness.hpp"

#include <peerkit/dtls/alert.hpp>
#include <peerkit/log.hpp>

#include <string>
#include <vector>

using namespace dtls_test;
namespace lg = peerkit::log;

namespace {

struct captured_line {
    lg::level level;
    lg::component component;
    std::string text;
};

struct capture {
    std::vector<captured_line> lines;

    static void sink(void* context, lg::level l, lg::component c, std::string_view message) noexcept
    {
        static_cast<capture*>(context)->lines.push_back({l, c, std::string(message)});
    }
    lg::logger logger(lg::level l = lg::level::trace) { return {&sink, this, lg::levels::all(l)}; }

    // The lines at `l` containing every one of `parts`.
    [[nodiscard]] std::size_t count(lg::level l, std::initializer_list<std::string_view> parts) const
    {
        std::size_t n = 0;
        for (const auto& line : lines) {
            if (line.level != l || line.component != lg::component::dtls) continue;
            bool all = true;
            for (auto part : parts) all = all && line.text.find(part) != std::string::npos;
            if (all) ++n;
        }
        return n;
    }
    [[nodiscard]] std::string dump() const
    {
        std::string out;
        for (const auto& line : lines) out += std::string(lg::to_string(line.level)) + ": " + line.text + "\n";
        return out;
    }
};

const dtls::fingerprint& wrong_fingerprint()
{
    static const auto fp = *dtls::fingerprint::parse(
        "sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF");
    return fp;
}

}  // namespace

TEST_CASE("alert names follow RFC 5246 7.2")
{
    CHECK(dtls::alert_description_name(0) == "close_notify");
    CHECK(dtls::alert_description_name(40) == "handshake_failure");
    CHECK(dtls::alert_description_name(42) == "bad_certificate");
    CHECK(dtls::alert_description_name(110) == "unsupported_extension");
    CHECK(dtls::alert_description_name(7) == "unknown_alert");
    CHECK(dtls::alert_level_name(2) == "fatal");
    CHECK(dtls::alert_level_name(1) == "warning");
}

TEST_CASE("a fingerprint mismatch is logged with what was expected and what came, and the alerts both ways")
{
    capture client_log, server_log;
    auto p = pair::make({.remote_fingerprints = {wrong_fingerprint()}, .logger = client_log.logger(lg::level::debug)},
                        {.logger = server_log.logger(lg::level::debug)});
    simulated_link link;
    CHECK_FALSE(p.handshake(link, 10'000ms));
    INFO("client:\n" << client_log.dump() << "server:\n" << server_log.dump());
    // The client names both fingerprints in full.
    CHECK(client_log.count(lg::level::debug, {"client: fingerprint mismatch: peer certificate is ",
                                              cert_b().sha256_fingerprint().to_string()}) == 1);
    CHECK(client_log.count(lg::level::debug, {"fingerprint mismatch: expected ", wrong_fingerprint().to_string()}) == 1);
    // It tells the server why (RFC 5246 7.2.2), and the server logs what it received.
    CHECK(client_log.count(lg::level::debug, {"client: sent fatal alert bad_certificate (42)"}) == 1);
    CHECK(server_log.count(lg::level::debug, {"server: received fatal alert bad_certificate (42)"}) == 1);
    // Both failures are logged with their reason, and it is the failure's detail too.
    CHECK(client_log.count(lg::level::debug, {"client: failed in the handshake: peer certificate matches no"}) == 1);
    CHECK(server_log.count(lg::level::debug, {"server: failed in the handshake: peer sent fatal alert bad_certificate"}) == 1);
    REQUIRE(p.log_b.failure.has_value());
    CHECK(*p.log_b.failure == dtls::errc::peer_alert);
    CHECK(std::string(p.log_b.failure->detail()) == "peer sent fatal alert bad_certificate");
}

TEST_CASE("a received fatal alert is logged by name and level")
{
    // A forged fatal handshake_failure alert in epoch 0 (RFC 6347 4.1: type 21, DTLS 1.2,
    // epoch 0, sequence 5, length 2; AlertLevel 2, AlertDescription 40), as a stack that
    // refuses our server flight sends it.
    capture server_log;
    auto p = pair::make({}, {.logger = server_log.logger(lg::level::debug)});
    REQUIRE(p.a.start(p.now).has_value());
    auto hello = p.a.poll_transmit();
    REQUIRE(hello.has_value());
    REQUIRE(p.b.handle_packet(p.now, *hello).has_value());
    const std::vector<std::byte> alert = {std::byte{21}, std::byte{0xfe}, std::byte{0xfd}, std::byte{0}, std::byte{0},
                                          std::byte{0},  std::byte{0},    std::byte{0},    std::byte{0}, std::byte{0},
                                          std::byte{5},  std::byte{0},    std::byte{2},    std::byte{2}, std::byte{40}};
    CHECK_FALSE(p.b.handle_packet(p.now, alert).has_value());
    INFO(server_log.dump());
    CHECK(server_log.count(lg::level::debug, {"server: received fatal alert handshake_failure (40)"}) == 1);
    CHECK(p.b.state() == dtls::session_state::failed);
}

TEST_CASE("the negotiated profile and cipher are logged at info, nothing below info when set to info")
{
    capture client_log;
    auto p = pair::make({.logger = client_log.logger(lg::level::info)});
    simulated_link link;
    REQUIRE(p.handshake(link));
    INFO(client_log.dump());
    CHECK(client_log.count(lg::level::info,
                           {"client: connected, cipher ECDHE-ECDSA-AES128-GCM-SHA256, SRTP profile SRTP_AEAD_AES_128_GCM"}) == 1);
    CHECK(client_log.lines.size() == 1);
}

TEST_CASE("refused datagrams, dropped records, retransmissions and the handshake timeout are logged")
{
    capture client_log, server_log;
    SECTION("refused datagrams and dropped records")
    {
        auto p = pair::make({.logger = client_log.logger(lg::level::debug)}, {.logger = server_log.logger(lg::level::debug)});
        simulated_link link;
        REQUIRE(p.handshake(link));
        const std::vector<std::byte> stun_like = {std::byte{0x00}, std::byte{0x01}};
        CHECK_FALSE(p.b.handle_packet(p.now, stun_like).has_value());
        CHECK(server_log.count(lg::level::debug, {"server: refused a datagram of 2 bytes: datagram first byte 0"}) == 1);

        // An application record with a broken tag: OpenSSL drops it without a word (RFC 6347
        // 4.1.2.7); the log says so.
        std::optional<std::vector<std::byte>> record;
        p.tap = [&](endpoint from, const std::vector<std::byte>& d) {
            if (from == endpoint::a && !record) record = d;
            return false;
        };
        REQUIRE(p.a.send(p.now, bytes_of("to be forged")).has_value());
        p.flush(link);
        REQUIRE(record.has_value());
        record->back() ^= std::byte{1};
        CHECK(p.b.handle_packet(p.now, *record).has_value());
        INFO(server_log.dump());
        CHECK(server_log.count(lg::level::debug, {"server: dropped 1 of 1 application data record(s)",
                                                  "failed authentication"}) == 1);
        // A record that claims more bytes than the datagram holds.
        auto truncated = *record;
        truncated.resize(20);
        CHECK(p.b.handle_packet(p.now, truncated).has_value());
        CHECK(server_log.count(lg::level::debug, {"server: dropped a record at offset 0 claiming"}) == 1);
        // A send that does not fit one record is refused, and says why.
        CHECK_FALSE(p.a.send(p.now, std::vector<std::byte>(p.a.max_application_data() + 1)).has_value());
        CHECK(client_log.count(lg::level::debug, {"client: refused to send", "exceeds the"}) == 1);
    }
    SECTION("retransmissions at trace, the handshake timeout at debug")
    {
        auto s = ossl::session::create(context_a(), {.role = dtls::role::client,
                                                     .remote_fingerprints = {cert_b().sha256_fingerprint()},
                                                     .handshake_timeout = 1'000ms,
                                                     .logger = client_log.logger(lg::level::trace)});
        REQUIRE(s.has_value());
        time_point now{1000s};
        REQUIRE(s->start(now).has_value());
        while (auto t = s->poll_timeout()) {
            now = *t;
            s->handle_timeout(now);
            while (s->poll_transmit()) {
            }
        }
        INFO(client_log.dump());
        CHECK(client_log.count(lg::level::trace, {"client: retransmitted the last flight (retransmission 1), next timeout 200 ms"}) == 1);
        CHECK(client_log.count(lg::level::trace, {"client: retransmitted the last flight"}) == 3);  // 0.1, 0.3, 0.7 s
        CHECK(client_log.count(lg::level::debug, {"client: handshake timeout: not complete 1000 ms after start"}) == 1);
    }
}

TEST_CASE("logging off formats nothing and changes nothing")
{
    // A logger whose levels are off for dtls (but on for another component) is never called.
    capture other;
    auto p = pair::make({.logger = lg::logger{&capture::sink, &other, lg::levels{}.set(lg::component::ice, lg::level::trace)}});
    simulated_link link;
    REQUIRE(p.handshake(link));
    CHECK(other.lines.empty());
}
