// libsrtp (Debian python3-pylibsrtp 0.8.0, libsrtp 2.5) as the oracle: what it protected
// (pylibsrtp_vectors.hpp, made by make_pylibsrtp_vectors.py) unprotects here to the exact
// plaintext, and our protect reproduces its bytes exactly, for all four profiles: several
// SSRCs, a sequence-number rollover with a late packet from before it, header extensions,
// CSRCs, padding and SRTCP.
#include "pylibsrtp_vectors.hpp"
#include "srtp_test_util.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <vector>

using namespace peerkit;
using namespace srtp_test;

namespace {

context oracle_context(const test::pylibsrtp::profile_vectors& v)
{
    const auto key = bytes_of(v.master_key);
    const auto salt = bytes_of(v.master_salt);
    auto c = context::make(crypto::openssl_provider{}, v.profile, srtp::master_key{key, salt},
                           srtp::master_key{key, salt});
    REQUIRE(c);
    return std::move(*c);
}

}  // namespace

TEST_CASE("srtp: libsrtp's packets unprotect to the plaintext", "[srtp][pylibsrtp]")
{
    for (const auto& v : test::pylibsrtp::vectors()) {
        INFO(dtls::to_string(v.profile));
        auto c = oracle_context(v);
        std::size_t n = 0;
        for (const auto& p : v.packets) {
            INFO("packet " << n++);
            auto buffer = bytes_of(p.protected_);
            auto plain = p.rtcp ? c.unprotect_rtcp(buffer) : c.unprotect_rtp(buffer);
            REQUIRE(plain);
            CHECK(to_hex(*plain) == to_hex(bytes_of(p.plain)));
        }
        // Every packet once more: all replays now.
        for (const auto& p : v.packets) {
            auto buffer = bytes_of(p.protected_);
            auto again = p.rtcp ? c.unprotect_rtcp(buffer) : c.unprotect_rtp(buffer);
            REQUIRE_FALSE(again);
            CHECK(again.error() == srtp::errc::replayed);
        }
        CHECK(c.stats().received_ssrcs == 3);
    }
}

TEST_CASE("srtp: our protect reproduces libsrtp's bytes", "[srtp][pylibsrtp]")
{
    for (const auto& v : test::pylibsrtp::vectors()) {
        INFO(dtls::to_string(v.profile));
        auto c = oracle_context(v);
        std::set<std::uint32_t> rtcp_started;
        std::size_t n = 0;
        for (const auto& p : v.packets) {
            INFO("packet " << n++);
            const auto plain = bytes_of(p.plain);
            if (p.rtcp) {
                // libsrtp's first SRTCP index is 1, ours 0 (RFC 3711 3.4): burn 0 once per SSRC.
                const auto ssrc = detail::load_be32(plain.data() + 4);
                if (rtcp_started.insert(ssrc).second) (void)protect_rtcp(c, plain);
                CHECK(to_hex(protect_rtcp(c, plain)) == to_hex(bytes_of(p.protected_)));
            } else {
                CHECK(to_hex(protect_rtp(c, plain)) == to_hex(bytes_of(p.protected_)));
            }
        }
    }
}
