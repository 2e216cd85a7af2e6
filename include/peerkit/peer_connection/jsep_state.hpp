// peerkit::jsep_state: the JSEP half of the peer connection (RFC 8829 3.2, W3C webrtc-pc 4.3.1):
// the signaling state machine and the four descriptions (pending and current, local and
// remote). It decides which description may be set in which state and where each one goes;
// jsep_application.hpp does what a description means for the ICE agent between the check and
// the commit, and the core what it means for gathering and the transport after it.
//
//   signaling state      local offer  local pranswer/answer  remote offer  remote pranswer/answer
//   stable               have-local-offer  refused           have-remote-offer  refused
//   have-local-offer     have-local-offer  refused           refused        have-remote-pranswer / stable
//   have-remote-offer    refused      have-local-pranswer / stable  have-remote-offer  refused
//   have-local-pranswer  refused      have-local-pranswer / stable  refused  refused
//   have-remote-pranswer refused      refused                refused        have-remote-pranswer / stable
//   closed               refused everywhere (errc::closed is the core's: it knows why)
// A rollback goes back to stable from the side's own offer only: local rollback from
// have-local-offer, remote rollback from have-remote-offer (RFC 8829 4.1.10.2 and 5.7).
//
// Invariants: in stable nothing is pending; have-local-* has a pending local description and
// have-remote-* a pending remote one; an answer makes both current (the offer it answers and
// itself) and leaves nothing pending.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sdp/description.hpp>

#include <cstdint>
#include <optional>
#include <utility>

namespace peerkit {

enum class description_side : std::uint8_t { local, remote };

// The signaling state a description of `type` from `side` leads to in state `from`, or
// errc::invalid_state naming the call and the state (the table above).
[[nodiscard]] inline result<signaling_state> signaling_transition(signaling_state from, description_side side, sdp_type type)
{
    using s = signaling_state;
    const bool local = side == description_side::local;
    switch (type) {
    case sdp_type::rollback:
        if (from == (local ? s::have_local_offer : s::have_remote_offer)) return s::stable;
        return make_error(peer_connection_errc::invalid_state, "rollback of a ", local ? "local" : "remote", " offer in signaling state ",
                          to_string(from));
    case sdp_type::offer:
        if (from == s::stable || from == (local ? s::have_local_offer : s::have_remote_offer))
            return local ? s::have_local_offer : s::have_remote_offer;
        return make_error(peer_connection_errc::invalid_state, local ? "local" : "remote", " offer in signaling state ", to_string(from));
    case sdp_type::pranswer:
    case sdp_type::answer: {
        // An answer answers the other side's offer, after any provisional answers of its own.
        const s offered = local ? s::have_remote_offer : s::have_local_offer;
        const s provisional = local ? s::have_local_pranswer : s::have_remote_pranswer;
        if (from != offered && from != provisional)
            return make_error(peer_connection_errc::invalid_state, local ? "local" : "remote", " answer in signaling state ", to_string(from));
        return type == sdp_type::answer ? s::stable : provisional;
    }
    }
    return make_error(peer_connection_errc::invalid_state, "unknown description type");
}

class jsep_state {
public:
    [[nodiscard]] peerkit::signaling_state signaling() const noexcept { return signaling_; }

    // createOffer / createAnswer (RFC 8829 5.2, 5.3): an offer while stable or re-offering, an
    // answer while the remote offer (or our provisional answer to it) is pending.
    [[nodiscard]] result<void> check_create(sdp_type type) const
    {
        using s = signaling_state;
        if (type == sdp_type::offer) {
            if (signaling_ == s::stable || signaling_ == s::have_local_offer) return {};
            return make_error(peer_connection_errc::invalid_state, "create_offer in signaling state ", to_string(signaling_));
        }
        if (signaling_ == s::have_remote_offer || signaling_ == s::have_local_pranswer) return {};
        return make_error(peer_connection_errc::invalid_state, "create_answer in signaling state ", to_string(signaling_));
    }
    // What the implicit setLocalDescription() makes (webrtc-pc 4.4.1.5): an answer while a
    // remote offer is pending, else an offer.
    [[nodiscard]] bool answering() const noexcept
    {
        return signaling_ == signaling_state::have_remote_offer || signaling_ == signaling_state::have_local_pranswer;
    }

