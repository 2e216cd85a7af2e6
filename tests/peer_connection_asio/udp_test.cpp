// Two peerkit::peer_connection objects over real UDP sockets on 127.0.0.1, with the in-memory
// signaling pair: offer/answer and trickled candidates as browser JSON, connected, a data
// channel, messages both ways. Calls are made with use_awaitable and use_future; events arrive
// on the user's executor.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/signaling/memory.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace peerkit;
using namespace std::chrono_literals;
namespace bnet = boost::asio;

namespace {

struct side {
    std::mutex m;
    std::vector<std::string> log;  // event names, in order
    std::vector<std::string> texts;
    std::vector<std::vector<std::byte>> binaries;
    std::optional<rtc::channel_id> remote_channel, opened;
    std::atomic<bool> connected{false};
    std::thread::id event_thread{};
    bool events_on_strand = true;

    void add(std::string s)
    {
        std::lock_guard l(m);
        log.push_back(std::move(s));
    }
};

std::atomic<int> loop_failures{0};

template <class Transport>
bnet::awaitable<void> signaling_loop(peer_connection& pc, Transport& sig, bool answer)
{
    for (;;) {
        auto m = co_await sig.async_receive(bnet::use_awaitable);
        if (!m) co_return;  // the other end closed
        if (auto* d = std::get_if<signaling::session_description>(&*m)) {
            // Catch2 assertions are not thread-safe: failures are counted and checked later.
            const auto desc = to_rtc(*d);
            auto r = co_await pc.async_set_remote_description(desc, bnet::use_awaitable);
            if (!r) ++loop_failures;
            if (answer) {
                auto a = co_await pc.async_set_local_description(bnet::use_awaitable);
                if (!a || !sig.send(to_signaling(*a))) ++loop_failures;
            }
        } else if (auto* c = std::get_if<signaling::ice_candidate>(&*m)) {
            const auto cand = to_rtc(*c);
            auto r = co_await pc.async_add_ice_candidate(cand, bnet::use_awaitable);
            if (!r) ++loop_failures;
        }
    }
}

template <class Transport>
peer_connection::event_handler handler_for(side& s, Transport& sig)
{
    return [&s, &sig](rtc::event e) {
        if (auto* c = std::get_if<rtc::ice_candidate_event>(&e)) {
            (void)sig.send(to_signaling(c->candidate));
            s.add(c->candidate ? "icecandidate" : "icecandidate(null)");
        } else if (auto* cs = std::get_if<rtc::connection_state_change_event>(&e)) {
            s.add("connectionstatechange " + std::string(to_string(cs->state)));
            if (cs->state == rtc::connection_state::connected) s.connected = true;
        } else if (auto* ss = std::get_if<rtc::signaling_state_change_event>(&e)) {
            s.add("signalingstatechange " + std::string(to_string(ss->state)));
        } else if (auto* dc = std::get_if<rtc::data_channel_event>(&e)) {
            std::lock_guard l(s.m);
            s.remote_channel = dc->channel;
        } else if (auto* o = std::get_if<rtc::channel_open_event>(&e)) {
            std::lock_guard l(s.m);
            s.opened = o->channel;
        } else if (auto* msg = std::get_if<rtc::channel_message_event>(&e)) {
            std::lock_guard l(s.m);
            if (msg->binary) s.binaries.push_back(msg->data);
            else s.texts.emplace_back(msg->text());
        }
    };
}

template <class F>
bool wait_for(F f, std::chrono::milliseconds budget = 20s)
{
    const auto end = std::chrono::steady_clock::now() + budget;
    while (!f()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

template <class Executor>
void run_pair(Executor ex)
{
    // Named ends rather than a structured binding: clang 14 cannot capture bindings in lambdas.
    auto signaling_pair = signaling::make_memory_pair(ex);
    auto& sig_a = signaling_pair.first;
    auto& sig_b = signaling_pair.second;
    side a, b;
    peer_connection::configuration config;
    config.include_loopback = true;
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};

    auto pa = peer_connection::create(ex, config, handler_for(a, sig_a), options);
    auto pb = peer_connection::create(ex, config, handler_for(b, sig_b), options);
    REQUIRE(pa);
    REQUIRE(pb);
    CHECK(pa->local_endpoints().size() == 1);
    CHECK(pa->local_endpoints()[0].port() != 0);

    bnet::co_spawn(ex, signaling_loop(*pb, sig_b, true), bnet::detached);
    bnet::co_spawn(ex, signaling_loop(*pa, sig_a, false), bnet::detached);

    // The caller: a channel (use_future from this thread), then the implicit offer sent from
    // a coroutine on the executor, so that the offer leaves before the candidates it causes.
    auto ch = pa->async_create_data_channel("chat", {}, bnet::use_future).get();
    REQUIRE(ch);
    std::promise<bool> offered;
    bnet::co_spawn(
        ex,
        [&]() -> bnet::awaitable<void> {
            auto offer = co_await pa->async_set_local_description(bnet::use_awaitable);
            offered.set_value(offer && offer->type == rtc::sdp_type::offer && sig_a.send(to_signaling(*offer)));
        },
        bnet::detached);
    REQUIRE(offered.get_future().get());

    REQUIRE(wait_for([&] {
        std::lock_guard la(a.m);
        std::lock_guard lb(b.m);
        return a.connected && b.connected && a.opened && b.remote_channel;
    }));
    const rtc::channel_id remote = [&] {
        std::lock_guard l(b.m);
        return *b.remote_channel;
    }();

    REQUIRE(pa->async_send(*ch, "hello over UDP", bnet::use_future).get());
    std::vector<std::byte> blob(20000);
    for (std::size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<std::byte>(i % 251);
    REQUIRE(pb->async_send_binary(remote, blob, bnet::use_future).get());
    REQUIRE(wait_for([&] {
        std::lock_guard la(a.m);
        std::lock_guard lb(b.m);
        return b.texts.size() == 1 && a.binaries.size() == 1;
    }));
    CHECK(b.texts[0] == "hello over UDP");
    CHECK(a.binaries[0] == blob);

    CHECK(loop_failures == 0);
    auto stats = pa->async_get_stats(bnet::use_future).get();
    CHECK(stats.messages_sent == 1);
    CHECK(stats.bytes_received == blob.size());
    REQUIRE(stats.selected_remote_candidate);
    CHECK(stats.selected_remote_candidate->find("127.0.0.1") != std::string::npos);
    CHECK(stats.round_trip_time.has_value());

    {
        std::lock_guard l(a.m);
        // MDN order: the offer makes have-local-offer, the answer stable; then connecting, connected.
        const auto pos = [&](std::string_view s) {
            return std::find(a.log.begin(), a.log.end(), s) - a.log.begin();
        };
        CHECK(pos("signalingstatechange have-local-offer") < pos("signalingstatechange stable"));
        CHECK(pos("connectionstatechange connecting") < pos("connectionstatechange connected"));
        CHECK(std::find(a.log.begin(), a.log.end(), "icecandidate(null)") != a.log.end());
    }

    pa->async_close(bnet::use_future).get();
    pb->async_close(bnet::use_future).get();
    pa->shutdown();
    pb->shutdown();
    sig_a.close();
    sig_b.close();
}

}  // namespace

TEST_CASE("two peer connections over UDP on 127.0.0.1 (io_context on another thread)")
{
    bnet::io_context io;
    auto guard = bnet::make_work_guard(io);
    std::thread t([&] { io.run(); });
    run_pair(io.get_executor());
    guard.reset();
    io.stop();
    t.join();
}

TEST_CASE("two peer connections over UDP on a thread_pool")
{
    bnet::thread_pool pool(3);
    run_pair(bnet::make_strand(pool.get_executor()));
    pool.stop();
    pool.join();
}
