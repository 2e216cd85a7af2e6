// Fuzzes the TURN client (RFC 8656) with what an unauthenticated server or an attacker on the
// path can send it. The input is a sequence of records [kind (1)] [length (1)] [bytes...]:
//   kind % 4 == 0  a STUN message whose transaction id is replaced by that of the client's last
//                  request, so that it is matched (error responses drive the 401/438 retry
//                  dance: REALM, NONCE, PASSWORD-ALGORITHMS; unsigned success responses must
//                  be refused);
//   kind % 4 == 1  a datagram as is (ChannelData, Data indications, garbage);
//   kind % 4 == 2  time moves on by bytes[0] * 10 ms and the client's timers run;
//   kind % 4 == 3  the user asks for a permission, a channel or a send to a peer from the bytes.
// Invariants: the configured limits hold, nothing is allocated on an unsigned response, and
// the output queue stays bounded.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/log.hpp>
#include <peerkit/turn.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace peerkit;

namespace {
void check(bool ok)
{
    if (!ok) __builtin_trap();
}

// Every log line is formatted (trace level), so the logging paths run on hostile input too; the
// sink only checks that a line stays within the logger's capacity.
void measuring_sink(void*, log::level, log::component, std::string_view message) noexcept
{
    check(message.size() <= log::logger::line_capacity);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    turn::client_config config;
    config.server = *net::endpoint::parse("192.0.2.1:3478");
    config.username = "user";
    config.password = "secret";
    config.max_permissions = 4;
    config.max_channels = 4;
    config.max_pending_sends = 4;
    config.max_queued = 16;
    config.logger = log::logger{&measuring_sink, nullptr, log::levels::all(log::level::trace)};
    turn::client<crypto::openssl_provider> client(config);

    turn::time_point now{std::chrono::seconds(1000)};
    client.allocate(now);
    std::array<std::byte, 12> last_transaction{};
    std::size_t queued = 0;
    auto drain = [&] {
        queued = 0;
        while (auto t = client.poll_transmit()) {
            ++queued;
            // A STUN request (RFC 8489 5): remember its transaction id for the next response.
            if (t->size() >= 20 && (std::to_integer<unsigned>((*t)[0]) & 0xC0u) == 0)
                std::memcpy(last_transaction.data(), t->data() + 8, last_transaction.size());
        }
        while (auto e = client.poll_event()) {
            // Only a response signed with the long-term key allocates; the fuzzer cannot sign.
            check(!std::holds_alternative<turn::allocated>(*e));
        }
        check(client.permission_count() <= config.max_permissions);
        check(client.channel_count() <= config.max_channels);
    };
    drain();

    std::size_t at = 0;
    while (size - at >= 2) {
        const unsigned kind = data[at] % 4u;
        const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
        std::vector<std::byte> bytes(length);
        if (length != 0) std::memcpy(bytes.data(), data + at + 2, length);
        at += 2 + length;
        switch (kind) {
        case 0:
            if (bytes.size() >= 20) std::memcpy(bytes.data() + 8, last_transaction.data(), last_transaction.size());
            client.handle_packet(now, bytes);
            break;
        case 1: client.handle_packet(now, bytes); break;
        case 2:
            now += std::chrono::milliseconds(10) * (bytes.empty() ? 1 : std::to_integer<unsigned>(bytes[0]));
            client.handle_timeout(now);
            break;
        default: {
            const auto octet = static_cast<std::uint8_t>(bytes.empty() ? 1 : std::to_integer<unsigned>(bytes[0]));
            const auto peer = *net::endpoint::parse("198.51.100." + std::to_string(octet % 8) + ":5000");
            switch (octet >> 6) {
            case 0: client.create_permission(now, peer.address()); break;
            case 1: client.bind_channel(now, peer); break;
            default: client.send_to(now, peer, bytes); break;
            }
            break;
        }
        }
        drain();
        check(queued <= config.max_queued);
    }
    client.close(now);
    drain();
    return 0;
}
