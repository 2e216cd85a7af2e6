// An ICE peer for interop tests: peerkit's agent with its TURN relays (ice::transport) on one real UDP socket on 127.0.0.1, with
// credentials and candidates exchanged as lines on stdin/stdout.
//
//   ice_peer --role controlling|controlled [--turn 127.0.0.1:3478 --turn-user U --turn-pass P]
//            [--relay-only] [--timeout SECONDS]
// stdout: "ufrag X", "pwd X", "candidate candidate:...", "end-of-candidates", "state S",
//         "selected LOCAL-TYPE LOCAL -> REMOTE-TYPE REMOTE", "data TEXT", "error TEXT"
// stdin:  "remote-ufrag X", "remote-pwd X", "candidate ...", "end-of-candidates", "send TEXT",
//         "quit"
// Received data that does not start with "echo:" is sent back prefixed with "echo:".
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/ice.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

using namespace peerkit;
using steady = std::chrono::steady_clock;

namespace {

void say(const std::string& line)
{
    std::cout << line << '\n' << std::flush;
}

net::endpoint from_sockaddr(const sockaddr_in& sa)
{
    return net::endpoint{net::ip_address::v4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port)};
}

sockaddr_in to_sockaddr(const net::endpoint& e)
{
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(e.port());
    sa.sin_addr.s_addr = htonl(e.address().to_v4_uint());
    return sa;
}

}  // namespace

int main(int argc, char** argv)
{
    ice::agent_config config;
    config.gathering.include_loopback = true;  // the test runs on loopback only
    int timeout_seconds = 30;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--role") {
            config.role = next() == "controlling" ? ice::role::controlling : ice::role::controlled;
        } else if (arg == "--turn") {
            auto e = net::endpoint::parse(next());
            if (!e) {
                say("error bad --turn address");
                return 2;
            }
            config.turn_servers.push_back({*e, "", ""});
        } else if (arg == "--turn-user") {
            if (!config.turn_servers.empty()) config.turn_servers.back().username = next();
        } else if (arg == "--turn-pass") {
            if (!config.turn_servers.empty()) config.turn_servers.back().password = next();
        } else if (arg == "--relay-only") {
            config.policy = ice::transport_policy::relay;
        } else if (arg == "--timeout") {
            timeout_seconds = std::stoi(next());
        }
    }

    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in bind_addr{};
    bind_addr.sin_family = AF_INET;
    bind_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
        say("error cannot bind a UDP socket on 127.0.0.1");
        return 2;
    }
    sockaddr_in bound{};
    socklen_t bound_len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);

    // The agent with its TURN relays beside it (ice/transport.hpp); `agent` answers ICE questions.
    ice::transport<crypto::openssl_provider> ice{config};
    auto& agent = ice.agent();
    say("ufrag " + std::string(agent.local_ufrag()));
    say("pwd " + std::string(agent.local_pwd()));
    const ice::local_socket sock{1, from_sockaddr(bound), "lo", true};
    ice.gather(steady::now(), std::span(&sock, 1));

    std::string remote_ufrag, remote_pwd, input;
    const auto deadline = steady::now() + std::chrono::seconds(timeout_seconds);
    bool running = true;
    std::array<std::byte, 65536> buffer{};

    auto flush = [&] {
        while (auto t = ice.poll_transmit()) {
            const sockaddr_in to = to_sockaddr(t->destination);
            ::sendto(fd, t->payload.data(), t->payload.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
        }
        while (auto e = ice.poll_event()) {
            if (auto* c = std::get_if<ice::candidate_gathered>(&*e)) {
                say("candidate candidate:" + c->sdp);
            } else if (auto* g = std::get_if<ice::gathering_state_changed>(&*e)) {
                if (g->state == ice::gathering_state::complete) say("end-of-candidates");
            } else if (auto* s = std::get_if<ice::connection_state_changed>(&*e)) {
                say("state " + std::string(ice::to_string(s->state)));
            } else if (auto* p = std::get_if<ice::selected_pair_changed>(&*e)) {
                say("selected " + std::string(ice::to_string(p->local.type)) + " " + p->local.address.to_string() +
                    " -> " + std::string(ice::to_string(p->remote.type)) + " " + p->remote.address.to_string());
            } else if (auto* d = std::get_if<ice::data_received>(&*e)) {
                const std::string text(as_string_view(d->payload));
                say("data " + text);
                if (!text.starts_with("echo:")) {
                    const std::string reply = "echo:" + text;
                    (void)ice.send(steady::now(), as_bytes(reply));
                }
            }
        }
    };

    auto handle_line = [&](std::string_view line) {
        const auto now = steady::now();
        if (line.starts_with("remote-ufrag ")) remote_ufrag = line.substr(13);
        else if (line.starts_with("remote-pwd ")) remote_pwd = line.substr(11);
        else if (line.starts_with("candidate ")) {
            auto r = agent.add_remote_candidate(now, line.substr(10));
            if (!r) say("error " + std::string(r.error().message()));
        } else if (line == "end-of-candidates") {
            agent.end_of_remote_candidates(now);
        } else if (line.starts_with("send ")) {
            auto r = ice.send(now, as_bytes(line.substr(5)));
            if (!r) say("error " + std::string(r.error().message()));
        } else if (line == "quit") {
            running = false;
        }
        if (!remote_ufrag.empty() && !remote_pwd.empty()) {
            auto r = agent.set_remote_credentials(remote_ufrag, remote_pwd);
            if (!r) say("error " + std::string(r.error().message()));
        }
    };

    flush();
    while (running && steady::now() < deadline) {
        int wait_ms = 200;
        if (auto t = ice.poll_timeout()) {
            const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*t - steady::now()).count();
            wait_ms = static_cast<int>(std::clamp<long long>(ms + 1, 0, 200));
        }
        std::array<pollfd, 2> fds{{{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}}};
        ::poll(fds.data(), fds.size(), wait_ms);
        if ((fds[0].revents & POLLIN) != 0) {
            sockaddr_in from{};
            socklen_t from_len = sizeof from;
            const auto n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n > 0)
                ice.handle_packet(steady::now(), 1, from_sockaddr(from),
                                    bytes_view(buffer.data(), static_cast<std::size_t>(n)));
        }
        if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) {
            char chunk[4096];
            const auto n = ::read(STDIN_FILENO, chunk, sizeof chunk);
            if (n <= 0) {
                running = false;
            } else {
                input.append(chunk, static_cast<std::size_t>(n));
                for (auto pos = input.find('\n'); pos != std::string::npos; pos = input.find('\n')) {
                    std::string line = input.substr(0, pos);
                    input.erase(0, pos + 1);
                    if (!line.empty() && line.back() == '\r') line.pop_back();
                    handle_line(line);
                }
            }
        }
        if (auto t = ice.poll_timeout(); t && *t <= steady::now()) ice.handle_timeout(steady::now());
        flush();
    }
    ice.close(steady::now());
    flush();
    ::close(fd);
    return 0;
}
