// Peer connection set-up time and idle memory (docs/performance.md, "## Peer connection";
// issue 7's bench/ paragraph). Two peerkit::peer_connection objects in this process, one
// io_context thread, real UDP sockets on 127.0.0.1, the in-memory signaling pair carrying the
// browser's JSON with trickled candidates (as examples/loopback-demo.cpp).
//
//   pc_setup_bench [--connections N] [--memory K] [--idle-ms MS]
//
// 1. Memory (first, so that heap freed by the set-up loop does not hide RSS growth): after one
//    warm-up pair (one-time initialisation: OpenSSL providers, error strings), K pairs are
//    connected and left open, the io_context runs idle for --idle-ms, and the growth of the heap
//    in use (glibc mallinfo2: uordblks + hblkhd, so OpenSSL's malloc is included), of OpenSSL's
//    own share (CRYPTO_set_mem_functions, live bytes by malloc_usable_size) and of VmRSS is
//    divided by 2K: per peer connection. Kernel socket buffers are not process memory and are
//    not in these figures. Then the K pairs are closed.
// 2. Set-up: N pairs in a row, each closed (both sides, sockets shut) before the next. Per pair
//    the time from the offer (the implicit set_local_description) to channel_open on both
//    sides, split at the answerer's ICE "connected" and its connection "connected" (DTLS
//    done), the rest being SCTP INIT/COOKIE + DCEP. Median, p90, p99 and max are printed, and
//    the 5 slowest pairs with their split, so that a stack waiting on a 1 s retransmission
//    timer stands out; and whether the slow pairs saw this process preempted (getrusage
//    involuntary context switches), which tells a loaded machine from a timer.
// It reports; nothing is asserted on time. A pair that fails or takes over 10 s is an error
// (exit 1).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/signaling/memory.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <malloc.h>
#include <openssl/crypto.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bnet = boost::asio;
using namespace peerkit;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// --- OpenSSL's live heap bytes ---------------------------------------------------------------
std::atomic<long long> openssl_live{0};

void* tracking_malloc(std::size_t size, const char*, int)
{
    void* p = std::malloc(size);
    if (p) openssl_live += static_cast<long long>(malloc_usable_size(p));
    return p;
}
void* tracking_realloc(void* old, std::size_t size, const char*, int)
{
    const auto before = old ? static_cast<long long>(malloc_usable_size(old)) : 0;
    void* p = std::realloc(old, size);
    if (p) openssl_live += static_cast<long long>(malloc_usable_size(p)) - before;
    else if (size == 0) openssl_live -= before;
    return p;
}
void tracking_free(void* p, const char*, int)
{
    if (p) openssl_live -= static_cast<long long>(malloc_usable_size(p));
    std::free(p);
}

struct memory_sample {
    long long heap = 0;     // bytes in use from malloc: small chunks + mmapped chunks
    long long openssl = 0;  // of which OpenSSL's
    long long rss = 0;      // VmRSS
};

long long vm_rss_bytes()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;
    return 0;
}

memory_sample sample_memory()
{
    malloc_trim(0);  // give back what glibc would keep only as cache, so RSS shows what is live
    const struct mallinfo2 mi = mallinfo2();
    return {static_cast<long long>(mi.uordblks + mi.hblkhd), openssl_live.load(), vm_rss_bytes()};
}

// --- one pair of connected peer connections -------------------------------------------------
struct end {
    std::optional<peer_connection> pc;
    signaling::memory_transport* sig = nullptr;
    std::optional<clock_type::time_point> ice_connected, connected, opened;
    bool failed = false;
    int loops = 0;  // signaling loop running
};

struct pair_state {
    std::optional<std::pair<signaling::memory_transport, signaling::memory_transport>> sigs;
    end a, b;  // a offers
    clock_type::time_point offered{};
};

