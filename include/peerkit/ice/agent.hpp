// peerkit::ice::agent: a sans-IO ICE agent (RFC 8445 full and lite, RFC 8838 trickle,
// RFC 7675 consent freshness, RFC 8421 dual stack) for one component (WebRTC muxes RTP, RTCP
// and data on one; RFC 8843 BUNDLE makes it one transport).
//
// The runtime owns sockets and the clock. It feeds the agent:
//   gather(now, sockets)                    the local sockets it opened (host candidates)
//   set_remote_credentials(ufrag, pwd)      from the remote description
//   add_remote_candidate(now, c)            trickled remote candidates, in any order
//   end_of_remote_candidates(now)
//   handle_stun(now, socket, source, message)            STUN (RFC 7983 first byte 0-3); `socket`
//                                           may be a relayed candidate's (relayed STUN)
//   add_relayed_candidate(now, c)           a TURN allocation's candidate (ice/relays.hpp)
//   relays_gathering(now, n)                TURN allocations still under way (gathering waits)
//   handle_timeout(now)                     when poll_timeout() is due
//   send(now, datagram)                     application data over the selected pair
// and polls poll_transmit() (datagram + local socket + destination), poll_timeout() and
// poll_event() (candidates, gathering/connection state, selected pair, server errors).
// Nothing must be drained right away: outputs wait in bounded queues. accepts(path, source)
// answers whether data from a source on a path may be taken (RFC 7675 1): the question the
// demultiplexer in front (peer_connection/router.hpp) asks before DTLS or media get a datagram.
// Used alone, handle_packet(now, socket, source, datagram) does that demultiplexing itself and
// queues other data as data_received events (a copy).
//
// TURN is not in here (issue 15): ice::relays (ice/relays.hpp) sits beside the agent and owns
// the allocations; whoever composes the two (ice/transport.hpp, the peer connection core)
// gives the agent its relayed candidates and their completion, hands the relays every transmit
// on a relayed candidate's socket id (the agent sends on a relayed candidate like on a host
// one), and acts on relay_permission_wanted (RFC 8656 9) and a relayed selected pair (a
// channel, RFC 8656 12).
//
// This file is the machine that ties the pieces together (docs/ice.md, "Files"):
//   ice/checklist.hpp     candidate pairs, their states and the order of checks (RFC 8445 6.1)
//   ice/transactions.hpp  STUN requests in flight and their retransmission (RFC 8489 6.2.1)
//   ice/requests.hpp      the rules for answering a check: authentication, role conflicts,
//                         triggered checks (RFC 8445 7.3)
//   ice/nomination.hpp    which pair to nominate, what the peer's USE-CANDIDATE does (RFC 8445 8)
//   ice/consent.hpp       consent freshness on the selected pair (RFC 7675)
//   ice/states.hpp        RFC 8445 processing -> webrtc-pc RTCIceConnectionState, and why a
//                         connection failed
//   ice/gathering.hpp     host, server-reflexive and relayed candidates (RFC 8445 5.1)
// The pieces decide; the agent holds the state they decide on, acts, logs and counts.
//
// Reading order for learners: handle_request (RFC 8445 7.3) and handle_response (7.2.5) are
// the heart; schedule_check (6.1.4.2) is the pacing; update_state maps all of it onto the
// browser's states.
#pragma once

#include <peerkit/crypto/concepts.hpp>
#include <peerkit/error.hpp>
#include <peerkit/ice/candidate.hpp>
#include <peerkit/ice/checklist.hpp>
#include <peerkit/ice/config.hpp>
#include <peerkit/ice/consent.hpp>
#include <peerkit/ice/detail/stun_glue.hpp>
#include <peerkit/ice/error.hpp>
#include <peerkit/ice/gathering.hpp>
#include <peerkit/ice/nomination.hpp>
#include <peerkit/ice/requests.hpp>
#include <peerkit/ice/states.hpp>
#include <peerkit/ice/transactions.hpp>
#include <peerkit/ice/types.hpp>
#include <peerkit/log.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The agent's log lines (agent_config::logger, component ice); arguments are evaluated only when
// the level is on. Undefined again at the end of this header.
#define PEERKIT_ICE_LOG(lvl, ...) \
    PEERKIT_LOG_AT(config_.logger, ::peerkit::log::component::ice, ::peerkit::log::level::lvl, __VA_ARGS__)

namespace peerkit::ice {

// Counters for observability (what a dashboard or a failing test wants to see).
struct agent_stats {
    std::size_t checks_sent = 0;         // first transmissions of connectivity checks
    std::size_t retransmissions = 0;
    std::size_t requests_received = 0;
    std::size_t responses_received = 0;
    std::size_t auth_failures = 0;       // requests/responses failing MESSAGE-INTEGRITY
    std::size_t role_conflicts = 0;
    std::size_t dropped_candidates = 0;  // refused by a limit
    std::size_t dropped_transmits = 0;   // output queue full
    std::size_t consent_checks = 0;
    // Remote input that left no state behind (issue 14: each drop is counted, never stored).
    std::size_t unmatched_responses = 0;      // Binding responses for no transaction of ours
    std::size_t data_from_unknown_source = 0; // non-STUN datagrams without a valid pair (RFC 7675 1)
    std::size_t dropped_data_events = 0;      // received datagrams beyond max_queued_data_events
    std::size_t malformed_stun = 0;           // STUN-looking datagrams that failed to parse
    std::size_t error_responses_sent = 0;     // 400/401/420/487 answers (no larger than the request when unauthenticated)
};

// A snapshot of one pair, for tests and diagnostics.
struct pair_info {
    candidate local;
    candidate remote;
    std::uint64_t priority = 0;
    pair_state state = pair_state::frozen;
    bool valid = false;
    bool nominated = false;
};

template <crypto::provider Crypto>
class agent {
public:
    using hmac_key = typename Crypto::hmac_sha1_key;

    agent(agent_config config, Crypto crypto = Crypto{})
        : config_(std::move(config)), crypto_(std::move(crypto)), role_(config_.role)
    {
        if (config_.lite) role_ = role::controlled;  // RFC 8445 6.1.1: a lite agent never controls
        tie_breaker_ = random_u64();
        new_local_credentials();
    }

    // ---- credentials ---------------------------------------------------------------------------
    [[nodiscard]] std::string_view local_ufrag() const noexcept { return local_ufrag_; }
    [[nodiscard]] std::string_view local_pwd() const noexcept { return local_pwd_; }

    // RFC 8445 5.3 / RFC 8839 5.4: ufrag 4-256 and pwd 22-256 ice-chars. A change of remote
    // credentials is a remote ICE restart (RFC 8445 9): remote candidates and pairs start over.
    result<void> set_remote_credentials(std::string_view ufrag, std::string_view pwd)
    {
        if (!valid_ice_chars(ufrag, 4) || !valid_ice_chars(pwd, 22))
            return make_error(errc::bad_credentials, "remote ufrag needs 4+ and pwd 22+ ice-chars "
                              "(got ", ufrag.size(), " and ", pwd.size(), ")");
        if (ufrag.size() > 256 || pwd.size() > 256)
            return make_error(errc::bad_credentials, "remote ufrag/pwd longer than 256 characters");
        if (ufrag == remote_ufrag_ && pwd == remote_pwd_) return {};
        if (!remote_ufrag_.empty()) reset_checks();
        remote_ufrag_.assign(ufrag);
        remote_pwd_.assign(pwd);
        remote_key_ = crypto_.prepare_hmac_sha1(as_bytes(remote_pwd_));
        return {};
    }

    // ---- roles -----------------------------------------------------------------------------
    [[nodiscard]] ice::role role() const noexcept { return role_; }
    void set_role(ice::role r)
    {
        if (config_.lite) return;
        if (r != role_) switch_role(r, /*notify=*/false);
    }
    [[nodiscard]] std::uint64_t tie_breaker() const noexcept { return tie_breaker_; }

    // ---- gathering -------------------------------------------------------------------------
    // The runtime reports its sockets, one per interface address. Host candidates come at once
    // (RFC 8445 5.1.1.1); server-reflexive ones need a STUN Binding to each configured server
    // (5.1.1.2), relayed ones a TURN allocation (ice::relays, beside the agent, gives them with
    // add_relayed_candidate). Calling again adds sockets.
    void gather(time_point now, std::span<const local_socket> sockets)
    {
        if (closed()) return;
        set_gathering(gathering_state::gathering);
        for (const local_socket& s : sockets) {
            if (!config_.gathering.accepts(s)) continue;
            if (find_socket(s.id) != nullptr) continue;
            sockets_.push_back(s);
            const std::uint16_t pref = host_preference_among(sockets_, s);
            host_prefs_.push_back({s.id, pref});
            if (config_.policy == transport_policy::all) add_local_candidate(now, host_candidate(s, pref));
            if (config_.lite) continue;  // RFC 8445 2.5: lite agents have host candidates only
            if (config_.policy == transport_policy::all) {
                for (const endpoint& server : config_.stun_servers) {
                    if (server.family() != s.address.family()) continue;
                    start_gather_transaction(now, s, server);
                }
            }
        }
        tick(now);
    }

    [[nodiscard]] gathering_state gathering() const noexcept { return gathering_; }
    [[nodiscard]] const std::vector<candidate>& local_candidates() const noexcept
    {
        return locals_;
    }

