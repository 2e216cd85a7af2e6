// peerkit's SCTP association on a UDP socket, with the RFC 6951 framing done here: each UDP
// datagram's payload is one SCTP packet. Used by tests/interop/sctp_usrsctp.sh against usrsctp.
//
//   interop_sctp_udp_peer --local-udp L --remote-udp R --role client|server
//
// Once the association is up (we initiate as client, usrsctp does when we are server) it
//  1. expects usrsctp's greeting on stream 3,
//  2. sends messages of 1, 1199, 1200, 5000, 65536 and 200000 bytes on stream 1 (ordered) and
//     20 small unordered ones on stream 2, and checks that each comes back intact,
//  3. resets stream 1 (RFC 6525) and expects both our reset to succeed and usrsctp to reset
//     its side of the stream,
//  4. sends one more message on stream 1 (SSN 0 again) and checks its echo,
//  5. shuts down gracefully (RFC 9260 9.2).
// Prints each step; exits 0 when all passed, 1 on any failure or after 30 s.
#include <peerkit/sctp/association.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace peerkit::sctp;

std::vector<std::byte> pattern(std::size_t size, std::uint32_t seed)
{
    std::vector<std::byte> v(size);
    std::uint32_t x = seed * 2654435761u + 7;
    for (auto& b : v) {
        x = x * 1103515245u + 12345u;
        b = static_cast<std::byte>(x >> 16);
    }
    return v;
}

// /dev/urandom as a crypto::random_source; a failed read is reported to the association.
struct os_random_source {
    [[nodiscard]] bool random_bytes(std::span<std::byte> out) const noexcept
    {
        FILE* f = std::fopen("/dev/urandom", "rb");
        if (f == nullptr) return false;
        const bool ok = std::fread(out.data(), 1, out.size(), f) == out.size();
        std::fclose(f);
        return ok;
    }
};

random_source os_random() { return os_random_source{}; }

