// Two peerkit::peer_connection objects over real UDP sockets on 127.0.0.1, with the in-memory
// signaling pair: offer/answer and trickled candidates as browser JSON, connected, a data
// channel, messages both ways. Calls are made with use_awaitable and use_future; events arrive
// on the user's executor. At the end: mDNS `.local` remote candidates against a responder here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/net/dns.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/signaling/memory.hpp>

#include "io_thread.hpp"

#include <catch2/catch.hpp>

#include "mdns_answer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <span>
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
    std::optional<peerkit::channel_id> remote_channel, opened;
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
    return [&s, &sig](peerkit::peer_connection_event e) {
        if (auto* c = std::get_if<peerkit::ice_candidate_event>(&e)) {
            (void)sig.send(to_signaling(c->candidate));
            s.add(c->candidate ? "icecandidate" : "icecandidate(null)");
        } else if (auto* cs = std::get_if<peerkit::connection_state_change_event>(&e)) {
            s.add("connectionstatechange " + std::string(to_string(cs->state)));
            if (cs->state == peerkit::connection_state::connected) s.connected = true;
        } else if (auto* ss = std::get_if<peerkit::signaling_state_change_event>(&e)) {
            s.add("signalingstatechange " + std::string(to_string(ss->state)));
        } else if (auto* dc = std::get_if<peerkit::data_channel_event>(&e)) {
            std::lock_guard l(s.m);
            s.remote_channel = dc->channel;
        } else if (auto* o = std::get_if<peerkit::channel_open_event>(&e)) {
            std::lock_guard l(s.m);
            s.opened = o->channel;
        } else if (auto* msg = std::get_if<peerkit::channel_message_event>(&e)) {
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

    // Teardown that does not depend on timing (issue 13: a handler ran after `a` was gone):
    // shutdown() returns only once no handler runs or will run (a handler running on the I/O
    // thread is waited for), and the signaling loops, which use pa, pb and the transports,
    // are waited for once their transports are closed. Also when a REQUIRE fails.
    std::promise<void> loop_a_done, loop_b_done;
    auto loop_a_ended = loop_a_done.get_future();
    auto loop_b_ended = loop_b_done.get_future();
    bool loops_started = false;
    struct teardown {
        std::function<void()> f;
        ~teardown() { f(); }
    } const end_of_test{[&] {
        pa->shutdown();
        pb->shutdown();
        sig_a.close();
        sig_b.close();
        if (loops_started) {
            CHECK(loop_a_ended.wait_for(20s) == std::future_status::ready);
            CHECK(loop_b_ended.wait_for(20s) == std::future_status::ready);
        }
    }};
    bnet::co_spawn(ex, signaling_loop(*pb, sig_b, true), [&](std::exception_ptr) { loop_b_done.set_value(); });
    bnet::co_spawn(ex, signaling_loop(*pa, sig_a, false), [&](std::exception_ptr) { loop_a_done.set_value(); });
    loops_started = true;

    // The caller: a channel (use_future from this thread), then the implicit offer sent from
    // a coroutine on the executor, so that the offer leaves before the candidates it causes.
    auto ch = pa->async_create_data_channel("chat", {}, bnet::use_future).get();
    REQUIRE(ch);
    std::promise<bool> offered;
    bnet::co_spawn(
        ex,
        [&]() -> bnet::awaitable<void> {
            auto offer = co_await pa->async_set_local_description(bnet::use_awaitable);
            offered.set_value(offer && offer->type == peerkit::sdp_type::offer && sig_a.send(to_signaling(*offer)));
        },
        bnet::detached);
    REQUIRE(offered.get_future().get());

    REQUIRE(wait_for([&] {
        std::lock_guard la(a.m);
        std::lock_guard lb(b.m);
        return a.connected && b.connected && a.opened && b.remote_channel;
    }));
    const peerkit::channel_id remote = [&] {
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

    // The batch form: three messages in one call arrive as three messages, in order.
    const std::vector<std::byte> one(1, std::byte{1}), two(1200, std::byte{2}), three(3, std::byte{3});
    const std::vector<bytes_view> batch{one, two, three};
    const auto queued = pb->async_send_binary(remote, std::span<const bytes_view>(batch), bnet::use_future).get();
    REQUIRE(queued);
    CHECK(*queued == 3);
    REQUIRE(wait_for([&] {
        std::lock_guard la(a.m);
        return a.binaries.size() == 4;
    }));
    CHECK(a.binaries[1] == one);
    CHECK(a.binaries[2] == two);
    CHECK(a.binaries[3] == three);
    // A refusal in the middle (a message over max-message-size) stops the batch there: the
    // count says how many went; sent alone, the refused one gives the reason.
    const std::vector<std::byte> too_big(300 * 1024, std::byte{4});
    const std::vector<bytes_view> partial{one, too_big, three};
    const auto first_only = pb->async_send_binary(remote, std::span<const bytes_view>(partial), bnet::use_future).get();
    REQUIRE(first_only);
    CHECK(*first_only == 1);
    CHECK_FALSE(pb->async_send_binary(remote, too_big, bnet::use_future).get());
    REQUIRE(wait_for([&] {
        std::lock_guard la(a.m);
        return a.binaries.size() == 5;
    }));
    CHECK(a.binaries[4] == one);
    // A batch for a channel that does not exist is refused as a whole, with the reason.
    const auto refused = pb->async_send_binary(peerkit::channel_id{9999}, std::span<const bytes_view>(batch), bnet::use_future).get();
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message().find("closed or unknown") != std::string::npos);

    // The attributes, read from this thread (not the executor's).
    REQUIRE(wait_for([&] {
        std::lock_guard la(a.m);
        return std::find(a.log.begin(), a.log.end(), "icecandidate(null)") != a.log.end();
    }));
    CHECK(pa->signaling_state() == peerkit::signaling_state::stable);
    CHECK(pa->connection_state() == peerkit::connection_state::connected);
    CHECK(pb->connection_state() == peerkit::connection_state::connected);
    CHECK((pa->ice_connection_state() == peerkit::ice_connection_state::connected ||
           pa->ice_connection_state() == peerkit::ice_connection_state::completed));
    CHECK(pa->ice_gathering_state() == peerkit::ice_gathering_state::complete);
    CHECK_FALSE(pa->pending_local_description());
    CHECK_FALSE(pa->pending_remote_description());
    REQUIRE(pa->current_local_description());
    REQUIRE(pa->current_remote_description());
    CHECK(pa->local_description()->type == peerkit::sdp_type::offer);
    CHECK(pa->remote_description()->type == peerkit::sdp_type::answer);
    CHECK(pb->local_description()->type == peerkit::sdp_type::answer);
    CHECK(pb->remote_description()->type == peerkit::sdp_type::offer);
    CHECK(pa->remote_description()->sdp == pb->local_description()->sdp.substr(0, pa->remote_description()->sdp.size()));
    // Gathered candidates are part of localDescription, as in browsers.
    CHECK(pa->local_description()->sdp.find("a=candidate:") != std::string::npos);
    CHECK(pa->local_description()->sdp.find("a=end-of-candidates") != std::string::npos);
    // createOffer({iceRestart: true}) after a negotiation: new credentials (RFC 8829 5.2.1).
    const auto ufrag_of = [](const std::string& sdp) {
        const auto at = sdp.find("a=ice-ufrag:");
        return at == std::string::npos ? std::string() : sdp.substr(at + 12, sdp.find('\r', at) - at - 12);
    };
    auto restart = pa->async_create_offer(peerkit::offer_options{.ice_restart = true}, bnet::use_future).get();
    REQUIRE(restart);
    CHECK_FALSE(ufrag_of(restart->sdp).empty());
    CHECK(ufrag_of(restart->sdp) != ufrag_of(pa->local_description()->sdp));
    auto plain = pa->async_create_offer(bnet::use_future).get();
    REQUIRE(plain);
    CHECK(ufrag_of(plain->sdp) == ufrag_of(pa->local_description()->sdp));

    CHECK(loop_failures == 0);
    auto stats = pa->async_get_stats(bnet::use_future).get();
    CHECK(stats.messages_sent == 1);
    CHECK(stats.bytes_received == blob.size() + 1 + 1200 + 3 + 1);  // the blob, the batch of three, the partial one
    CHECK(stats.messages_received == 5);
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
    CHECK(pa->signaling_state() == peerkit::signaling_state::closed);
    CHECK(pa->connection_state() == peerkit::connection_state::closed);
    // No event after close (the core's closing state changes are not delivered, as in
    // browsers): what the handlers recorded is final.
    const auto log_at_close = [&] {
        std::lock_guard l(a.m);
        return a.log;
    }();
    CHECK(std::find(log_at_close.begin(), log_at_close.end(), "connectionstatechange closed") == log_at_close.end());
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

// ---- the per-event handlers (on_ice_candidate, on_message ...) ---------------------------------
namespace {

// Runs f when the scope ends, also when a REQUIRE throws (a joinable std::thread would abort).
template <class F>
struct scope_exit {
    explicit scope_exit(F g) : f(std::move(g)) {}
    scope_exit(const scope_exit&) = delete;
    scope_exit& operator=(const scope_exit&) = delete;
    ~scope_exit() { f(); }
    F f;
};
using peerkit::test::io_thread;

// What one side's handlers saw, in order, and whether each ran on the user's executor.
template <class Ex>
struct recorder {
    explicit recorder(Ex e) : ex(e) {}
    Ex ex;
    std::mutex m;
    std::vector<std::string> log;
    std::optional<peerkit::channel_id> remote;  // from on_data_channel
    std::atomic<int> off_executor{0};
    std::atomic<bool> connected{false};

    void add(std::string s)
    {
        if (!ex.running_in_this_thread()) ++off_executor;
        std::lock_guard l(m);
        log.push_back(std::move(s));
    }
    std::vector<std::string> snapshot()
    {
        std::lock_guard l(m);
        return log;
    }
    bool has(std::string_view s)
    {
        std::lock_guard l(m);
        return std::find(log.begin(), log.end(), s) != log.end();
    }
    std::function<void(peerkit::channel_id)> channel(std::string name)
    {
        return [this, name](peerkit::channel_id id) { add(name + " " + std::to_string(id.value)); };
    }
    std::function<void(peerkit::channel_id)> data_channel()
    {
        return [this](peerkit::channel_id id) {
            {
                std::lock_guard l(m);
                remote = id;
            }
            add("datachannel " + std::to_string(id.value));
        };
    }
    std::function<void(const peerkit::channel_message_event&)> message()
    {
        return [this](const peerkit::channel_message_event& msg) {
            add("message " + std::to_string(msg.channel.value) + " " + std::string(msg.text()));
        };
    }
};

std::string named(std::string_view what, peerkit::channel_id id)
{
    return std::string(what) + " " + std::to_string(id.value);
}

// The peer connection's own events; candidates go to the signaling transport.
template <class Ex, class Sig>
void set_connection_handlers(peer_connection& pc, recorder<Ex>& r, Sig& sig)
{
    pc.on_ice_candidate([&r, &sig](std::optional<peerkit::ice_candidate> c) {
        (void)sig.send(to_signaling(c));
        r.add(c ? "icecandidate" : "icecandidate(null)");
    });
    pc.on_ice_gathering_state_change(
        [&r](peerkit::ice_gathering_state s) { r.add("icegatheringstatechange " + std::string(to_string(s))); });
    pc.on_ice_connection_state_change(
        [&r](peerkit::ice_connection_state s) { r.add("iceconnectionstatechange " + std::string(to_string(s))); });
    pc.on_connection_state_change([&r](peerkit::connection_state s) {
        r.add("connectionstatechange " + std::string(to_string(s)));
        if (s == peerkit::connection_state::connected) r.connected = true;
    });
    pc.on_signaling_state_change(
        [&r](peerkit::signaling_state s) { r.add("signalingstatechange " + std::string(to_string(s))); });
    pc.on_negotiation_needed([&r] { r.add("negotiationneeded"); });
}
// The channel events other than datachannel, open and message.
template <class Ex>
void set_channel_end_handlers(peer_connection& pc, recorder<Ex>& r)
{
    pc.on_buffered_amount_low(r.channel("bufferedamountlow"));
    pc.on_channel_closing(r.channel("closing"));
    pc.on_channel_close(r.channel("close"));
    pc.on_channel_error([&r](peerkit::channel_id id, const peerkit::error& e) { r.add(named("error", id) + " " + e.message()); });
}

std::string joined(const std::vector<std::string>& log)
{
    std::string out;
    for (const auto& s : log) out += s + "; ";
    return out;
}

std::ptrdiff_t position(const std::vector<std::string>& log, std::string_view s)
{
    return std::find(log.begin(), log.end(), s) - log.begin();
}

// Starts both signaling loops, creates "chat" on `a` and sends the offer; waits until `a`
// reports the channel open. The handlers must already be set on `a`.
template <class Ex, class Sig>
peerkit::channel_id connect(Ex ex, peer_connection& a, peer_connection& b, Sig& sig_a, Sig& sig_b, recorder<Ex>& ra)
{
    bnet::co_spawn(ex, signaling_loop(b, sig_b, true), bnet::detached);
    bnet::co_spawn(ex, signaling_loop(a, sig_a, false), bnet::detached);
    auto ch = a.async_create_data_channel("chat", {}, bnet::use_future).get();
    REQUIRE(ch);
    std::promise<bool> offered;
    bnet::co_spawn(
        ex,
        [&]() -> bnet::awaitable<void> {
            auto offer = co_await a.async_set_local_description(bnet::use_awaitable);
            offered.set_value(offer && sig_a.send(to_signaling(*offer)));
        },
        bnet::detached);
    REQUIRE(offered.get_future().get());
    const auto id = *ch;
    REQUIRE(wait_for([&] { return ra.has(named("open", id)); }));
    return id;
}

peer_connection::configuration loopback_config()
{
    peer_connection::configuration config;
    config.include_loopback = true;
    return config;
}
peer_connection_options loopback_options()
{
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    return options;
}

// Both sides with per-event handlers only, set before any call.
template <class Ex>
void run_pair_with_setters(Ex ex)
{
    auto signaling_pair = signaling::make_memory_pair(ex);
    auto& sig_a = signaling_pair.first;
    auto& sig_b = signaling_pair.second;
    recorder<Ex> ra(ex), rb(ex);
    auto pa = peer_connection::create(ex, loopback_config(), loopback_options());
    auto pb = peer_connection::create(ex, loopback_config(), loopback_options());
    REQUIRE(pa);
    REQUIRE(pb);
    const scope_exit stop([&] {
        pa->shutdown();
        pb->shutdown();
        sig_a.close();
        sig_b.close();
    });
    for (auto* p : {&*pa, &*pb}) {
        auto& r = p == &*pa ? ra : rb;
        set_connection_handlers(*p, r, p == &*pa ? sig_a : sig_b);
        p->on_data_channel(r.data_channel());
        p->on_channel_open(r.channel("open"));
        p->on_message(r.message());
        set_channel_end_handlers(*p, r);
    }

    const auto ch = connect(ex, *pa, *pb, sig_a, sig_b, ra);
    REQUIRE(wait_for([&] {
        std::lock_guard l(rb.m);
        return ra.connected && rb.connected && rb.remote;
    }));
    const peerkit::channel_id remote = [&] {
        std::lock_guard l(rb.m);
        return *rb.remote;
    }();
    REQUIRE(wait_for([&] { return rb.has(named("open", remote)); }));
    REQUIRE(pa->async_send(ch, "hello", bnet::use_future).get());
    REQUIRE(pb->async_send(remote, "world", bnet::use_future).get());
    REQUIRE(wait_for([&] { return rb.has(named("message", remote) + " hello") && ra.has(named("message", ch) + " world"); }));
    REQUIRE(pa->async_close_channel(ch, bnet::use_future).get());
    REQUIRE(wait_for([&] { return ra.has(named("close", ch)) && rb.has(named("close", remote)); }));
    CHECK(loop_failures == 0);

    const auto la = ra.snapshot();
    const auto lb = rb.snapshot();
    INFO("a: " << joined(la));
    INFO("b: " << joined(lb));
    // MDN's order on the caller: negotiationneeded for the channel, the offer, the answer,
    // gathering from new to complete with the null candidate, then connected and open.
    CHECK(position(la, "negotiationneeded") < position(la, "signalingstatechange have-local-offer"));
    CHECK(position(la, "signalingstatechange have-local-offer") < position(la, "signalingstatechange stable"));
    CHECK(position(la, "icegatheringstatechange gathering") < position(la, "icegatheringstatechange complete"));
    CHECK(position(la, "icecandidate") < position(la, "icecandidate(null)"));
    CHECK(position(la, "icecandidate(null)") < static_cast<std::ptrdiff_t>(la.size()));
    // connected before completed, as in browsers, and before the peer connection's connected
    CHECK(position(la, "iceconnectionstatechange connected") < position(la, "iceconnectionstatechange completed"));
    CHECK(position(la, "iceconnectionstatechange connected") < position(la, "connectionstatechange connected"));
    CHECK(position(la, "iceconnectionstatechange checking") < position(la, "connectionstatechange connected"));
    CHECK(position(la, "connectionstatechange connecting") < position(la, "connectionstatechange connected"));
    CHECK(position(la, "connectionstatechange connected") < position(la, named("open", ch)));
    CHECK(position(la, named("open", ch)) < position(la, named("message", ch) + " world"));
    CHECK(position(la, named("message", ch) + " world") < position(la, named("close", ch)));
    // The callee: the offer, then the channel announced, opened, a message, closed.
    CHECK(position(lb, "signalingstatechange have-remote-offer") < position(lb, "signalingstatechange stable"));
    CHECK(position(lb, named("datachannel", remote)) < position(lb, named("open", remote)));
    CHECK(position(lb, named("open", remote)) < position(lb, named("message", remote) + " hello"));
    CHECK(position(lb, named("message", remote) + " hello") < position(lb, named("close", remote)));
    CHECK(ra.off_executor == 0);
    CHECK(rb.off_executor == 0);
    CHECK(pa->held_events() == 0);
    CHECK(pb->held_events() == 0);
    CHECK(pa->dropped_events() == 0);
    CHECK(pb->dropped_events() == 0);

    pa->async_close(bnet::use_future).get();
    pb->async_close(bnet::use_future).get();
}

}  // namespace

TEST_CASE("attributes follow the JSEP calls: have-local-offer, then rollback")
{
    bnet::io_context io;
    peer_connection::configuration config;
    config.include_loopback = true;
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto pc = peer_connection::create(io.get_executor(), config, options);
    REQUIRE(pc);
    CHECK(pc->signaling_state() == peerkit::signaling_state::stable);
    CHECK(pc->connection_state() == peerkit::connection_state::new_);
    CHECK(pc->ice_gathering_state() == peerkit::ice_gathering_state::new_);
    CHECK_FALSE(pc->local_description());
    CHECK_FALSE(pc->remote_description());

    std::optional<result<peerkit::channel_id>> ch;
    pc->async_create_data_channel("x", {}, [&](result<peerkit::channel_id> r) { ch = std::move(r); });
    io.run_for(50ms);
    REQUIRE(ch);
    REQUIRE(*ch);
    std::optional<result<peerkit::session_description>> offer;
    pc->async_set_local_description([&](result<peerkit::session_description> r) { offer = std::move(r); });
    io.run_for(50ms);
    REQUIRE(offer);
    REQUIRE(*offer);
    CHECK(pc->signaling_state() == peerkit::signaling_state::have_local_offer);
    REQUIRE(pc->pending_local_description());
    CHECK(pc->pending_local_description()->type == peerkit::sdp_type::offer);
    CHECK_FALSE(pc->current_local_description());
    CHECK(pc->local_description()->sdp.starts_with((*offer)->sdp.substr(0, (*offer)->sdp.find("a=ice-ufrag"))));

    std::optional<result<void>> rolled_back;
    pc->async_set_local_description(peerkit::session_description{peerkit::sdp_type::rollback, {}},
                                    [&](result<void> r) { rolled_back = std::move(r); });
    io.run_for(50ms);
    REQUIRE(rolled_back);
    CHECK(*rolled_back);
    CHECK(pc->signaling_state() == peerkit::signaling_state::stable);
    CHECK_FALSE(pc->pending_local_description());
    CHECK_FALSE(pc->local_description());
    pc->shutdown();
}

TEST_CASE("completions of calls with and without a result run off the driver's strand: a handler may block on another call")
{
    // Two threads: if a completion ran on the driver's strand, the call it blocks on (queued
    // behind it on that strand) could never run, and the wait below would time out.
    bnet::thread_pool pool(2);
    peer_connection::configuration config;
    config.include_loopback = true;
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto pc = peer_connection::create(pool.get_executor(), config, options);
    REQUIRE(pc);
    auto blocks_on_stats = [&] {
        auto stats = pc->async_get_stats(bnet::use_future);
        return stats.wait_for(5s) == std::future_status::ready;
    };
    std::promise<bool> with_result, without_result;
    pc->async_create_data_channel("x", {}, [&](result<peerkit::channel_id>) { with_result.set_value(blocks_on_stats()); });
    CHECK(with_result.get_future().get());
    pc->async_close([&] { without_result.set_value(blocks_on_stats()); });
    CHECK(without_result.get_future().get());
    pc->shutdown();
    pool.join();
}

TEST_CASE("per-event handlers only: two peer connections over UDP (io_context on another thread)")
{
    io_thread runner;
    run_pair_with_setters(runner.io.get_executor());
}

TEST_CASE("per-event handlers only: two peer connections over UDP on a thread_pool")
{
    bnet::thread_pool pool(3);
    run_pair_with_setters(bnet::make_strand(pool.get_executor()));
    pool.stop();
    pool.join();
}

TEST_CASE("handlers set after the channel opened and messages arrived get every event, in order")
{
    io_thread runner;
    auto ex = runner.io.get_executor();
    auto signaling_pair = signaling::make_memory_pair(ex);
    auto& sig_a = signaling_pair.first;
    auto& sig_b = signaling_pair.second;
    using recorder_type = recorder<decltype(ex)>;
    recorder_type ra(ex), rb(ex);

    // The caller has a catch-all too: the specific handlers win, it gets only the rest
    // (icegatheringstatechange and negotiationneeded, which have no specific handler here).
    std::mutex kinds_mutex;
    std::vector<std::size_t> catch_all_kinds;
    auto pa = peer_connection::create(
        ex, loopback_config(),
        [&](peerkit::peer_connection_event e) {
            std::lock_guard l(kinds_mutex);
            catch_all_kinds.push_back(e.index());
        },
        loopback_options());
    auto pb = peer_connection::create(ex, loopback_config(), loopback_options());
    REQUIRE(pa);
    REQUIRE(pb);
    const scope_exit stop([&] {
        pa->shutdown();
        pb->shutdown();
        sig_a.close();
        sig_b.close();
    });
    set_connection_handlers(*pa, ra, sig_a);
    pa->on_ice_gathering_state_change({});  // empty: unset
    pa->on_negotiation_needed(nullptr);
    pa->on_channel_open(ra.channel("open"));
    pa->on_message(ra.message());
    set_channel_end_handlers(*pa, ra);
    // The callee: only its connection's events for now.
    set_connection_handlers(*pb, rb, sig_b);
    set_channel_end_handlers(*pb, rb);

    const auto ch = connect(ex, *pa, *pb, sig_a, sig_b, ra);
    const std::vector<std::string> texts{"one", "two", "three", "four", "five"};
    for (const auto& text : texts) REQUIRE(pa->async_send(ch, text, bnet::use_future).get());
    // The callee holds datachannel, open, the five messages, and maybe a bufferedamountlow (its
    // DCEP ACK left the send buffer): it has a handler, but its channel's datachannel is held.
    REQUIRE(wait_for([&] { return pb->async_get_stats(bnet::use_future).get().messages_received == texts.size(); }));
    std::this_thread::sleep_for(100ms);
    const auto held = pb->held_events();
    INFO("callee: " << joined(rb.snapshot()) << " held " << held);
    REQUIRE((held == 7 || held == 8));

    // on_message first: the messages must still wait for their channel's datachannel event.
    const auto channel_events_of = [](const std::vector<std::string>& log) {
        std::vector<std::string> out;
        for (const auto& s : log)
            if (s.rfind("datachannel ", 0) == 0 || s.rfind("open ", 0) == 0 || s.rfind("message ", 0) == 0 ||
                s.rfind("bufferedamountlow ", 0) == 0)
                out.push_back(s);
        return out;
    };
    pb->on_message(rb.message());
    std::this_thread::sleep_for(100ms);
    CHECK(channel_events_of(rb.snapshot()).empty());
    pb->on_channel_open(rb.channel("open"));
    std::this_thread::sleep_for(100ms);
    CHECK(channel_events_of(rb.snapshot()).empty());
    CHECK(pb->held_events() == held);
    pb->on_data_channel(rb.data_channel());
    REQUIRE(wait_for([&] { return pb->held_events() == 0 && rb.remote; }));
    const peerkit::channel_id remote = [&] {
        std::lock_guard l(rb.m);
        return *rb.remote;
    }();
    // And later messages go straight through.
    REQUIRE(pa->async_send(ch, "six", bnet::use_future).get());
    REQUIRE(wait_for([&] { return rb.has(named("message", remote) + " six"); }));

    auto channel_events = channel_events_of(rb.snapshot());
    std::erase(channel_events, named("bufferedamountlow", remote));
    std::vector<std::string> expected{named("datachannel", remote), named("open", remote)};
    for (const auto& text : texts) expected.push_back(named("message", remote) + " " + text);
    expected.push_back(named("message", remote) + " six");
    CHECK(channel_events == expected);
    // A bufferedamountlow, if any, came after its channel's datachannel.
    const auto log = rb.snapshot();
    CHECK(position(log, named("bufferedamountlow", remote)) > position(log, named("datachannel", remote)));
    CHECK(rb.off_executor == 0);
    CHECK(pb->dropped_events() == 0);
    CHECK(loop_failures == 0);

    {
        std::lock_guard l(kinds_mutex);
        CHECK(!catch_all_kinds.empty());
        for (const auto k : catch_all_kinds)
            CHECK((k == peerkit::peer_connection_event(peerkit::ice_gathering_state_change_event{}).index() ||
                   k == peerkit::peer_connection_event(peerkit::negotiation_needed_event{}).index()));
    }
    CHECK(ra.has(named("open", ch)));
    CHECK(!ra.has("negotiationneeded"));
    CHECK(pa->held_events() == 0);

    pa->async_close(bnet::use_future).get();
    pb->async_close(bnet::use_future).get();
}

namespace {

// The callee listens to everything but messages; the caller sends `count` messages of `size`
// bytes. Returns what the callee's on_message got once set, and the callee's dropped count.
// Before on_message is set, the held messages fill the callee's queue up to its limits (or
// all of them arrived, or were dropped): the rest wait in the core and in SCTP.
std::pair<std::vector<std::string>, std::uint64_t> held_messages_with(peer_connection_options callee_options,
                                                                       std::size_t count, std::size_t size)
{
    io_thread runner;
    auto ex = runner.io.get_executor();
    auto signaling_pair = signaling::make_memory_pair(ex);
    auto& sig_a = signaling_pair.first;
    auto& sig_b = signaling_pair.second;
    recorder<decltype(ex)> ra(ex), rb(ex);
    std::mutex m;
    std::vector<std::string> got;  // by the callee's on_message
    auto pa = peer_connection::create(ex, loopback_config(), loopback_options());
    auto pb = peer_connection::create(ex, loopback_config(), callee_options);
    REQUIRE(pa);
    REQUIRE(pb);
    const scope_exit stop([&] {
        pa->shutdown();
        pb->shutdown();
        sig_a.close();
        sig_b.close();
    });
    set_connection_handlers(*pa, ra, sig_a);
    pa->on_channel_open(ra.channel("open"));
    set_channel_end_handlers(*pa, ra);
    set_connection_handlers(*pb, rb, sig_b);
    pb->on_data_channel(rb.data_channel());
    pb->on_channel_open(rb.channel("open"));
    set_channel_end_handlers(*pb, rb);

    const auto ch = connect(ex, *pa, *pb, sig_a, sig_b, ra);
    for (std::size_t i = 0; i < count; ++i) {
        std::string text = std::to_string(i) + ":";
        text.resize(size, 'x');
        REQUIRE(pa->async_send(ch, text, bnet::use_future).get());
    }
    const auto queue_full = [&] {
        const auto d = pb->delivery_stats();
        const bool full = d.queued_events >= callee_options.max_queued_events ||
                          d.queued_bytes >= callee_options.max_queued_bytes;
        return d.held_events + d.dropped_events == count || (full && d.held_events == d.queued_events);
    };
    REQUIRE(wait_for(queue_full));
    std::this_thread::sleep_for(50ms);  // nothing else may arrive
    CHECK(queue_full());
    const auto before = pb->delivery_stats();
    const auto dropped = pb->dropped_events();
    const auto held = pb->held_events();
    CHECK(held == before.held_events);
    // Within the limits: events never above, bytes above by at most the one event taken last.
    CHECK(before.max_queued_events_seen <= callee_options.max_queued_events);
    CHECK(before.max_queued_bytes_seen < callee_options.max_queued_bytes + peer_connection::queued_event_overhead + size + 64);

    pb->on_message([&](const peerkit::channel_message_event& msg) {
        std::lock_guard l(m);
        got.emplace_back(msg.text());
    });
    // Everything not dropped comes, the held ones first, then what waited in the core and SCTP.
    REQUIRE(wait_for([&] {
        std::lock_guard l(m);
        return got.size() == count - dropped;
    }));
    CHECK(got.size() >= held);
    CHECK(pb->held_events() == 0);
    CHECK(pb->dropped_events() == dropped);
    CHECK(loop_failures == 0);

    pa->async_close(bnet::use_future).get();
    pb->async_close(bnet::use_future).get();
    std::lock_guard l(m);
    return {got, dropped};
}

std::vector<std::string> last_of(std::size_t count, std::size_t keep, std::size_t size)
{
    std::vector<std::string> out;
    for (std::size_t i = count - keep; i < count; ++i) {
        std::string text = std::to_string(i) + ":";
        text.resize(size, 'x');
        out.push_back(text);
    }
    return out;
}

}  // namespace

TEST_CASE("the hold is bounded by backpressure: nothing is dropped")
{
    struct limit_case {
        const char* what;
        std::size_t max_events, max_bytes;  // peer_connection_options::max_queued_*
        bool drop;                          // drop_unhandled_events
        std::size_t messages, size;         // sent while no handler takes them
        std::size_t kept;                   // delivered once on_message is set (the newest)
    };
    const auto c = GENERATE(values<limit_case>({
        {"max_queued_events", 4, 16 * 1024 * 1024, false, 10, 10, 10},
        {"max_queued_bytes", 1024, 1000, false, 10, 300, 10},
        {"drop_unhandled_events: nothing is held", 1024, 16 * 1024 * 1024, true, 5, 10, 0},
    }));
    INFO(c.what);
    auto options = loopback_options();
    options.max_queued_events = c.max_events;
    options.max_queued_bytes = c.max_bytes;
    options.drop_unhandled_events = c.drop;
    const auto r = held_messages_with(options, c.messages, c.size);
    CHECK(r.second == c.messages - c.kept);
    CHECK(r.first == last_of(c.messages, c.kept, c.size));
}

// ---- mDNS `.local` remote candidates -----------------------------------------------------------
// The runtime's resolver (asio/mdns_resolver.hpp) against a real UDP responder written here on
// 127.0.0.1 (the resolver's group set to it; real multicast with Chromium's responder is what
// tests/interop/browser_echo.py shows), and the peer connection resolving a peer's candidates
// that a signaling relay hid behind a .local name, as browsers do.
namespace dns = peerkit::net::dns;

namespace {

constexpr std::string_view hidden_name = "1f4712db-ea17-4bcf-a596-105139dfd8bf.local";

int udp_socket_on_loopback()
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{0, 20000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}
std::uint16_t port_of(int fd)
{
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
}

// A responder on 127.0.0.1 that answers A questions for the names it knows, by unicast to the
// asker (the resolver checks the source port, not the destination). Before each real answer it
// sends what the resolver must ignore: garbage, an answer for a name nobody asked, and the
// right answer with a wrong address from another port.
struct responder {
    int fd = udp_socket_on_loopback();
    int other_port_fd = udp_socket_on_loopback();
    std::map<std::string, std::array<std::uint8_t, 4>> names;  // lower-case name -> IPv4
    std::atomic<int> a_queries{0}, aaaa_queries{0};
    std::atomic<bool> stop{false};
    std::thread thread;

    explicit responder(std::map<std::string, std::array<std::uint8_t, 4>> known) : names(std::move(known))
    {
        thread = std::thread([this] { run(); });
    }
    ~responder()
    {
        stop = true;
        thread.join();
        ::close(fd);
        ::close(other_port_fd);
    }
    bnet::ip::udp::endpoint endpoint() const { return {bnet::ip::address_v4::loopback(), port_of(fd)}; }

    static std::vector<std::uint8_t> answer(std::string_view name, std::array<std::uint8_t, 4> a, std::uint32_t ttl = 120)
    {
        return peerkit::test::mdns_answer(name, a, ttl);
    }
    void run()
    {
        std::array<std::byte, 2048> buf{};
        while (!stop) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            const auto n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n <= 0) continue;
            auto q = dns::message_view::parse(std::span(buf).first(static_cast<std::size_t>(n)));
            if (!q || q->header().is_response()) continue;
            std::array<char, 254> text{};
            std::string name;
            std::uint16_t type = 0;
            q->for_each(
                [&](const dns::question& qu) {
                    if (auto t = q->name_text(qu.name_offset, text)) name.assign(text.data(), *t);
                    type = qu.type;
                },
                [](const dns::record&) {});
            if (type == 28) {
                ++aaaa_queries;
                continue;
            }
            ++a_queries;
            for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const auto it = names.find(name);
            if (it == names.end()) continue;
            auto send = [&](int via, const std::vector<std::uint8_t>& m) {
                ::sendto(via, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
            };
            send(fd, {1, 2, 3});                                        // malformed
            send(fd, answer("other.local", {10, 9, 9, 9}));             // a name nobody asked
            send(other_port_fd, answer(it->first, {10, 6, 6, 6}));     // wrong source port
            send(fd, answer(it->first, {0, 0, 0, 0}));                  // unspecified: not usable
            std::string upper = it->first;                              // RFC 6762 16: any case
            for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            send(fd, answer(upper, it->second));
        }
    }
};

asio::mdns_config test_config(const responder& r)
{
    asio::mdns_config c;
    c.group = r.endpoint();
    c.bind = {bnet::ip::address_v4::loopback(), 0};
    return c;
}

result<net::ip_address> resolve(asio::mdns_resolver& r, std::string name)
{
    auto p = std::make_shared<std::promise<result<net::ip_address>>>();
    auto f = p->get_future();
    r.async_resolve(std::move(name), [p](result<net::ip_address> a) { p->set_value(std::move(a)); });
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
}

// Candidates for a peer connection, held until its remote description is set.
struct relay {
    std::mutex m;
    bool ready = false;
    std::vector<peerkit::ice_candidate> waiting;
    peer_connection* to = nullptr;
    std::atomic<int>* failures = nullptr;
    void send(const peerkit::ice_candidate& c)
    {
        to->async_add_ice_candidate(c, [f = failures](result<void> r) { *f += r ? 0 : 1; });
    }
    void add(peerkit::ice_candidate c)
    {
        std::lock_guard l(m);
        if (!ready) return waiting.push_back(std::move(c));
        send(c);
    }
    void open()
    {
        std::lock_guard l(m);
        ready = true;
        for (const auto& c : waiting) send(c);
    }
};

}  // namespace

TEST_CASE("mdns resolver: takes only an answer to its question, from the responder's port")
{
    responder resp(std::map<std::string, std::array<std::uint8_t, 4>>{{std::string(hidden_name), {192, 0, 2, 7}}});
    io_thread t;
    auto r = asio::mdns_resolver::create(t.io.get_executor(), test_config(resp));
    auto a = resolve(*r, std::string(hidden_name));
    REQUIRE(a);
    CHECK(*a == net::ip_address::v4(192, 0, 2, 7));
    REQUIRE(wait_for([&] { return resp.aaaa_queries == 1; }));
    CHECK(resp.a_queries == 1);
    auto s = r->stats();
    CHECK(s.queries_sent == 2);  // A and AAAA, once
    CHECK(s.resolved == 1);
    CHECK(s.answers_accepted == 1);
    CHECK(s.datagrams_malformed == 1);
    CHECK(s.datagrams_ignored == 3);  // other name, other port, unusable address

    // Cached for the resolver's life: no new query, whatever the case.
    auto again = resolve(*r, "1F4712DB-EA17-4BCF-A596-105139DFD8BF.local.");
    REQUIRE(again);
    CHECK(*again == net::ip_address::v4(192, 0, 2, 7));
    CHECK(r->stats().cache_hits == 1);
    std::this_thread::sleep_for(50ms);
    CHECK(resp.a_queries == 1);

    // A name that cannot be asked for fails at once, naming it.
    auto bad = resolve(*r, "a..local");
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == dns::errc::bad_name);
    r->close();
}

