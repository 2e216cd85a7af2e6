// peerkit::turn::client: a sans-IO TURN client (RFC 8656) for one allocation on one server,
// over UDP or (client_config::stream) over a TCP or TLS connection to the server (RFC 8656
// 3.1, RFC 7065 turns:). It owns no socket: every message it produces goes to the server from
// the socket or connection the runtime (or the ICE agent) associates with it. Over a stream
// the caller splits the received bytes into messages (stun/stream_framing.hpp) and hands each
// to handle_packet; what poll_transmit gives is already in stream form. The relayed address is
// UDP either way (REQUESTED-TRANSPORT 17): only the client-to-server leg is a stream.
//
//   allocate(now)                 Allocate with long-term credentials (RFC 8656 7.1, RFC 8489
//                                 9.2): unauthenticated first, 401 gives realm and nonce,
//                                 then the signed retry; 438 (stale nonce) retries with the new one
//   send_to(now, peer, data)      creates the permission (RFC 8656 9) on first use, then sends
//                                 through a channel when one is bound (12), else a Send indication (11)
//   bind_channel(now, peer)       ChannelBind (12.1) for the peer of the selected ICE pair
//   handle_packet(now, datagram)  responses, Data indications and ChannelData from the server
//   receive(now, datagram)        the same, relayed data returned as a view into the datagram
//   close(now)                    Refresh with LIFETIME 0: the allocation is freed (7.2)
// Refreshes of the allocation (7.2), permissions (9: 5 minutes) and channels (12: 10 minutes)
// happen on their own before they expire.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/stun/attributes.hpp>
#include <peerkit/stun/builder.hpp>
#include <peerkit/stun/channel_data.hpp>
#include <peerkit/stun/credentials.hpp>
#include <peerkit/stun/message.hpp>
#include <peerkit/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// The client's log lines (client_config::logger, component turn); undefined at the end.
#define PEERKIT_TURN_LOG(lvl, ...) \
    PEERKIT_LOG_AT(config_.logger, ::peerkit::log::component::turn, ::peerkit::log::level::lvl, __VA_ARGS__)

namespace peerkit::turn {

using peerkit::clock;
using peerkit::duration;
using peerkit::time_point;
using net::endpoint;

struct client_config {
    endpoint server{};
    std::string username;
    std::string password;
    std::chrono::seconds requested_lifetime{600};  // RFC 8656 7.1: default 10 minutes
    // Refresh this long before the allocation, a permission or a channel would expire.
    std::chrono::seconds refresh_margin{60};
    duration rto = std::chrono::milliseconds(200);  // RFC 8489 6.2.1 (500 ms there; TURN
    unsigned max_transmits = 7;                     // servers are usually close and quick)
    std::size_t max_permissions = 64;
    std::size_t max_channels = 64;
    std::size_t max_pending_sends = 64;  // data waiting for its permission
    std::size_t max_queued = 1024;       // outputs not yet polled
    // Events not yet polled. Data indications and ChannelData are unauthenticated (RFC 8656
    // 10.4, 12.4) and come as fast as the server (or a spoofer of its address) sends them;
    // beyond this many, received data is dropped and counted (the ICE agent drains at once).
    std::size_t max_queued_events = 256;
    bool use_channels = true;
    // TCP or TLS to the server: ChannelData is padded to a multiple of 4 (RFC 8656 12.5) and
    // requests are not retransmitted; a request fails stream_timeout after it was sent
    // (RFC 8489 6.2.2: Ti, 39.5 s by default).
    bool stream = false;
    duration stream_timeout = std::chrono::milliseconds(39500);
    // Allocation, permission and channel failures and refreshes at debug, per-packet drops at
    // trace (log.hpp, component turn). Off by default; the ICE agent passes its own.
    log::logger logger{};
};

enum class client_state : std::uint8_t { idle, allocating, allocated, failed, closed };

// ---- events -------------------------------------------------------------------------------
struct allocated {
    endpoint relayed;            // XOR-RELAYED-ADDRESS: the relayed candidate
    endpoint mapped;             // XOR-MAPPED-ADDRESS: our address as the server sees it
    std::chrono::seconds lifetime{};
};
struct allocation_failed {
    int code = 0;                // STUN error code, or 0 for a timeout
    std::string reason;
};
struct data {                    // from a peer, through a Data indication or ChannelData
    endpoint peer;
    std::vector<std::byte> payload;
};
using event = std::variant<allocated, allocation_failed, data>;

// What receive() hands back: relayed data as a view into the datagram it was given (the
// ChannelData payload is its suffix, a Data indication's DATA attribute a sub-span), valid as
// long as that datagram is. No copy and no event.
struct received {
    endpoint peer;
    bytes_view payload;
};

// What the client refused or dropped, for tests and dashboards: every remote input that leaves
// no state behind is counted here.
struct client_stats {
    std::size_t data_received = 0;             // Data indications and ChannelData passed on (events or views)
    std::size_t data_without_permission = 0;   // Data indications from peers without a permission (RFC 8656 10.4)
    std::size_t data_on_unbound_channel = 0;   // ChannelData for a channel we did not bind
    std::size_t data_dropped_queue_full = 0;   // received data beyond client_config::max_queued_events
    std::size_t unmatched_responses = 0;       // responses with no transaction of ours, or unsigned successes
    std::size_t malformed = 0;                 // neither STUN nor ChannelData that parses
    std::size_t outputs_dropped = 0;           // outputs beyond client_config::max_queued
    std::size_t permissions_refused = 0;       // beyond client_config::max_permissions
};

template <crypto::provider Crypto>
class client {
public:
    client(client_config config, Crypto crypto = Crypto{})
        : config_(std::move(config)), crypto_(std::move(crypto))
    {
    }

