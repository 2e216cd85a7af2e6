// What independent WebRTC stacks send and a peer connection must accept (issue 13): transport
// attributes at session level (RFC 8866 5: session-level attributes apply to every section),
// no a=ice-options:trickle, a=extmap-allow-mixed in a data-only offer, a=max-message-size:0
// (RFC 8841 6.1: no limit), and trickled candidates with "sdpMid":"" beside sdpMLineIndex 0
// and without usernameFragment. Two peerkit cores connect with every description and every
// candidate rewritten that way, in both roles.
#include "harness.hpp"

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

using namespace peerkit;
using namespace peerkit::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> lines_of(const std::string& sdp)
{
    std::vector<std::string> out;
    std::istringstream in(sdp);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

bool starts_with_any(const std::string& line, std::initializer_list<std::string_view> prefixes)
{
    return std::any_of(prefixes.begin(), prefixes.end(), [&](std::string_view p) { return line.starts_with(p); });
}

// The description as a stack that writes its transport at session level would send it.
std::string foreign_style(const std::string& sdp)
{
    const auto lines = lines_of(sdp);
    std::vector<std::string> session, media, moved;
    bool in_media = false;
    for (const auto& line : lines) {
        if (line.starts_with("m=")) in_media = true;
        if (line.starts_with("a=ice-options:")) continue;  // no trickle announced
        if (line.starts_with("a=max-message-size:")) {
            media.push_back("a=max-message-size:0");  // RFC 8841 6.1: no limit
            continue;
        }
        if (in_media && starts_with_any(line, {"a=fingerprint:", "a=setup:", "a=ice-ufrag:", "a=ice-pwd:"})) {
            moved.push_back(line);
            continue;
        }
        (in_media ? media : session).push_back(line);
    }
    REQUIRE(moved.size() >= 4);
    std::string out;
    for (const auto& l : session) out += l + "\r\n";
    out += "a=extmap-allow-mixed\r\n";
    for (const auto& l : moved) out += l + "\r\n";
    for (const auto& l : media) out += l + "\r\n";
    return out;
}

// libwebrtc treats an empty mid as absent; some stacks send no usernameFragment.
peerkit::ice_candidate foreign_candidate(peerkit::ice_candidate c)
{
    c.sdp_mid.clear();
    c.sdp_mline_index = 0;
    c.username_fragment.clear();
    return c;
}

}  // namespace

TEST_CASE("a peer connection accepts what independent stacks send: session-level transport, no trickle option, empty sdpMid")
{
    const bool foreign_offerer = GENERATE(true, false);
    INFO((foreign_offerer ? "the foreign side offers" : "the foreign side answers"));
    pc_world<> w;
    w.setup_default();
    auto& a = w.a;  // offers
    auto& b = w.b;  // answers
    auto& foreign = foreign_offerer ? a : b;

    auto ch = a.pc->create_data_channel(w.now, "chat");
    REQUIRE(ch);
    auto offer = a.pc->set_local_description(w.now);
    REQUIRE(offer);
    if (foreign_offerer) offer->sdp = foreign_style(offer->sdp);
    REQUIRE(b.pc->set_remote_description(w.now, *offer));
    auto answer = b.pc->set_local_description(w.now);
    REQUIRE(answer);
    if (!foreign_offerer) answer->sdp = foreign_style(answer->sdp);
    auto r = a.pc->set_remote_description(w.now, *answer);
    INFO((r ? std::string() : r.error().message()));
    REQUIRE(r);

    // The foreign side's trickled candidates arrive in its style.
    w.trickle = false;
    std::size_t relayed_a = 0, relayed_b = 0;
    auto relay = [&](pc_peer<peerkit::peer_connection_core>& from, std::size_t& relayed) {
        for (; relayed < from.candidates.size(); ++relayed) {
            auto c = from.candidates[relayed];
            if (&from == &foreign) c = foreign_candidate(c);
            auto added = w.other(from).pc->add_ice_candidate(w.now, c);
            INFO((added ? std::string() : added.error().message()));
            CHECK(added);
        }
    };
    REQUIRE(w.run_until([&] {
        relay(a, relayed_a);
        relay(b, relayed_b);
        return a.pc->connection_state() == peerkit::connection_state::connected &&
               b.pc->connection_state() == peerkit::connection_state::connected && b.remote_channel && !a.opened.empty();
    }));
    CHECK(relayed_a > 0);
    CHECK(relayed_b > 0);

    // a=max-message-size:0 is no limit: our own maximum applies, both ways (it used to make
    // every send fail).
    // Messages of exactly our maximum go and arrive; one byte more is refused at send.
    const std::size_t ours = peerkit::peer_connection_limits{}.max_message_size;
    const std::vector<std::byte> big(ours, std::byte{0x5a});
    REQUIRE(ch->send(w.now, bytes_view(big)));
    auto remote = *b.pc->find_channel(*b.remote_channel);
    REQUIRE(remote.send(w.now, bytes_view(big)));
    REQUIRE(w.run_until([&] { return b.binaries.size() == 1 && a.binaries.size() == 1; }));
    CHECK(b.binaries[0] == big);
    CHECK(a.binaries[0] == big);
    const std::vector<std::byte> too_big(ours + 1, std::byte{0x5b});
    CHECK_FALSE(ch->send(w.now, bytes_view(too_big)));
    CHECK_FALSE(remote.send(w.now, bytes_view(too_big)));
}