TEST_CASE("mdns resolver: no answer fails after the timeout, having asked `transmissions` times")
{
    responder resp(std::map<std::string, std::array<std::uint8_t, 4>>{});
    io_thread t;
    auto c = test_config(resp);
    // Queries at 0, 100, 300 ms; the timeout far after the last one, so that a loaded machine
    // (CI) that runs the timers late still sends all three before it (with 600 ms it once sent
    // two).
    c.timeout = 2000ms;
    c.first_interval = 100ms;
    c.transmissions = 3;
    c.max_concurrent = 1;
    auto r = asio::mdns_resolver::create(t.io.get_executor(), c);

    // A second resolution of the same name joins the first; another name is over the limit.
    auto p1 = std::make_shared<std::promise<result<net::ip_address>>>();
    auto p2 = std::make_shared<std::promise<result<net::ip_address>>>();
    const auto started = std::chrono::steady_clock::now();
    r->async_resolve("silent.local", [p1](result<net::ip_address> a) { p1->set_value(std::move(a)); });
    r->async_resolve("SILENT.local", [p2](result<net::ip_address> a) { p2->set_value(std::move(a)); });
    auto busy = resolve(*r, "another.local");
    REQUIRE_FALSE(busy);
    CHECK(busy.error() == dns::errc::busy);
    CHECK(busy.error().detail() == "more than 1 mDNS resolutions at once (mdns_config::max_concurrent); 'another.local' not resolved");

    auto f1 = p1->get_future();
    REQUIRE(f1.wait_for(10s) == std::future_status::ready);
    const auto took = std::chrono::steady_clock::now() - started;
    auto e = f1.get();
    REQUIRE_FALSE(e);
    CHECK(e.error() == dns::errc::no_answer);
    CHECK(e.error().detail() == "no mDNS answer for 'silent.local' within 2000 ms (asked 3 times on 1 interfaces)");
    CHECK(took >= 2000ms);
    auto e2 = p2->get_future().get();
    CHECK(e2.error() == dns::errc::no_answer);
    // The responder counts on its own thread: wait for it to have read the third pair.
    CHECK(wait_for([&] { return resp.a_queries == 3 && resp.aaaa_queries == 3; }, 5s));
    CHECK(resp.a_queries == 3);
    CHECK(resp.aaaa_queries == 3);
    CHECK(r->stats().failed == 3);

    // close() drops a pending resolution: its handler never runs.
    std::atomic<bool> called{false};
    r->async_resolve("silent.local", [&called](result<net::ip_address>) { called = true; });
    std::this_thread::sleep_for(20ms);
    r->close();
    std::this_thread::sleep_for(700ms);
    CHECK_FALSE(called);
}

