// peerkit::jsep_application: what a local or remote description (and a trickled candidate)
// means for the ICE agent, beside jsep_state.hpp, which decides where each description goes.
// It reads the remote transport parameters (ICE credentials, fingerprints, SCTP port, max
// message size, candidates: RFC 8839, RFC 8842, RFC 8841), sets the agent's role (RFC 8445
// 6.1.1), applies new credentials as an ICE restart (RFC 8445 9, RFC 8829 5.2.1 / 5.3.1),
// adds the remote candidates, remembers the remote side for a later restart or rollback, and
// commits the description to the jsep_state.
//
// It touches the ICE agent and the jsep_state, and nothing else: what the core must do next
// (drop a rolled-back offer's candidate events, start gathering, start the SCTP transport,
// the signaling state and its event, the pump) comes back as a description_applied, which the
// core carries out in that order (core.hpp, carry_out).
#pragma once

#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/candidate.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>
#include <peerkit/peer_connection/jsep_state.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/description.hpp>
#include <peerkit/time.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit {

namespace detail {

// Transport parameters read from a remote description (RFC 8839, RFC 8842, RFC 8841).
struct remote_transport {
    std::string ufrag, pwd;
    std::vector<dtls::fingerprint> fingerprints;
    std::uint16_t sctp_port = 5000;
    std::uint64_t max_message_size = 65536;  // RFC 8841 6.1: absent means 64 KiB
    bool has_data = false;
    std::string data_mid;
    std::vector<sdp::candidate> candidates;
    bool end_of_candidates = false;
};

[[nodiscard]] inline result<remote_transport> read_remote(const sdp::session_description& d)
{
    remote_transport r;
    auto take_transport = [&r](const auto& section) -> result<void> {
        if (r.ufrag.empty())
            if (auto u = section.ice_ufrag()) r.ufrag.assign(*u);
        if (r.pwd.empty())
            if (auto p = section.ice_pwd()) r.pwd.assign(*p);
        if (r.fingerprints.empty()) {
            for (const auto& f : section.fingerprints()) {
                const auto h = dtls::parse_hash_function(f.hash_function);
                if (!h) continue;  // RFC 8122 5: unknown hash functions are ignored
                std::vector<std::byte> digest;
                for (auto b : f.digest()) digest.push_back(static_cast<std::byte>(b));
                auto fp = dtls::fingerprint::from_digest(*h, digest);
                if (!fp)
                    return make_error(peer_connection_errc::bad_description, "a=fingerprint: ", fp.error().message());
                r.fingerprints.push_back(*fp);
            }
        }
        return {};
    };
    if (auto t = take_transport(d); !t) return t.error();
    for (const auto& m : d.media) {
        if (m.rejected()) continue;
        const auto ml = m.m_line();
        if (!ml) return make_error(peer_connection_errc::bad_description, "m= line: ", ml.error().message());
        if (auto t = take_transport(m); !t) return t.error();
        if (!ml->is_data_channel() || r.has_data) continue;
        r.has_data = true;
        r.data_mid.assign(m.mid().value_or(""));
        if (auto p = m.sctp_port()) r.sctp_port = *p;
        else if (auto sm = m.sctpmap()) r.sctp_port = sm->port;
        if (auto mms = m.max_message_size()) r.max_message_size = *mms;
        for (const auto& c : m.candidates()) r.candidates.push_back(sdp::candidate::from(c));
        r.end_of_candidates = m.end_of_candidates();
    }
    if (!r.has_data) return make_error(peer_connection_errc::bad_description, "the description has no data-channel (m=application) section");
    if (r.ufrag.empty() || r.pwd.empty())
        return make_error(peer_connection_errc::bad_description, "the description has no a=ice-ufrag / a=ice-pwd (RFC 8839 5.4)");
    if (r.fingerprints.empty())
        return make_error(peer_connection_errc::bad_description, "the description has no usable a=fingerprint (RFC 8842 5.1)");
    return r;
}

// The ICE credentials of a description (the first section's, else the session's).
[[nodiscard]] inline std::pair<std::string, std::string> credentials_of(const sdp::session_description& d)
{
    std::optional<std::string_view> ufrag, pwd;
    for (const auto& m : d.media) {
        if (!ufrag) ufrag = m.ice_ufrag();
        if (!pwd) pwd = m.ice_pwd();
    }
    if (!ufrag) ufrag = d.ice_ufrag();
    if (!pwd) pwd = d.ice_pwd();
    return {std::string(ufrag.value_or("")), std::string(pwd.value_or(""))};
}

// The section whose transport the BUNDLE group uses (RFC 8843): the first one not rejected.
[[nodiscard]] inline sdp::media_description* first_bundled(sdp::session_description& d)
{
    for (auto& m : d.media)
        if (!m.rejected()) return &m;
    return nullptr;
}

}  // namespace detail

