// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/signaling/stdio.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

using namespace peerkit::signaling;
namespace net = boost::asio;

namespace {
struct pipe_pair {
    int fds[2] = {-1, -1};
    pipe_pair() { REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
    ~pipe_pair() { close_all(); }
    void close_write()
    {
        if (fds[1] >= 0) ::close(fds[1]);
        fds[1] = -1;
    }
    void close_all()
    {
        for (int& fd : fds)
            if (fd >= 0) ::close(fd), fd = -1;
    }
    void write_raw(const std::string& s) const
    {
        REQUIRE(::write(fds[1], s.data(), s.size()) == static_cast<ssize_t>(s.size()));
    }
};

using stdio_t = basic_stdio_transport<net::io_context::executor_type>;

// Collects receives until `count` results or the stream ends.
std::vector<peerkit::result<message>> receive_all(net::io_context& io, stdio_t& t, std::size_t count)
{
    std::vector<peerkit::result<message>> got;
    std::function<void()> next = [&] {
        t.async_receive([&](peerkit::result<message> r) {
            const bool closed = !r && r.error() == errc::closed;
            got.push_back(std::move(r));
            if (!closed && got.size() < count) next();
        });
    };
    next();
    io.restart();
    io.run_for(std::chrono::seconds(10));
    return got;
}
}  // namespace

TEST_CASE("stdio: two transports over a pipe pair exchange many messages")
{
    net::io_context io;
    pipe_pair ab, ba;
    transport_config config;
    config.max_queued_sends = 4096;  // all sends are queued before the io_context runs
    auto a = stdio_t::open(io.get_executor(), ba.fds[0], ab.fds[1], config);
    auto b = stdio_t::open(io.get_executor(), ab.fds[0], ba.fds[1], config);
    REQUIRE(a);
    REQUIRE(b);
    // The transports hold their own copies; the test's descriptors can go.
    ab.close_all();
    ba.close_all();

    const int n = 2000;
    for (int i = 0; i < n; ++i) {
        ice_candidate c{"candidate:" + std::to_string(i) + " 1 udp 1 127.0.0.1 9 typ host", "0", 0, "u"};
        REQUIRE(a->send(c));
    }
    REQUIRE(a->send(end_of_candidates()));
    auto got = receive_all(io, *b, n + 1);
    REQUIRE(got.size() == n + 1);
    for (int i = 0; i < n; ++i) {
        REQUIRE(got[static_cast<std::size_t>(i)]);
        CHECK(std::get<ice_candidate>(*got[static_cast<std::size_t>(i)]).candidate.starts_with("candidate:" + std::to_string(i) + " "));
    }
    REQUIRE(got.back());
    CHECK(std::get<ice_candidate>(*got.back()).end_of_candidates());

    // And the other way, with a description.
    REQUIRE(b->send(session_description{sdp_type::answer, "v=0\r\na=x\r\n"}));
    auto back = receive_all(io, *a, 1);
    REQUIRE(back.size() == 1);
    REQUIRE(back[0]);
    CHECK(std::get<session_description>(*back[0]).sdp == "v=0\r\na=x\r\n");

    CHECK_FALSE(a->send_text("two\nlines"));
    CHECK(a->send_text("two\nlines").error() == errc::invalid_message);
}

TEST_CASE("stdio: malformed and oversized lines are errors, the next line is delivered, EOF ends")
{
    net::io_context io;
    pipe_pair in, out;
    transport_config config;
    config.codec.max_message_size = 100;
    auto t = stdio_t::open(io.get_executor(), in.fds[0], out.fds[1], config);
    REQUIRE(t);
    in.write_raw("{\"type\":\"offer\",\"sdp\":\"v=0\"}\n");
    in.write_raw("this is not json\n");
    in.write_raw("\n\r\n");  // blank lines are skipped
    in.write_raw("{\"candidate\":\"" + std::string(300, 'x') + "\"}\n");  // over the limit
    in.write_raw("{\"candidate\":\"\"}\r\n");                            // CRLF accepted
    in.write_raw("{\"type\":\"answer\"}\n");                              // valid JSON, invalid message
    in.write_raw("{\"type\":\"rollback\"}");                              // last line without newline
    in.close_write();
    auto got = receive_all(io, *t, 100);
    REQUIRE(got.size() == 7);
    REQUIRE(got[0]);
    CHECK(std::get<session_description>(*got[0]).type == sdp_type::offer);
    REQUIRE_FALSE(got[1]);
    CHECK(got[1].error() == errc::malformed_json);
    REQUIRE_FALSE(got[2]);
    CHECK(got[2].error() == errc::message_too_large);
    INFO(got[2].error().detail());
    CHECK(std::string(got[2].error().detail()).find("line of 316 bytes exceeds max_message_size 100") != std::string::npos);
    REQUIRE(got[3]);
    CHECK(std::get<ice_candidate>(*got[3]).end_of_candidates());
    REQUIRE_FALSE(got[4]);
    CHECK(got[4].error() == errc::invalid_message);
    REQUIRE(got[5]);
    CHECK(std::get<session_description>(*got[5]).type == sdp_type::rollback);
    REQUIRE_FALSE(got[6]);
    CHECK(got[6].error() == errc::closed);
    CHECK(std::string(got[6].error().detail()).find("end of input") != std::string::npos);
    CHECK_FALSE(t->is_open());
}

TEST_CASE("stdio: close from a handler flushes queued lines and never closes the caller's descriptors")
{
    net::io_context io;
    pipe_pair in, out;
    auto t = stdio_t::open(io.get_executor(), in.fds[0], out.fds[1]);
    REQUIRE(t);
    in.write_raw("{\"candidate\":\"\"}\n");
    bool handled = false;
    t->async_receive([&](peerkit::result<message> r) {
        REQUIRE(r);
        REQUIRE(t->send(session_description{sdp_type::answer, "v=0"}));
        t->close();  // queued answer is still written
        handled = true;
    });
    io.run_for(std::chrono::seconds(10));
    CHECK(handled);
    CHECK(io.stopped());
    // Our descriptors are still open and the line arrived.
    ::close(out.fds[1]);
    out.fds[1] = -1;
    std::string written;
    char buf[256];
    for (ssize_t n; (n = ::read(out.fds[0], buf, sizeof buf)) > 0;) written.append(buf, static_cast<std::size_t>(n));
    CHECK(written == "{\"type\":\"answer\",\"sdp\":\"v=0\"}\n");
    CHECK(::fcntl(in.fds[1], F_GETFD) != -1);
}

TEST_CASE("stdio: a regular file works as input (peer < messages.jsonl), with its end as end of stream")
{
    net::io_context io;
    char path[] = "/tmp/peerkit-stdio-XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    const std::string lines = "{\"type\":\"offer\",\"sdp\":\"v=0\"}\n{\"candidate\":\"\"}\n";
    REQUIRE(::write(fd, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size()));
    REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
    pipe_pair out;
    auto t = stdio_t::open(io.get_executor(), fd, out.fds[1]);
    ::close(fd);
    REQUIRE(t);
    auto got = receive_all(io, *t, 10);
    REQUIRE(got.size() == 3);
    CHECK(got[0]);
    CHECK(got[1]);
    REQUIRE_FALSE(got[2]);
    CHECK(got[2].error() == errc::closed);
}

static_assert(signaling_transport<stdio_transport>);