TEST_CASE("peer connection: a peer's candidates hidden behind a .local name are resolved to a host pair")
{
    responder resp(std::map<std::string, std::array<std::uint8_t, 4>>{{std::string(hidden_name), {127, 0, 0, 1}}});
    io_thread t;
    auto ex = t.io.get_executor();
    peer_connection::configuration config;
    config.include_loopback = true;
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    peer_connection_options hiding_resolver = options;
    hiding_resolver.mdns = test_config(resp);

    auto pa = peer_connection::create(ex, config, options);
    auto pb = peer_connection::create(ex, config, hiding_resolver);
    REQUIRE(pa);
    REQUIRE(pb);
    std::mutex m;
    std::vector<std::string> errors;
    pb->on_mdns_error([&](const std::string& c, const std::string& why) {
        std::lock_guard l(m);
        errors.push_back(c + ": " + why);
    });
    std::atomic<int> failures{0}, hidden{0};
    // a's candidates reach b with the address replaced by the name, as a browser sends them;
    // b's reach a as they are. Each waits for its remote description.
    relay to_b, to_a;
    to_b.to = &*pb;
    to_a.to = &*pa;
    to_b.failures = to_a.failures = &failures;
    pa->on_ice_candidate([&](std::optional<peerkit::ice_candidate> c) {
        if (!c) return;
        auto parsed = sdp::candidate::parse(c->candidate);
        if (!parsed) return void(++failures);
        parsed->address = std::string(hidden_name);
        c->candidate = sdp::to_string(*parsed);
        ++hidden;
        to_b.add(std::move(*c));
    });
    pb->on_ice_candidate([&](std::optional<peerkit::ice_candidate> c) {
        if (c) to_a.add(std::move(*c));
    });
    std::atomic<bool> a_connected{false}, b_connected{false};
    pa->on_connection_state_change([&](peerkit::connection_state s) { a_connected = s == peerkit::connection_state::connected; });
    pb->on_connection_state_change([&](peerkit::connection_state s) { b_connected = s == peerkit::connection_state::connected; });

    REQUIRE(pa->async_create_data_channel("chat", {}, bnet::use_future).get());
    auto offer = pa->async_set_local_description(bnet::use_future).get();
    REQUIRE(offer);
    REQUIRE(pb->async_set_remote_description(*offer, bnet::use_future).get());
    to_b.open();
    auto answer = pb->async_set_local_description(bnet::use_future).get();
    REQUIRE(answer);
    REQUIRE(pa->async_set_remote_description(*answer, bnet::use_future).get());
    to_a.open();
    REQUIRE(wait_for([&] { return a_connected && b_connected; }));
    // The resolved candidate was added and upgraded the prflx one (RFC 8445 7.3.1.3), if any.
    REQUIRE(wait_for([&] { return pb->mdns_stats().candidates_added >= 1; }));
    CHECK(hidden >= 1);
    CHECK(failures == 0);
    auto s = pb->async_get_stats(bnet::use_future).get();
    REQUIRE(s.selected_remote_candidate);
    CHECK(s.selected_remote_candidate->find(" 127.0.0.1 ") != std::string::npos);
    CHECK(s.selected_remote_candidate->find("typ host") != std::string::npos);
    const auto ms = pb->mdns_stats();
    CHECK(ms.candidates_failed == 0);
    CHECK(ms.resolver.queries_sent == 2);  // one name, asked once (A and AAAA): the rest were cached
    CHECK(ms.resolver.resolved == static_cast<std::uint64_t>(hidden.load()));
    {
        std::lock_guard l(m);
        CHECK(errors.empty());
    }

    // A name nobody answers: the call still completes at once; the failure is counted and
    // reported on the user's executor.
    auto silent = peerkit::ice_candidate{"candidate:1 1 udp 2122260223 nobody.local 9 typ host", "0", 0, {}};
    auto c = test_config(resp);
    c.timeout = 300ms;
    c.first_interval = 100ms;
    hiding_resolver.mdns = c;
    auto pc = peer_connection::create(ex, config, hiding_resolver);
    REQUIRE(pc);
    pc->on_mdns_error([&](const std::string& cand, const std::string& why) {
        std::lock_guard l(m);
        errors.push_back(cand + ": " + why);
    });
    REQUIRE(pc->async_set_remote_description(*offer, bnet::use_future).get());
    const auto started = std::chrono::steady_clock::now();
    REQUIRE(pc->async_add_ice_candidate(silent, bnet::use_future).get());
    CHECK(std::chrono::steady_clock::now() - started < 250ms);
    REQUIRE(wait_for([&] {
        std::lock_guard l(m);
        return !errors.empty();
    }));
    {
        std::lock_guard l(m);
        CHECK(errors[0] == "candidate:1 1 udp 2122260223 nobody.local 9 typ host: no mDNS answer for 'nobody.local' within 300 ms (asked 2 times on 1 interfaces)");
    }
    CHECK(pc->mdns_stats().candidates_failed == 1);
    // A malformed .local candidate is refused at once, like any malformed line.
    auto broken = peerkit::ice_candidate{"candidate:1 1 udp x nobody.local 9 typ host", "0", 0, {}};
    CHECK_FALSE(pc->async_add_ice_candidate(broken, bnet::use_future).get());

    // Lifetime: resolutions pending when the peer connection is moved, closed or destroyed
    // never touch it (ASan/UBSan builds check this).
    REQUIRE(pc->async_add_ice_candidate(silent, bnet::use_future).get());
    peer_connection moved = std::move(*pc);
    REQUIRE(moved.async_add_ice_candidate(silent, bnet::use_future).get());
    {
        auto gone = peer_connection::create(ex, config, hiding_resolver);
        REQUIRE(gone);
        REQUIRE(gone->async_set_remote_description(*offer, bnet::use_future).get());
        REQUIRE(gone->async_add_ice_candidate(silent, bnet::use_future).get());
    }
    moved.async_close(bnet::use_future).get();
    std::this_thread::sleep_for(400ms);  // past the timeout
    CHECK(moved.mdns_stats().candidates_failed == 1);

    // Off: a .local candidate is refused, as before this feature.
    peer_connection_options off = options;
    off.resolve_mdns_candidates = false;
    auto plain = peer_connection::create(ex, config, off);
    REQUIRE(plain);
    REQUIRE(plain->async_set_remote_description(*offer, bnet::use_future).get());
    auto refused = plain->async_add_ice_candidate(silent, bnet::use_future).get();
    REQUIRE_FALSE(refused);
    CHECK(refused.error().detail().find("is not an IP literal") != std::string_view::npos);

    pa->async_close(bnet::use_future).get();
    pb->async_close(bnet::use_future).get();
    plain->shutdown();
    pa->shutdown();
    pb->shutdown();
}