// What the core does after jsep_application applied a description, in this order.
struct description_applied {
    // The signaling state the description leads to (signaling_transition); set by the core,
    // which fires its event.
    peerkit::signaling_state next = peerkit::signaling_state::stable;
    // A rolled-back restart offer: candidate events of this ufrag not yet polled go (their
    // ufrag never reached the peer, RFC 8829 5.7).
    std::optional<std::string> discarded_ufrag;
    bool start_gathering = false;  // the first local description starts gathering
    bool start_transport = false;  // an answer: both descriptions are known
    bool pump = true;              // move what the agent's new state caused
};

class jsep_application {
public:
    jsep_application() = default;
    jsep_application(const peer_connection_limits& limits, log::logger logger)
        : max_description_size_(limits.max_description_size), max_remote_candidates_(limits.max_remote_candidates),
          logger_(logger)
    {
    }

    // setLocalDescription (RFC 8829 5.5, webrtc-pc 4.4.1.5).
    template <class Agent>
    result<description_applied> apply_local_description(time_point now, const session_description& desc, jsep_state& jsep,
                                                        Agent& agent, bool gathering_complete)
    {
        constexpr auto local = description_side::local;
        description_applied applied;
        if (desc.type == sdp_type::rollback) {
            auto next = signaling_transition(jsep.signaling(), local, desc.type);
            if (!next) return next.error();
            jsep.roll_back(local);
            applied.next = *next;
            // RFC 8829 5.7: a rolled-back restart offer leaves the previous credentials in place;
            // its candidates not yet surfaced are dropped (their ufrag never reached the peer).
            const auto& current = jsep.current_local();
            if (current && detail::credentials_of(*current).first != agent.local_ufrag()) {
                std::string discarded(agent.local_ufrag());
                if (auto r = apply_local_credentials(now, *current, true, agent); !r) return r.error();
                applied.discarded_ufrag = std::move(discarded);
            }
            return applied;
        }
        auto parsed = sdp::session_description::parse(desc.sdp);
        if (!parsed) return make_error(peer_connection_errc::bad_description, "local description: ", parsed.error().message());
        auto next = signaling_transition(jsep.signaling(), local, desc.type);
        if (!next) return next.error();
        applied.next = *next;
        applied.start_gathering = true;
        if (desc.type == sdp_type::offer) {
            // RFC 8445 6.1.1: the offerer's agent is controlling.
            agent.set_role(ice::role::controlling);
            // RFC 8829 5.2.1 / RFC 8445 9: an offer with new credentials restarts ICE.
            const bool restarting = jsep.current_local() && detail::credentials_of(*parsed).first != agent.local_ufrag();
            if (auto r = apply_local_credentials(now, *parsed, false, agent); !r) return r.error();
            add_gathered_to(*parsed, agent, gathering_complete);
            jsep.set_pending(local, std::move(*parsed));
            applied.pump = restarting;  // the re-announced candidates (RFC 8838 4.2)
            return applied;
        }
        // A provisional or final answer.
        agent.set_role(ice::role::controlled);
        // RFC 8829 5.3.1 / RFC 8839 4.4.1.1.1: the answer to a restart restarts ICE here too.
        if (auto r = apply_local_credentials(now, *parsed, true, agent); !r) return r.error();
        add_gathered_to(*parsed, agent, gathering_complete);
        if (desc.type == sdp_type::pranswer) {
            jsep.set_pending(local, std::move(*parsed));
            applied.pump = false;  // the final answer starts the transport and pumps
            return applied;
        }
        jsep.set_answer(local, std::move(*parsed));
        applied.start_transport = true;
        return applied;
    }

