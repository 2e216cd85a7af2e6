// Fuzz target: a running ICE agent fed arbitrary datagrams, candidate lines, timer jumps, and
// correctly signed checks and responses whose contents the fuzzer chooses (so the paths behind
// MESSAGE-INTEGRITY are reached too). Invariants: no crash, no unbounded growth.
//
// Input: a sequence of records [op:1][len:1][len bytes].
//   op % 6 == 0  datagram from a peer address chosen by the first byte
//   op % 6 == 1  a candidate line ("candidate:" + bytes)
//   op % 6 == 2  time advances by len * 37 ms
//   op % 6 == 3  a signed Binding request with fuzzed PRIORITY/role/USE-CANDIDATE/source
//   op % 6 == 4  a signed success answering the agent's last request, mapped address fuzzed
//   op % 6 == 5  application data through send()
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/ice.hpp>
#include <peerkit/log.hpp>
#include <peerkit/stun/builder.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace peerkit;

namespace {

using clock_type = std::chrono::steady_clock;

net::endpoint peer_address(std::uint8_t b)
{
    return net::endpoint{net::ip_address::v4(10, 0, static_cast<std::uint8_t>(b & 3u), static_cast<std::uint8_t>(1 + (b >> 2))),
                         static_cast<std::uint16_t>(9000 + (b & 7u))};
}

void require(bool ok)
{
    if (!ok) std::abort();
}

// Every log line is formatted (trace level), so the logging paths run on hostile input too; the
// sink only checks that a line stays within the logger's capacity.
void measuring_sink(void*, log::level, log::component, std::string_view message) noexcept
{
    if (message.size() > log::logger::line_capacity) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const crypto::openssl_provider provider;
    static const std::string peer_ufrag = "FUZZ", peer_pwd = "fuzzpasswordfuzzpassword";
    const auto bytes = std::as_bytes(std::span(data, size));

    ice::agent_config config;
    config.role = (size > 0 && (data[0] & 1u)) ? ice::role::controlling : ice::role::controlled;
    config.gathering.include_loopback = true;
    config.max_remote_candidates = 16;
    config.max_pairs = 24;
    config.logger = log::logger{&measuring_sink, nullptr, log::levels::all(log::level::trace)};
    ice::agent<crypto::openssl_provider> agent{config};
    auto now = clock_type::time_point{} + std::chrono::hours(1);
    const ice::local_socket sockets[] = {{1, *net::endpoint::parse("10.0.0.100:5000"), "eth0", false},
                                         {2, *net::endpoint::parse("127.0.0.1:5001"), "lo", true}};
    agent.gather(now, sockets);
    require(agent.set_remote_credentials(peer_ufrag, peer_pwd).has_value());

    std::optional<ice::transmit> last_request;
    std::size_t pos = 1;
    std::uint8_t counter = 0;
    while (pos + 2 <= size) {
        const std::uint8_t op = data[pos];
        const std::size_t len = std::min<std::size_t>(data[pos + 1], size - pos - 2);
        const auto payload = bytes.subspan(pos + 2, len);
        pos += 2 + len;
        const std::uint8_t first = len > 0 ? data[pos - len] : 0;
        switch (op % 6) {
        case 0:
            agent.handle_packet(now, (first & 0x80u) ? 2u : 1u, peer_address(first), payload);
            break;
        case 1:
            (void)agent.add_remote_candidate(now, std::string("candidate:") + std::string(as_string_view(payload)));
            break;
        case 2:
            now += std::chrono::milliseconds(37 * static_cast<long>(len));
            agent.handle_timeout(now);
            break;
        case 3: {
            std::array<std::byte, 256> buf{};
            stun::transaction_id id{};
            id.bytes[0] = std::byte{++counter};
            stun::message_builder b{buf, stun::binding_request, id};
            b.add(stun::username{std::string(agent.local_ufrag()) + ":" + peer_ufrag});
            std::uint32_t prio = 0;
            for (std::size_t i = 0; i < std::min<std::size_t>(4, len); ++i)
                prio = (prio << 8) | std::to_integer<std::uint32_t>(payload[i]);
            if (!(first & 1u)) b.add(stun::priority{prio});
            if (first & 2u) b.add(stun::use_candidate{});
            if (first & 4u) b.add(stun::ice_controlling{prio});
            if (first & 8u) b.add(stun::ice_controlled{~std::uint64_t{prio}});
            b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(agent.local_pwd())));
            b.add_fingerprint();
            if (auto m = b.finish()) agent.handle_packet(now, (first & 0x80u) ? 2u : 1u, peer_address(first >> 1), *m);
            break;
        }
        case 4: {
            if (!last_request) break;
            auto req = stun::message_view::parse(last_request->payload);
            if (!req || !req->is_request()) break;
            std::array<std::byte, 256> buf{};
            const bool error = (first & 1u) != 0;
            stun::message_builder b{buf, error ? stun::binding_error : stun::binding_success, req->id()};
            if (error)
                b.add(stun::error_code{(first & 2u) ? 487 : 400 + (first & 63), "x"});
            else
                b.add(stun::xor_mapped_address{(first & 2u) ? peer_address(first) : *net::endpoint::parse("10.0.0.100:5000")});
            b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(peer_pwd)));
            b.add_fingerprint();
            const auto from = (first & 4u) ? peer_address(first) : last_request->destination;
            if (auto m = b.finish()) agent.handle_packet(now, last_request->socket, from, *m);
            break;
        }
        case 5:
            (void)agent.send(now, payload);
            break;
        }
        if (auto t = agent.poll_timeout(); t && *t <= now) agent.handle_timeout(now);
        while (auto t = agent.poll_transmit()) {
            auto m = stun::message_view::parse(t->payload);
            if (m && m->is_request()) last_request = std::move(*t);
        }
        while (agent.poll_event()) {
        }
        require(agent.remote_candidate_count() <= config.max_remote_candidates);
        require(agent.pair_count() <= config.max_pairs + 8);
        require(agent.in_flight() <= config.max_in_flight + 4);
    }
    agent.close(now);
    return 0;
}
