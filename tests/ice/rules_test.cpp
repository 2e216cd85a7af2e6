// The rules the agent applies, alone: answering a check (ice/requests.hpp, RFC 8445 7.3),
// nomination (ice/nomination.hpp, RFC 8445 8) and the browser's states (ice/states.hpp,
// webrtc-pc RTCIceConnectionState). Each is a function of its inputs; the agent's own tests
// (connect, nomination, failure, security, logging) show them applied.
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/ice/nomination.hpp>
#include <peerkit/ice/requests.hpp>
#include <peerkit/ice/states.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/builder.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace peerkit;
using namespace std::chrono_literals;
using ice::pair_state;

namespace {

const crypto::openssl_provider provider;
const std::string local_ufrag = "LOCL", local_pwd = "localpasswordlocalpassword";
const auto local_key = provider.prepare_hmac_sha1(as_bytes(local_pwd));

// A Binding request as a peer builds it (RFC 8445 7.2.2), with parts left out on demand.
struct request_parts {
    std::string username = local_ufrag + ":PEER";
    std::string pwd = local_pwd;
    bool priority = true, integrity = true, fingerprint = true;
};

std::vector<std::byte> request(const request_parts& parts)
{
    std::array<std::byte, 512> buf{};
    stun::message_builder b{buf, stun::binding_request, stun::transaction_id{}};
    if (!parts.username.empty()) b.add(stun::username{parts.username});
    if (parts.priority) b.add(stun::priority{1853824767u});
    b.add(stun::ice_controlling{7});
    if (parts.integrity) b.add_message_integrity(provider.prepare_hmac_sha1(as_bytes(parts.pwd)));
    if (parts.fingerprint) b.add_fingerprint();
    auto out = b.finish();
    REQUIRE(out);
    return {out->begin(), out->end()};
}

ice::request_refusal check(const request_parts& parts, std::string_view remote_ufrag = "PEER")
{
    const auto raw = request(parts);
    auto m = ice::detail::parse_ice_message(raw);
    REQUIRE(m);
    return ice::check_request(*m, raw, local_ufrag, local_key, remote_ufrag);
}

ice::detail::ice_message with_role(std::optional<std::uint64_t> controlling, std::optional<std::uint64_t> controlled)
{
    ice::detail::ice_message m;
    m.ice_controlling = controlling;
    m.ice_controlled = controlled;
    return m;
}

ice::candidate_pair make_pair(std::uint64_t priority, pair_state state, bool valid = false)
{
    ice::candidate_pair p;
    p.priority = priority;
    p.state = state;
    p.valid = valid;
    return p;
}

const ice::time_point rules_start{std::chrono::hours(1)};

ice::checklist_facts checking_facts()
{
    ice::checklist_facts f;
    f.now = rules_start;
    f.gathering = ice::gathering_state::complete;
    f.checking_since = rules_start;
    f.local_candidates = 1;
    f.remote_candidates = 1;
    f.end_of_candidates_wait = 10s;
    f.checking_timeout = 30s;
    return f;
}

}  // namespace

TEST_CASE("requests: a check is answered only with every proof RFC 8445 7.3 asks for")
{
    using ice::request_refusal;
    CHECK(check({}) == request_refusal::none);
    CHECK(check({}, "") == request_refusal::none);  // the peer's ufrag not known yet: any
    request_parts p;
    p.fingerprint = false;
    CHECK(check(p) == request_refusal::no_fingerprint);
    p = {};
    p.integrity = false;
    CHECK(check(p) == request_refusal::no_integrity);
    p = {};
    p.username.clear();
    CHECK(check(p) == request_refusal::no_username);
    p.integrity = false;
    CHECK(check(p) == request_refusal::no_username);  // both missing: USERNAME is named
    p = {};
    p.username = "OTHR:PEER";
    CHECK(check(p) == request_refusal::wrong_local_ufrag);
    p.username = local_ufrag;  // no colon
    CHECK(check(p) == request_refusal::wrong_local_ufrag);
    p = {};
    p.pwd = "not-our-password-at-all-no";
    CHECK(check(p) == request_refusal::wrong_password);
    CHECK(check({}, "ELSE") == request_refusal::wrong_remote_ufrag);
    p = {};
    p.priority = false;
    CHECK(check(p) == request_refusal::no_priority);
}

