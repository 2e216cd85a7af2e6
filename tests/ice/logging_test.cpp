// agent_config::logger: a refused check, a check the peer refused, a refused candidate and the
// selected pair each produce a line that names them; nothing is formatted when logging is off.
#include "scripted_peer.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using namespace std::chrono_literals;

namespace {

struct capture {
    std::vector<std::string> lines;  // "component level: message"

    static void sink(void* context, log::level l, log::component c, std::string_view message) noexcept
    {
        auto* self = static_cast<capture*>(context);
        self->lines.push_back(std::string(log::to_string(c)) + " " + std::string(log::to_string(l)) + ": " +
                              std::string(message));
    }
    log::logger logger(log::level level = log::level::debug) { return {&capture::sink, this, log::levels::all(level)}; }

    // The first line containing every one of `parts`, or "" (Catch prints the lines on failure).
    std::string find(std::initializer_list<std::string_view> parts) const
    {
        for (const auto& l : lines)
            if (std::all_of(parts.begin(), parts.end(), [&](std::string_view p) { return l.find(p) != std::string::npos; }))
                return l;
        return {};
    }
};

}  // namespace

TEST_CASE("log: a check with a wrong password is refused with a line that says so")
{
    capture log;
    auto config = controlled_config();
    config.logger = log.logger();
    scripted_rig r{config, {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.peer.agent_pwd = "not-the-agents-password-at-all";
    r.peer_check(scripted_host, agent_host, true);
    r.run_for(10ms);
    CAPTURE(log.lines);
    const auto line = log.find({"ice debug: ", "10.0.0.9:9000", "refused with 401", "wrong password"});
    CHECK_FALSE(line.empty());
}

TEST_CASE("log: our check refused by the peer (wrong remote password) is named, then its failure")
{
    capture log;
    auto config = controlling_config();
    config.logger = log.logger();
    scripted_rig r{config, {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.peer.pwd = "the-peer-uses-another-password";  // the agent signs with what it was given
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.run_for(5s);
    CAPTURE(log.lines);
    CHECK_FALSE(log.find({"ice debug: ", "error response 401", "10.0.0.9:9000", "wrong remote password"}).empty());
    CHECK_FALSE(log.find({"ice debug: pair 10.0.0.1:5000 -> 10.0.0.9:9000", "check failed: no response after 7 transmissions"}).empty());
    CHECK_FALSE(log.find({"ice debug: pair 10.0.0.1:5000 -> 10.0.0.9:9000", "in-progress -> failed"}).empty());
}

TEST_CASE("log: refused remote candidates are named with the reason")
{
    capture log;
    auto config = controlled_config();
    config.max_remote_candidates = 1;
    config.logger = log.logger();
    agent_type a{config, seeded_crypto{5}};
    const auto now = sim_time{} + 1h;
    REQUIRE(a.add_remote_candidate(now, "candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host"));
    CHECK_FALSE(a.add_remote_candidate(now, "candidate:2 1 udp 2130706431 10.0.0.10 9000 typ host"));
    CHECK_FALSE(a.add_remote_candidate(now, "candidate:3 2 udp 2130706431 10.0.0.11 9000 typ host"));
    CHECK_FALSE(a.add_remote_candidate(now, "candidate:4 1 udp banana"));
    CAPTURE(log.lines);
    CHECK_FALSE(log.find({"ice debug: remote candidate 10.0.0.10:9000 refused", "max_remote_candidates"}).empty());
    CHECK_FALSE(log.find({"ice debug: remote candidate 10.0.0.11:9000 refused", "component 2"}).empty());
    CHECK_FALSE(log.find({"ice debug: remote candidate refused: cannot parse", "banana"}).empty());
}

TEST_CASE("log: the selected pair at info, the failure at warn; off means silent")
{
    capture log;
    auto config = controlled_config();
    config.logger = log.logger(log::level::info);
    scripted_rig r{config, {{1, agent_host, "eth0", false}}, {scripted_host}};
    r.signal_candidate("candidate:1 1 udp 2130706431 10.0.0.9 9000 typ host");
    r.peer_check(scripted_host, agent_host, true);
    r.run_for(200ms);
    REQUIRE(r.connected());
    CAPTURE(log.lines);
    CHECK_FALSE(log.find({"ice info: selected pair 10.0.0.1:5000 -> 10.0.0.9:9000"}).empty());
    CHECK(log.find({" debug: "}).empty());  // info only
    r.net.block(ip("10.0.0.1"), ip("10.0.0.9"));
    r.run_for(31s);
    CHECK_FALSE(log.find({"ice warn: connection failed: no consent response for 30 s"}).empty());

    CHECK_FALSE(ice::agent_config{}.logger.any_enabled());  // off unless given
}