    // ---- remote candidates (RFC 8838 trickle) ------------------------------------------------
    result<void> add_remote_candidate(time_point now, candidate c)
    {
        if (closed()) return make_error(errc::wrong_state, "agent is closed");
        if (c.component != 1)
            return refuse_candidate(c, make_error(errc::bad_candidate, "component ", c.component,
                                                  " (only component 1 is used; RTP/RTCP are muxed)"));
        if (c.address.port() == 0 || c.address.address().is_unspecified())
            return refuse_candidate(c, make_error(errc::bad_candidate, "candidate address ", c.address.to_string(),
                                                  " is unspecified"));
        last_remote_candidate_ = now;
        // A signalled candidate replaces a peer-reflexive one learned earlier from a check
        // (RFC 8445 7.3.1.3 / RFC 8838 11: the prflx is then known by its real type).
        for (std::size_t i = 0; i < remotes_.size(); ++i) {
            if (remotes_[i].address != c.address) continue;
            if (remotes_[i].type == candidate_type::prflx && c.type != candidate_type::prflx) {
                remotes_[i].type = c.type;
                remotes_[i].priority = c.priority;
                remotes_[i].foundation = c.foundation;
                recompute_pair_priorities();
            }
            return {};  // a duplicate
        }
        if (remotes_.size() >= config_.max_remote_candidates) {
            ++stats_.dropped_candidates;
            return refuse_candidate(c, make_error(errc::limit_reached, "more than ", config_.max_remote_candidates,
                                                  " remote candidates (agent_config::max_remote_candidates)"));
        }
        PEERKIT_ICE_LOG(debug, "remote candidate ", to_string(c.type), ' ', c.address, " added");
        remotes_.push_back(std::move(c));
        form_pairs_for_remote(now, remotes_.size() - 1);
        tick(now);
        return {};
    }

    // The same from a trickled line, parsed by the SDP candidate codec.
    result<void> add_remote_candidate(time_point now, std::string_view line)
    {
        auto c = parse_candidate_line(line);
        if (!c) {
            PEERKIT_ICE_LOG(debug, "remote candidate refused: cannot parse '", line, "': ", c.error());
            return c.error();
        }
        return add_remote_candidate(now, std::move(*c));
    }

    // RFC 8838 4 / 8: the peer has no more candidates; a checklist can now fail for good.
    void end_of_remote_candidates(time_point now)
    {
        if (!remote_end_of_candidates_)
            PEERKIT_ICE_LOG(debug, "end of remote candidates (", remotes_.size(), " known)");
        remote_end_of_candidates_ = true;
        tick(now);
    }

    // ---- input -----------------------------------------------------------------------------
    // The agent takes STUN only; a demultiplexer (peer_connection/router.hpp) sorts datagrams
    // by RFC 7983 first byte and TURN origin, gives STUN here (relayed STUN too, once ice::relays
    // unwrapped it), and asks accepts() before it hands DTLS or media to their machines.
    // Each input does what it requires at once (an answer, pair states, a triggered or
    // nominating check, paced by Ta: RFC 8445 6.1.4.2) and leaves what is periodic
    // (retransmissions, consent, TURN refreshes) to handle_timeout when poll_timeout says.

    // A STUN message from `source` on local socket `socket`, or relayed from peer `source`
    // through the relayed candidate whose socket id is `socket` (RFC 8656: ice::relays unwrapped it).
    void handle_stun(time_point now, socket_id socket, const endpoint& source, bytes_view message)
    {
        if (closed()) return;
        if (auto relayed = relayed_candidate_for_socket(socket)) {
            handle_datagram(now, relayed, socket, source, message);
            settle(now);
            return;
        }
        if (find_socket(socket) == nullptr) {
            PEERKIT_ICE_LOG(debug, "datagram from ", source, " dropped: socket id ", socket,
                            " was never given to gather() and is no relayed candidate's");
            return;
        }
        handle_datagram(now, host_candidate_for_socket(socket), socket, source, message);
        settle(now);
    }

    // The standalone agent's input (without a demultiplexer in front): STUN is handled, and any
    // other datagram from the remote side of a valid pair becomes a data_received event (a
    // copy, bounded by agent_config::max_queued_data_events). `socket` may be a relayed
    // candidate's, for what a relay unwrapped (ice/transport.hpp). The peer connection routes
    // with peer_connection/router.hpp instead and never sees these events.
    void handle_packet(time_point now, socket_id socket, const endpoint& source, bytes_view data)
    {
        if (closed()) return;
        standalone_route(now, path{socket, relayed_candidate_for_socket(socket).has_value()}, source, data);
    }

    void handle_timeout(time_point now)
    {
        if (closed()) return;
        tick(now);
    }

    // ---- relayed candidates (ice::relays, beside the agent) ------------------------------------
    // A TURN allocation succeeded (RFC 8656 7.3): its relayed candidate, with the relayed socket
    // id what the agent sends on it goes out with (the composer hands those transmits to the
    // relays). Pairs form with the remote candidates at once (RFC 8445 6.1.2.4).
    void add_relayed_candidate(time_point now, candidate c)
    {
        if (closed() || c.type != candidate_type::relay) return;
        add_local_candidate(now, std::move(c));
        settle(now);
    }

    // How many TURN allocations are still under way: gathering completes when they and the
    // server-reflexive requests are done (RFC 8445 5.1; gathering_state complete).
    void relays_gathering(time_point now, std::size_t unsettled)
    {
        if (closed() || unsettled == relays_unsettled_) return;
        relays_unsettled_ = unsettled;
        if (gathering_ == gathering_state::gathering) settle(now);
    }

    // Application data over the selected pair (through the relay when it is relayed).
    result<void> send(time_point now, bytes_view data)
    {
        auto path = send_path(now, data.size());
        if (!path) return path.error();
        send_from(path->local, *path->to, data);
        return {};
    }
    // The same, handing the buffer over: it becomes the transmit's payload with no copy
    // (issue 15); on a relayed candidate ice::relays then wraps it, which copies it once.
    result<void> send(time_point now, std::vector<std::byte>&& data)
    {
        auto path = send_path(now, data.size());
        if (!path) return path.error();
        queue_transmit(locals_[path->local].socket, *path->to, std::move(data));
        return {};
    }

    // ---- output ----------------------------------------------------------------------------
    // Datagrams queue_transmit would still take before it drops (max_queued_transmits minus
    // those waiting): a sender above the agent stops there and keeps its data, rather than
    // handing on datagrams that would be lost here.
    [[nodiscard]] std::size_t transmit_room() const noexcept
    {
        return config_.max_queued_transmits - std::min(config_.max_queued_transmits, transmits_.size());
    }
    std::optional<transmit> poll_transmit()
    {
        if (transmits_.empty()) return std::nullopt;
        transmit t = std::move(transmits_.front());
        transmits_.pop_front();
        return t;
    }
    std::optional<event> poll_event()
    {
        if (events_.empty()) return std::nullopt;
        event e = std::move(events_.front());
        events_.pop_front();
        if (std::holds_alternative<role_changed>(e)) role_change_queued_ = false;
        if (std::holds_alternative<data_received>(e)) --queued_data_events_;
        return e;
    }
    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        if (closed()) return std::nullopt;
        std::optional<time_point> t;
        auto consider = [&t](time_point when) {
            if (!t || when < *t) t = when;
        };
        // Deadlines already handled at the last tick are not asked for again: a deadline that
        // passed without effect (nothing to pace, a nomination under way) must not spin.
        auto deadline = [&](time_point when) {
            if (!ticked_ || when > last_tick_) consider(when);
        };
        if (auto when = transactions_.next_deadline()) consider(*when);
        if (has_check_to_send()) deadline(checked_once_ ? last_check_ + config_.ta : last_tick_);
        if (selected_ && !consent_lost_) {
            if (config_.consent_freshness && !config_.lite) deadline(consent_.next_check());
            deadline(pairs_[*selected_].last_sent + config_.keepalive_interval);
            if (state_ != connection_state::disconnected) deadline(consent_base() + config_.disconnected_timeout);
            deadline(consent_base() + config_.consent_timeout);
        }
        if (nomination_deadline_) deadline(*nomination_deadline_);
        if ((state_ == connection_state::checking || state_ == connection_state::new_) && checking_since_ && !selected_ &&
            !parked_)
            deadline(*checking_since_ + config_.checking_timeout);
        if (!selected_ && !remote_end_of_candidates_ && last_remote_candidate_)
            deadline(*last_remote_candidate_ + config_.end_of_candidates_wait);
        return t;
    }

    // ---- lifecycle -------------------------------------------------------------------------
    // RFC 8445 9: new local credentials, checks start over; local candidates are re-announced
    // (trickle) and the previously selected pair keeps carrying data until a new one is chosen.
    void restart(time_point now)
    {
        if (closed()) return;
        new_local_credentials();
        restart_checks(now);
    }

    // The same with credentials chosen by the caller: JSEP puts new ones in an offer or answer
    // before it is applied (RFC 8829 5.2.1 / 5.3.1), and the agent restarts with those. They
    // must be valid (RFC 8839 5.4) and differ from the current ones (RFC 8445 9).
    result<void> restart(time_point now, std::string_view ufrag, std::string_view pwd)
    {
        if (!valid_ice_chars(ufrag, 4) || !valid_ice_chars(pwd, 22) || ufrag.size() > 256 || pwd.size() > 256)
            return make_error(errc::bad_credentials, "local ufrag needs 4-256 and pwd 22-256 ice-chars "
                              "(got ", ufrag.size(), " and ", pwd.size(), ")");
        if (ufrag == local_ufrag_ || pwd == local_pwd_)
            return make_error(errc::bad_credentials, "an ICE restart needs a new ufrag and pwd (RFC 8445 9)");
        if (closed()) return {};
        local_ufrag_.assign(ufrag);
        local_pwd_.assign(pwd);
        local_key_ = crypto_.prepare_hmac_sha1(as_bytes(local_pwd_));
        restart_checks(now);
        return {};
    }

private:
    void restart_checks(time_point now)
    {
        remote_ufrag_.clear();
        remote_pwd_.clear();
        reset_checks();
        set_gathering(gathering_state::gathering);
        for (const candidate& c : locals_)
            if (c.type != candidate_type::prflx) emit_candidate(c);
        if (pending_gathers() == 0) set_gathering(gathering_state::complete);
        tick(now);
    }

public:
    // Stops everything (the TURN allocations are ice::relays' to free).
    void close(time_point)
    {
        if (closed()) return;
        transactions_.clear();
        set_connection(connection_state::closed);
    }