TEST_CASE("requests: an unauthenticated refusal is never signed nor larger than the request")
{
    using ice::request_refusal;
    for (auto r : {request_refusal::no_integrity, request_refusal::no_username, request_refusal::wrong_local_ufrag,
                   request_refusal::wrong_password, request_refusal::wrong_remote_ufrag}) {
        const ice::refusal_answer a = ice::answer_for(r);
        CHECK(a.code != 0);
        CHECK_FALSE(a.signed_with_our_key);
        CHECK(a.allowance == 0);
    }
    CHECK(ice::answer_for(request_refusal::wrong_password).code == 401);
    CHECK(ice::answer_for(request_refusal::wrong_password).auth_failure);
    CHECK(ice::answer_for(request_refusal::no_integrity).code == 400);
    CHECK(ice::answer_for(request_refusal::no_fingerprint).code == 0);  // dropped
    CHECK(ice::answer_for(request_refusal::unknown_required).code == 420);
    CHECK(ice::answer_for(request_refusal::unknown_required).signed_with_our_key);
    CHECK(ice::answer_for(request_refusal::no_priority).signed_with_our_key);
}

TEST_CASE("requests: role conflicts go by the tie-breaker (RFC 8445 7.3.1.1)")
{
    using ice::role;
    using ice::role_conflict;
    CHECK(ice::resolve_role_conflict(role::controlling, false, 5, with_role(std::nullopt, 9)) == role_conflict::none);
    CHECK(ice::resolve_role_conflict(role::controlling, false, 9, with_role(5, std::nullopt)) == role_conflict::both_controlling_we_win);
    CHECK(ice::resolve_role_conflict(role::controlling, false, 5, with_role(5, std::nullopt)) == role_conflict::both_controlling_we_win);
    CHECK(ice::resolve_role_conflict(role::controlling, false, 4, with_role(5, std::nullopt)) == role_conflict::both_controlling_they_win);
    CHECK(ice::resolve_role_conflict(role::controlled, false, 5, with_role(std::nullopt, 5)) == role_conflict::both_controlled_we_win);
    CHECK(ice::resolve_role_conflict(role::controlled, false, 4, with_role(std::nullopt, 5)) == role_conflict::both_controlled_they_win);
    CHECK(ice::resolve_role_conflict(role::controlled, true, 4, with_role(std::nullopt, 5)) == role_conflict::none);  // lite
    CHECK(ice::answered_with_487(role_conflict::both_controlling_we_win));
    CHECK(ice::answered_with_487(role_conflict::both_controlled_they_win));
    CHECK_FALSE(ice::answered_with_487(role_conflict::both_controlling_they_win));
    CHECK_FALSE(ice::answered_with_487(role_conflict::both_controlled_we_win));
}

TEST_CASE("requests: the pair a check arrived on gets a triggered check unless it succeeded (RFC 8445 7.3.1.4)")
{
    CHECK(ice::triggered_check_for(pair_state::succeeded) == ice::triggered_check::none);
    CHECK(ice::triggered_check_for(pair_state::in_progress) == ice::triggered_check::cancel_and_check);
    for (auto s : {pair_state::waiting, pair_state::frozen, pair_state::failed})
        CHECK(ice::triggered_check_for(s) == ice::triggered_check::check);
}

TEST_CASE("nomination: the best valid pair once nothing better can succeed, or after the wait (RFC 8445 8.1.1)")
{
    ice::checklist list;
    list.add(make_pair(100, pair_state::in_progress));     // better, still being checked
    list.add(make_pair(50, pair_state::succeeded, true));  // the best valid pair
    list.add(make_pair(10, pair_state::succeeded, true));
    CHECK_FALSE(ice::pair_to_nominate(list, false));
    auto choice = ice::pair_to_nominate(list, true);
    REQUIRE(choice);
    CHECK(choice->best == 1u);
    CHECK(choice->generating == 1u);
    CHECK(choice->better_pending);
    list[0].state = pair_state::failed;
    choice = ice::pair_to_nominate(list, false);
    REQUIRE(choice);
    CHECK_FALSE(choice->better_pending);
    // A valid pair produced by another pair's check (a local peer-reflexive candidate,
    // 7.2.5.3.2): the check to repeat is that one.
    list.add(make_pair(200, pair_state::succeeded, true));  // the valid pair, index 3
    list.add(make_pair(20, pair_state::succeeded));         // its generating pair, index 4
    list[4].valid_pair = 3;
    choice = ice::pair_to_nominate(list, false);
    REQUIRE(choice);
    CHECK(choice->best == 3u);
    CHECK(choice->generating == 4u);
    // Nothing while a nomination is under way or a pair is nominated.
    list[4].use_candidate = true;
    CHECK_FALSE(ice::pair_to_nominate(list, true));
    list[4].use_candidate = false;
    list[2].nominated = true;
    CHECK_FALSE(ice::pair_to_nominate(list, true));
}