    // setRemoteDescription (RFC 8829 5.10, webrtc-pc 4.4.1.6).
    template <class Agent>
    result<description_applied> apply_remote_description(time_point now, const session_description& desc, jsep_state& jsep,
                                                         Agent& agent)
    {
        constexpr auto remote = description_side::remote;
        description_applied applied;
        if (desc.type == sdp_type::rollback) {
            auto next = signaling_transition(jsep.signaling(), remote, desc.type);
            if (!next) return next.error();
            jsep.roll_back(remote);
            applied.next = *next;
            // A rolled-back restart offer: the previous remote credentials again (RFC 8829 5.7).
            if (const auto& current = jsep.current_remote())
                if (auto t = detail::read_remote(*current); t && t->ufrag != remote_ufrag_)
                    if (auto r = apply_remote_transport(now, *t, agent); !r) return r.error();
            return applied;
        }
        if (desc.sdp.size() > max_description_size_)
            return make_error(peer_connection_errc::bad_description, "remote description of ", desc.sdp.size(),
                              " bytes exceeds limits::max_description_size");
        auto parsed = sdp::session_description::parse(desc.sdp);
        if (!parsed) return make_error(peer_connection_errc::bad_description, "remote description: ", parsed.error().message());
        auto transport = detail::read_remote(*parsed);
        if (!transport) return transport.error();
        // Implicit rollback of our own offer is not done: glare is the caller's (perfect
        // negotiation rolls back explicitly).
        auto next = signaling_transition(jsep.signaling(), remote, desc.type);
        if (!next) return next.error();
        applied.next = *next;
        if (desc.type == sdp_type::offer) {
            agent.set_role(ice::role::controlled);
            jsep.set_pending(remote, std::move(*parsed));
            if (auto r = apply_remote_transport(now, *transport, agent); !r) return r.error();
            return applied;
        }
        if (auto r = apply_remote_transport(now, *transport, agent); !r) return r.error();
        if (desc.type == sdp_type::pranswer) {
            jsep.set_pending(remote, std::move(*parsed));
            return applied;
        }
        jsep.set_answer(remote, std::move(*parsed));
        applied.start_transport = true;
        return applied;
    }

    // What add_ice_candidate checks of the candidate before its line: that there is a remote
    // description, and that the ufrag is that description's (RFC 8838 4).
    [[nodiscard]] result<void> check_ice_candidate(const ice_candidate& c, const jsep_state& jsep) const
    {
        if (!jsep.has_remote())
            return make_error(peer_connection_errc::invalid_state, "add_ice_candidate before a remote description");
        if (!c.username_fragment.empty() && c.username_fragment != remote_ufrag_)
            return make_error(peer_connection_errc::bad_candidate, "candidate for ufrag '", c.username_fragment,
                              "' does not belong to the remote description (ufrag '", remote_ufrag_, "')");
        return {};
    }

    // addIceCandidate, once checked: an empty candidate is the end of candidates (RFC 8838 4).
    template <class Agent>
    result<void> add_ice_candidate(time_point now, const ice_candidate& c, Agent& agent)
    {
        if (c.candidate.empty()) {
            remote_trickle_end_ = true;
            agent.end_of_remote_candidates(now);
            return {};
        }
        auto r = agent.add_remote_candidate(now, std::string_view(c.candidate));
        if (!r) return make_error(peer_connection_errc::bad_candidate, "add_ice_candidate: ", r.error().message());
        // Kept for a local ICE restart, which starts the agent's remote side over (RFC 8445 9).
        if (remote_trickled_.size() < max_remote_candidates_) remote_trickled_.push_back(c.candidate);
        return {};
    }

    // What the remote description said of its transport (the last one applied).
    [[nodiscard]] const detail::remote_transport& remote() const noexcept { return remote_; }
    // Remote candidates the agent refused, from descriptions and from a restart's replay
    // (peer_connection_stats::remote_candidates_refused).
    [[nodiscard]] std::uint64_t remote_candidates_refused() const noexcept { return remote_candidates_refused_; }