    [[nodiscard]] client_state state() const noexcept { return state_; }
    [[nodiscard]] const std::optional<endpoint>& relayed_address() const noexcept { return relayed_; }
    [[nodiscard]] std::size_t permission_count() const noexcept { return permissions_.size(); }
    [[nodiscard]] std::size_t channel_count() const noexcept { return channels_.size(); }
    [[nodiscard]] bool has_channel(const endpoint& peer) const noexcept { return find_channel(peer) != nullptr; }
    [[nodiscard]] std::size_t transaction_count() const noexcept { return transactions_.size(); }
    [[nodiscard]] std::size_t queued_events() const noexcept { return events_.size(); }
    [[nodiscard]] std::size_t queued_outputs() const noexcept { return out_.size(); }
    [[nodiscard]] const client_stats& stats() const noexcept { return stats_; }

    void allocate(time_point now)
    {
        if (state_ != client_state::idle) return;
        state_ = client_state::allocating;
        start(now, kind::allocate, {});
    }

    // Sends `payload` to `peer` through the relay.
    void send_to(time_point now, const endpoint& peer, bytes_view payload)
    {
        if (state_ != client_state::allocated) return;
        if (find_permission(peer.address()) == nullptr && !add_permission(now, peer.address())) return;
        const permission* p = find_permission(peer.address());
        if (p == nullptr || !p->installed) {
            // RFC 8656 9: the server drops data for peers without a permission; hold it briefly.
            if (pending_.size() < config_.max_pending_sends) pending_.push_back({peer, {payload.begin(), payload.end()}});
            else PEERKIT_TURN_LOG(debug, "datagram to ", peer, " dropped: ", config_.max_pending_sends,
                                  " already wait for permissions (client_config::max_pending_sends)");
            return;
        }
        const channel* c = find_channel(peer);
        if (c != nullptr && c->bound) {
            send_channel_data(c->number, payload);
        } else {
            send_indication(peer, payload);
        }
    }

    // RFC 8656 9: installs a permission ahead of any data, so that the peer's first datagrams
    // towards the relayed address are not dropped (the ICE agent calls this for every remote
    // candidate it pairs with a relayed candidate).
    void create_permission(time_point now, const net::ip_address& ip)
    {
        if (state_ != client_state::allocated || find_permission(ip) != nullptr) return;
        (void)add_permission(now, ip);
    }

    // RFC 8656 12.1: a channel makes every datagram 36 bytes smaller than a Send indication.
    void bind_channel(time_point now, const endpoint& peer)
    {
        if (state_ != client_state::allocated || !config_.use_channels) return;
        if (find_channel(peer) != nullptr) return;
        if (channels_.size() >= config_.max_channels || next_channel_ > 0x4FFF) return;
        channels_.push_back({peer, next_channel_++, false, now});
        if (find_permission(peer.address()) == nullptr) add_permission(now, peer.address());
        start(now, kind::channel_bind, peer, channels_.back().number);
    }

