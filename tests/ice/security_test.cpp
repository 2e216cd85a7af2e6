// Short-term credentials on every request and response, no amplification, and a controlling
// peer that nominates aggressively (USE-CANDIDATE on every check), driven by hand.
#include "harness.hpp"

#include <catch2/catch.hpp>

using namespace peerkit;
using namespace peerkit::test;
using ice::connection_state;

namespace {

crypto::openssl_provider integrity_crypto;

struct check_spec {
    std::string username;
    std::string password;  // empty: no MESSAGE-INTEGRITY
    bool fingerprint = true;
    bool use_candidate = false;
    std::optional<std::uint64_t> controlling = 42;
    std::optional<std::uint64_t> controlled;
    std::uint32_t priority = 1853824767u;
};

check_spec spec_of(std::string username, std::string password)
{
    check_spec s;
    s.username = std::move(username);
    s.password = std::move(password);
    return s;
}

std::vector<std::byte> make_check(const check_spec& s, stun::transaction_id id)
{
    std::array<std::byte, 512> buf{};
    stun::message_builder b{buf, stun::binding_request, id};
    b.add(stun::username{s.username});
    b.add(stun::priority{s.priority});
    if (s.controlling) b.add(stun::ice_controlling{*s.controlling});
    if (s.controlled) b.add(stun::ice_controlled{*s.controlled});
    if (s.use_candidate) b.add(stun::use_candidate{});
    if (!s.password.empty()) b.add_message_integrity(integrity_crypto.prepare_hmac_sha1(as_bytes(s.password)));
    if (s.fingerprint) b.add_fingerprint();
    return finish(b);
}

// One agent (controlled) and a hand-driven remote at 10.0.0.9:9000.
struct rig {
    sim_time now = sim_time{} + 1h;
    agent_type agent{controlled_config(), seeded_crypto{7}};
    const std::string peer_ufrag = "PEER", peer_pwd = "peerpasswordpeerpassword";
    const net::endpoint peer_address = ep("10.0.0.9:9000");
    std::vector<ice::transmit> sent;

    rig()
    {
        const ice::local_socket s{1, ep("10.0.0.1:5000"), "eth0", false};
        agent.gather(now, std::span(&s, 1));
        REQUIRE(agent.set_remote_credentials(peer_ufrag, peer_pwd));
        drain();
        sent.clear();
    }
    void drain()
    {
        while (auto t = agent.poll_transmit()) sent.push_back(std::move(*t));
    }
    std::string good_username() const { return std::string(agent.local_ufrag()) + ":" + peer_ufrag; }
    stun::transaction_id id(std::uint8_t n) const
    {
        stun::transaction_id t{};
        t.bytes[0] = std::byte{n};
        return t;
    }
    std::vector<ice::transmit> replies_to(const stun::transaction_id& tid) const
    {
        std::vector<ice::transmit> out;
        for (const auto& t : sent) {
            auto m = stun::message_view::parse(t.payload);
            if (m && m->id() == tid) out.push_back(t);
        }
        return out;
    }
};

}  // namespace

TEST_CASE("a check with the wrong password gets a small 401, never a success")
{
    rig r;
    const auto tid = r.id(1);
    const auto request = make_check(spec_of(r.good_username(), "not-the-password-at-all"), tid);
    r.agent.handle_packet(r.now, 1, r.peer_address, request);
    r.drain();
    const auto replies = r.replies_to(tid);
    REQUIRE(replies.size() == 1);
    auto m = stun::message_view::parse(replies[0].payload);
    REQUIRE(m);
    CHECK(m->is_error_response());
    CHECK(m->get<stun::error_code>()->code == 401);
    CHECK_FALSE(m->has_message_integrity());
    CHECK(replies[0].payload.size() <= request.size());  // no amplification
    CHECK(r.agent.stats().auth_failures == 1);
    CHECK(r.agent.remote_candidate_count() == 0);  // nothing learned from it
}

TEST_CASE("a check for another ufrag is refused the same way")
{
    rig r;
    const auto tid = r.id(2);
    r.agent.handle_packet(r.now, 1, r.peer_address, make_check(spec_of("someone:else", std::string(r.agent.local_pwd())), tid));
    r.drain();
    const auto replies = r.replies_to(tid);
    REQUIRE(replies.size() == 1);
    CHECK(stun::message_view::parse(replies[0].payload)->get<stun::error_code>()->code == 401);
}

TEST_CASE("a check without FINGERPRINT is dropped; one without integrity gets 400")
{
    rig r;
    auto no_fp = spec_of(r.good_username(), std::string(r.agent.local_pwd()));
    no_fp.fingerprint = false;
    r.agent.handle_packet(r.now, 1, r.peer_address, make_check(no_fp, r.id(3)));
    r.drain();
    CHECK(r.replies_to(r.id(3)).empty());

    const auto request = make_check(spec_of(r.good_username(), ""), r.id(4));
    r.agent.handle_packet(r.now, 1, r.peer_address, request);
    r.drain();
    const auto replies = r.replies_to(r.id(4));
    REQUIRE(replies.size() == 1);
    CHECK(stun::message_view::parse(replies[0].payload)->get<stun::error_code>()->code == 400);
    CHECK(replies[0].payload.size() <= request.size());
}

