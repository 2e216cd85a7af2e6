// Fuzzes SRTP/SRTCP unprotect and the protect/unprotect round trip. The first input byte picks
// the profile (bits 0-1) and RTP or RTCP (bit 2); the rest is the packet. A context with fixed
// keys unprotects it: any outcome but an error must be a prefix of the input that authenticated,
// and a failure must leave the context without received SSRCs. Then, whatever parses as RTP
// (or has an RTCP header) is protected by a sender with the same keys and unprotected again,
// which must give back the exact bytes. The seeds (corpus/srtp_unprotect/) are packets that
// libsrtp protected with these keys (python3-pylibsrtp) and plain packets.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/rtp.hpp>
#include <peerkit/srtp.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace peerkit;

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "srtp_unprotect fuzz: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what)
{
    if (!ok) fail(what);
}

using context = srtp::context<crypto::openssl_provider>;

constexpr srtp::srtp_profile profiles[] = {srtp::srtp_profile::aes128_cm_sha1_80,
                                           srtp::srtp_profile::aes128_cm_sha1_32,
                                           srtp::srtp_profile::aead_aes_128_gcm,
                                           srtp::srtp_profile::aead_aes_256_gcm};

// Master key 01 02 03 ..., master salt a0 a1 a2 ... (both directions).
context make_context(srtp::srtp_profile profile)
{
    const auto params = *srtp::parameters(profile);
    std::array<std::byte, 32> key{};
    std::array<std::byte, 14> salt{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(i + 1);
    for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::byte>(0xa0 + i);
    const srtp::master_key master{bytes_view(key).first(params.master_key), bytes_view(salt).first(params.master_salt)};
    srtp::config cfg;
    cfg.max_ssrcs = 4;
    auto c = context::make(crypto::openssl_provider{}, profile, master, master, cfg);
    if (!c) fail("context setup failed");
    return std::move(*c);
}

bool same(bytes_view a, bytes_view b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const srtp::srtp_profile profile = profiles[data[0] & 3u];
    const bool rtcp = (data[0] & 4u) != 0;
    const bytes_view input{reinterpret_cast<const std::byte*>(data + 1), size - 1};

    // 1. Unprotect arbitrary bytes in place.
    auto receiver = make_context(profile);
    const std::size_t state = receiver.state_bytes();
    std::vector<std::byte> buffer(input.begin(), input.end());
    auto r = rtcp ? receiver.unprotect_rtcp(buffer) : receiver.unprotect_rtp(buffer);
    if (r) {
        require(r->data() == buffer.data() && r->size() <= buffer.size(), "the plaintext is not a prefix");
        require(receiver.stats().received_ssrcs == 1, "an authenticated packet did not enter its SSRC");
    } else {
        require(receiver.stats().received_ssrcs == 0, "a refused packet entered an SSRC");
        require(receiver.stats().rejected == 1, "a refusal was not counted");
    }
    require(receiver.state_bytes() == state, "the state grew");
    require(receiver.stats().crypto_bytes <= input.size(), "more crypto work than input bytes");

    // 2. Round trip of what protect accepts.
    const bool protectable = rtcp ? input.size() >= 8 && (std::to_integer<unsigned>(input[0]) >> 6) == 2
                                  : rtp::packet_view::parse(input).has_value();
    if (!protectable) return 0;
    auto sender = make_context(profile);
    auto fresh = make_context(profile);
    std::vector<std::byte> packet(input.begin(), input.end());
    packet.resize(input.size() + (rtcp ? sender.rtcp_overhead() : sender.rtp_overhead()));
    auto p = rtcp ? sender.protect_rtcp(packet, input.size()) : sender.protect_rtp(packet, input.size());
    require(p.has_value(), "protect refused a packet that parses");
    require(*p == packet.size(), "protected length is not the packet plus the overhead");
    auto back = rtcp ? fresh.unprotect_rtcp(packet) : fresh.unprotect_rtp(packet);
    require(back.has_value(), "our own protected packet did not unprotect");
    require(same(*back, input), "the round trip changed the packet");
    return 0;
}
