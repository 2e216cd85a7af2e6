// mDNS `.local` remote candidates: the runtime's resolver (asio/mdns_resolver.hpp) against a
// real UDP responder written here on 127.0.0.1 (the resolver's group set to it: multicast is
// what tests/interop/browser_echo.py shows with Chromium), and the peer connection resolving a
// peer's candidates that a signaling relay hid behind a .local name, as browsers do.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/asio/peer_connection.hpp>
#include <peerkit/net/dns.hpp>
#include <peerkit/sdp/candidate.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace peerkit;
using namespace std::chrono_literals;
namespace bnet = boost::asio;
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
        std::vector<std::uint8_t> m{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0};
        std::size_t start = 0;
        for (std::size_t i = 0; i <= name.size(); ++i)
            if (i == name.size() || name[i] == '.') {
                m.push_back(static_cast<std::uint8_t>(i - start));
                for (std::size_t k = start; k < i; ++k) m.push_back(static_cast<std::uint8_t>(name[k]));
                start = i + 1;
            }
        m.push_back(0);
        for (int b : {0, 1, 0x80, 1}) m.push_back(static_cast<std::uint8_t>(b));
        for (int s : {24, 16, 8, 0}) m.push_back(static_cast<std::uint8_t>(ttl >> s));
        m.push_back(0);
        m.push_back(4);
        m.insert(m.end(), a.begin(), a.end());
        return m;
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

struct io_thread {
    bnet::io_context io;
    bnet::executor_work_guard<bnet::io_context::executor_type> work = bnet::make_work_guard(io);
    std::thread thread{[this] { io.run(); }};
    ~io_thread()
    {
        work.reset();
        io.stop();
        thread.join();
    }
};

result<net::ip_address> resolve(asio::mdns_resolver& r, std::string name)
{
    auto p = std::make_shared<std::promise<result<net::ip_address>>>();
    auto f = p->get_future();
    r.async_resolve(std::move(name), [p](result<net::ip_address> a) { p->set_value(std::move(a)); });
    REQUIRE(f.wait_for(10s) == std::future_status::ready);
    return f.get();
}

template <class F>
bool wait_for(F f, std::chrono::milliseconds budget = 10s)
{
    const auto end = std::chrono::steady_clock::now() + budget;
    while (!f()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

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
    c.timeout = 600ms;
    c.first_interval = 100ms;  // queries at 0, 100, 300 ms
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
    REQUIRE(f1.wait_for(5s) == std::future_status::ready);
    const auto took = std::chrono::steady_clock::now() - started;
    auto e = f1.get();
    REQUIRE_FALSE(e);
    CHECK(e.error() == dns::errc::no_answer);
    CHECK(e.error().detail() == "no mDNS answer for 'silent.local' within 600 ms (asked 3 times on 1 interfaces)");
    CHECK(took >= 600ms);
    CHECK(took < 3s);
    auto e2 = p2->get_future().get();
    CHECK(e2.error() == dns::errc::no_answer);
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
    // b's reach a as they are. Each waits for its remote description (the relay below).
    struct relay {
        std::mutex m;
        bool ready = false;
        std::vector<rtc::ice_candidate> waiting;
        peer_connection* to = nullptr;
        std::atomic<int>* failures = nullptr;
        void send(const rtc::ice_candidate& c)
        {
            to->async_add_ice_candidate(c, [f = failures](result<void> r) { *f += r ? 0 : 1; });
        }
        void add(rtc::ice_candidate c)
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
    } to_b, to_a;
    to_b.to = &*pb;
    to_a.to = &*pa;
    to_b.failures = to_a.failures = &failures;
    pa->on_ice_candidate([&](std::optional<rtc::ice_candidate> c) {
        if (!c) return;
        auto parsed = sdp::candidate::parse(c->candidate);
        if (!parsed) return void(++failures);
        parsed->address = std::string(hidden_name);
        c->candidate = sdp::to_string(*parsed);
        ++hidden;
        to_b.add(std::move(*c));
    });
    pb->on_ice_candidate([&](std::optional<rtc::ice_candidate> c) {
        if (c) to_a.add(std::move(*c));
    });
    std::atomic<bool> a_connected{false}, b_connected{false};
    pa->on_connection_state_change([&](rtc::connection_state s) { a_connected = s == rtc::connection_state::connected; });
    pb->on_connection_state_change([&](rtc::connection_state s) { b_connected = s == rtc::connection_state::connected; });

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
    auto silent = rtc::ice_candidate{"candidate:1 1 udp 2122260223 nobody.local 9 typ host", "0", 0, {}};
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
    auto broken = rtc::ice_candidate{"candidate:1 1 udp x nobody.local 9 typ host", "0", 0, {}};
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