TEST_CASE("nomination: the peer's USE-CANDIDATE nominates a valid pair now, else after our check (RFC 8445 7.3.1.5)")
{
    ice::checklist list;
    list.add(make_pair(50, pair_state::succeeded, true));
    list.add(make_pair(40, pair_state::waiting));
    list.add(make_pair(30, pair_state::succeeded));  // its check produced pair 0
    list[2].valid_pair = 0;
    list.add(make_pair(20, pair_state::succeeded));  // valid pair gone from the valid list
    auto e = ice::use_candidate_on(list, 0);
    CHECK(e.nominate == 0u);
    e = ice::use_candidate_on(list, 2);
    CHECK(e.nominate == 0u);
    e = ice::use_candidate_on(list, 1);
    CHECK_FALSE(e.nominate);
    CHECK_FALSE(e.check_again);
    e = ice::use_candidate_on(list, 3);
    CHECK_FALSE(e.nominate);
    CHECK(e.check_again);
}

TEST_CASE("states: with a selected pair, consent and the checks decide the browser's state")
{
    using ice::connection_state;
    using ice::consent_verdict;
    CHECK(ice::state_with_selected_pair(consent_verdict::expired, true) == connection_state::failed);
    CHECK(ice::state_with_selected_pair(consent_verdict::disconnected, true) == connection_state::disconnected);
    CHECK(ice::state_with_selected_pair(consent_verdict::fresh, false) == connection_state::connected);
    CHECK(ice::state_with_selected_pair(consent_verdict::fresh, true) == connection_state::completed);
}

TEST_CASE("states: why a connection without a selected pair failed, with the reason")
{
    ice::checklist pairs;
    ice::checklist_facts f = checking_facts();
    CHECK_FALSE(ice::checklist_failure(f, pairs));  // no pair yet: the peer's checks may still come
    // Gathering ended with nothing: no pair can ever form.
    f.local_candidates = 0;
    auto why = ice::checklist_failure(f, pairs);
    REQUIRE(why);
    CHECK(why->code() == ice::errc::checks_failed);
    CHECK(why->message().find("no local candidate") != std::string::npos);
    f.lite = true;
    CHECK_FALSE(ice::checklist_failure(f, pairs));  // a lite agent does no checks
    // Every pair failed, but candidates may still come: not yet; after end-of-candidates, failed.
    f = checking_facts();
    pairs.add(make_pair(10, pair_state::failed));
    pairs[0].failure = ice::pair_failure::timeout;
    pairs.add(make_pair(20, pair_state::failed));
    pairs[1].failure = ice::pair_failure::error_response;
    CHECK_FALSE(ice::checklist_failure(f, pairs));
    f.last_remote_candidate = rules_start - 10s;  // RFC 8838 8: silent for end_of_candidates_wait
    why = ice::checklist_failure(f, pairs);
    REQUIRE(why);
    CHECK(why->message().find("all 2 candidate pairs failed (1 without an answer, 1 refused, 0 non-symmetric)") != std::string::npos);
    // checking_timeout without a valid nominated pair, by role.
    f = checking_facts();
    pairs[1].state = pair_state::succeeded;
    pairs[1].valid = true;
    f.now = rules_start + 29s;
    CHECK_FALSE(ice::checklist_failure(f, pairs));
    f.now = rules_start + 30s;
    why = ice::checklist_failure(f, pairs);
    REQUIRE(why);
    CHECK(why->code() == ice::errc::checking_timeout);
    CHECK(why->message().find("none of our nominations succeeded") != std::string::npos);
    f.role = ice::role::controlled;
    why = ice::checklist_failure(f, pairs);
    REQUIRE(why);
    CHECK(why->message().find("the controlling peer nominated none of them") != std::string::npos);
    f.nominations_failed = 2;
    why = ice::checklist_failure(f, pairs);
    REQUIRE(why);
    CHECK(why->message().find("the checks for the peer's 2 nominations failed") != std::string::npos);
}

TEST_CASE("requests: each refusal's log reason is its own and names its rule")
{
    using peerkit::ice::request_refusal;
    std::set<std::string_view> seen;
    for (const auto r : {request_refusal::no_fingerprint, request_refusal::no_username, request_refusal::no_integrity,
                         request_refusal::wrong_local_ufrag, request_refusal::wrong_password,
                         request_refusal::wrong_remote_ufrag, request_refusal::unknown_required,
                         request_refusal::no_priority}) {
        const std::string_view text = peerkit::ice::describe(r);
        INFO(text);
        CHECK(seen.insert(text).second);
        CHECK((text.find("RFC ") != std::string_view::npos || r == request_refusal::wrong_password));
    }
}