peer_connection::event_handler make_handler(end& e)
{
    return [&e](peerkit::peer_connection_event ev) {
        if (auto* c = std::get_if<peerkit::ice_candidate_event>(&ev)) {
            (void)e.sig->send(to_signaling(c->candidate));
        } else if (auto* is = std::get_if<peerkit::ice_connection_state_change_event>(&ev)) {
            if (is->state == peerkit::ice_connection_state::connected && !e.ice_connected) e.ice_connected = clock_type::now();
        } else if (auto* cs = std::get_if<peerkit::connection_state_change_event>(&ev)) {
            if (cs->state == peerkit::connection_state::connected && !e.connected) e.connected = clock_type::now();
            if (cs->state == peerkit::connection_state::failed) e.failed = true;
        } else if (std::get_if<peerkit::channel_open_event>(&ev)) {
            if (!e.opened) e.opened = clock_type::now();
        }
    };
}

bnet::awaitable<void> signaling_loop(end& e, bool answerer)
{
    ++e.loops;
    for (;;) {
        auto m = co_await e.sig->async_receive(bnet::use_awaitable);
        if (!m) break;  // closed
        if (auto* d = std::get_if<signaling::session_description>(&*m)) {
            const auto desc = to_rtc(*d);
            auto r = co_await e.pc->async_set_remote_description(desc, bnet::use_awaitable);
            if (!r) {
                std::fprintf(stderr, "set_remote_description: %s\n", r.error().message().c_str());
                e.failed = true;
                break;
            }
            if (answerer) {
                auto answer = co_await e.pc->async_set_local_description(bnet::use_awaitable);
                if (!answer) {
                    e.failed = true;
                    break;
                }
                (void)e.sig->send(to_signaling(*answer));
            }
        } else if (auto* c = std::get_if<signaling::ice_candidate>(&*m)) {
            const auto cand = to_rtc(*c);
            (void)co_await e.pc->async_add_ice_candidate(cand, bnet::use_awaitable);
        }
    }
    --e.loops;
}

bnet::awaitable<void> pause(std::chrono::milliseconds d)
{
    bnet::steady_timer timer(co_await bnet::this_coro::executor, d);
    co_await timer.async_wait(bnet::use_awaitable);
}

// Creates both peer connections and starts their signaling; the caller then offers.
bool create_pair(bnet::io_context& io, pair_state& p)
{
    p.sigs.emplace(signaling::make_memory_pair(bnet::any_io_executor(io.get_executor())));
    p.a.sig = &p.sigs->first;
    p.b.sig = &p.sigs->second;
    peer_connection::configuration config;
    config.include_loopback = true;
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto a = peer_connection::create(io.get_executor(), config, make_handler(p.a), options);
    auto b = peer_connection::create(io.get_executor(), config, make_handler(p.b), options);
    if (!a || !b) {
        std::fprintf(stderr, "create: %s\n", (!a ? a.error() : b.error()).message().c_str());
        return false;
    }
    p.a.pc.emplace(std::move(*a));
    p.b.pc.emplace(std::move(*b));
    bnet::co_spawn(io, signaling_loop(p.b, true), bnet::detached);
    bnet::co_spawn(io, signaling_loop(p.a, false), bnet::detached);
    return true;
}

// Offers and waits (polling every 1 ms; the times themselves come from the events) until the
// channel is open on both sides. False on failure or after 10 s.
bnet::awaitable<bool> connect_pair(pair_state& p)
{
    const peerkit::data_channel_init init{};  // named: g++ 12 and temporaries in co_await'ed calls
    auto ch = co_await p.a.pc->async_create_data_channel("bench", init, bnet::use_awaitable);
    if (!ch) co_return false;
    p.offered = clock_type::now();
    auto offer = co_await p.a.pc->async_set_local_description(bnet::use_awaitable);
    if (!offer || !p.a.sig->send(to_signaling(*offer))) co_return false;
    const auto deadline = p.offered + 10s;
    while (!(p.a.opened && p.b.opened)) {
        if (p.a.failed || p.b.failed || clock_type::now() > deadline) co_return false;
        co_await pause(1ms);
    }
    co_return true;
}