// ---- backpressure to the user's executor (docs/security.md G8) ---------------------------------
namespace {

// An io_context run by `n` threads: the driver's strand and the user's (sleeping) handlers
// need not share one.
struct io_threads {
    bnet::io_context io;
    bnet::executor_work_guard<bnet::io_context::executor_type> guard{io.get_executor()};
    std::vector<std::thread> threads;
    explicit io_threads(std::size_t n)
    {
        for (std::size_t i = 0; i < n; ++i) threads.emplace_back([this] { io.run(); });
    }
    io_threads(const io_threads&) = delete;
    io_threads& operator=(const io_threads&) = delete;
    ~io_threads()
    {
        guard.reset();
        io.stop();
        for (auto& t : threads) t.join();
    }
};

// The transfer's size in MiB: 100 in optimised builds (the release/gcc preset), 32 in Debug
// and sanitizer builds (-O0 DTLS, SCTP and the byte checks), still more than three times the
// receiver's budget; the environment's PEERKIT_BACKPRESSURE_MB overrides.
std::size_t transfer_mib()
{
    if (const char* v = std::getenv("PEERKIT_BACKPRESSURE_MB"); v != nullptr && std::atoi(v) > 0)
        return static_cast<std::size_t>(std::atoi(v));
#ifdef NDEBUG
    return 100;
#else
    return 32;
#endif
}

// Message i: its number in the first 4 bytes, then bytes that depend on i and their offset.
std::byte pattern(std::size_t i, std::size_t offset)
{
    return static_cast<std::byte>((i * 131 + offset * 7) & 0xff);
}

}  // namespace

