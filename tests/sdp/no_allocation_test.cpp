// The view parser and the candidate codec allocate nothing: counted, not assumed. This file
// replaces the global operator new of test_sdp with one that counts.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>

namespace {
std::atomic<std::size_t> allocations{0};
}

// g++ 12 flags free() in a replaced operator delete as mismatched with the replaced operator
// new (which calls malloc): a false positive for replacement functions.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size)
{
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace sdp = peerkit::sdp;

TEST_CASE("no allocation: parse_view, typed reads and parse_candidate")
{
    for (const auto& e : std::filesystem::directory_iterator(PEERKIT_TEST_DATA_DIR "/sdp")) {
        std::ifstream in(e.path(), std::ios::binary);
        std::string text(static_cast<std::size_t>(std::filesystem::file_size(e.path())), '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        INFO(e.path().filename().string());

        const auto before = allocations.load();
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
        const auto after = allocations.load();
        REQUIRE(v);
        CHECK(c);
        CHECK(seen > 0);
        CHECK(after == before);
    }
    // The counter works: the owning parser does allocate.
    const auto before = allocations.load();
    auto d = sdp::session_description::parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=a session name longer than SSO\r\nt=0 0\r\n");
    REQUIRE(d);
    CHECK(allocations.load() > before);
}