TEST_CASE("random bytes and truncated STUN are ignored")
{
    rig r;
    std::vector<std::byte> junk(64, std::byte{0x01});
    r.agent.handle_packet(r.now, 1, r.peer_address, junk);
    auto good = make_check(spec_of(r.good_username(), std::string(r.agent.local_pwd())), r.id(5));
    good.resize(good.size() - 3);
    r.agent.handle_packet(r.now, 1, r.peer_address, good);
    r.drain();
    CHECK(r.sent.empty());
    // Unknown sockets are ignored too.
    r.agent.handle_packet(r.now, 77, r.peer_address, junk);
}

TEST_CASE("aggressive nomination from the controlling peer is accepted (RFC 8445 7.3.1.5)")
{
    rig r;
    check_spec spec = spec_of(r.good_username(), std::string(r.agent.local_pwd()));
    spec.use_candidate = true;
    const auto tid = r.id(6);
    r.agent.handle_packet(r.now, 1, r.peer_address, make_check(spec, tid));
    r.drain();
    // A signed success with our view of the peer's address.
    const auto replies = r.replies_to(tid);
    REQUIRE(replies.size() == 1);
    auto ok = stun::message_view::parse(replies[0].payload);
    REQUIRE(ok->is_success_response());
    CHECK(ok->check_message_integrity(integrity_crypto.prepare_hmac_sha1(as_bytes(r.agent.local_pwd()))));
    CHECK(ok->get<stun::xor_mapped_address>()->value == r.peer_address);
    // The peer is peer-reflexive for us, and a triggered check goes straight back to it.
    CHECK(r.agent.remote_candidate_count() == 1);
    const ice::transmit* triggered = nullptr;
    for (const auto& t : r.sent) {
        auto m = stun::message_view::parse(t.payload);
        if (m && m->is_request()) triggered = &t;
    }
    REQUIRE(triggered != nullptr);
    CHECK(triggered->destination == r.peer_address);
    auto check = stun::message_view::parse(triggered->payload);
    CHECK(check->get<stun::username>()->value == r.peer_ufrag + ":" + std::string(r.agent.local_ufrag()));
    CHECK(check->check_message_integrity(integrity_crypto.prepare_hmac_sha1(as_bytes(r.peer_pwd))));
    CHECK(check->contains<stun::ice_controlled>());
    CHECK(r.agent.state() == connection_state::checking);

    // A forged answer (wrong key) changes nothing.
    {
        std::array<std::byte, 256> buf{};
        stun::message_builder b{buf, stun::binding_success, check->id()};
        b.add(stun::xor_mapped_address{ep("10.0.0.1:5000")});
        b.add_message_integrity(integrity_crypto.prepare_hmac_sha1(as_bytes(std::string_view("forged-password-forged-pw"))));
        b.add_fingerprint();
        r.agent.handle_packet(r.now, 1, r.peer_address, finish(b));
        CHECK(r.agent.state() == connection_state::checking);
        CHECK(r.agent.stats().auth_failures == 1);
    }
    // The peer's genuine answer: the pair succeeds and, nominated earlier, is selected.
    std::array<std::byte, 256> buf{};
    stun::message_builder b{buf, stun::binding_success, check->id()};
    b.add(stun::xor_mapped_address{ep("10.0.0.1:5000")});
    b.add_message_integrity(integrity_crypto.prepare_hmac_sha1(as_bytes(r.peer_pwd)));
    b.add_fingerprint();
    r.agent.handle_packet(r.now, 1, r.peer_address, finish(b));
    CHECK(r.agent.state() == connection_state::connected);
    REQUIRE(r.agent.selected_pair());
    CHECK(r.agent.selected_pair()->remote.address == r.peer_address);
    CHECK(r.agent.selected_pair()->nominated);
}

TEST_CASE("a response from an unexpected address fails the pair (RFC 8445 7.2.5.2.1)")
{
    rig r;
    ice::candidate c;
    c.foundation = "1";
    c.priority = 2130706431u;
    c.address = r.peer_address;
    REQUIRE(r.agent.add_remote_candidate(r.now, c));
    r.drain();
    REQUIRE(!r.sent.empty());
    auto check = stun::message_view::parse(r.sent.back().payload);
    REQUIRE(check->is_request());
    std::array<std::byte, 256> buf{};
    stun::message_builder b{buf, stun::binding_success, check->id()};
    b.add(stun::xor_mapped_address{ep("10.0.0.1:5000")});
    b.add_message_integrity(integrity_crypto.prepare_hmac_sha1(as_bytes(r.peer_pwd)));
    b.add_fingerprint();
    r.agent.handle_packet(r.now, 1, ep("10.0.0.99:9000"), finish(b));
    const auto pairs = r.agent.pairs();
    REQUIRE(pairs.size() == 1);
    CHECK(pairs[0].state == ice::pair_state::failed);
}

TEST_CASE("bad credentials and candidates are refused with a reason")
{
    agent_type a{controlling_config(), seeded_crypto{8}};
    auto short_pwd = a.set_remote_credentials("abcd", "short");
    REQUIRE_FALSE(short_pwd);
    CHECK(short_pwd.error() == ice::errc::bad_credentials);
    CHECK_FALSE(a.set_remote_credentials("ab cd", "0123456789012345678901"));
    CHECK(a.local_ufrag().size() >= 4);
    CHECK(a.local_pwd().size() >= 22);
    ice::candidate c;
    c.component = 2;
    c.address = ep("10.0.0.9:9000");
    auto r = a.add_remote_candidate(sim_time{}, c);
    REQUIRE_FALSE(r);
    CHECK(r.error() == ice::errc::bad_candidate);
    CHECK(std::string(r.error().detail()).find("component 2") != std::string::npos);
    CHECK_FALSE(a.send(sim_time{}, as_bytes(std::string_view("x"))));
}
