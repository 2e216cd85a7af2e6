// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/signaling/memory.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace peerkit::signaling;
namespace net = boost::asio;

namespace {
// Runs what is ready now; restart() because a context that ran out of work stays stopped.
void poll(net::io_context& io)
{
    io.restart();
    io.poll();
}
}  // namespace

TEST_CASE("memory pair: messages arrive in order, malformed frames are reported and skipped")
{
    net::io_context io;
    auto ends = make_memory_pair(io.get_executor());
    auto& a = ends.first;
    auto& b = ends.second;
    REQUIRE(a.send(session_description{sdp_type::offer, "v=0\r\n"}));
    REQUIRE(a.send_text("{not json"));
    REQUIRE(a.send(ice_candidate{"candidate:1 1 udp 1 127.0.0.1 5 typ host", "0", 0, std::nullopt}));
    REQUIRE(a.send(end_of_candidates()));

    std::vector<peerkit::result<message>> got;
    std::function<void()> next = [&] {
        b.async_receive([&](peerkit::result<message> r) {
            got.push_back(std::move(r));
            if (got.size() < 4) next();
        });
    };
    next();
    io.run_for(std::chrono::seconds(5));
    REQUIRE(got.size() == 4);
    REQUIRE(got[0]);
    CHECK(std::get<session_description>(*got[0]).sdp == "v=0\r\n");
    REQUIRE_FALSE(got[1]);
    CHECK(got[1].error() == errc::malformed_json);
    REQUIRE(got[2]);
    CHECK(std::get<ice_candidate>(*got[2]).sdp_mid == std::optional<std::string>("0"));
    REQUIRE(got[3]);
    CHECK(std::get<ice_candidate>(*got[3]).end_of_candidates());
}

TEST_CASE("memory pair: closing one end ends the other's stream after the frames already sent")
{
    net::io_context io;
    auto ends = make_memory_pair(io.get_executor());
    auto& a = ends.first;
    auto& b = ends.second;
    REQUIRE(a.send_text("one"));
    REQUIRE(a.send_text("two"));
    a.close();
    CHECK_FALSE(a.send_text("three"));
    CHECK(a.send_text("three").error() == errc::closed);
    std::vector<std::string> frames;
    peerkit::error end;
    std::function<void()> next = [&] {
        b.async_receive_text([&](peerkit::result<std::string> r) {
            if (!r) {
                end = r.error();
                return;
            }
            frames.push_back(*r);
            next();
        });
    };
    next();
    io.run_for(std::chrono::seconds(5));
    CHECK(frames == std::vector<std::string>{"one", "two"});
    CHECK(end == errc::closed);
    CHECK_FALSE(b.is_open());
    CHECK(io.stopped());  // nothing left outstanding once both sides are done
}

TEST_CASE("memory pair: close from inside a completion handler, waiting receives complete")
{
    net::io_context io;
    auto ends = make_memory_pair(io.get_executor());
    auto& a = ends.first;
    auto& b = ends.second;
    int completions = 0;
    peerkit::error second_error;
    // Two receives wait; the first handler closes b, the second must complete with closed.
    b.async_receive_text([&](peerkit::result<std::string> r) {
        REQUIRE(r);
        ++completions;
        b.close();
        b.close();  // idempotent
    });
    b.async_receive_text([&](peerkit::result<std::string> r) {
        ++completions;
        REQUIRE_FALSE(r);
        second_error = r.error();
    });
    REQUIRE(a.send_text("hello"));
    io.run_for(std::chrono::seconds(5));
    CHECK(completions == 2);
    CHECK(second_error == errc::closed);
    CHECK(io.stopped());
}

TEST_CASE("memory pair: send queue is bounded until the other end's user takes frames")
{
    net::io_context io;
    transport_config config;
    config.max_queued_sends = 3;
    auto ends = make_memory_pair(io.get_executor(), config);
    auto& a = ends.first;
    auto& b = ends.second;
    CHECK(a.send_text("1"));
    CHECK(a.send_text("2"));
    CHECK(a.send_text("3"));
    auto full = a.send_text("4");
    REQUIRE_FALSE(full);
    CHECK(full.error() == errc::send_queue_full);
    poll(io);  // delivered into b's inbox, still not taken by b's user
    CHECK(a.queued_sends() == 3);
    CHECK_FALSE(a.send_text("4"));
    bool got = false;
    b.async_receive_text([&](peerkit::result<std::string> r) { got = r && *r == "1"; });
    poll(io);
    CHECK(got);
    CHECK(a.queued_sends() == 2);
    CHECK(a.send_text("4"));

    auto too_big = a.send_text(std::string(config.codec.max_message_size + 1, 'x'));
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error() == errc::message_too_large);
}