void say(const std::string& line)
{
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv)
{
    int local_udp = 0, remote_udp = 0;
    std::string role = "client";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--local-udp") local_udp = std::atoi(argv[i + 1]);
        else if (key == "--remote-udp") remote_udp = std::atoi(argv[i + 1]);
        else if (key == "--role") role = argv[i + 1];
    }
    if (local_udp == 0 || remote_udp == 0) {
        std::fprintf(stderr, "usage: %s --local-udp L --remote-udp R --role client|server\n", argv[0]);
        return 2;
    }
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(static_cast<std::uint16_t>(local_udp));
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        std::perror("bind");
        return 1;
    }
    sockaddr_in remote = local;
    remote.sin_port = htons(static_cast<std::uint16_t>(remote_udp));

    association_config config;  // ports 5000 <-> 5000, as usrsctp_peer uses
    association assoc(config, os_random());
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    if (role == "client") assoc.connect(clock::now());

    enum class step { connecting, greeting, echoes, resetting, after_reset, closing, done } current = step::connecting;
    const std::vector<std::size_t> sizes{1, 1199, 1200, 5000, 65536, 200000};
    std::size_t echoes_ordered = 0;
    std::set<std::uint32_t> echoes_unordered;
    bool greeted = false, our_reset_done = false, their_reset_done = false, after_reset_echo = false;
    int failures = 0;
    auto fail = [&](const std::string& what) {
        say("FAIL " + what);
        ++failures;
    };
    auto start_sending = [&](clock::time_point now) {
        for (std::size_t i = 0; i < sizes.size(); ++i)
            if (!assoc.send(now, 1, 53, pattern(sizes[i], static_cast<std::uint32_t>(i)))) fail("send ordered");
        send_options u;
        u.unordered = true;
        for (std::uint32_t i = 0; i < 20; ++i) {
            auto p = pattern(64 + i, 1000 + i);
            std::memcpy(p.data(), &i, sizeof i);
            if (!assoc.send(now, 2, 51, p, u)) fail("send unordered");
        }
        current = step::echoes;
    };

    std::vector<std::byte> datagram(65536);
    while (current != step::done && failures == 0) {
        const auto now = clock::now();
        if (now - start > std::chrono::seconds(30)) {
            fail("timeout in step " + std::to_string(static_cast<int>(current)));
            break;
        }
        while (auto p = assoc.poll_transmit())
            ::sendto(fd, p->data(), p->size(), 0, reinterpret_cast<sockaddr*>(&remote), sizeof remote);
        while (auto e = assoc.poll_event()) {
            if (std::holds_alternative<connected_event>(*e)) {
                say("CONNECTED streams out=" + std::to_string(assoc.outbound_streams()) +
                    " in=" + std::to_string(assoc.inbound_streams()) +
                    " forward_tsn=" + std::to_string(assoc.peer_supports_partial_reliability()) +
                    " reconfig=" + std::to_string(assoc.peer_supports_stream_reset()));
                current = step::greeting;
                if (greeted) start_sending(now);
            } else if (auto* m = std::get_if<message_event>(&*e)) {
                if (m->stream == 3) {
                    const std::string text(reinterpret_cast<const char*>(m->data.data()), m->data.size());
                    if (text != "hello from usrsctp" || m->ppid != 51) fail("greeting content");
                    say("GREETING " + text);
                    greeted = true;
                    if (current == step::greeting) start_sending(now);
                } else if (m->stream == 1 && current == step::echoes) {
                    if (m->ppid != 53 || m->unordered || echoes_ordered >= sizes.size() ||
                        m->data != pattern(sizes[echoes_ordered], static_cast<std::uint32_t>(echoes_ordered)))
                        fail("ordered echo " + std::to_string(echoes_ordered));
                    ++echoes_ordered;
                } else if (m->stream == 2) {
                    std::uint32_t i = 0;
                    std::memcpy(&i, m->data.data(), sizeof i);
                    auto expect = pattern(64 + i, 1000 + i);
                    std::memcpy(expect.data(), &i, sizeof i);
                    if (!m->unordered || m->ppid != 51 || m->data != expect) fail("unordered echo");
                    echoes_unordered.insert(i);
                } else if (m->stream == 1 && current == step::after_reset) {
                    if (m->data != pattern(777, 777)) fail("echo after reset");
                    after_reset_echo = true;
                } else {
                    fail("unexpected message on stream " + std::to_string(m->stream));
                }
                if (current == step::echoes && echoes_ordered == sizes.size() && echoes_unordered.size() == 20) {
                    say("ECHOES ok: 6 ordered (up to 200000 bytes), 20 unordered");
                    const std::uint16_t streams[] = {1};
                    if (!assoc.reset_streams(now, streams)) fail("reset_streams");
                    current = step::resetting;
                }
            } else if (auto* r = std::get_if<outgoing_streams_reset_event>(&*e)) {
                if (!r->success) fail("outgoing reset refused");
                say("OUTGOING_RESET done");
                our_reset_done = true;
            } else if (std::holds_alternative<incoming_streams_reset_event>(*e)) {
                say("INCOMING_RESET from usrsctp");
                their_reset_done = true;
            } else if (std::holds_alternative<closed_event>(*e)) {
                say("CLOSED gracefully");
                current = step::done;
            } else if (auto* a = std::get_if<aborted_event>(&*e)) {
                fail("aborted: " + a->reason);
            }
            if (current == step::resetting && our_reset_done && their_reset_done) {
                if (!assoc.send(now, 1, 53, pattern(777, 777))) fail("send after reset");
                current = step::after_reset;
            }
            if (current == step::after_reset && after_reset_echo) {
                say("AFTER_RESET echo ok");
                assoc.shutdown(now);
                current = step::closing;
            }
        }
        while (auto p = assoc.poll_transmit())
            ::sendto(fd, p->data(), p->size(), 0, reinterpret_cast<sockaddr*>(&remote), sizeof remote);
        int wait_ms = 50;
        if (auto t = assoc.poll_timeout()) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*t - clock::now()).count();
            wait_ms = static_cast<int>(std::clamp<long long>(ms, 0, 50));
        }
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, wait_ms) > 0) {
            for (;;) {
                const ssize_t n = ::recv(fd, datagram.data(), datagram.size(), MSG_DONTWAIT);
                if (n <= 0) break;
                auto r = assoc.handle_packet(clock::now(),
                                             peerkit::bytes_view(datagram.data(), static_cast<std::size_t>(n)));
                if (!r) say("dropped packet: " + r.error().message());
            }
        }
        const auto t = clock::now();
        if (auto due = assoc.poll_timeout(); due && *due <= t) assoc.handle_timeout(t);
    }
    const auto& s = assoc.stats();
    say("STATS packets_sent=" + std::to_string(s.packets_sent) + " received=" + std::to_string(s.packets_received) +
        " retransmissions=" + std::to_string(s.retransmissions) + " dropped=" + std::to_string(s.packets_dropped));
    ::close(fd);
    if (failures != 0 || current != step::done) return 1;
    say("PASS");
    return 0;
}