TEST_CASE("a sleeping handler slows the sender: every byte, held bytes bounded")
{
    constexpr std::size_t message_size = 64 * 1024;
    const std::size_t count = transfer_mib() * 1024 * 1024 / message_size;
    constexpr std::size_t facade_budget = 2 * 1024 * 1024;  // peer_connection_options::max_queued_bytes
    io_threads sender_io(1), receiver_io(2);  // the receiver: one thread for its driver, one that sleeps
    auto ex_a = sender_io.io.get_executor();
    auto ex_b = receiver_io.io.get_executor();
    auto signaling_pair = signaling::make_memory_pair(ex_a);
    auto& sig_a = signaling_pair.first;
    auto& sig_b = signaling_pair.second;
    recorder<decltype(ex_a)> ra(ex_a);
    recorder<decltype(ex_b)> rb(ex_b);
    auto options_b = loopback_options();
    options_b.max_queued_bytes = facade_budget;
    auto pa = peer_connection::create(ex_a, loopback_config(), loopback_options());
    auto pb = peer_connection::create(ex_b, loopback_config(), options_b);
    REQUIRE(pa);
    REQUIRE(pb);
    const scope_exit stop([&] {
        pa->shutdown();
        pb->shutdown();
        sig_a.close();
        sig_b.close();
    });
    set_connection_handlers(*pa, ra, sig_a);
    pa->on_channel_open(ra.channel("open"));
    set_channel_end_handlers(*pa, ra);
    set_connection_handlers(*pb, rb, sig_b);
    pb->on_data_channel(rb.data_channel());
    pb->on_channel_open(rb.channel("open"));
    set_channel_end_handlers(*pb, rb);

    // The receiver checks every byte and its order, and sleeps: 1 ms per message, and twice
    // 300 ms (a handler that blocks for a while).
    std::atomic<std::size_t> received{0};
    std::atomic<std::size_t> bad{0};
    pb->on_message([&](const peerkit::channel_message_event& m) {
        const std::size_t i = received.load();
        bool ok = m.binary && m.data.size() == message_size;
        for (std::size_t k = 0; ok && k < 4; ++k) ok = m.data[k] == static_cast<std::byte>((i >> (8 * k)) & 0xff);
        for (std::size_t k = 4; ok && k < m.data.size(); ++k) ok = m.data[k] == pattern(i, k);
        if (!ok) ++bad;
        received.store(i + 1);
        std::this_thread::sleep_for(i == count / 4 || i == count / 2 ? 300ms : 1ms);
    });

    const auto ch = connect(ex_a, *pa, *pb, sig_a, sig_b, ra);

    // Sampled throughout, from this thread: what the receiving connection holds (the core's
    // total: SCTP, messages not yet taken by the runtime, channel table, endpoint; and the
    // runtime's queue towards the handler).
    std::atomic<bool> sending{true};
    std::atomic<std::size_t> max_held{0}, samples{0};
    std::thread sampler([&] {
        while (sending.load()) {
            const auto core = pb->async_get_stats(bnet::use_future).get();
            const auto queued = pb->delivery_stats().queued_bytes;
            const std::size_t total = static_cast<std::size_t>(core.bytes_held) + queued;
            if (total > max_held.load()) max_held.store(total);
            ++samples;
            std::this_thread::sleep_for(2ms);
        }
    });
    const scope_exit join_sampler([&] {
        sending = false;
        sampler.join();
    });

    // A fast sender: keeps up to 1 MiB buffered (a browser app's bufferedAmount check), and
    // waits when it is above that, which happens only when the receiver's window is closed.
    constexpr std::size_t high_water = 1024 * 1024;
    constexpr std::size_t batch = 16;
    std::size_t sent = 0, waits = 0, max_buffered = 0;
    std::vector<std::vector<std::byte>> messages(batch, std::vector<std::byte>(message_size));
    while (sent < count) {
        const std::size_t buffered =
            pa->async_invoke([ch](peer_connection::core_type& c, auto) { return c.channel_buffered_amount(ch); }, bnet::use_future).get();
        max_buffered = std::max(max_buffered, buffered);
        if (buffered > high_water) {
            ++waits;
            std::this_thread::sleep_for(2ms);
            continue;
        }
        const std::size_t n = std::min(batch, count - sent);
        std::vector<bytes_view> views;
        for (std::size_t j = 0; j < n; ++j) {
            auto& m = messages[j];
            const std::size_t i = sent + j;
            for (std::size_t k = 0; k < 4; ++k) m[k] = static_cast<std::byte>((i >> (8 * k)) & 0xff);
            for (std::size_t k = 4; k < m.size(); ++k) m[k] = pattern(i, k);
            views.emplace_back(m);
        }
        auto r = pa->async_send_binary(ch, std::span<const bytes_view>(views), bnet::use_future).get();
        if (!r) {  // the send buffer is full: also backpressure
            ++waits;
            std::this_thread::sleep_for(2ms);
            continue;
        }
        sent += *r;
    }
    REQUIRE(wait_for([&] { return received.load() == count; }, 600s));
    sending = false;

    const auto d = pb->delivery_stats();
    const auto core = pb->async_get_stats(bnet::use_future).get();
    INFO("MiB " << transfer_mib() << ", samples " << samples.load() << ", max held " << max_held.load()
                << ", facade high water " << d.max_queued_bytes_seen << ", stalls " << d.stalls << ", wakes "
                << d.wakes << ", sender waits " << waits << ", max buffered " << max_buffered);
    CHECK(bad.load() == 0);
    CHECK(received.load() == count);
    CHECK(d.dropped_events == 0);
    CHECK(core.messages_received == count);
    // The runtime's queue stayed within its limit (plus the one event taken last, counted by
    // its buffer's capacity: SCTP reassembly appends fragments to a growing vector, so up to
    // twice the message) ...
    CHECK(d.max_queued_bytes_seen <= facade_budget + 2 * message_size + peer_connection::queued_event_overhead);
    // ... and everything the receiving connection held, sampled, within the budget: the SCTP
    // receive buffer (peerkit::peer_connection_limits::receive_buffer_size, 8 MiB, which also counts what the core
    // holds for the runtime) plus the runtime's queue, plus one message each side of the limit
    // checks, plus the channel table and endpoint (a few KiB).
    const std::size_t budget = peerkit::peer_connection_limits{}.receive_buffer_size + facade_budget + 4 * message_size + 64 * 1024;
    CHECK(samples.load() > 10);
    CHECK(max_held.load() < budget);
    CHECK(budget < count * message_size);  // meaningful: the transfer would not fit in it
    // The receiver's runtime stopped reading, and was woken again ...
    CHECK(d.stalls > 0);
    CHECK(d.wakes > 0);
    // ... so the sender saw the backpressure: its buffer filled up and it waited.
    CHECK(waits > 0);
    CHECK(max_buffered > high_water / 2);
    CHECK(loop_failures == 0);
}
