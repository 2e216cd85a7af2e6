// peerkit::jsep_state (peer_connection/jsep_state.hpp): the signaling transitions of RFC 8829 3.2
// and webrtc-pc 4.3.1, every refused one with its error, and where each description goes.
#include <peerkit/peer_connection/jsep_state.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <optional>
#include <string>

using namespace peerkit;
using peerkit::description_side;
using peerkit::sdp_type;
using peerkit::signaling_state;

namespace {

constexpr std::array all_states{signaling_state::stable,          signaling_state::have_local_offer,
                                signaling_state::have_remote_offer, signaling_state::have_local_pranswer,
                                signaling_state::have_remote_pranswer, signaling_state::closed};
constexpr std::array all_types{sdp_type::offer, sdp_type::pranswer, sdp_type::answer, sdp_type::rollback};

// The table of jsep_state.hpp, written out: nullopt is refused.
std::optional<signaling_state> expected(signaling_state from, description_side side, sdp_type type)
{
    using s = signaling_state;
    const bool local = side == description_side::local;
    switch (type) {
    case sdp_type::offer:
        if (from == s::stable) return local ? s::have_local_offer : s::have_remote_offer;
        if (local && from == s::have_local_offer) return s::have_local_offer;
        if (!local && from == s::have_remote_offer) return s::have_remote_offer;
        return std::nullopt;
    case sdp_type::pranswer:
        if (local && (from == s::have_remote_offer || from == s::have_local_pranswer)) return s::have_local_pranswer;
        if (!local && (from == s::have_local_offer || from == s::have_remote_pranswer)) return s::have_remote_pranswer;
        return std::nullopt;
    case sdp_type::answer:
        if (local && (from == s::have_remote_offer || from == s::have_local_pranswer)) return s::stable;
        if (!local && (from == s::have_local_offer || from == s::have_remote_pranswer)) return s::stable;
        return std::nullopt;
    case sdp_type::rollback:
        if (local && from == s::have_local_offer) return s::stable;
        if (!local && from == s::have_remote_offer) return s::stable;
        return std::nullopt;
    }
    return std::nullopt;
}

sdp::session_description named(std::string_view name)
{
    auto d = sdp::session_description::parse("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=" + std::string(name) + "\r\nt=0 0\r\n");
    REQUIRE(d);
    return std::move(*d);
}

bool holds(const std::optional<peerkit::session_description>& d, std::string_view name, sdp_type type)
{
    return d && d->type == type && d->sdp.find("s=" + std::string(name) + "\r\n") != std::string::npos;
}

}  // namespace

TEST_CASE("jsep state: every transition, allowed or refused with its error")
{
    std::size_t allowed = 0, refused = 0;
    for (const auto from : all_states)
        for (const auto side : {description_side::local, description_side::remote})
            for (const auto type : all_types) {
                const auto want = expected(from, side, type);
                const auto got = peerkit::signaling_transition(from, side, type);
                INFO("from " << peerkit::to_string(from) << (side == description_side::local ? " local " : " remote ")
                             << peerkit::to_string(type));
                if (want) {
                    REQUIRE(got);
                    CHECK(*got == *want);
                    ++allowed;
                    continue;
                }
                REQUIRE(!got);
                ++refused;
                CHECK(got.error() == peerkit::peer_connection_errc::invalid_state);
                // The message names the description and the state it does not fit.
                const std::string m = got.error().message();
                CHECK(m.find(side == description_side::local ? "local" : "remote") != std::string::npos);
                CHECK(m.find(std::string("in signaling state ") + std::string(peerkit::to_string(from))) != std::string::npos);
            }
    CHECK(allowed == 14u);
    CHECK(refused == 6u * 2u * 4u - 14u);
    CHECK(peerkit::signaling_transition(signaling_state::stable, description_side::remote, sdp_type::answer).error().message() ==
          "remote answer in signaling state stable");
    CHECK(peerkit::signaling_transition(signaling_state::stable, description_side::local, sdp_type::rollback).error().message() ==
          "rollback of a local offer in signaling state stable");
}