    // A message from the server; relayed data becomes a `data` event (a copy).
    void handle_packet(time_point now, bytes_view datagram)
    {
        if (auto d = handle_message(now, datagram)) emit_data(d->peer, d->payload);
    }

    // The same, but relayed data comes back as a view into `datagram` instead of an event:
    // what a demultiplexer that routes the inner datagram at once uses (no copy, no queue).
    std::optional<received> receive(time_point now, bytes_view datagram)
    {
        auto d = handle_message(now, datagram);
        if (d) ++stats_.data_received;
        return d;
    }

private:
    // Responses act on their transaction; ChannelData and Data indications with a permission
    // are returned as views into `datagram`.
    std::optional<received> handle_message(time_point now, bytes_view datagram)
    {
        if (state_ == client_state::closed || datagram.empty()) return std::nullopt;
        const auto first = std::to_integer<unsigned>(datagram[0]);
        if (first >= 0x40 && first <= 0x4F) return handle_channel_data(datagram);  // RFC 7983 / RFC 8656 12.4
        auto view = stun::message_view::parse(datagram);
        if (!view) {
            ++stats_.malformed;
            PEERKIT_TURN_LOG(debug, "message of ", datagram.size(), " bytes from ", config_.server, " dropped: ", view.error());
            return std::nullopt;
        }
        const stun::message_view& m = *view;
        if (m.type() == stun::data_indication) {
            auto peer = m.get<stun::xor_peer_address>();
            auto d = m.get<stun::data>();
            // RFC 8656 10.4: only from peers we gave a permission to.
            if (peer && d && find_permission(peer->value.address()) != nullptr) return received{peer->value, d->value};
            if (peer && d) {
                ++stats_.data_without_permission;
                PEERKIT_TURN_LOG(trace, "Data indication from peer ", peer->value, " dropped: no permission for it (RFC 8656 10.4)");
            } else {
                ++stats_.malformed;
                PEERKIT_TURN_LOG(debug, "Data indication from ", config_.server, " dropped: no ",
                                 peer ? "DATA" : "XOR-PEER-ADDRESS");
            }
            return std::nullopt;
        }
        handle_response(now, m);
        return std::nullopt;
    }

    void handle_response(time_point now, const stun::message_view& m)
    {
        if (!m.is_success_response() && !m.is_error_response()) return;
        auto it = std::find_if(transactions_.begin(), transactions_.end(),
                               [&m](const transaction& t) { return t.id == m.id(); });
        if (it == transactions_.end()) {
            ++stats_.unmatched_responses;
            PEERKIT_TURN_LOG(trace, "response from ", config_.server, " dropped: no transaction of ours has its id");
            return;
        }
        // RFC 8489 9.2.5: responses are signed with the long-term key, except the first 401.
        const bool signed_ok = key_ && m.has_message_integrity() && m.check_message_integrity(*key_).has_value();
        if (m.is_success_response() && !signed_ok) {
            ++stats_.unmatched_responses;
            PEERKIT_TURN_LOG(debug, name(it->what), " success from ", config_.server,
                             " dropped: MESSAGE-INTEGRITY missing or not made with our long-term key (RFC 8489 9.2.5)");
            return;
        }
        transaction tx = std::move(*it);
        transactions_.erase(it);
        if (m.is_error_response()) {
            handle_error(now, tx, m, signed_ok);
            return;
        }
        handle_success(now, tx, m);
    }

public:
    void handle_timeout(time_point now)
    {
        for (std::size_t i = 0; i < transactions_.size();) {
            transaction& tx = transactions_[i];
            if (tx.next > now) {
                ++i;
                continue;
            }
            if (!config_.stream && tx.sent < config_.max_transmits) {
                ++tx.sent;
                tx.rto = std::min(tx.rto * 2, config_.rto * 16);
                tx.next = now + tx.rto;
                queue(tx.request);
                ++i;
                continue;
            }
            transaction dead = std::move(tx);
            transactions_.erase(transactions_.begin() + static_cast<std::ptrdiff_t>(i));
            PEERKIT_TURN_LOG(debug, name(dead.what), " to ", config_.server, " timed out after ", dead.sent,
                             config_.stream ? " request (stream_timeout)" : " transmissions");
            if (dead.what == kind::allocate && state_ == client_state::allocating) fail(0, "no answer from the TURN server");
            if (dead.what == kind::refresh && dead.lifetime_zero) state_ = client_state::closed;
        }
        if (state_ != client_state::allocated) return;
        if (now >= allocation_refresh_ && !pending(kind::refresh)) {
            PEERKIT_TURN_LOG(debug, "refreshing the allocation on ", config_.server, " (RFC 8656 7.2)");
            start(now, kind::refresh, {});
        }
        for (permission& p : permissions_)
            if (p.installed && now >= p.refresh_at && !pending(kind::create_permission, p.ip)) {
                p.refresh_at = now + std::chrono::seconds(30);  // retried if this one fails
                PEERKIT_TURN_LOG(debug, "refreshing the permission for ", p.ip, " (RFC 8656 9)");
                start_permission(now, p.ip);
            }
        for (channel& c : channels_)
            if (c.bound && now >= c.refresh_at && !pending(kind::channel_bind, c.peer.address())) {
                c.refresh_at = now + std::chrono::seconds(30);
                PEERKIT_TURN_LOG(debug, "refreshing channel ", hex{c.number, 4}, " to ", c.peer, " (RFC 8656 12)");
                start(now, kind::channel_bind, c.peer, c.number);
            }
    }