    // ---- the descriptions (parsed) ----------------------------------------------------------
    [[nodiscard]] const std::optional<sdp::session_description>& pending_local() const noexcept { return pending_local_; }
    [[nodiscard]] const std::optional<sdp::session_description>& current_local() const noexcept { return current_local_; }
    [[nodiscard]] const std::optional<sdp::session_description>& pending_remote() const noexcept { return pending_remote_; }
    [[nodiscard]] const std::optional<sdp::session_description>& current_remote() const noexcept { return current_remote_; }
    // The local description candidates are added to: the pending one, else the current one.
    [[nodiscard]] sdp::session_description* latest_local() noexcept
    {
        return pending_local_ ? &*pending_local_ : current_local_ ? &*current_local_ : nullptr;
    }
    [[nodiscard]] const sdp::session_description* latest_local() const noexcept
    {
        return pending_local_ ? &*pending_local_ : current_local_ ? &*current_local_ : nullptr;
    }
    [[nodiscard]] bool has_remote() const noexcept { return pending_remote_ || current_remote_; }

    // ---- the descriptions as RTCSessionDescription ------------------------------------------
    [[nodiscard]] std::optional<session_description> local_description() const
    {
        if (pending_local_) return pending_local_description();
        return current_local_description();
    }
    [[nodiscard]] std::optional<session_description> remote_description() const
    {
        if (pending_remote_) return pending_remote_description();
        return current_remote_description();
    }
    [[nodiscard]] std::optional<session_description> current_local_description() const
    {
        return describe(current_local_, current_local_is_offer_ ? sdp_type::offer : sdp_type::answer);
    }
    [[nodiscard]] std::optional<session_description> current_remote_description() const
    {
        return describe(current_remote_, current_local_is_offer_ ? sdp_type::answer : sdp_type::offer);
    }
    [[nodiscard]] std::optional<session_description> pending_local_description() const
    {
        return describe(pending_local_, signaling_ == signaling_state::have_local_pranswer ? sdp_type::pranswer : sdp_type::offer);
    }
    [[nodiscard]] std::optional<session_description> pending_remote_description() const
    {
        return describe(pending_remote_, pending_remote_type_);
    }

    // ---- commits (after signaling_transition allowed them) -----------------------------------
    // An offer or a provisional answer: pending on its side until answered or rolled back.
    void set_pending(description_side side, sdp::session_description d)
    {
        (side == description_side::local ? pending_local_ : pending_remote_) = std::move(d);
    }
    // The final answer: it and the offer it answers become current; nothing stays pending.
    void set_answer(description_side side, sdp::session_description d)
    {
        if (side == description_side::local) {
            current_local_ = std::move(d);
            current_local_is_offer_ = false;
            pending_local_.reset();
            current_remote_ = std::move(pending_remote_);
            pending_remote_.reset();
        } else {
            current_remote_ = std::move(d);
            pending_remote_.reset();
            current_local_ = std::move(pending_local_);
            current_local_is_offer_ = true;
            pending_local_.reset();
        }
    }
    // A rollback: the side's pending offer goes; the current descriptions stay (RFC 8829 5.7).
    void roll_back(description_side side)
    {
        (side == description_side::local ? pending_local_ : pending_remote_).reset();
    }
    // The new signaling state; false when it is the state already (no event to fire).
    bool set_signaling(signaling_state s) noexcept
    {
        if (s == signaling_state::have_remote_offer) pending_remote_type_ = sdp_type::offer;
        if (s == signaling_state::have_remote_pranswer) pending_remote_type_ = sdp_type::pranswer;
        if (s == signaling_) return false;
        signaling_ = s;
        return true;
    }

private:
    [[nodiscard]] static std::optional<session_description> describe(const std::optional<sdp::session_description>& d,
                                                                      sdp_type type)
    {
        if (!d) return std::nullopt;
        return session_description{type, d->to_string()};
    }

    std::optional<sdp::session_description> pending_local_, current_local_, pending_remote_, current_remote_;
    sdp_type pending_remote_type_ = sdp_type::offer;
    bool current_local_is_offer_ = false;
    signaling_state signaling_ = signaling_state::stable;
};

}  // namespace peerkit