    // ---- path validity ----------------------------------------------------------------------
    // May data from `source`, arriving on `arrived` (a local socket, straight or through the
    // TURN relay allocated over it), be accepted? RFC 7675 1 / RFC 8445 12.2: only from the
    // remote side of a valid pair on that path (or of the route kept across a restart, RFC 8445
    // 9), and not once consent has expired (RFC 7675 5.1). The question a demultiplexer asks
    // before it hands a non-STUN datagram to DTLS or media.
    [[nodiscard]] bool accepts(const path& arrived, const endpoint& source) const
    {
        if (closed() || consent_lost_) return false;
        for (const pair& p : pairs_) {
            if (!p.valid || remotes_[p.remote].address != source) continue;
            if (locals_[p.local].socket == arrived.socket && is_relayed(p.local) == arrived.relayed) return true;
        }
        return parked_ && parked_->remote.address == source && locals_[parked_->local].socket == arrived.socket;
    }

    // ---- observation -----------------------------------------------------------------------
    [[nodiscard]] connection_state state() const noexcept { return state_; }
    // Why the state is failed (the same reason connection_state_changed carried), else nothing.
    [[nodiscard]] const std::optional<peerkit::error>& failure_reason() const noexcept { return failure_; }
    [[nodiscard]] const agent_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t remote_candidate_count() const noexcept { return remotes_.size(); }
    [[nodiscard]] std::size_t pair_count() const noexcept { return pairs_.size(); }
    [[nodiscard]] std::size_t in_flight() const noexcept { return transactions_.size(); }
    [[nodiscard]] std::size_t queued_events() const noexcept { return events_.size(); }
    [[nodiscard]] std::vector<pair_info> pairs() const
    {
        std::vector<pair_info> out;
        for (const pair& p : pairs_)
            out.push_back({locals_[p.local], remotes_[p.remote], p.priority, p.state, p.valid,
                           p.nominated});
        return out;
    }
    [[nodiscard]] std::optional<pair_info> selected_pair() const
    {
        if (!selected_) return std::nullopt;
        const pair& p = pairs_[*selected_];
        return pair_info{locals_[p.local], remotes_[p.remote], p.priority, p.state, p.valid,
                         p.nominated};
    }

private:
    // ---- internal state ----------------------------------------------------------------------
    using pair = candidate_pair;

    struct host_pref {
        socket_id socket;
        std::uint16_t pref;
    };

    // ---- helpers -------------------------------------------------------------------------------
    [[nodiscard]] bool closed() const noexcept { return state_ == connection_state::closed; }

    result<void> refuse_candidate(const candidate& c, peerkit::error why)
    {
        PEERKIT_ICE_LOG(debug, "remote candidate ", c.address, " refused: ", why);
        return why;
    }

    // One line about a pair: "pair 10.0.0.1:5000 -> 10.0.0.2:6000 (host/prflx): ..."; the parts
    // are cheap (literals, numbers, addresses), the line is built only when the level is on.
    template <class... Parts>
    void log_pair(log::level level, std::size_t index, const Parts&... parts) const
    {
        if (!config_.logger.enabled(log::component::ice, level)) return;
        const pair& p = pairs_[index];
        config_.logger.write(log::component::ice, level, "pair ", locals_[p.local].address, " -> ",
                             remotes_[p.remote].address, " (", to_string(locals_[p.local].type), '/',
                             to_string(remotes_[p.remote].type), "): ", parts...);
    }

    // Every pair state change goes through here, so that the log tells the checklist's story.
    void set_pair_state(std::size_t index, pair_state s, std::string_view why)
    {
        pair& p = pairs_[index];
        if (p.state == s) return;
        log_pair(log::level::debug, index, to_string(p.state), " -> ", to_string(s), " (", why, ')');
        p.state = s;
    }

    // RFC 8445 7.2.5.2 / 7.2.5.3.4 / 7.3.1.5: a failed check fails its pair; a pair whose
    // nominating check failed leaves the valid list (with the valid pair it produced), so that
    // nomination does not retry a dead path. The selected pair stays until consent says otherwise.
    void fail_pair(std::size_t index, pair_failure why, std::string_view text)
    {
        pair& p = pairs_[index];
        const bool nominating = p.use_candidate || p.nominate_on_success;
        if (nominating) ++nominations_failed_;
        p.failure = why;
        p.use_candidate = false;
        p.nominate_on_success = false;
        set_pair_state(index, pair_state::failed, text);
        if (selected_ != index && p.valid) {
            p.valid = false;
            log_pair(log::level::debug, index, "removed from the valid list");
        }
        if (nominating && p.valid_pair && *p.valid_pair != index && selected_ != *p.valid_pair &&
            pairs_[*p.valid_pair].valid) {
            pairs_[*p.valid_pair].valid = false;
            log_pair(log::level::debug, *p.valid_pair, "removed from the valid list: its nominating check failed");
        }
    }

    // The connection failed: state failed with the reason, and no more checks until a restart.
    void fail_connection(peerkit::error why)
    {
        if (state_ == connection_state::failed || closed()) return;
        PEERKIT_ICE_LOG(warn, "connection failed: ", why);
        checks_stopped_ = true;
        pairs_.clear_triggered();
        transactions_.erase_kind(transaction_kind::check);
        failure_ = why;
        set_connection(connection_state::failed, std::move(why));
    }

