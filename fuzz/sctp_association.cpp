// Fuzzes an established SCTP association: two associations are connected in memory, then
// the input is read as
//   byte 0                 bit 0 set: I-DATA (RFC 8260) negotiated, clear: DATA
// followed by a script of records, each one of
//   0x00 len16 chunks...   a packet to B with B's verification tag and a correct CRC32c
//                          (so it gets past the checksum and the tag check)
//   0x01 len16 packet...   raw bytes to B, as they are
//   0x02 n                 let n * 7 ms of virtual time pass (timers fire)
//   0x03 n                 A sends a message of n * 97 + 1 bytes (ordered/unordered, PR-SCTP)
//   0x04 n                 A resets stream n % 8, or B shuts down (n == 255), or A aborts (254)
// (the op byte is taken modulo 5) and after each record A and B exchange what they have to
// say. Invariants, checked after every exchange: no crash, bounded memory (the sanitizers and
// libFuzzer's limits), rx_bytes_held within receive_buffer_size on both sides, and B's
// delivered messages never larger than the configured maximum.
// Speed: the pair is built per input (an association cannot be copied or reset), so the set-up
// is kept cheap: the state cookie is signed with a keyed 64-bit hash instead of HMAC-SHA-256
// (hashing is not the machine under test; a COOKIE ECHO with a wrong signature is still
// refused), and each input runs one of the two chunk formats, chosen by its first byte.
#include <peerkit/sctp/association.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

namespace {
using namespace peerkit::sctp;

// A linear congruential generator as a crypto::random_source (reproducible; never fails).
struct lcg_random {
    std::shared_ptr<std::uint64_t> state;
    [[nodiscard]] bool random_bytes(std::span<std::byte> out) const noexcept
    {
        for (auto& b : out) {
            *state = *state * 6364136223846793005ull + 1442695040888963407ull;
            b = static_cast<std::byte>(*state >> 56);
        }
        return true;
    }
};

random_source fixed_random(std::uint64_t seed)
{
    return lcg_random{std::make_shared<std::uint64_t>(seed)};
}

// FNV-1a over key and data, spread over the 32 bytes: deterministic, keyed, cheap.
void cheap_cookie_mac(peerkit::bytes_view key, peerkit::bytes_view data, std::span<std::byte, 32> out)
{
    std::uint64_t h = 1469598103934665603ull;
    for (const auto* part : {&key, &data})
        for (const auto b : *part) h = (h ^ static_cast<std::uint8_t>(b)) * 1099511628211ull;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::byte>(h >> (8 * (i % 8)) ^ (i / 8));
}

association_config small_config()
{
    association_config c;
    c.receive_buffer_size = 256 * 1024;
    c.max_message_size = 64 * 1024;
    c.send_buffer_size = 1024 * 1024;
    c.zero_checksum_edmid = edmid_dtls;
    c.cookie_mac = cheap_cookie_mac;
    return c;
}

void exchange(association& a, association& b, time_point now)
{
    for (int round = 0; round < 16; ++round) {
        bool moved = false;
        while (auto p = a.poll_transmit()) {
            moved = true;
            (void)b.handle_packet(now, *p);
        }
        while (auto p = b.poll_transmit()) {
            moved = true;
            (void)a.handle_packet(now, *p);
        }
        while (auto e = b.poll_event()) {
            if (auto* m = std::get_if<message_event>(&*e)) {
                if (m->data.size() > b.config().max_message_size) std::abort();
            }
        }
        while (a.poll_event()) {
        }
        // The receive side's memory accounting (sctp/rx/): never above its budget.
        for (const association* x : {&a, &b})
            if (x->stats().rx_bytes_held > x->config().receive_buffer_size) std::abort();
        if (!moved) break;
    }
}

// Runs the script against a pair using DATA or I-DATA (RFC 8260).
int run(const std::uint8_t* data, std::size_t size, bool interleaving)
{
    association_config config = small_config();
    config.interleaving = interleaving;
    association a(config, fixed_random(1));
    association b(config, fixed_random(2));
    time_point now = time_point{} + std::chrono::hours(1);
    a.connect(now);
    exchange(a, b, now);
    if (!a.is_established() || !b.is_established()) std::abort();
    (void)a.send(now, 1, 53, std::vector<std::byte>(3000, std::byte{1}));
    exchange(a, b, now);

    std::vector<std::byte> packet;
    std::size_t at = 0;
    while (at < size) {
        const std::uint8_t op = data[at++];
        switch (op % 5) {
        case 0:
        case 1: {
            if (size - at < 2) return 0;
            const std::size_t length = std::min<std::size_t>((std::size_t{data[at]} << 8) | data[at + 1], size - at - 2);
            at += 2;
            const bool raw = op % 5 == 1;
            packet.assign(raw ? 0 : 12, std::byte{0});
            if (!raw) {
                peerkit::detail::store_be16(packet.data(), 5000);
                peerkit::detail::store_be16(packet.data() + 2, 5000);
                peerkit::detail::store_be32(packet.data() + 4, b.local_verification_tag());
            }
            for (std::size_t i = 0; i < length; ++i) packet.push_back(static_cast<std::byte>(data[at + i]));
            at += length;
            if (!raw && packet.size() >= 12) {
                peerkit::sctp::store_checksum(packet.data() + 8, peerkit::sctp::compute_checksum(packet));
            }
            (void)b.handle_packet(now, packet);
            break;
        }
        case 2:
            if (at >= size) return 0;
            now += std::chrono::milliseconds(7 * (1 + data[at++]));
            a.handle_timeout(now);
            b.handle_timeout(now);
            break;
        case 3: {
            if (at >= size) return 0;
            const std::uint8_t n = data[at++];
            send_options o;
            o.unordered = (n & 1) != 0;
            if ((n & 2) != 0) o.max_retransmissions = static_cast<std::uint16_t>(n & 4);
            (void)a.send(now, static_cast<std::uint16_t>(n % 8), 53,
                         std::vector<std::byte>(std::size_t{n} * 97 + 1, std::byte{n}), o);
            break;
        }
        case 4: {
            if (at >= size) return 0;
            const std::uint8_t n = data[at++];
            if (n == 255) {
                b.shutdown(now);
            } else if (n == 254) {
                a.abort(now, "fuzz");
            } else {
                const std::uint16_t stream = static_cast<std::uint16_t>(n % 8);
                (void)a.reset_streams(now, std::span<const std::uint16_t>(&stream, 1));
            }
            break;
        }
        }
        exchange(a, b, now);
    }
    return 0;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    run(data + 1, size - 1, (data[0] & 1) != 0);
    return 0;
}