TEST_CASE("jsep state: create offer and answer fit the state")
{
    peerkit::jsep_state j;
    CHECK(j.check_create(sdp_type::offer));
    CHECK(!j.answering());
    auto answer = j.check_create(sdp_type::answer);
    REQUIRE(!answer);
    CHECK(answer.error() == peerkit::peer_connection_errc::invalid_state);
    CHECK(answer.error().message() == "create_answer in signaling state stable");
    j.set_pending(description_side::remote, named("remote-offer"));
    j.set_signaling(signaling_state::have_remote_offer);
    CHECK(j.answering());
    CHECK(j.check_create(sdp_type::answer));
    CHECK(j.check_create(sdp_type::offer).error().message() == "create_offer in signaling state have-remote-offer");
}

TEST_CASE("jsep state: offer, provisional answer, answer")
{
    peerkit::jsep_state j;
    CHECK(!j.local_description());
    CHECK(!j.has_remote());
    j.set_pending(description_side::local, named("offer"));
    CHECK(j.set_signaling(signaling_state::have_local_offer));
    CHECK(!j.set_signaling(signaling_state::have_local_offer));  // no change, no event
    CHECK(holds(j.local_description(), "offer", sdp_type::offer));
    CHECK(holds(j.pending_local_description(), "offer", sdp_type::offer));
    CHECK(!j.current_local_description());
    CHECK(j.latest_local() == &*j.pending_local());

    j.set_pending(description_side::remote, named("pranswer"));
    j.set_signaling(signaling_state::have_remote_pranswer);
    CHECK(holds(j.remote_description(), "pranswer", sdp_type::pranswer));

    j.set_answer(description_side::remote, named("answer"));
    j.set_signaling(signaling_state::stable);
    // The answer and the offer it answers are current; nothing is pending.
    CHECK(!j.pending_local());
    CHECK(!j.pending_remote());
    CHECK(holds(j.current_local_description(), "offer", sdp_type::offer));
    CHECK(holds(j.current_remote_description(), "answer", sdp_type::answer));
    CHECK(holds(j.local_description(), "offer", sdp_type::offer));
    CHECK(j.latest_local() == &*j.current_local());

    // The other way round: a remote offer answered locally makes the local one the answer.
    j.set_pending(description_side::remote, named("offer-2"));
    j.set_signaling(signaling_state::have_remote_offer);
    CHECK(holds(j.pending_remote_description(), "offer-2", sdp_type::offer));
    j.set_pending(description_side::local, named("pranswer-2"));
    j.set_signaling(signaling_state::have_local_pranswer);
    CHECK(holds(j.pending_local_description(), "pranswer-2", sdp_type::pranswer));
    j.set_answer(description_side::local, named("answer-2"));
    j.set_signaling(signaling_state::stable);
    CHECK(holds(j.current_local_description(), "answer-2", sdp_type::answer));
    CHECK(holds(j.current_remote_description(), "offer-2", sdp_type::offer));
    CHECK(!j.pending_local_description());
    CHECK(!j.pending_remote_description());
}

TEST_CASE("jsep state: rollback keeps the current descriptions")
{
    peerkit::jsep_state j;
    j.set_pending(description_side::local, named("offer"));
    j.set_signaling(signaling_state::have_local_offer);
    j.set_answer(description_side::remote, named("answer"));
    j.set_signaling(signaling_state::stable);

    // A re-offer rolled back (RFC 8829 5.7): the negotiated pair stays as it was.
    j.set_pending(description_side::local, named("re-offer"));
    j.set_signaling(signaling_state::have_local_offer);
    CHECK(holds(j.local_description(), "re-offer", sdp_type::offer));
    const auto next = peerkit::signaling_transition(j.signaling(), description_side::local, sdp_type::rollback);
    REQUIRE(next);
    j.roll_back(description_side::local);
    j.set_signaling(*next);
    CHECK(j.signaling() == signaling_state::stable);
    CHECK(!j.pending_local());
    CHECK(holds(j.local_description(), "offer", sdp_type::offer));
    CHECK(holds(j.remote_description(), "answer", sdp_type::answer));

    // A remote offer rolled back the same way.
    j.set_pending(description_side::remote, named("remote-offer"));
    j.set_signaling(signaling_state::have_remote_offer);
    REQUIRE(peerkit::signaling_transition(j.signaling(), description_side::remote, sdp_type::rollback));
    j.roll_back(description_side::remote);
    j.set_signaling(signaling_state::stable);
    CHECK(!j.pending_remote());
    CHECK(holds(j.remote_description(), "answer", sdp_type::answer));
    // Rolling back again is refused: nothing is offered.
    CHECK(!peerkit::signaling_transition(j.signaling(), description_side::remote, sdp_type::rollback));
}