TEST_CASE("a failed connection says which layer failed and why")
{
    pc_world<> w;
    w.setup_default();
    auto& a = w.a;
    auto& b = w.b;
    REQUIRE(a.pc->create_data_channel(w.now, "chat"));
    auto offer = a.pc->set_local_description(w.now);
    REQUIRE(offer);
    REQUIRE(b.pc->set_remote_description(w.now, *offer));
    auto answer = b.pc->set_local_description(w.now);
    REQUIRE(answer);
    // A man in the middle, as far as a can tell: the answer's fingerprint is not b's certificate.
    auto sdp = answer->sdp;
    const auto at = sdp.find("a=fingerprint:sha-256 ");
    REQUIRE(at != std::string::npos);
    const auto digit = at + std::string_view("a=fingerprint:sha-256 ").size();
    sdp[digit] = sdp[digit] == '0' ? '1' : '0';
    REQUIRE(a.pc->set_remote_description(w.now, {peerkit::sdp_type::answer, sdp}));
    REQUIRE(w.run_until([&] { return a.pc->connection_state() == peerkit::connection_state::failed; }, 60'000ms));
    const auto reason = failure_reason(a);
    REQUIRE(reason);
    INFO(reason->message());
    CHECK(reason->message().starts_with("dtls: "));
    CHECK(reason->message().find("fingerprint") != std::string::npos);
    CHECK(*reason == peerkit::peer_connection_errc::transport_failed);
}

TEST_CASE("channels opened and closed in a loop with maximal labels leave nothing behind")
{
    pc_world<> w;
    w.setup_default();
    auto& a = w.a;
    auto& b = w.b;
    auto first = a.pc->create_data_channel(w.now, "first");
    REQUIRE(first);
    auto offer = a.pc->set_local_description(w.now);
    REQUIRE(offer);
    REQUIRE(b.pc->set_remote_description(w.now, *offer));
    auto answer = b.pc->set_local_description(w.now);
    REQUIRE(answer);
    REQUIRE(a.pc->set_remote_description(w.now, *answer));
    REQUIRE(w.run_until([&] { return b.remote_channel && !a.opened.empty(); }));
    const auto baseline_a = a.pc->get_stats().channel_bytes_held;
    const auto baseline_b = b.pc->get_stats().channel_bytes_held;
    const auto endpoint_baseline_a = a.pc->get_stats().endpoint_bytes_held;
    const auto endpoint_baseline_b = b.pc->get_stats().endpoint_bytes_held;
    std::uint64_t most_a = 0, most_b = 0;  // everything held (stats::bytes_held), per cycle

    const std::string label(65535, 'L'), protocol(65535, 'P');  // RFC 8832 5.1 maxima
    constexpr int cycles = 40;
    std::vector<peerkit::channel_id> remote_ids;
    for (int i = 0; i < cycles; ++i) {
        auto ch = a.pc->create_data_channel(w.now, label, {.protocol = protocol});
        REQUIRE(ch);
        const std::size_t seen = b.closed_channels.size();
        const auto previous = *b.remote_channel;
        REQUIRE(w.run_until([&] {
            return ch->ready_state() == peerkit::data_channel_state::open && *b.remote_channel != previous;
        }));
        remote_ids.push_back(*b.remote_channel);
        most_a = std::max(most_a, a.pc->get_stats().bytes_held);
        most_b = std::max(most_b, b.pc->get_stats().bytes_held);
        REQUIRE(ch->close(w.now));
        REQUIRE(w.run_until([&] {
            return ch->ready_state() == peerkit::data_channel_state::closed && b.closed_channels.size() == seen + 1;
        }));
    }
    // Every closed channel's entry (with its 128 KiB of strings) is gone on both sides; the
    // stream ids were reused; the handles read as closed.
    CHECK(a.pc->get_stats().channel_bytes_held == baseline_a);
    CHECK(b.pc->get_stats().channel_bytes_held == baseline_b);
    // The endpoint too (its entries, strings and the DCEP buffer), and what was held at any
    // cycle is one open channel's worth (two 64 KiB strings in the core's table and in the
    // endpoint, with bookkeeping), not a sum over the cycles.
    // (At most: the DCEP OPEN buffer that "first" left is not kept after a long OPEN.)
    CHECK(a.pc->get_stats().endpoint_bytes_held <= endpoint_baseline_a);
    CHECK(b.pc->get_stats().endpoint_bytes_held <= endpoint_baseline_b);
    CHECK(most_b >= 4 * 65535);  // counted: both tables hold the strings while open
    CHECK(most_b <= baseline_b + endpoint_baseline_b + 4 * 65535 + 64 * 1024);
    CHECK(most_a <= baseline_a + endpoint_baseline_a + 4 * 65535 + 64 * 1024);
    for (const auto id : remote_ids) CHECK_FALSE(b.pc->find_channel(id));
    CHECK(first->ready_state() == peerkit::data_channel_state::open);
    CHECK(first->label() == "first");
    REQUIRE(first->send(w.now, std::string_view("still here")));
    REQUIRE(w.run_until([&] { return !b.texts.empty(); }));
    CHECK(b.texts.back() == "still here");
}

namespace {
struct log_line {
    log::component component;
    log::level level;
    std::string text;
};
void record_line(void* context, log::level l, log::component c, std::string_view message) noexcept
{
    static_cast<std::vector<log_line>*>(context)->push_back({c, l, std::string(message)});
}
}  // namespace

TEST_CASE("configuration::logger: a refused description and candidate are logged with the reason")
{
    std::vector<log_line> lines;
    auto config = pc_world<>::loopback_config();
    config.logger = log::logger{&record_line, &lines, log::levels::all(log::level::debug)};
    auto pc = peerkit::peer_connection_core::create(config);
    REQUIRE(pc);
    const auto now = peerkit::clock::now();
    auto bad = (*pc)->set_remote_description(now, {peerkit::sdp_type::offer, "v=0\r\nnot an sdp\r\n"});
    REQUIRE_FALSE(bad);
    auto early = (*pc)->add_ice_candidate(now, {"candidate:1 1 udp 1 10.0.0.1 9 typ host", "0", 0, ""});
    REQUIRE_FALSE(early);
    auto has = [&](log::component c, std::string_view text) {
        return std::any_of(lines.begin(), lines.end(),
                           [&](const log_line& l) { return l.component == c && l.text.find(text) != std::string::npos; });
    };
    CHECK(has(log::component::sdp, "set_remote_description refused: "));
    CHECK(has(log::component::ice, "add_ice_candidate refused: add_ice_candidate before a remote description"));
}

TEST_CASE("remote candidates the agent refuses are logged at warning and counted")
{
    // A description with more candidates than the agent takes (agent_config::
    // max_remote_candidates): the connection goes on with the others, and each refusal is
    // reported instead of ignored.
    std::vector<log_line> lines;
    auto config = pc_world<>::loopback_config();
    config.logger = log::logger{&record_line, &lines, log::levels::all(log::level::debug)};
    auto offerer = peerkit::peer_connection_core::create(pc_world<>::loopback_config());
    auto answerer = peerkit::peer_connection_core::create(config);
    REQUIRE(offerer);
    REQUIRE(answerer);
    const auto now = peerkit::clock::now();
    REQUIRE((*offerer)->create_data_channel(now, "chat"));
    auto offer = (*offerer)->create_offer();
    REQUIRE(offer);
    constexpr int count = 200;
    std::string candidates;
    for (int i = 0; i < count; ++i)
        candidates += "a=candidate:" + std::to_string(i) + " 1 udp 2122260223 10.9.0.1 " + std::to_string(10000 + i) +
                      " typ host\r\n";
    const auto at = offer->sdp.find("a=mid:");
    REQUIRE(at != std::string::npos);
    offer->sdp.insert(at, candidates);
    auto r = (*answerer)->set_remote_description(now, *offer);
    INFO((r ? std::string() : r.error().message()));
    REQUIRE(r);
    const auto refused = (*answerer)->get_stats().remote_candidates_refused;
    CHECK(refused > 0);
    CHECK(refused < count);
    const auto warnings = std::count_if(lines.begin(), lines.end(), [](const log_line& l) {
        return l.component == log::component::ice && l.level == log::level::warn &&
               l.text.find("remote candidate from the remote description not added: ") != std::string::npos;
    });
    CHECK(static_cast<std::uint64_t>(warnings) == refused);
}