// close() on both sides, sockets shut, signaling closed; returns once both signaling loops
// have left, so that the pair can be destroyed.
bnet::awaitable<void> close_pair(pair_state& p)
{
    co_await p.a.pc->async_close(bnet::use_awaitable);
    co_await p.b.pc->async_close(bnet::use_awaitable);
    p.a.pc->shutdown();
    p.b.pc->shutdown();
    p.a.sig->close();
    p.b.sig->close();
    while (p.a.loops > 0 || p.b.loops > 0) co_await pause(1ms);
}

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct timing {
    // offer -> both open, split at the answerer's ICE "connected" and its connection "connected"
    double total, ice, dtls, rest;
    std::size_t index;
    long preempted;  // involuntary context switches of this process during the pair
};

long involuntary_switches()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nivcsw;
}

double percentile(const std::vector<double>& sorted, double q)
{
    if (sorted.empty()) return 0;
    const auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

bnet::awaitable<int> memory_phase(bnet::io_context& io, std::size_t k, std::chrono::milliseconds idle)
{
    {
        pair_state warm;
        if (!create_pair(io, warm) || !co_await connect_pair(warm)) co_return 1;
        co_await close_pair(warm);
    }
    co_await pause(50ms);
    const memory_sample before = sample_memory();
    std::vector<std::unique_ptr<pair_state>> pairs;
    for (std::size_t i = 0; i < k; ++i) {
        pairs.push_back(std::make_unique<pair_state>());
        if (!create_pair(io, *pairs.back()) || !co_await connect_pair(*pairs.back())) {
            std::fprintf(stderr, "memory: pair %zu did not connect\n", i);
            co_return 1;
        }
    }
    co_await pause(idle);
    const memory_sample after = sample_memory();
    const double n = 2.0 * static_cast<double>(k);
    std::printf("memory: %zu connected pairs (%zu peer connections) idle for %lld ms\n", k, 2 * k,
                static_cast<long long>(idle.count()));
    std::printf("  heap in use (mallinfo2)   %10.1f KiB per peer connection (%lld -> %lld bytes)\n",
                static_cast<double>(after.heap - before.heap) / n / 1024, before.heap, after.heap);
    std::printf("    of which OpenSSL        %10.1f KiB per peer connection\n",
                static_cast<double>(after.openssl - before.openssl) / n / 1024);
    std::printf("  RSS growth (VmRSS)        %10.1f KiB per peer connection (%lld -> %lld KiB)\n",
                static_cast<double>(after.rss - before.rss) / n / 1024, before.rss / 1024, after.rss / 1024);
    std::fflush(stdout);
    for (auto& p : pairs) co_await close_pair(*p);
    co_return 0;
}

bnet::awaitable<int> setup_phase(bnet::io_context& io, std::size_t n)
{
    std::vector<timing> t;
    t.reserve(n);
    const auto started = clock_type::now();
    for (std::size_t i = 0; i < n; ++i) {
        pair_state p;
        const long switches = involuntary_switches();
        if (!create_pair(io, p)) co_return 1;
        const bool ok = co_await connect_pair(p);
        if (!ok) {
            std::fprintf(stderr, "set-up: pair %zu did not open (%s)\n", i,
                         p.a.failed || p.b.failed ? "connection failed" : "10 s without both channels open");
            co_await close_pair(p);
            co_return 1;
        }
        const auto both = std::max(*p.a.opened, *p.b.opened);
        const auto conn = p.b.connected.value_or(both);
        const auto ice_conn = p.b.ice_connected.value_or(conn);
        t.push_back({ms(both - p.offered), ms(ice_conn - p.offered), ms(conn - ice_conn), ms(both - conn), i,
                     involuntary_switches() - switches});
        co_await close_pair(p);
    }
    const double wall = std::chrono::duration<double>(clock_type::now() - started).count();
    std::vector<double> total, ice_part, dtls_part, rest;
    for (const auto& x : t) {
        total.push_back(x.total);
        ice_part.push_back(x.ice);
        dtls_part.push_back(x.dtls);
        rest.push_back(x.rest);
    }
    for (auto* v : {&total, &ice_part, &dtls_part, &rest}) std::sort(v->begin(), v->end());
    std::printf("set-up: %zu pairs in a row, each closed before the next (%.1f s, %.1f pairs/s including create and close)\n",
                n, wall, static_cast<double>(n) / wall);
    std::printf("  %-44s %9s %9s %9s %9s %9s\n", "ms", "min", "median", "p90", "p99", "max");
    const auto row = [](const char* what, const std::vector<double>& v) {
        std::printf("  %-44s %9.2f %9.2f %9.2f %9.2f %9.2f\n", what, v.front(), percentile(v, 0.5),
                    percentile(v, 0.9), percentile(v, 0.99), v.back());
    };
    row("offer -> channel open on both sides", total);
    row("  offer -> answerer ICE connected", ice_part);
    row("  ICE connected -> connected (DTLS)", dtls_part);
    row("  connected -> open on both sides (SCTP+DCEP)", rest);
    // A pair that took over 5 ms: was this process preempted meanwhile (another process had
    // the CPU), or did it wait on its own timers?
    std::size_t slow = 0, slow_preempted = 0, fast_preempted = 0;
    for (const auto& x : t) {
        if (x.total > 5) {
            ++slow;
            if (x.preempted > 0) ++slow_preempted;
        } else if (x.preempted > 0) {
            ++fast_preempted;
        }
    }
    std::printf("  pairs over 5 ms: %zu, of which %zu saw this process preempted (involuntary context switches);"
                " pairs under 5 ms preempted: %zu of %zu\n",
                slow, slow_preempted, fast_preempted, t.size() - slow);
    std::sort(t.begin(), t.end(), [](const timing& x, const timing& y) { return x.total > y.total; });
    std::printf("  slowest:");
    for (std::size_t i = 0; i < std::min<std::size_t>(5, t.size()); ++i)
        std::printf(" #%zu %.1f (%.1f+%.1f+%.1f, %ld preempted)", t[i].index, t[i].total, t[i].ice, t[i].dtls, t[i].rest,
                    t[i].preempted);
    std::printf("\n");
    std::fflush(stdout);
    co_return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    // Before anything allocates through OpenSSL, or it refuses.
    const bool tracking = CRYPTO_set_mem_functions(tracking_malloc, tracking_realloc, tracking_free) == 1;
    std::size_t connections = 1000, memory_pairs = 50;
    long long idle_ms = 2000;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> long long {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", argv[i]);
                std::exit(1);
            }
            return std::atoll(argv[++i]);
        };
        if (a == "--connections") connections = static_cast<std::size_t>(value());
        else if (a == "--memory") memory_pairs = static_cast<std::size_t>(value());
        else if (a == "--idle-ms") idle_ms = value();
        else {
            std::fprintf(stderr, "usage: pc_setup_bench [--connections N] [--memory K] [--idle-ms MS]\n");
            return 1;
        }
    }
    if (!tracking) std::printf("note: CRYPTO_set_mem_functions refused; OpenSSL's share is not counted\n");

    bnet::io_context io;
    int status = 0;
    bnet::co_spawn(
        io,
        [&]() -> bnet::awaitable<int> {
            if (memory_pairs > 0) {
                if (const int s = co_await memory_phase(io, memory_pairs, std::chrono::milliseconds(idle_ms))) co_return s;
            }
            if (connections > 0) co_return co_await setup_phase(io, connections);
            co_return 0;
        },
        [&](std::exception_ptr e, int s) { status = e ? 1 : s; });
    io.run();
    return status;
}