    // Candidates gathered before the description was set go in now; later ones are added as
    // they come, so local_description() always shows them (RFC 8829 5.2.1, "all candidates
    // in the SDP" for peers without trickle).
    template <class Agent>
    static void add_gathered_to(sdp::session_description& d, const Agent& agent, bool gathering_complete)
    {
        auto* m = detail::first_bundled(d);
        if (!m) return;
        for (const auto& c : agent.local_candidates()) {
            const auto value = ice::to_sdp_value(c);
            bool present = false;
            for (const auto& existing : m->candidates())
                if (sdp::to_attribute_value(sdp::candidate::from(existing)) == value) present = true;
            if (!present) m->add_candidate(ice::to_sdp(c));
        }
        if (gathering_complete && !m->end_of_candidates()) m->add_flag("end-of-candidates");
    }

private:
    template <class Agent>
    result<void> apply_remote_transport(time_point now, const detail::remote_transport& t, Agent& agent)
    {
        if (auto r = agent.set_remote_credentials(t.ufrag, t.pwd); !r)
            return make_error(peer_connection_errc::bad_description, "remote ICE credentials: ", r.error().message());
        if (t.ufrag != remote_ufrag_) {
            // A remote ICE restart: trickled candidates of the old credentials are gone.
            remote_trickled_.clear();
            remote_trickle_end_ = false;
        }
        remote_ufrag_ = t.ufrag;
        remote_ = t;
        for (const auto& c : t.candidates) {
            auto ic = ice::from_sdp(c);
            if (!ic) continue;  // RFC 8839 5.1: candidates we cannot use are ignored
            add_remote(now, std::move(*ic), "the remote description", agent);
        }
        if (t.end_of_candidates) agent.end_of_remote_candidates(now);
        return {};
    }

    // A local description whose credentials differ from the agent's is an ICE restart (RFC
    // 8445 9, RFC 8829 5.2.1 / 5.3.1): the agent takes them and its checks start over. An
    // offerer waits for the answer's remote credentials; an answerer (whose remote side is
    // already the restarted one) and a rollback get the known remote side back (the restart
    // clears it). DTLS and SCTP stay; the selected pair carries data until a new one is chosen.
    template <class Agent>
    result<void> apply_local_credentials(time_point now, const sdp::session_description& d, bool keep_remote, Agent& agent)
    {
        const auto [ufrag, pwd] = detail::credentials_of(d);
        if (ufrag.empty() || pwd.empty() || (ufrag == agent.local_ufrag() && pwd == agent.local_pwd())) return {};
        if (auto r = agent.restart(now, ufrag, pwd); !r)
            return make_error(peer_connection_errc::bad_description, "local ICE credentials: ", r.error().message());
        if (keep_remote && !remote_ufrag_.empty()) {
            if (auto r = agent.set_remote_credentials(remote_.ufrag, remote_.pwd); !r)
                return make_error(peer_connection_errc::bad_description, "remote ICE credentials: ", r.error().message());
            for (const auto& c : remote_.candidates)
                if (auto ic = ice::from_sdp(c)) add_remote(now, std::move(*ic), "the remote description (rollback)", agent);
            for (const auto& line : remote_trickled_) add_remote(now, std::string_view(line), "trickle (rollback)", agent);
            if (remote_.end_of_candidates || remote_trickle_end_) agent.end_of_remote_candidates(now);
        }
        return {};
    }

    // The agent refuses a candidate it cannot use (its limit, a family we have no socket for,
    // a duplicate): the connection goes on with the others (RFC 8839 5.1), and the reason is
    // logged and counted (stats::remote_candidates_refused).
    template <class Agent>
    void add_remote(time_point now, ice::candidate c, std::string_view from, Agent& agent)
    {
        report_remote(agent.add_remote_candidate(now, std::move(c)), from);
    }
    template <class Agent>
    void add_remote(time_point now, std::string_view line, std::string_view from, Agent& agent)
    {
        report_remote(agent.add_remote_candidate(now, line), from);
    }
    void report_remote(const result<void>& r, std::string_view from)
    {
        if (r) return;
        ++remote_candidates_refused_;
        PEERKIT_LOG_AT(logger_, log::component::ice, log::level::warn, "remote candidate from ", from,
                       " not added: ", r.error());
    }

    std::size_t max_description_size_ = peer_connection_limits{}.max_description_size;
    std::size_t max_remote_candidates_ = peer_connection_limits{}.max_remote_candidates;
    log::logger logger_{};
    detail::remote_transport remote_{};
    std::string remote_ufrag_;
    std::vector<std::string> remote_trickled_;  // trickled candidates of remote_ufrag_
    bool remote_trickle_end_ = false;
    std::uint64_t remote_candidates_refused_ = 0;
};

}  // namespace peerkit