    [[nodiscard]] std::optional<time_point> poll_timeout() const
    {
        std::optional<time_point> t;
        auto consider = [&t](time_point when) {
            if (!t || when < *t) t = when;
        };
        for (const transaction& tx : transactions_) consider(tx.next);
        if (state_ == client_state::allocated) {
            consider(allocation_refresh_);
            for (const permission& p : permissions_)
                if (p.installed) consider(p.refresh_at);
            for (const channel& c : channels_)
                if (c.bound) consider(c.refresh_at);
        }
        return t;
    }

    // The next datagram (or stream bytes) for the server, borrowed: valid until the next call
    // of a non-const member function, as every machine's poll_transmit (docs/architecture.md).
    std::optional<bytes_view> poll_transmit()
    {
        if (out_.empty()) return std::nullopt;
        polled_ = std::move(out_.front());
        out_.pop_front();
        return bytes_view(polled_);
    }
    // The same, handed over as an owned buffer: for a composer that queues it anyway (the ICE
    // agent's relay), so that relayed data is not copied once more.
    std::optional<std::vector<std::byte>> take_transmit()
    {
        if (out_.empty()) return std::nullopt;
        auto d = std::move(out_.front());
        out_.pop_front();
        return d;
    }
    std::optional<event> poll_event()
    {
        if (events_.empty()) return std::nullopt;
        auto e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

    // RFC 8656 7.2: a Refresh with LIFETIME 0 deletes the allocation.
    void close(time_point now)
    {
        if (state_ == client_state::allocated) {
            transactions_.clear();
            start(now, kind::refresh, {}, 0, /*lifetime_zero=*/true);
        }
        state_ = client_state::closed;
    }

private:
    enum class kind : std::uint8_t { allocate, refresh, create_permission, channel_bind };

    struct transaction {
        stun::transaction_id id{};
        kind what = kind::allocate;
        endpoint peer{};
        std::uint16_t channel = 0;
        bool lifetime_zero = false;
        std::vector<std::byte> request;
        time_point next{};
        duration rto{};
        unsigned sent = 0;
        unsigned auth_retries = 0;
    };
    struct permission {
        net::ip_address ip;
        bool installed = false;
        time_point refresh_at{};
    };
    struct channel {
        endpoint peer;
        std::uint16_t number = 0;
        bool bound = false;
        time_point refresh_at{};
    };
    struct pending_send {
        endpoint peer;
        std::vector<std::byte> payload;
    };

    permission* find_permission(const net::ip_address& ip)
    {
        for (permission& p : permissions_)
            if (p.ip == ip) return &p;
        return nullptr;
    }
    const channel* find_channel(const endpoint& peer) const
    {
        for (const channel& c : channels_)
            if (c.peer == peer) return &c;
        return nullptr;
    }
    bool pending(kind k, std::optional<net::ip_address> ip = std::nullopt) const
    {
        for (const transaction& t : transactions_)
            if (t.what == k && (!ip || t.peer.address() == *ip)) return true;
        return false;
    }

    bool add_permission(time_point now, const net::ip_address& ip)
    {
        if (permissions_.size() >= config_.max_permissions) {
            ++stats_.permissions_refused;
            PEERKIT_TURN_LOG(debug, "no permission for ", ip, ": ", config_.max_permissions,
                             " already (client_config::max_permissions); data to it is dropped");
            return false;
        }
        permissions_.push_back({ip, false, {}});
        start_permission(now, ip);
        return true;
    }
    void start_permission(time_point now, const net::ip_address& ip)
    {
        start(now, kind::create_permission, endpoint{ip, 0});
    }

    // RFC 8489 6.2.1 / 6.2.2: over UDP the first retransmission is due after one RTO; over a
    // stream there is none, the transaction simply times out.
    duration first_wait() const { return config_.stream ? config_.stream_timeout : config_.rto; }

    // Our own outputs: bounded by client_config::max_queued like a full socket buffer (the
    // request is retransmitted, data is lost as on any UDP path).
    bool queue_output(std::vector<std::byte> d)
    {
        if (out_.size() >= config_.max_queued) {
            ++stats_.outputs_dropped;
            PEERKIT_TURN_LOG(trace, "output of ", d.size(), " bytes to ", config_.server, " dropped: ", config_.max_queued,
                             " not yet polled (client_config::max_queued)");
            return false;
        }
        out_.push_back(std::move(d));
        return true;
    }
    void queue(const std::vector<std::byte>& d) { (void)queue_output(d); }
    // Allocation results always get through (at most one each); received data only below
    // max_queued_events.
    void emit(event e) { events_.push_back(std::move(e)); }
    void emit_data(const endpoint& peer, bytes_view payload)
    {
        if (events_.size() >= config_.max_queued_events) {
            ++stats_.data_dropped_queue_full;
            PEERKIT_TURN_LOG(trace, "data of ", payload.size(), " bytes from peer ", peer, " dropped: ",
                             config_.max_queued_events, " events not yet polled (client_config::max_queued_events)");
            return;
        }
        ++stats_.data_received;
        events_.push_back(data{peer, {payload.begin(), payload.end()}});
    }

    static constexpr std::string_view name(kind k) noexcept
    {
        switch (k) {
        case kind::allocate: return "Allocate";
        case kind::refresh: return "Refresh";
        case kind::create_permission: return "CreatePermission";
        case kind::channel_bind: return "ChannelBind";
        }
        return "?";
    }

    void fail(int code, std::string reason)
    {
        PEERKIT_TURN_LOG(debug, "allocation on ", config_.server, " failed: ", code == 0 ? "" : "error ", code, ' ', reason);
        state_ = client_state::failed;
        transactions_.clear();
        emit(allocation_failed{code, std::move(reason)});
    }

    // Builds the request for `t` with the current realm/nonce/key (RFC 8489 9.2.4).
    bool build(transaction& t)
    {
        std::array<std::byte, 1024> buf{};
        stun::message_type type = stun::allocate_request;
        switch (t.what) {
        case kind::allocate: type = stun::allocate_request; break;
        case kind::refresh: type = stun::refresh_request; break;
        case kind::create_permission: type = stun::create_permission_request; break;
        case kind::channel_bind: type = stun::channel_bind_request; break;
        }
        stun::message_builder b{buf, type, t.id};
        switch (t.what) {
        case kind::allocate:
            b.add(stun::requested_transport{stun::requested_transport::udp});
            b.add(stun::lifetime{config_.requested_lifetime});
            break;
        case kind::refresh:
            b.add(stun::lifetime{t.lifetime_zero ? std::chrono::seconds(0) : config_.requested_lifetime});
            break;
        case kind::create_permission:
            b.add(stun::xor_peer_address{t.peer});
            break;
        case kind::channel_bind:
            b.add(stun::channel_number{t.channel});
            b.add(stun::xor_peer_address{t.peer});
            break;
        }
        if (key_) {
            b.add(stun::username{config_.username});
            b.add(stun::realm{realm_});
            b.add(stun::nonce{nonce_});
            b.add_message_integrity(*key_);
        }
        b.add_fingerprint();
        auto out = b.finish();
        if (!out) return false;
        t.request.assign(out->begin(), out->end());
        return true;
    }

    void start(time_point now, kind k, endpoint peer, std::uint16_t channel_number = 0, bool lifetime_zero = false)
    {
        transaction t;
        // RFC 8489 6: the id must be random, or an off-path attacker can answer for the server.
        if (!crypto_.random_bytes(t.id.bytes)) {
            PEERKIT_TURN_LOG(error, name(k), " to ", config_.server, " not sent: the random source failed");
            if (k == kind::allocate) fail(0, "the random source failed: no transaction id for Allocate");
            return;
        }
        t.what = k;
        t.peer = peer;
        t.channel = channel_number;
        t.lifetime_zero = lifetime_zero;
        if (!build(t)) return;
        t.rto = config_.rto;
        t.sent = 1;
        t.next = now + first_wait();
        queue(t.request);
        transactions_.push_back(std::move(t));
    }

    // RFC 8489 9.2.5: 401 carries REALM and NONCE for the first signed try; 438 a fresh NONCE.
    void handle_error(time_point now, transaction& tx, const stun::message_view& m, bool signed_ok)
    {
        auto ec = m.get<stun::error_code>();
        const int code = ec ? ec->code : 0;
        PEERKIT_TURN_LOG(debug, name(tx.what), " to ", config_.server, " answered with error ", code,
                         signed_ok ? " (signed)" : " (unsigned)");
        if ((code == 401 || code == 438) && tx.auth_retries < 2) {
            auto r = m.get<stun::realm>();
            auto n = m.get<stun::nonce>();
            if (n && (code == 438 || (r && (!key_ || !signed_ok)))) {
                if (code == 401 && key_ && tx.auth_retries > 0) {
                    // Our signed request was refused: the credentials are wrong.
                    fail_or_drop(tx, code, "TURN server rejected the credentials");
                    return;
                }
                if (r) set_realm(r->value);
                nonce_.assign(n->value);
                if (key_) {
                    transaction again = tx;
                    if (!crypto_.random_bytes(again.id.bytes)) {
                        fail_or_drop(tx, 0, "the random source failed: no transaction id for the signed retry");
                        return;
                    }
                    ++again.auth_retries;
                    if (!build(again)) return;
                    again.rto = config_.rto;
                    again.sent = 1;
                    again.next = now + first_wait();
                    queue(again.request);
                    transactions_.push_back(std::move(again));
                    return;
                }
            }
        }
        fail_or_drop(tx, code, ec ? std::string(ec->reason) : std::string("error response"));
    }

    void fail_or_drop(const transaction& tx, int code, std::string reason)
    {
        switch (tx.what) {
        case kind::allocate: fail(code, std::move(reason)); break;
        case kind::refresh:
            if (tx.lifetime_zero) state_ = client_state::closed;
            else if (code == 437) fail(code, "allocation expired");  // RFC 8656 7.3
            break;
        case kind::create_permission:
            PEERKIT_TURN_LOG(debug, "CreatePermission for ", tx.peer.address(), " failed: ", code, ' ', reason);
            std::erase_if(permissions_, [&](const permission& p) { return p.ip == tx.peer.address() && !p.installed; });
            break;
        case kind::channel_bind:
            PEERKIT_TURN_LOG(debug, "ChannelBind ", hex{tx.channel, 4}, " to ", tx.peer, " failed: ", code, ' ', reason);
            std::erase_if(channels_, [&](const channel& c) { return c.peer == tx.peer && !c.bound; });
            break;
        }
    }

    void set_realm(std::string_view realm)
    {
        realm_.assign(realm);
        // RFC 8489 9.2.2: key = MD5(username ":" realm ":" password) (OpaqueString-prepared
        // values; ASCII credentials are unchanged by it).
        const auto md5 = stun::long_term_key_md5(crypto_, config_.username, realm_, config_.password);
        key_ = crypto_.prepare_hmac_sha1(bytes_view(md5));
    }

    std::chrono::seconds lifetime_of(const stun::message_view& m) const
    {
        if (auto l = m.get<stun::lifetime>()) return l->value;
        return config_.requested_lifetime;
    }

    time_point refresh_time(time_point now, std::chrono::seconds lifetime) const
    {
        const auto margin = std::min<std::chrono::seconds>(config_.refresh_margin, lifetime / 2);
        return now + (lifetime - margin);
    }

    void handle_success(time_point now, const transaction& tx, const stun::message_view& m)
    {
        switch (tx.what) {
        case kind::allocate: {
            auto relayed = m.get<stun::xor_relayed_address>();
            auto mapped = m.get<stun::xor_mapped_address>();
            if (!relayed) {
                fail(0, "Allocate success without XOR-RELAYED-ADDRESS");
                return;
            }
            state_ = client_state::allocated;
            relayed_ = relayed->value;
            const auto lifetime = lifetime_of(m);
            allocation_refresh_ = refresh_time(now, lifetime);
            PEERKIT_TURN_LOG(debug, "allocated ", relayed->value, " on ", config_.server, " for ", lifetime.count(), " s");
            emit(allocated{relayed->value, mapped ? mapped->value : endpoint{}, lifetime});
            break;
        }
        case kind::refresh:
            if (tx.lifetime_zero) {
                state_ = client_state::closed;
                return;
            }
            allocation_refresh_ = refresh_time(now, lifetime_of(m));
            break;
        case kind::create_permission:
            // RFC 8656 9: permissions last 300 seconds.
            if (permission* p = find_permission(tx.peer.address())) {
                p->installed = true;
                p->refresh_at = refresh_time(now, std::chrono::seconds(300));
                flush_pending(now, tx.peer.address());
            }
            break;
        case kind::channel_bind:
            // RFC 8656 12: channel bindings last 600 seconds (and refresh the permission).
            for (channel& c : channels_)
                if (c.peer == tx.peer) {
                    c.bound = true;
                    c.refresh_at = refresh_time(now, std::chrono::seconds(600));
                }
            if (permission* p = find_permission(tx.peer.address())) {
                if (!p->installed) {
                    p->installed = true;
                    p->refresh_at = refresh_time(now, std::chrono::seconds(300));
                }
                flush_pending(now, tx.peer.address());
            }
            break;
        }
    }

    void flush_pending(time_point now, const net::ip_address& ip)
    {
        std::vector<pending_send> ready;
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->peer.address() == ip) {
                ready.push_back(std::move(*it));
                it = pending_.erase(it);
            } else {
                ++it;
            }
        }
        for (const pending_send& p : ready) send_to(now, p.peer, p.payload);
    }