    static bool valid_ice_chars(std::string_view s, std::size_t min)
    {
        if (s.size() < min) return false;
        for (char c : s) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '+' || c == '/';
            if (!ok) return false;
        }
        return true;
    }

    // Every random draw goes through here. A failed draw leaves guessable credentials,
    // tie-breakers or transaction ids (RFC 8445 5.3, RFC 8489 6: 96 random bits), which would
    // let an off-path attacker forge answers: the agent answers no more checks and the next
    // tick fails the connection with errc::random_failed.
    bool draw(mutable_bytes out)
    {
        if (crypto_.random_bytes(out)) return true;
        if (!random_failed_) PEERKIT_ICE_LOG(error, "the random source failed: the connection fails (errc::random_failed)");
        random_failed_ = true;
        return false;
    }

    std::uint64_t random_u64()
    {
        std::array<std::byte, 8> b{};
        (void)draw(b);  // a failure is recorded in random_failed_
        return peerkit::detail::load_be64(b.data());
    }

    detail::transaction_id new_transaction_id()
    {
        detail::transaction_id id{};
        (void)draw(id.bytes);  // a failure is recorded in random_failed_
        return id;
    }

    // RFC 8445 5.3: ufrag at least 24 bits and pwd at least 128 bits of randomness. We use 8 and
    // 24 characters of the 64-letter ice-char alphabet (48 and 144 bits).
    void new_local_credentials()
    {
        struct recording_source {
            agent* self;
            bool random_bytes(mutable_bytes out) const { return self->draw(out); }
        };
        auto fresh = generate_credentials(recording_source{this});
        local_ufrag_ = std::move(fresh.ufrag);
        local_pwd_ = std::move(fresh.pwd);
        local_key_ = crypto_.prepare_hmac_sha1(as_bytes(local_pwd_));
    }

    const local_socket* find_socket(socket_id id) const
    {
        for (const local_socket& s : sockets_)
            if (s.id == id) return &s;
        return nullptr;
    }

    std::uint16_t local_pref_of_socket(socket_id id) const
    {
        for (const host_pref& h : host_prefs_)
            if (h.socket == id) return h.pref;
        return 0;
    }

    std::optional<std::size_t> host_candidate_for_socket(socket_id socket) const
    {
        for (std::size_t i = 0; i < locals_.size(); ++i)
            if (locals_[i].socket == socket && locals_[i].type == candidate_type::host) return i;
        // Relay-only policy: the socket has no host candidate, checks never arrive on it.
        return std::nullopt;
    }

    bool is_relayed(std::size_t local) const { return locals_[local].type == candidate_type::relay; }

    // The relayed candidate that has socket id `socket` (its own, given by ice::relays).
    std::optional<std::size_t> relayed_candidate_for_socket(socket_id socket) const
    {
        for (std::size_t i = 0; i < locals_.size(); ++i)
            if (locals_[i].socket == socket && locals_[i].type == candidate_type::relay) return i;
        return std::nullopt;
    }

    // ---- output queues -------------------------------------------------------------------------
    void queue_transmit(socket_id socket, const endpoint& to, std::vector<std::byte> payload)
    {
        if (transmits_.size() >= config_.max_queued_transmits) {
            ++stats_.dropped_transmits;  // like a full socket buffer: the datagram is lost
            PEERKIT_ICE_LOG(debug, "datagram to ", to, " dropped: ", config_.max_queued_transmits,
                            " not yet polled (agent_config::max_queued_transmits)");
            return;
        }
        transmits_.push_back({socket, to, std::move(payload)});
    }

    // Where application data goes: the selected pair (or the parked one during a restart).
    struct outgoing_path {
        std::size_t local = 0;
        const endpoint* to = nullptr;
    };
    result<outgoing_path> send_path(time_point now, std::size_t size)
    {
        if (closed()) return make_error(errc::wrong_state, "agent is closed");
        if ((!selected_ && !parked_) || consent_lost_)
            return make_error(errc::no_selected_pair, "no selected pair to send ", size, " bytes on");
        if (size > config_.max_datagram)
            return make_error(errc::message_too_large, "datagram of ", size, " bytes exceeds agent_config::max_datagram");
        if (!selected_) return outgoing_path{parked_->local, &parked_->remote.address};
        pair& p = pairs_[*selected_];
        p.last_sent = now;
        return outgoing_path{p.local, &remotes_[p.remote].address};
    }

    // From a host candidate's socket, or a relayed candidate's own socket id (ice::relays wraps it).
    void send_from(std::size_t local, const endpoint& to, bytes_view payload)
    {
        queue_transmit(locals_[local].socket, to, {payload.begin(), payload.end()});
    }

    // Every event kind is bounded by a limit or by time, except role changes: a peer that knows
    // the password can flip our role with each check (RFC 8445 7.3.1.1). An unpolled
    // role_changed is updated in place, so the user sees the latest role once.
    void emit(event e)
    {
        if (const auto* r = std::get_if<role_changed>(&e); r != nullptr && role_change_queued_) {
            for (auto it = events_.rbegin(); it != events_.rend(); ++it)
                if (auto* queued = std::get_if<role_changed>(&*it)) {
                    queued->role = r->role;
                    return;
                }
        }
        if (std::holds_alternative<role_changed>(e)) role_change_queued_ = true;
        events_.push_back(std::move(e));
    }

    void emit_candidate(const candidate& c) { emit(candidate_gathered{c, to_sdp_value(c)}); }

    void set_gathering(gathering_state s)
    {
        if (gathering_ == s) return;
        gathering_ = s;
        emit(gathering_state_changed{s});
    }

    void set_connection(connection_state s, std::optional<peerkit::error> reason = std::nullopt)
    {
        if (state_ == s) return;
        PEERKIT_ICE_LOG(info, "connection state ", to_string(state_), " -> ", to_string(s));
        state_ = s;
        if (s != connection_state::checking && s != connection_state::new_) checking_since_.reset();
        if (s != connection_state::failed) failure_.reset();
        emit(connection_state_changed{s, std::move(reason)});
    }

    // ---- local candidates ----------------------------------------------------------------------
    std::optional<std::size_t> add_local_candidate(time_point now, candidate c, bool announce = true)
    {
        // RFC 8445 5.1.3: a candidate with the same address and base as one we have is redundant.
        for (std::size_t i = 0; i < locals_.size(); ++i)
            if (locals_[i].address == c.address && locals_[i].base == c.base) return i;
        if (locals_.size() >= config_.max_local_candidates) {
            ++stats_.dropped_candidates;
            PEERKIT_ICE_LOG(debug, "local ", to_string(c.type), " candidate ", c.address, " dropped: ",
                            config_.max_local_candidates, " already (agent_config::max_local_candidates)");
            return std::nullopt;
        }
        locals_.push_back(std::move(c));
        const std::size_t index = locals_.size() - 1;
        if (announce) emit_candidate(locals_[index]);
        // RFC 8445 6.1.2.4: pairs are formed from host and relayed candidates only; a server-
        // reflexive candidate is sent from its base, so its pairs would duplicate the host's.
        const candidate_type t = locals_[index].type;
        if (t == candidate_type::host || t == candidate_type::relay)
            for (std::size_t r = 0; r < remotes_.size(); ++r) add_pair(now, index, r);
        return index;
    }

    // ---- pairs (RFC 8445 6.1.2) -----------------------------------------------------------------
    void form_pairs_for_remote(time_point now, std::size_t remote)
    {
        std::size_t formed = 0;
        for (std::size_t l = 0; l < locals_.size(); ++l) {
            const candidate_type t = locals_[l].type;
            if (t != candidate_type::host && t != candidate_type::relay) continue;
            if (add_pair(now, l, remote)) ++formed;
        }
        // Not refused: the peer's checks may still reach us from it (RFC 8445 7.3.1.4).
        if (formed == 0 && !locals_.empty())
            PEERKIT_ICE_LOG(debug, "remote candidate ", remotes_[remote].address,
                            " pairs with none of our ", locals_.size(),
                            " local candidates (address family, loopback scope or relay-only policy)");
    }

    std::uint64_t compute_pair_priority(std::size_t local, std::size_t remote) const
    {
        const std::uint32_t l = locals_[local].priority, r = remotes_[remote].priority;
        return role_ == role::controlling ? pair_priority(l, r) : pair_priority(r, l);
    }

    void recompute_pair_priorities()
    {
        for (pair& p : pairs_) p.priority = compute_pair_priority(p.local, p.remote);
    }

    std::optional<std::size_t> find_pair(std::size_t local, std::size_t remote) const
    {
        return pairs_.find(local, remote);
    }

    // How a pair came to be: formed from candidates (RFC 8445 6.1.2), or learned from a check
    // the peer sent us (7.3.1.4), which proved the path exists whatever our pairing rules say.
    enum class pair_origin : std::uint8_t { formed, learned_from_check };

    // Adds a pair if the families match and the limits allow (RFC 8445 6.1.2.2, 6.1.2.5).
    std::optional<std::size_t> add_pair(time_point, std::size_t local, std::size_t remote,
                                        pair_origin origin = pair_origin::formed)
    {
        const candidate& l = locals_[local];
        const candidate& r = remotes_[remote];
        if (l.address.family() != r.address.family()) return std::nullopt;
        // A loopback address only reaches loopback addresses, and the other way round, as far as
        // we can tell from the addresses; but a check that arrived from the remote address on
        // this local one (Linux delivers 127.0.0.1 -> 198.18.0.2) shows that it does, and
        // RFC 8445 7.3.1.4 then requires the pair and its triggered check.
        if (origin == pair_origin::formed && l.type == candidate_type::host &&
            l.address.address().is_loopback() != r.address.address().is_loopback())
            return std::nullopt;
        if (config_.policy == transport_policy::relay && l.type != candidate_type::relay &&
            l.type != candidate_type::prflx)
            return std::nullopt;
        if (auto existing = find_pair(local, remote)) return existing;
        // RFC 8445 6.1.2.4: a pair with the same local base and remote candidate is redundant.
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].remote == remote && locals_[pairs_[i].local].base == l.base &&
                locals_[pairs_[i].local].socket == l.socket && is_relayed(pairs_[i].local) == is_relayed(local))
                return i;
        pair p;
        p.local = local;
        p.remote = remote;
        p.priority = compute_pair_priority(local, remote);
        p.foundation = l.foundation + ':' + r.foundation;
        if (pairs_.size() >= config_.max_pairs) {
            // RFC 8445 6.1.2.5: keep the highest-priority pairs; only a frozen or waiting pair
            // that nobody depends on can make room.
            const std::optional<std::size_t> lowest = pairs_.lowest_prunable(selected_);
            if (!lowest || pairs_[*lowest].priority >= p.priority) {
                ++stats_.dropped_candidates;
                PEERKIT_ICE_LOG(debug, "pair ", l.address, " -> ", r.address, " not formed: ", config_.max_pairs,
                                " pairs already (agent_config::max_pairs) and none of lower priority to drop");
                return std::nullopt;
            }
            log_pair(log::level::debug, *lowest, "dropped to make room for a higher-priority pair (agent_config::max_pairs)");
            remove_pair(*lowest);
        }
        // RFC 8445 6.1.2.6 with RFC 8838 10: a new pair is Waiting when no other pair of its
        // foundation is Waiting or In-Progress (so every foundation gets checked early), or when
        // one of its foundation already succeeded; otherwise Frozen.
        p.state = pairs_.initial_state(p.foundation);
        pairs_.add(std::move(p));
        log_pair(log::level::debug, pairs_.size() - 1, "new, ", to_string(pairs_.back().state),
                 origin == pair_origin::learned_from_check ? " (learned from the peer's check)" : "");
        // RFC 8656 9: permit the remote address on the relay now, so its checks get through
        // even before our first check to it is sent (the composer asks ice::relays).
        if (is_relayed(local)) emit(relay_permission_wanted{l.socket, r.address});
        return pairs_.size() - 1;
    }

    // Removing a pair shifts indices: the checklist fixes its own, we fix ours.
    void remove_pair(std::size_t index)
    {
        pairs_.remove(index);
        transactions_.forget_pair(index);
        if (selected_ && *selected_ > index) --*selected_;
    }

    void reset_checks()
    {
        // RFC 8445 9: the old selected pair keeps carrying data until the new checks select
        // one; it leaves the checklist and is kept aside as a route.
        if (selected_ && !consent_lost_)
            parked_ = route{pairs_[*selected_].local, remotes_[pairs_[*selected_].remote]};
        pairs_.clear();
        remotes_.clear();
        transactions_.erase_on_pairs();
        nomination_deadline_.reset();
        last_remote_candidate_.reset();
        remote_end_of_candidates_ = false;
        selected_.reset();
        checking_since_.reset();  // the checking_timeout starts over with the new checks
        checks_stopped_ = false;
        nominations_failed_ = 0;
        if (state_ != connection_state::new_ && !parked_) set_connection(connection_state::checking);
        consent_lost_ = false;
    }

    // ---- the scheduler (RFC 8445 6.1.4.2) ---------------------------------------------------------
    bool checks_allowed() const
    {
        return !config_.lite && !remote_pwd_.empty() && !closed() && !checks_stopped_;
    }

    bool has_check_to_send() const
    {
        if (!checks_allowed() || transactions_.size() >= config_.max_in_flight) return false;
        if (pairs_.has_triggered()) return true;
        if (ordinary_checks_done()) return false;
        for (const pair& p : pairs_)
            if (p.state == pair_state::waiting || p.state == pair_state::frozen) return true;
        return false;
    }

    // After nomination the checklist is complete (RFC 8445 8.1.2): no new ordinary checks.
    bool ordinary_checks_done() const
    {
        return selected_ && pairs_[*selected_].nominated;
    }

    // One check per Ta: a triggered one first, else the best Waiting pair, else unfreeze.
    void schedule_check(time_point now)
    {
        while (has_check_to_send() && (!checked_once_ || now >= last_check_ + config_.ta)) {
            std::optional<std::size_t> next = pairs_.next_triggered();
            if (!next && !ordinary_checks_done()) next = pairs_.next_ordinary();
            if (!next) break;
            send_check(now, *next);
            last_check_ = now;
            checked_once_ = true;
        }
    }

    void enqueue_triggered(std::size_t index)
    {
        if (!pairs_.enqueue_triggered(index, config_.max_triggered))
            log_pair(log::level::debug, index, "triggered check not queued: ", config_.max_triggered,
                     " already queued (agent_config::max_triggered)");
    }

    // RFC 8445 7.2.2: a Binding request with PRIORITY (as if peer-reflexive), the role and
    // tie-breaker, USE-CANDIDATE when nominating, MESSAGE-INTEGRITY with the remote password
    // and FINGERPRINT.
    void send_check(time_point now, std::size_t index, transaction_kind kind = transaction_kind::check)
    {
        pair& p = pairs_[index];
        const candidate& l = locals_[p.local];
        std::uint16_t local_pref = l.type == candidate_type::relay
                                       ? static_cast<std::uint16_t>((l.priority >> 8) & 0xFFFFu)
                                       : local_pref_of_socket(l.socket);
        if (l.type == candidate_type::prflx) local_pref = static_cast<std::uint16_t>((l.priority >> 8) & 0xFFFFu);
        transaction tx;
        tx.id = new_transaction_id();
        tx.kind = kind;
        tx.pair = index;
        tx.local = p.local;
        tx.destination = remotes_[p.remote].address;
        tx.priority = candidate_priority(candidate_type::prflx, local_pref, l.component);
        tx.sent_role = role_;
        tx.use_candidate = role_ == role::controlling && p.use_candidate && kind == transaction_kind::check;
        const std::string username = remote_ufrag_ + ':' + local_ufrag_;
        detail::binding_request req;
        req.id = tx.id;
        req.username = username;
        req.priority = tx.priority;
        if (role_ == role::controlling)
            req.ice_controlling = tie_breaker_;
        else
            req.ice_controlled = tie_breaker_;
        req.use_candidate = tx.use_candidate;
        tx.request = detail::encode_binding_request(crypto_, &remote_key_, req);
        if (kind == transaction_kind::check) {
            // A new check on the pair supersedes an older one still in flight: RFC 8445 7.3.1.4
            // cancels it (no more retransmissions, its timeout fails nothing) but its answer,
            // if one comes, still counts.
            transactions_.cancel_checks_on(index);
            // Kept within max_in_flight: when it is reached, the cancelled ones go at once.
            if (transactions_.size() >= config_.max_in_flight) transactions_.drop_cancelled_checks_on(index);
            set_pair_state(index, pair_state::in_progress, tx.use_candidate ? "check sent with USE-CANDIDATE" : "check sent");
            ++stats_.checks_sent;
        } else {
            ++stats_.consent_checks;
        }
        log_pair(log::level::trace, index, kind == transaction_kind::check ? "Binding request" : "consent Binding request",
                 tx.use_candidate ? " with USE-CANDIDATE" : "", " as ", to_string(role_));
        send_from(tx.local, tx.destination, tx.request);
        p.last_sent = now;
        transactions_.start(now, config_.check_rto, std::move(tx));
    }

    // ---- retransmissions (RFC 8489 6.2.1, capped as agent_config says) ----------------------------
    void run_transactions(time_point now)
    {
        transactions_.run(
            now,
            [this](const transaction& tx) {
                return tx.kind == transaction_kind::gather
                           ? retransmission_limits{config_.gather_max_transmits, config_.gather_rto * 8}
                           : retransmission_limits{config_.check_max_transmits, config_.check_rto_max};
            },
            [this](const transaction& tx) {
                ++stats_.retransmissions;
                if (tx.kind == transaction_kind::gather)
                    queue_transmit(tx.socket, tx.server, tx.request);
                else
                    send_from(tx.local, tx.destination, tx.request);
                PEERKIT_ICE_LOG(trace, "retransmission ", tx.sent, " of ",
                                tx.kind == transaction_kind::gather ? config_.gather_max_transmits : config_.check_max_transmits,
                                " to ", tx.destination);
            },
            [this, now](transaction&& dead) { on_transaction_timeout(now, dead); });
    }

    void on_transaction_timeout(time_point now, const transaction& tx)
    {
        switch (tx.kind) {
        case transaction_kind::gather:
            PEERKIT_ICE_LOG(debug, "STUN server ", tx.server, " did not answer ", tx.sent,
                            " Binding requests: no server-reflexive candidate from socket ", tx.socket);
            maybe_gathering_complete();
            break;
        case transaction_kind::check:
            // RFC 8445 7.2.5.2.3: no response after the last retransmission: the pair failed. A
            // valid pair whose check died is not valid any more: nomination moves on to the
            // next best instead of retrying a dead path forever.
            if (tx.pair < pairs_.size() && pairs_[tx.pair].state == pair_state::in_progress && !tx.cancelled)
                fail_pair(tx.pair, pair_failure::timeout, tx.sent == 1 ? "no answer to the check" : "no answer after all transmissions");
            if (tx.pair < pairs_.size() && !tx.cancelled)
                log_pair(log::level::debug, tx.pair, "check failed: no response after ", tx.sent,
                         " transmissions (agent_config::check_max_transmits)");
            break;
        case transaction_kind::consent:
            // A missed answer to a check that was sent: what may make the state disconnected
            // (ice/consent.hpp); expiry is judged by time since the last answer (RFC 7675 5.1).
            if (selected_ && tx.pair == *selected_) consent_.missed();
            if (tx.pair < pairs_.size())
                log_pair(log::level::debug, tx.pair, "consent check unanswered after ", tx.sent, " transmissions");
            break;
        }
        (void)now;
    }

    // ---- gathering transactions --------------------------------------------------------------
    void start_gather_transaction(time_point now, const local_socket& s, const endpoint& server)
    {
        transaction tx;
        tx.id = new_transaction_id();
        tx.kind = transaction_kind::gather;
        tx.socket = s.id;
        tx.server = server;
        detail::binding_request req;
        req.id = tx.id;
        tx.request = detail::encode_binding_request(crypto_, static_cast<const hmac_key*>(nullptr), req);
        queue_transmit(s.id, server, tx.request);
        transactions_.start(now, config_.gather_rto, std::move(tx));
    }

    std::size_t pending_gathers() const
    {
        return transactions_.count(transaction_kind::gather) + relays_unsettled_;
    }

    void maybe_gathering_complete()
    {
        if (gathering_ == gathering_state::gathering && pending_gathers() == 0)
            set_gathering(gathering_state::complete);
    }

    // The standalone agent's demultiplexing (handle_packet): STUN is ours, the rest is data.
    void standalone_route(time_point now, const path& arrived, const endpoint& source, bytes_view data)
    {
        if (detail::looks_like_stun(data)) {
            handle_stun(now, arrived.socket, source, data);
            return;
        }
        handle_application_data(arrived, source, data);
    }

    // ---- inbound ---------------------------------------------------------------------------
    // A STUN message arrived on `socket` (as `local`, the host or relayed candidate there, when
    // there is one): RFC 8445 7.3 for requests, 7.2.5 for responses.
    void handle_datagram(time_point now, std::optional<std::size_t> local, socket_id socket, const endpoint& source,
                         bytes_view data)
    {
        if (!detail::looks_like_stun(data)) {
            ++stats_.malformed_stun;
            PEERKIT_LOG_AT(config_.logger, log::component::stun, log::level::debug, "datagram of ", data.size(),
                           " bytes from ", source, " dropped: not STUN (RFC 7983: first byte ",
                           data.empty() ? 256u : std::to_integer<unsigned>(data[0]), ")");
            return;
        }
        auto parsed = detail::parse_ice_message(data);
        if (!parsed) {
            // RFC 8489 6.3: malformed messages (a wrong FINGERPRINT included) are discarded.
            ++stats_.malformed_stun;
            PEERKIT_LOG_AT(config_.logger, log::component::stun, log::level::debug, "STUN message of ", data.size(),
                           " bytes from ", source, " dropped: ", parsed.error());
            return;
        }
        const detail::ice_message& m = *parsed;
        if (m.method != detail::binding_method) {
            PEERKIT_ICE_LOG(debug, "STUN method ", hex{m.method, 3}, " from ", source, " ignored (ICE uses Binding only)");
            return;
        }
        switch (m.klass) {
        case detail::message_class::request:
            if (local) handle_request(now, *local, source, data, m);
            else PEERKIT_ICE_LOG(debug, "Binding request from ", source, " dropped: it arrived on socket ", socket,
                                 " which has no host candidate (relay-only policy)");
            break;
        case detail::message_class::success:
        case detail::message_class::error:
            handle_response(now, socket, local, source, data, m);
            break;
        case detail::message_class::indication:
            break;  // RFC 8445 11: keepalives need no answer
        }
    }

    // The standalone agent's non-STUN input (handle_packet): data from a peer with consent.
    void handle_application_data(const path& arrived, const endpoint& source, bytes_view data)
    {
        if (!arrived.relayed && !host_candidate_for_socket(arrived.socket)) {
            PEERKIT_ICE_LOG(debug, "datagram of ", data.size(), " bytes from ", source,
                            " dropped: its socket has no candidate (relay-only policy)");
            return;
        }
        if (!accepts(arrived, source)) {
            ++stats_.data_from_unknown_source;
            // RFC 7675 1 / RFC 8445 12.2: data only from a peer that proved consent on a valid pair.
            PEERKIT_ICE_LOG(debug, "datagram of ", data.size(), " bytes from ", source,
                            " dropped: no valid pair with that address on socket ", arrived.socket,
                            arrived.relayed ? " (relayed)" : "");
            return;
        }
        if (queued_data_events_ >= config_.max_queued_data_events) {
            ++stats_.dropped_data_events;
            PEERKIT_ICE_LOG(debug, "datagram of ", data.size(), " bytes from ", source, " dropped: ",
                            config_.max_queued_data_events, " received datagrams not yet polled (agent_config::max_queued_data_events)");
            return;
        }
        ++queued_data_events_;
        emit(data_received{{data.begin(), data.end()}});
    }

    // RFC 8445 7.3: answering a connectivity check.
    void handle_request(time_point now, std::size_t local, const endpoint& source, bytes_view raw,
                        const detail::ice_message& m)
    {
        ++stats_.requests_received;
        const endpoint to = locals_[local].address;  // a copy: locals_ may grow below
        if (random_failed_) return;  // our password may be guessable: answer nothing
        PEERKIT_ICE_LOG(trace, "Binding request ", source, " -> ", to, m.use_candidate ? " with USE-CANDIDATE" : "");
        // RFC 8445 7.3 / RFC 8489 9.1.3: FINGERPRINT, USERNAME and MESSAGE-INTEGRITY are required.
        if (const request_refusal refusal = check_request(m, raw, local_ufrag_, local_key_, remote_ufrag_);
            refusal != request_refusal::none) {
            refuse_request(now, local, source, raw, m, refusal);
            return;
        }

        // RFC 8445 7.3.1.1: role conflicts, decided by the tie-breaker.
        const role_conflict conflict = resolve_role_conflict(role_, config_.lite, tie_breaker_, m);
        if (conflict != role_conflict::none) ++stats_.role_conflicts;
        switch (conflict) {
        case role_conflict::none: break;
        case role_conflict::both_controlling_we_win:
            PEERKIT_ICE_LOG(debug, "role conflict with ", source, ": both controlling, our tie-breaker wins;"
                            " we stay controlling and answer 487 (RFC 8445 7.3.1.1)");
            break;
        case role_conflict::both_controlling_they_win:
            PEERKIT_ICE_LOG(debug, "role conflict with ", source, ": both controlling, theirs wins;"
                            " we switch to controlled (RFC 8445 7.3.1.1)");
            switch_role(role::controlled, true);
            break;
        case role_conflict::both_controlled_we_win:
            PEERKIT_ICE_LOG(debug, "role conflict with ", source, ": both controlled, our tie-breaker wins;"
                            " we switch to controlling (RFC 8445 7.3.1.1)");
            switch_role(role::controlling, true);
            break;
        case role_conflict::both_controlled_they_win:
            PEERKIT_ICE_LOG(debug, "role conflict with ", source, ": both controlled, theirs wins;"
                            " we stay controlled and answer 487 (RFC 8445 7.3.1.1)");
            break;
        }
        if (answered_with_487(conflict)) {
            reply_error(now, local, source, m, 487, &local_key_, raw.size() + 64);
            return;
        }

        // Success response with the source as XOR-MAPPED-ADDRESS (7.3.1.2), sent back from the
        // candidate the request arrived on.
        send_from(local, source, detail::encode_binding_success(crypto_, local_key_, m.id, source));

        // RFC 8445 7.3.1.3: an unknown source is a peer-reflexive remote candidate, with the
        // priority from the request and a foundation of its own.
        std::optional<std::size_t> remote;
        for (std::size_t i = 0; i < remotes_.size(); ++i)
            if (remotes_[i].address == source) remote = i;
        if (!remote) {
            if (remotes_.size() >= config_.max_remote_candidates) {
                ++stats_.dropped_candidates;
                PEERKIT_ICE_LOG(debug, "peer-reflexive remote candidate ", source, " refused: ",
                                config_.max_remote_candidates, " remote candidates already (agent_config::max_remote_candidates);"
                                " the check was answered but triggers nothing");
                return;
            }
            candidate c;
            c.type = candidate_type::prflx;
            c.address = source;
            c.priority = *m.priority;
            c.foundation = "prflx" + std::to_string(++prflx_counter_);
            PEERKIT_ICE_LOG(debug, "peer-reflexive remote candidate ", source, " learned from its check (RFC 8445 7.3.1.3)");
            remotes_.push_back(std::move(c));
            remote = remotes_.size() - 1;
        }
        if (config_.lite) {
            // RFC 8445 2.5 and 8.2: a lite agent does no checks; the pair the controlling peer
            // nominates (USE-CANDIDATE) is simply selected.
            auto index = find_pair(local, *remote);
            if (!index) index = add_pair(now, local, *remote, pair_origin::learned_from_check);
            if (!index) {
                PEERKIT_ICE_LOG(debug, "Binding request ", source, " -> ", to, " answered, but no pair could be made for it");
                return;
            }
            pair& p = pairs_[*index];
            p.valid = true;
            set_pair_state(*index, pair_state::succeeded, "lite: a check arrived");
            consent_.confirmed(now);  // a lite agent's proof of consent is the peer's check
            if (m.use_candidate) {
                if (!p.nominated) log_pair(log::level::debug, *index, "nominated by the controlling peer (lite, RFC 8445 7.3.2)");
                p.nominated = true;
                select_best_nominated(now);
            }
            return;
        }

        // RFC 8445 7.3.1.4: the pair (the local candidate the request arrived on, the source as
        // remote candidate) is looked up in the checklist and made if absent, whatever our own
        // pairing rules said (loopback scope, a remote we had not paired) or did since (pruned).
        auto index = find_pair(local, *remote);
        if (!index) index = add_pair(now, local, *remote, pair_origin::learned_from_check);
        if (!index) {
            PEERKIT_ICE_LOG(debug, "Binding request ", source, " -> ", to,
                            " answered, but no pair could be made for it (family, relay-only policy or agent_config::max_pairs):"
                            " no triggered check", m.use_candidate ? ", its nomination is lost" : "");
            return;
        }
        switch (triggered_check_for(pairs_[*index].state)) {
        case triggered_check::none:
            break;  // nothing to check; nomination below
        case triggered_check::cancel_and_check:
            // Cancel the in-flight transaction's retransmissions and check again now.
            transactions_.cancel_checks_on(*index);
            set_pair_state(*index, pair_state::waiting, "triggered check replaces the one in progress (RFC 8445 7.3.1.4)");
            enqueue_triggered(*index);
            break;
        case triggered_check::check:
            set_pair_state(*index, pair_state::waiting, "triggered check (RFC 8445 7.3.1.4)");
            enqueue_triggered(*index);
            break;
        }
        // RFC 8445 7.3.1.5: USE-CANDIDATE from the controlling peer (regular or aggressive).
        if (m.use_candidate && role_ == role::controlled) nominated_by_peer(now, *index);
    }

    // A request check_request refused (ice/requests.hpp): logged with the reason, answered as
    // answer_for says (an unauthenticated one at most with an error no larger than itself).
    void refuse_request(time_point now, std::size_t local, const endpoint& source, bytes_view raw,
                        const detail::ice_message& m, request_refusal refusal)
    {
        const endpoint& to = locals_[local].address;
        const refusal_answer answer = answer_for(refusal);
        if (answer.auth_failure) ++stats_.auth_failures;
        if (refusal == request_refusal::none) return;
        if (answer.code == 0) {
            PEERKIT_ICE_LOG(debug, "Binding request ", source, " -> ", to, " dropped: ", describe(refusal));
        } else if (refusal == request_refusal::wrong_local_ufrag || refusal == request_refusal::wrong_remote_ufrag) {
            // The names are what someone debugging mixed-up credentials needs to see.
            PEERKIT_ICE_LOG(debug, "Binding request ", source, " -> ", to, " refused with ", answer.code, ": ",
                            describe(refusal), ": USERNAME '", m.username.value_or(std::string_view{}),
                            "', our ufrag '", local_ufrag_, "', the peer's '", remote_ufrag_, "'");
        } else {
            PEERKIT_ICE_LOG(debug, "Binding request ", source, " -> ", to, " refused with ", answer.code, ": ",
                            describe(refusal));
        }
        if (answer.code != 0)
            reply_error(now, local, source, m, answer.code, answer.signed_with_our_key ? &local_key_ : nullptr,
                        raw.size() + answer.allowance);
    }

    // RFC 8445 7.3.1.5 (ice/nomination.hpp): a Succeeded pair's valid pair is nominated at once;
    // otherwise the nomination waits for the success of the triggered check (7.2.5.3.4). A
    // Succeeded pair whose valid pair has left the valid list (its check failed since) is
    // checked again.
    void nominated_by_peer(time_point now, std::size_t index)
    {
        const use_candidate_effect effect = use_candidate_on(pairs_, index);
        if (effect.nominate) {
            const std::size_t v = *effect.nominate;
            if (!pairs_[v].nominated) log_pair(log::level::debug, v, "nominated by the controlling peer (RFC 8445 7.3.1.5)");
            pairs_[v].nominated = true;
            select_best_nominated(now);
            return;
        }
        if (effect.check_again) {
            set_pair_state(index, pair_state::waiting, "nominated but not valid any more: checked again");
            enqueue_triggered(index);
        }
        pair& p = pairs_[index];
        if (!p.nominate_on_success)
            log_pair(log::level::debug, index, "USE-CANDIDATE received: nominated once our triggered check succeeds (RFC 8445 7.3.1.5)");
        p.nominate_on_success = true;
    }

    void reply_error(time_point, std::size_t local, const endpoint& to, const detail::ice_message& m,
                     std::uint16_t code, const hmac_key* key, std::size_t max_size)
    {
        auto out = detail::encode_binding_error(crypto_, key, m.id, code);
        if (out.size() > max_size) {
            PEERKIT_ICE_LOG(trace, "error response ", code, " to ", to, " not sent: larger than the request (no amplification)");
            return;
        }
        ++stats_.error_responses_sent;
        send_from(local, to, out);
    }

    // RFC 8445 7.2.5: processing the answer to one of our checks (or gathering requests).
    void handle_response(time_point now, socket_id socket, std::optional<std::size_t> local,
                         const endpoint& source, bytes_view raw, const detail::ice_message& m)
    {
        transaction* it = transactions_.find(m.id);
        if (it == nullptr) {
            ++stats_.unmatched_responses;
            // Usually the answer to a retransmission that already had one.
            PEERKIT_ICE_LOG(trace, "Binding response from ", source, " dropped: no transaction of ours has its id");
            return;
        }
        ++stats_.responses_received;
        if (it->kind == transaction_kind::gather) {
            if (it->socket != socket || it->server != source) {
                PEERKIT_ICE_LOG(debug, "Binding response from ", source, " dropped: the request went to STUN server ",
                                it->server, " from another socket");
                return;
            }
            const transaction tx = transactions_.take(it);
            if (m.klass == detail::message_class::success && m.mapped) on_server_reflexive(now, tx, *m.mapped);
            else PEERKIT_ICE_LOG(debug, "STUN server ", tx.server, m.klass == detail::message_class::error ? " answered error " : " answered without XOR-MAPPED-ADDRESS ",
                                 m.error_code, ": no server-reflexive candidate");
            maybe_gathering_complete();
            return;
        }
        // Responses are signed with the peer's password (RFC 8445 7.2.5.1 / RFC 8489 9.1.3).
        if (!m.has_integrity || !detail::verify_integrity(remote_key_, raw)) {
            ++stats_.auth_failures;
            if (m.klass == detail::message_class::error)
                PEERKIT_ICE_LOG(debug, "Binding error response ", m.error_code, " from ", source, " dropped: ",
                                m.has_integrity ? "MESSAGE-INTEGRITY does not match the peer's password"
                                                : "no MESSAGE-INTEGRITY (the peer could not verify our check: wrong remote password?)",
                                " (RFC 8445 7.2.5)");
            else
                PEERKIT_ICE_LOG(debug, "Binding success response from ", source, " dropped: ",
                                m.has_integrity ? "MESSAGE-INTEGRITY does not match the peer's password" : "no MESSAGE-INTEGRITY",
                                " (RFC 8445 7.2.5)");
            return;
        }
        const transaction tx = transactions_.take(it);
        // RFC 8445 7.2.5.2.1: the response must come from where the request went, to where it
        // came from; otherwise the pair fails.
        const bool symmetric = source == tx.destination && local &&
                               locals_[*local].socket == locals_[tx.local].socket &&
                               is_relayed(*local) == is_relayed(tx.local);
        if (tx.pair >= pairs_.size()) return;
        if (tx.kind == transaction_kind::consent) {
            if (m.klass == detail::message_class::success && symmetric) {
                consent_.confirmed(now);
                if (state_ == connection_state::disconnected) update_state(now);
            } else {
                if (selected_ && tx.pair == *selected_) consent_.missed();
                log_pair(log::level::debug, tx.pair, "consent check answered ",
                         m.klass == detail::message_class::error ? "with an error " : "from the wrong address ",
                         m.error_code, ": no consent from it (RFC 7675 5.1)");
            }
            return;
        }
        if (m.klass == detail::message_class::error) {
            if (m.error_code == 487) {
                // RFC 8445 7.2.5.1: switch role if we sent the role we still hold (and pick a
                // new tie-breaker), then retry the check as a triggered one.
                ++stats_.role_conflicts;
                if (tx.sent_role == role_) {
                    log_pair(log::level::debug, tx.pair, "487 role conflict: we switch to ",
                             to_string(role_ == role::controlling ? role::controlled : role::controlling),
                             " (RFC 8445 7.2.5.1)");
                    switch_role(role_ == role::controlling ? role::controlled : role::controlling, true);
                    tie_breaker_ = random_u64();
                }
                set_pair_state(tx.pair, pair_state::waiting, "retried after 487");
                enqueue_triggered(tx.pair);
                return;
            }
            // RFC 8445 7.2.5.2.4: other errors fail the pair.
            log_pair(log::level::debug, tx.pair, "check failed: error response ", m.error_code,
                     m.error_code == 401 ? " (the peer refused our credentials)" : "");
            fail_pair(tx.pair, pair_failure::error_response, "error response");
            return;
        }
        if (!symmetric || !m.mapped) {
            log_pair(log::level::debug, tx.pair, "check failed: ",
                     !symmetric ? "the response came from " : "no XOR-MAPPED-ADDRESS in the response from ", source,
                     !symmetric ? ", not from where the request went (RFC 8445 7.2.5.2.1)" : "");
            fail_pair(tx.pair, pair_failure::non_symmetric, !symmetric ? "non-symmetric response" : "response without mapped address");
            return;
        }
        on_check_success(now, tx, *m.mapped);
    }

    void on_server_reflexive(time_point now, const transaction& tx, const endpoint& mapped)
    {
        const local_socket* s = find_socket(tx.socket);
        if (s == nullptr) return;
        if (auto c = server_reflexive_candidate(*s, mapped, tx.server, local_pref_of_socket(s->id)))
            add_local_candidate(now, std::move(*c));
    }

    void on_check_success(time_point now, const transaction& tx, const endpoint& mapped)
    {
        set_pair_state(tx.pair, pair_state::succeeded, "success response");
        pair& checked = pairs_[tx.pair];
        // RFC 8445 7.2.5.3.1: the mapped address names the local candidate. An unknown one is
        // a local peer-reflexive candidate (a NAT we did not learn of through STUN).
        std::optional<std::size_t> local;
        for (std::size_t i = 0; i < locals_.size(); ++i)
            if (locals_[i].address == mapped && locals_[i].socket == locals_[tx.local].socket) local = i;
        if (is_relayed(tx.local)) local = tx.local;  // the relay reports the relayed address
        if (!local) {
            candidate c;
            c.type = candidate_type::prflx;
            c.address = mapped;
            c.base = locals_[tx.local].base;
            c.related = locals_[tx.local].base;
            c.socket = locals_[tx.local].socket;
            c.priority = tx.priority;
            c.foundation = compute_foundation(candidate_type::prflx, c.base);
            // Not signalled (RFC 8445 7.2.5.3.1: it is not paired with other remotes either).
            if (locals_.size() < config_.max_local_candidates) {
                PEERKIT_ICE_LOG(debug, "peer-reflexive local candidate ", c.address, " (base ", c.base,
                                ") learned from a check's XOR-MAPPED-ADDRESS (RFC 8445 7.2.5.3.1)");
                locals_.push_back(std::move(c));
                local = locals_.size() - 1;
            } else {
                local = tx.local;
            }
        }
        // RFC 8445 7.2.5.3.2: the valid pair is (mapped local, checked remote): the checked pair
        // itself, another pair that already exists, or a new one.
        std::optional<std::size_t> valid;
        if (*local == checked.local || locals_[*local].type == candidate_type::srflx ||
            locals_[*local].base == locals_[checked.local].base) {
            valid = tx.pair;
        } else {
            valid = find_pair(*local, checked.remote);
            if (!valid) {
                pair vp;
                vp.local = *local;
                vp.remote = checked.remote;
                vp.priority = compute_pair_priority(*local, checked.remote);
                vp.foundation = locals_[*local].foundation + ':' + remotes_[checked.remote].foundation;
                vp.state = pair_state::succeeded;
                if (pairs_.size() < config_.max_pairs + 8) {  // valid pairs may exceed by a little
                    valid = pairs_.add(std::move(vp));
                } else {
                    valid = tx.pair;
                }
            }
        }
        if (!pairs_[*valid].valid) log_pair(log::level::debug, *valid, "valid (RFC 8445 7.2.5.3.2)");
        set_pair_state(*valid, pair_state::succeeded, "valid pair");
        pair& checked2 = pairs_[tx.pair];
        pair& v = pairs_[*valid];
        v.valid = true;
        checked2.valid_pair = *valid;
        // RFC 8445 7.2.5.3.3: unfreeze the pairs of the same foundation.
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].state == pair_state::frozen && pairs_[i].foundation == checked2.foundation)
                set_pair_state(i, pair_state::waiting, "its foundation succeeded (RFC 8445 7.2.5.3.3)");
        // RFC 8445 7.2.5.3.4 / 8.1.1: nomination.
        if (tx.use_candidate && role_ == role::controlling) {
            if (!v.nominated) log_pair(log::level::debug, *valid, "nominated: our USE-CANDIDATE check succeeded (RFC 8445 7.2.5.3.4)");
            v.nominated = true;
            checked2.use_candidate = false;
        }
        if (checked2.nominate_on_success && role_ == role::controlled) {
            if (!v.nominated)
                log_pair(log::level::debug, *valid, "nominated: the triggered check for the peer's USE-CANDIDATE succeeded (RFC 8445 7.2.5.3.4)");
            v.nominated = true;
            checked2.nominate_on_success = false;
        }
        if (role_ == role::controlling && !nomination_deadline_ && !any_nominated())
            nomination_deadline_ = now + config_.nomination_wait;
        if (selected_ && *selected_ == *valid) consent_.confirmed(now);
        select_best_nominated(now);
    }

    bool any_nominated() const { return pairs_.any_nominated(); }

    // RFC 8445 8.1.1, regular nomination (ice/nomination.hpp): once the best valid pair cannot
    // be beaten by a pair still being checked (or nomination_wait has passed), check it again
    // with USE-CANDIDATE.
    void maybe_nominate(time_point now)
    {
        if (role_ != role::controlling || config_.lite || !checks_allowed()) return;
        if (transactions_.size() >= config_.max_in_flight) return;
        const bool waited = nomination_deadline_ && now >= *nomination_deadline_;
        const std::optional<nomination_choice> choice = pair_to_nominate(pairs_, waited);
        if (!choice) return;
        log_pair(log::level::debug, choice->best, "nominating it (RFC 8445 8.1.1)",
                 choice->better_pending ? " after nomination_wait" : "");
        pairs_[choice->generating].use_candidate = true;
        set_pair_state(choice->generating, pair_state::waiting, "to be checked with USE-CANDIDATE");
        nomination_deadline_.reset();
        // The nominating check goes out at once, ahead of pacing (8.1.1 lets it be triggered).
        send_check(now, choice->generating);
    }

    // RFC 8445 8.1.1 / 12.1: the selected pair is the highest-priority nominated valid pair.
    void select_best_nominated(time_point now)
    {
        const std::optional<std::size_t> best = pairs_.best_nominated();
        if (!best || selected_ == best) return;
        selected_ = best;
        PEERKIT_LOG_AT(config_.logger, log::component::ice, log::level::info, "selected pair ",
                       locals_[pairs_[*best].local].address, " -> ", remotes_[pairs_[*best].remote].address, " (",
                       to_string(locals_[pairs_[*best].local].type), '/', to_string(remotes_[pairs_[*best].remote].type),
                       ", nominated and valid, as ", to_string(role_), ')');
        parked_.reset();  // a restart's new pair replaces the old route
        // RFC 8656 12: a relayed selected pair gets a channel; the composer binds it when it
        // sees selected_pair_changed with a relayed local candidate.
        consent_.start(now);
        consent_lost_ = false;
        schedule_consent(now);
        emit(selected_pair_changed{locals_[pairs_[*best].local], remotes_[pairs_[*best].remote]});
    }

    void switch_role(ice::role r, bool notify)
    {
        role_ = r;
        recompute_pair_priorities();
        if (r == role::controlled) {
            for (pair& p : pairs_) p.use_candidate = false;
            nomination_deadline_.reset();
        }
        if (notify) emit(role_changed{r});
    }

    // ---- consent freshness (RFC 7675) and keepalives (RFC 8445 11) -----------------------------
    time_point consent_base() const { return consent_.last_proof(); }

    // Only an agent that sends consent checks can miss their answers (ice/consent.hpp).
    bool sends_consent_checks() const { return config_.consent_freshness && !config_.lite; }

    void schedule_consent(time_point now)
    {
        // RFC 7675 5.1: randomised to 0.8-1.2 of the interval, so peers do not synchronise.
        const duration base = state_ == connection_state::disconnected ? config_.consent_interval_disconnected
                                                                       : config_.consent_interval;
        const auto r = static_cast<double>(random_u64() >> 11) * 0x1.0p-53;
        consent_.schedule(now, base, r);
    }

    void run_consent(time_point now)
    {
        if (!selected_ || consent_lost_ || config_.lite) return;
        if (config_.consent_freshness && consent_.check_due(now) && !remote_pwd_.empty()) {
            if (transactions_.size() < config_.max_in_flight + 4) send_check(now, *selected_, transaction_kind::consent);
            schedule_consent(now);
        }
        pair& p = pairs_[*selected_];
        if (now >= p.last_sent + config_.keepalive_interval) {
            send_from(p.local, remotes_[p.remote].address, detail::encode_binding_indication(crypto_, new_transaction_id()));
            p.last_sent = now;
        }
    }

    // ---- the browser's states (ice/states.hpp) ----------------------------------------------------
    void update_state(time_point now)
    {
        if (closed()) return;
        if (selected_) {
            const consent_verdict verdict =
                consent_.assess(now, {config_.disconnected_timeout, config_.consent_timeout}, sends_consent_checks());
            const bool done = gathering_ == gathering_state::complete && remote_end_of_candidates_ &&
                              !has_pending_checks();
            switch (state_with_selected_pair(verdict, done)) {
            case connection_state::failed: {
                // RFC 7675 5.1: consent expired; stop sending on the pair.
                consent_lost_ = true;
                const pair& p = pairs_[*selected_];
                fail_connection(make_error(errc::consent_expired, "no consent response for ", whole_seconds(config_.consent_timeout),
                                           " s on ", locals_[p.local].address.to_string(), " -> ",
                                           remotes_[p.remote].address.to_string(), " (RFC 7675 5.1)"));
                return;
            }
            case connection_state::disconnected:
                if (state_ != connection_state::disconnected) {
                    set_connection(connection_state::disconnected);
                    schedule_consent(now);
                }
                return;
            case connection_state::completed:
                // Browsers report "connected" on the way to "completed" (webrtc-pc 5.6,
                // RTCIceConnectionState): code waiting for connected must see it even when the
                // checks finish in the same step.
                if (state_ != connection_state::connected && state_ != connection_state::completed)
                    set_connection(connection_state::connected);
                set_connection(connection_state::completed);
                return;
            default:
                set_connection(connection_state::connected);
                return;
            }
        }
        // A restart under way over a working route: the state stays until the new pair is up.
        if (parked_) return;
        if (!pairs_.empty() || !remotes_.empty()) {
            if (state_ == connection_state::new_) set_connection(connection_state::checking);
        }
        // The bound runs from when checks could start (we gathered, the peer's credentials are
        // known), even while no remote candidate has come: a peer whose candidates never come
        // and whose checks never reach us must not leave us in new forever.
        const bool could_check = state_ == connection_state::checking ||
                                 (state_ == connection_state::new_ && !remote_pwd_.empty() && gathering_ != gathering_state::new_);
        if (!could_check) return;
        if (!checking_since_) checking_since_ = now;
        checklist_facts facts;
        facts.now = now;
        facts.lite = config_.lite;
        facts.role = role_;
        facts.gathering = gathering_;
        facts.remote_end_of_candidates = remote_end_of_candidates_;
        facts.last_remote_candidate = last_remote_candidate_;
        facts.checking_since = *checking_since_;
        facts.local_candidates = locals_.size();
        facts.remote_candidates = remotes_.size();
        facts.nominations_failed = nominations_failed_;
        facts.end_of_candidates_wait = config_.end_of_candidates_wait;
        facts.checking_timeout = config_.checking_timeout;
        if (std::optional<peerkit::error> why = checklist_failure(facts, pairs_)) fail_connection(std::move(*why));
    }

    bool has_pending_checks() const
    {
        for (const pair& p : pairs_)
            if (p.state == pair_state::in_progress || p.triggered ||
                (!ordinary_checks_done() && (p.state == pair_state::waiting || p.state == pair_state::frozen)))
                return true;
        return false;
    }

    // What an input may have made due at once, without the timers: gathering completion, a nomination, triggered checks (one per Ta, RFC 8445 6.1.4.2; the
    // rest via poll_timeout), then the state. Retransmissions, consent and TURN refreshes wait
    // for handle_timeout (tick).
    void settle(time_point now)
    {
        if (random_failed_) fail_connection(make_error(errc::random_failed, "the random source failed; credentials and "
                                                       "transaction ids would be guessable (RFC 8445 5.3)"));
        maybe_gathering_complete();
        maybe_nominate(now);
        schedule_check(now);
        update_state(now);
    }

    // Everything time-driven, in RFC order: retransmissions, nomination, new checks, consent,
    // then the state the browser would show (TURN timers are ice::relays').
    void tick(time_point now)
    {
        if (random_failed_) fail_connection(make_error(errc::random_failed, "the random source failed; credentials and "
                                                       "transaction ids would be guessable (RFC 8445 5.3)"));
        last_tick_ = now;
        ticked_ = true;
        run_transactions(now);
        maybe_gathering_complete();
        maybe_nominate(now);
        schedule_check(now);
        run_consent(now);
        update_state(now);
    }

    agent_config config_;
    Crypto crypto_;
    ice::role role_;
    std::uint64_t tie_breaker_ = 0;
    std::string local_ufrag_, local_pwd_, remote_ufrag_, remote_pwd_;
    hmac_key local_key_{}, remote_key_{};

    std::vector<local_socket> sockets_;
    std::vector<host_pref> host_prefs_;
    std::vector<candidate> locals_;
    std::vector<candidate> remotes_;
    checklist pairs_;  // candidate pairs and the triggered queue (ice/checklist.hpp)
    transaction_table transactions_;  // STUN requests in flight (ice/transactions.hpp)
    std::size_t relays_unsettled_ = 0;  // TURN allocations under way (relays_gathering)

    std::deque<transmit> transmits_;
    std::deque<event> events_;
    std::size_t queued_data_events_ = 0;

    gathering_state gathering_ = gathering_state::new_;
    connection_state state_ = connection_state::new_;
    std::optional<std::size_t> selected_;
    struct route {
        std::size_t local;
        candidate remote;
    };
    std::optional<route> parked_;  // the pre-restart selected pair (RFC 8445 9)
    bool consent_lost_ = false;
    bool remote_end_of_candidates_ = false;
    bool checked_once_ = false;
    time_point last_check_{};
    time_point last_tick_{};
    bool ticked_ = false;
    consent_freshness consent_;  // RFC 7675 on the selected pair
    std::optional<time_point> nomination_deadline_;
    std::optional<time_point> last_remote_candidate_;
    std::optional<time_point> checking_since_;  // when the state last became checking
    std::optional<peerkit::error> failure_;     // why the state is failed
    bool checks_stopped_ = false;               // failed: no checks until a restart
    std::size_t nominations_failed_ = 0;        // checks with (or for) USE-CANDIDATE that failed
    std::uint64_t prflx_counter_ = 0;
    bool role_change_queued_ = false;  // a role_changed waits in events_ (emit coalesces)
    bool random_failed_ = false;  // a draw failed (draw()); the connection fails at the next tick
    agent_stats stats_;
};

}  // namespace peerkit::ice

#undef PEERKIT_ICE_LOG