TEST_CASE("memory pair: use_future and use_awaitable, ends on different threads")
{
    net::thread_pool pool(2);
    net::io_context io;
    auto sa = net::make_strand(pool.get_executor());
    auto ends = make_memory_pair(net::any_io_executor(sa), net::any_io_executor(io.get_executor()));
    auto& a = ends.first;
    auto& b = ends.second;

    // b (io_context thread) echoes every frame with a coroutine until its stream ends.
    int echoed = 0;
    bool echo_failed = false;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            for (;;) {
                auto m = co_await b.async_receive_text(net::use_awaitable);
                if (!m) co_return;
                if (!b.send_text(*m)) echo_failed = true;
                ++echoed;
            }
        },
        net::detached);
    std::thread io_thread([&] { io.run_for(std::chrono::seconds(20)); });

    // use_future on the pool side: the test thread blocks on the future.
    REQUIRE(a.send(session_description{sdp_type::answer, "v=0\r\n"}));
    auto fut = a.async_receive(net::use_future);
    REQUIRE(fut.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
    auto r = fut.get();
    REQUIRE(r);
    CHECK(std::get<session_description>(*r).type == sdp_type::answer);

    std::vector<std::string> back;
    for (int i = 0; i < 100; ++i) REQUIRE(a.send_text(std::to_string(i)));
    for (int i = 0; i < 100; ++i) {
        auto f = a.async_receive_text(net::use_future);
        REQUIRE(f.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
        auto text = f.get();
        REQUIRE(text);
        back.push_back(*text);
    }
    a.close();
    io_thread.join();  // the coroutine ends when a's close reaches b, then io runs out of work
    pool.join();
    CHECK(io.stopped());
    CHECK(echoed == 101);
    CHECK_FALSE(echo_failed);
    for (int i = 0; i < 100; ++i) CHECK(back[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("memory pair: a receive can be cancelled through its cancellation slot")
{
    net::io_context io;
    auto ends = make_memory_pair(io.get_executor());
    auto& a = ends.first;
    auto& b = ends.second;
    net::cancellation_signal signal;
    peerkit::error e;
    b.async_receive_text(net::bind_cancellation_slot(signal.slot(), [&](peerkit::result<std::string> r) {
        REQUIRE_FALSE(r);
        e = r.error();
    }));
    poll(io);
    signal.emit(net::cancellation_type::terminal);
    poll(io);
    CHECK(e == errc::cancelled);
    // The transport is still usable afterwards.
    REQUIRE(a.send_text("after"));
    std::string got;
    b.async_receive_text([&](peerkit::result<std::string> r) { got = r ? *r : "error"; });
    poll(io);
    CHECK(got == "after");
}

static_assert(signaling_transport<memory_transport>);

TEST_CASE("memory pair: a context destroyed with a receive waiting destroys the handler unrun (no cycle)")
{
    // The handler owns the transport that stores it, and a coroutine would do the same through
    // its frame: only the context's shutdown can break that cycle, as it does for Asio's own
    // pending operations.
    auto token = std::make_shared<int>(0);
    const std::weak_ptr<int> watch = token;
    bool ran = false;
    {
        net::io_context io;
        auto ends = make_memory_pair(io.get_executor());
        auto held = std::make_shared<basic_memory_transport<net::io_context::executor_type>>(std::move(ends.first));
        held->async_receive_text([held, token, &ran](peerkit::result<std::string>) { ran = true; });
        token.reset();
        poll(io);  // the receive is now stored in the transport
        io.stop();
    }
    CHECK_FALSE(ran);
    CHECK(watch.expired());
}

namespace {
struct log_lines {
    std::mutex m;
    std::vector<std::string> lines;
    static void sink(void* context, peerkit::log::level, peerkit::log::component c, std::string_view message) noexcept
    {
        auto* self = static_cast<log_lines*>(context);
        std::lock_guard l(self->m);
        self->lines.push_back(std::string(peerkit::log::to_string(c)) + " " + std::string(message));
    }
};
}  // namespace

TEST_CASE("memory pair: a message that does not parse is logged at debug, naming the transport")
{
    net::io_context io;
    log_lines captured;
    transport_config config;
    config.logger = peerkit::log::logger{&log_lines::sink, &captured,
                                         peerkit::log::levels{}.set(peerkit::log::component::runtime, peerkit::log::level::debug)};
    auto ends = make_memory_pair(io.get_executor(), config);
    REQUIRE(ends.first.send_text("{not json"));
    REQUIRE(ends.first.send(end_of_candidates()));
    std::vector<peerkit::result<message>> got;
    std::function<void()> next = [&] {
        ends.second.async_receive([&](peerkit::result<message> r) {
            got.push_back(std::move(r));
            if (got.size() < 2) next();
        });
    };
    next();
    io.run_for(std::chrono::seconds(5));
    REQUIRE(got.size() == 2);
    CHECK_FALSE(got[0]);
    CHECK(got[1]);
    std::lock_guard l(captured.m);
    REQUIRE(captured.lines.size() == 1);  // the good message is not logged
    CHECK(captured.lines[0].find("runtime signaling (memory): could not parse a received message of 9 bytes") == 0);
    CHECK(captured.lines[0].find("JSON") != std::string::npos);
}
