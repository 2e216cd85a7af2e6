// The view parser and the candidate codec allocate nothing: counted, not assumed. This file
// replaces the global operator new of test_sdp with one that counts (tests/common/counting_new.hpp).
#include <peerkit/sdp.hpp>

#include "../common/counting_new.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>


namespace sdp = peerkit::sdp;

TEST_CASE("no allocation: parse_view, typed reads and parse_candidate")
{
    for (const auto& e : std::filesystem::directory_iterator(PEERKIT_TEST_DATA_DIR "/sdp")) {
        std::ifstream in(e.path(), std::ios::binary);
        std::string text(static_cast<std::size_t>(std::filesystem::file_size(e.path())), '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        INFO(e.path().filename().string());

        peerkit_test::allocation_window window;
        auto v = sdp::parse_view(text);
        std::size_t seen = 0;
        if (v) {
            if (auto g = v->bundle_group()) seen += g->mids.size();
            for (const auto& m : v->media()) {
                seen += m.ice_ufrag().has_value() ? 1u : 0u;
                for (const auto& f : m.fingerprints()) seen += f.size;
                for (const auto& r : m.rtpmaps()) seen += r.clock_rate;
                for (const auto& f : m.fmtps()) for (const auto& p : f.parameter_items()) seen += p.key.size();
                for (const auto& c : m.candidates()) {
                    seen += c.port;
                    for (const auto& x : c.extensions()) seen += x.value.size();
                }
                seen += m.extmaps().size() + m.ssrcs().size() + m.rids().size() + m.rtcp_fbs().size();
            }
        }
        auto bad = sdp::parse_view(std::string_view(text).substr(0, text.size() / 2));  // errors too
        (void)bad;
        auto c = sdp::parse_candidate("candidate:1 1 udp 2122194687 192.0.2.1 51586 typ srflx raddr 0.0.0.0 rport 0 generation 0");
        const std::uint64_t allocated = window.count();
        REQUIRE(v);
        CHECK(c);
        CHECK(seen > 0);
        CHECK(allocated == 0);
    }
    // The counter works: the owning parser does allocate.
    peerkit_test::allocation_window window;
    auto d = sdp::session_description::parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=a session name longer than SSO\r\nt=0 0\r\n");
    REQUIRE(d);
    CHECK(window.count() > 0);
}