    // RFC 8656 11.1: a Send indication carries XOR-PEER-ADDRESS and DATA; indications are not
    // authenticated.
    void send_indication(const endpoint& peer, bytes_view payload)
    {
        std::vector<std::byte> buf(payload.size() + 64);
        stun::transaction_id id;
        // An indication gets no answer, so its id protects nothing (RFC 8489 6): a failed draw
        // leaves it as it is.
        (void)crypto_.random_bytes(id.bytes);
        stun::message_builder b{buf, stun::send_indication, id};
        b.add(stun::xor_peer_address{peer});
        b.add(stun::data{payload});
        auto out = b.finish();
        if (!out) return;
        buf.resize(out->size());
        (void)queue_output(std::move(buf));
    }

    // RFC 8656 12.4: channel number, length, data. 12.5: padded to a multiple of 4 over a
    // stream; over UDP the padding is optional and we leave it out.
    void send_channel_data(std::uint16_t number, bytes_view payload)
    {
        std::vector<std::byte> buf(config_.stream ? 4 + ((payload.size() + 3) & ~std::size_t{3}) : 4 + payload.size());
        auto out = stun::build_channel_data(buf, number, payload, config_.stream);
        if (!out) return;
        (void)queue_output(std::move(buf));
    }

    std::optional<received> handle_channel_data(bytes_view d)
    {
        auto cd = stun::channel_data_view::parse(d);
        if (!cd) {
            ++stats_.malformed;
            PEERKIT_TURN_LOG(debug, "ChannelData of ", d.size(), " bytes dropped: ", cd.error());
            return std::nullopt;
        }
        for (const channel& c : channels_)
            if (c.number == cd->channel && c.bound) return received{c.peer, cd->payload};
        ++stats_.data_on_unbound_channel;
        PEERKIT_TURN_LOG(trace, "ChannelData on unbound channel ", hex{cd->channel, 4}, " dropped");
        return std::nullopt;
    }

    client_config config_;
    Crypto crypto_;
    client_state state_ = client_state::idle;
    std::string realm_, nonce_;
    std::optional<typename Crypto::hmac_sha1_key> key_;
    std::optional<endpoint> relayed_;
    time_point allocation_refresh_{};
    std::vector<transaction> transactions_;
    std::vector<permission> permissions_;
    std::vector<channel> channels_;
    std::vector<pending_send> pending_;
    std::uint16_t next_channel_ = 0x4000;  // RFC 8656 12: 0x4000-0x4FFF
    std::deque<std::vector<std::byte>> out_;
    std::vector<std::byte> polled_;  // what poll_transmit last lent out
    std::deque<event> events_;
    client_stats stats_;
};

}  // namespace peerkit::turn

#undef PEERKIT_TURN_LOG
