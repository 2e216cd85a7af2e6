// The data-channel layer (RFC 8831, RFC 8832) as a sans-IO machine above an SCTP message
// transport (normally peerkit::sctp::association; in tests anything that models
// datachannel::message_transport). It is polled like every other machine: it holds no
// reference to the transport; what it asks of it (DCEP OPEN and ACK messages, stream resets,
// receive-window holds, low thresholds) is polled with poll_transmit(), and a user message is
// validated by send(), which returns what to pass to the transport's send.
//
//   datachannel::endpoint dc{dtls_role::client, {}};
//   auto chat = dc.create_channel(now, "chat", {});          // DCEP OPEN once SCTP is up
//   while (auto e = association.poll_event())
//       dc.handle_association_event(now, std::move(*e), datachannel::stream_counts_of(association));
//   datachannel::transmit_to(now, dc, association);           // drains dc.poll_transmit()
//   while (auto e = dc.poll_event()) ...;                       // open, message, close, error
//   datachannel::send(now, dc, association, *chat, as_bytes("hello"), false);
//
// The endpoint never reads a clock and has no timers. Events are queued until polled and never
// dropped, so a channel that opened before the user looked still reports "open".
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/datachannel/dcep.hpp>
#include <peerkit/datachannel/error.hpp>
#include <peerkit/error.hpp>
// The association's public vocabulary (send_options, association_event): the endpoint speaks
// the association's language so that the association plugs in without an adapter.
#include <peerkit/sctp/association_types.hpp>
#include <peerkit/time.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::datachannel {

using peerkit::time_point;

// What the data-channel layer needs from SCTP: send a message on a stream with a PPID and
// reliability options, reset outgoing streams (RFC 6525), and per-stream buffered amounts.
// sctp::association models it; its events are fed back with handle_association_event (or
// the handle_* verbs below for other transports). The endpoint never calls it: the composer
// does, with what the endpoint's poll_transmit and send return (transmit_to, send below).
template <class T>
concept message_transport = requires(T& t, const T& ct, time_point now, std::uint16_t stream, std::uint32_t ppid,
                                     bytes_view data, const sctp::send_options& options,
                                     std::span<const std::uint16_t> streams, std::size_t bytes) {
    { t.send(now, stream, ppid, data, options) } -> std::same_as<result<void>>;
    { t.reset_streams(now, streams) } -> std::same_as<result<void>>;
    { ct.buffered_amount(stream) } -> std::convertible_to<std::size_t>;
    t.set_buffered_amount_low_threshold(stream, bytes);
};

// Optional: a transport that counts bytes a layer above holds against its receive window
// (sctp::association::hold_delivered / release_delivered). The endpoint holds the pieces of
// deprecated partial messages (PPIDs 52/54) there while it joins them, so a peer cannot park
// them outside the window.
template <class T>
concept holding_transport = requires(T& t, std::size_t bytes) {
    t.hold_delivered(bytes);
    { t.release_delivered(bytes) } -> std::convertible_to<bool>;
};

// RFC 8832 6 / RFC 8831 6.5: the DTLS client opens channels on even stream ids, the server
// on odd ones, so both can open channels at once without colliding.
enum class dtls_role : std::uint8_t { client, server };

enum class ready_state : std::uint8_t { connecting, open, closing, closed };

// RTCDataChannelInit.
struct channel_init {
    bool ordered = true;
    std::optional<std::uint16_t> max_packet_life_time{};  // milliseconds (RFC 8831 6.6 timed)
    std::optional<std::uint16_t> max_retransmits{};       // RFC 8831 6.6 limited retransmissions
    std::string protocol{};
    // Negotiated out of band: both sides create the channel with the same id, no DCEP.
    bool negotiated = false;
    std::optional<std::uint16_t> id{};  // required when negotiated, ignored otherwise
    std::uint16_t priority = priority::low;
};

struct endpoint_config {
    // Largest message we accept: what our SDP announces in a=max-message-size (RFC 8841 6;
    // 256 KiB is what browsers announce). A larger received message is an error event.
    std::size_t max_message_size = 256 * 1024;
    // Largest message the peer accepts, from its a=max-message-size: 0 means no limit, and a
    // peer whose SDP has no such attribute accepts 64 KiB (RFC 8841 6.1). send() of a larger
    // message fails (the browser's TypeError).
    std::size_t remote_max_message_size = 256 * 1024;
    // Pieces of deprecated partial messages (PPIDs 52/54) held at once, all channels together.
    // They count in the SCTP receive window while they are joined; keeping their sum below the
    // window (the peer connection sets half of it) leaves room for the pieces that complete
    // them, so unfinished messages on many channels cannot close the window for good. A piece
    // beyond it refuses its message (message_too_large, as beyond max_message_size).
    std::size_t max_partial_bytes = 4 * 1024 * 1024;
    // Channels open at once (each holds its label and protocol, up to 64 KiB each).
    std::size_t max_channels = 1024;
    // Stream ids are below this: the streams SCTP negotiated (min of both sides' counts).
    // Updated from the transport when it offers outbound_streams()/inbound_streams().
    std::uint32_t max_streams = 65535;
};

// ---- events (poll_event) ------------------------------------------------------------------
struct channel_event {          // the peer opened a channel ("datachannel" in browsers)
    std::uint16_t id = 0;
};
struct open_event {             // "open"
    std::uint16_t id = 0;
};
struct message_event {          // "message"
    std::uint16_t id = 0;
    bool binary = false;
    std::vector<std::byte> data{};
    [[nodiscard]] std::string_view text() const noexcept { return as_string_view(data); }
};
struct buffered_amount_low_event {  // "bufferedamountlow"
    std::uint16_t id = 0;
};
struct closing_event {          // "closing": the peer started closing the channel
    std::uint16_t id = 0;
};
struct close_event {            // "close": both directions of the stream are reset
    std::uint16_t id = 0;
};
struct error_event {            // "error"
    std::uint16_t id = 0;
    peerkit::error error{};
};
using event = std::variant<channel_event, open_event, message_event, buffered_amount_low_event, closing_event,
                           close_event, error_event>;

// ---- output (poll_transmit, send) ---------------------------------------------------------
// One message for the transport's send(now, stream, ppid, data, options). `data` is borrowed:
// from send(), the caller's bytes (valid as long as the caller keeps them); from
// poll_transmit(), the endpoint's DCEP OPEN or ACK (valid until the next call of a non-const
// member of the endpoint).
struct outgoing_message {
    std::uint16_t stream = 0;
    std::uint32_t ppid = 0;
    bytes_view data{};
    sctp::send_options options{};
};
// Reset this outgoing stream (RFC 6525 5.1.2; closing a channel, RFC 8831 6.7).
struct stream_reset {
    std::uint16_t stream = 0;
};
// The stream's buffered-amount-low threshold (a reused id starts at 0).
struct low_threshold {
    std::uint16_t stream = 0;
    std::size_t bytes = 0;
};
// Bytes the endpoint starts or stops holding on the peer's behalf (pieces of partial PPID
// 52/54 messages), for a transport that counts them in its receive window (holding_transport:
// hold_delivered / release_delivered).
struct window_hold {
    std::size_t bytes = 0;
};
struct window_release {
    std::size_t bytes = 0;
};
using transport_request = std::variant<outgoing_message, stream_reset, low_threshold, window_hold, window_release>;

// The negotiated stream counts (sctp::association::outbound_streams / inbound_streams) when
// the transport comes up: channel ids stay below both. 0 means unknown.
struct stream_counts {
    std::uint32_t outbound = 0;
    std::uint32_t inbound = 0;
};

// A handle with the browser's RTCDataChannel surface. Cheap to copy; stays valid (and reads
// as closed) after its channel closed and even after the id was reused by a new channel.
// (A template only so that its members can be read before the endpoint is complete: the
// one instance is datachannel::channel.)
template <class Endpoint>
class basic_channel {
public:
    basic_channel() = default;

    [[nodiscard]] std::uint16_t id() const noexcept { return id_; }
    [[nodiscard]] std::string_view label() const noexcept { return st() ? std::string_view(st()->label) : ""; }
    [[nodiscard]] std::string_view protocol() const noexcept { return st() ? std::string_view(st()->protocol) : ""; }
    [[nodiscard]] bool ordered() const noexcept { return st() ? st()->ordered : true; }
    [[nodiscard]] std::optional<std::uint16_t> max_retransmits() const noexcept
    {
        return st() ? st()->max_retransmits : std::nullopt;
    }
    [[nodiscard]] std::optional<std::uint16_t> max_packet_life_time() const noexcept
    {
        return st() ? st()->max_packet_life_time : std::nullopt;
    }
    [[nodiscard]] bool negotiated() const noexcept { return st() ? st()->negotiated : false; }
    [[nodiscard]] std::uint16_t priority() const noexcept { return st() ? st()->priority : priority::low; }
    [[nodiscard]] datachannel::ready_state ready_state() const noexcept
    {
        return st() ? st()->state : ready_state::closed;
    }
    // The buffered amount lives in the transport (sctp::association::buffered_amount(id())).
    [[nodiscard]] std::size_t buffered_amount_low_threshold() const noexcept
    {
        return st() ? st()->low_threshold : 0;
    }
    void set_buffered_amount_low_threshold(std::size_t bytes) noexcept
    {
        if (auto* s = st()) {
            s->low_threshold = bytes;
            ep_->queue(low_threshold{id_, bytes});
        }
    }
    // Validates a message for this channel and returns what to hand to the transport's send
    // (datachannel::send does both); nothing is copied here.
    result<outgoing_message> send(time_point now, std::string_view text) const { return send_impl(now, as_bytes(text), false); }
    result<outgoing_message> send(time_point now, bytes_view binary) const { return send_impl(now, binary, true); }
    result<void> close(time_point now)
    {
        if (!st()) return {};
        return ep_->close(now, id_);
    }

    friend bool operator==(const basic_channel& a, const basic_channel& b) noexcept
    {
        return a.ep_ == b.ep_ && a.id_ == b.id_ && a.generation_ == b.generation_;
    }

private:
    friend Endpoint;
    basic_channel(Endpoint* ep, std::uint16_t id, std::uint64_t generation) noexcept
        : ep_(ep), id_(id), generation_(generation)
    {
    }
    auto* st() const noexcept { return ep_ ? ep_->find(id_, generation_) : nullptr; }
    result<outgoing_message> send_impl(time_point now, bytes_view data, bool binary) const
    {
        if (!st()) return make_error(errc::no_such_channel, "data channel ", id_, " no longer exists");
        return ep_->send(now, id_, data, binary);
    }

    Endpoint* ep_ = nullptr;
    std::uint16_t id_ = 0;
    std::uint64_t generation_ = 0;
};

class endpoint;
using channel = basic_channel<endpoint>;

class endpoint {
public:
    explicit endpoint(dtls_role role, endpoint_config config = {}) : role_(role), config_(config) {}
    endpoint(const endpoint&) = delete;
    endpoint& operator=(const endpoint&) = delete;

    [[nodiscard]] const endpoint_config& config() const noexcept { return config_; }
    [[nodiscard]] bool transport_open() const noexcept { return transport_open_; }
    // The number of channels not yet closed.
    [[nodiscard]] std::size_t channel_count() const noexcept { return live_channels_; }
    // Channel entries held (a closed channel's entry is freed at once, so this is
    // channel_count() plus nothing).
    [[nodiscard]] std::size_t entry_count() const noexcept { return channels_.size(); }
    // Everything the endpoint holds: channel entries with their labels, protocols and partial
    // messages, and the events not yet polled (with their payloads).
    [[nodiscard]] std::size_t bytes_held() const noexcept
    {
        std::size_t n = 0;
        for (const auto& [id, s] : channels_)
            n += channel_entry_overhead + s.label.capacity() + s.protocol.capacity() + s.partial.capacity();
        n += polled_.capacity();
        for (const auto& r : out_) n += sizeof(queued_request) + r.bytes.capacity();
        for (const auto& e : events_) {
            n += sizeof(event);
            if (const auto* m = std::get_if<message_event>(&e)) n += m->data.capacity();
        }
        return n;
    }
    // Bytes of partial PPID 52/54 pieces being joined, all channels (held in the transport's
    // window where it counts them, holding_transport).
    [[nodiscard]] std::size_t partial_bytes_held() const noexcept { return partial_bytes_; }
    // The largest message send() accepts (RTCSctpTransport.maxMessageSize); 0 = no limit.
    [[nodiscard]] std::size_t max_message_size() const noexcept { return config_.remote_max_message_size; }
    // Once the remote description is known (RFC 8841 6.1 for the value).
    void set_remote_max_message_size(std::size_t bytes) noexcept { config_.remote_max_message_size = bytes; }

    // createDataChannel(label, init). Before the transport is up the channel is
    // "connecting"; its DCEP OPEN goes out (or, negotiated, it opens) when it comes up.
    result<channel> create_channel(time_point now, std::string_view label, const channel_init& init = {})
    {
        if (init.max_packet_life_time && init.max_retransmits)
            return make_error(errc::invalid_parameters,
                              "max_packet_life_time and max_retransmits cannot both be set (RFC 8831 6.6)");
        if (label.size() > 0xffff || init.protocol.size() > 0xffff)
            return detail::label_too_long(errc::invalid_parameters, label.size(), init.protocol.size());
        if (live_channels_ >= config_.max_channels)
            return make_error(errc::too_many_channels, "data channel limit of ", config_.max_channels, " reached");
        std::uint16_t id = 0;
        if (init.negotiated) {
            if (!init.id) return make_error(errc::invalid_parameters, "a negotiated data channel needs an id");
            id = *init.id;
            if (id >= max_streams() || id == 65535)
                return make_error(errc::invalid_parameters, "data channel id ", id, " is beyond the ", max_streams(),
                                  " negotiated streams");
            if (!id_free(id)) return make_error(errc::id_in_use, "data channel id ", id, " is in use");
        } else {
            auto free = allocate_id();
            if (!free) return free.error();
            id = *free;
        }
        channel_state& s = emplace(id);
        s.label.assign(label);
        s.protocol = init.protocol;
        s.ordered = init.ordered;
        s.max_retransmits = init.max_retransmits;
        s.max_packet_life_time = init.max_packet_life_time;
        s.negotiated = init.negotiated;
        s.priority = init.priority;
        s.locally_opened = true;
        const auto generation = s.generation;
        // A refused OPEN closes the channel and erases its entry (`s` dangles then); the handle
        // still names it, and reads as closed.
        if (transport_open_) announce_local(now, id, s);
        return channel(this, id, generation);
    }

    // The handle of a live (not closed) channel, e.g. after a channel_event.
    [[nodiscard]] std::optional<channel> get(std::uint16_t id) noexcept
    {
        auto it = channels_.find(id);
        if (it == channels_.end() || it->second.state == ready_state::closed) return std::nullopt;
        return channel(this, id, it->second.generation);
    }

    std::optional<event> poll_event()
    {
        if (events_.empty()) return std::nullopt;
        event e = std::move(events_.front());
        events_.pop_front();
        return e;
    }

    // What the endpoint asks of the transport, in order. An outgoing_message's bytes are valid
    // until the next call of a non-const member. Drain it before passing a send() result to
    // the transport, so that a channel's DCEP OPEN precedes its data (RFC 8832 6); send()
    // refuses while something waits here.
    std::optional<transport_request> poll_transmit()
    {
        // What the previous call lent out is done with: freed, so that an OPEN with long
        // strings (up to 128 KiB) is not kept (each queued message has its own buffer).
        std::vector<std::byte>().swap(polled_);
        if (out_.empty()) return std::nullopt;
        queued_request& q = out_.front();
        if (auto* m = std::get_if<outgoing_message>(&q.request)) {
            polled_ = std::move(q.bytes);
            m->data = polled_;
        }
        transport_request r = q.request;
        out_.pop_front();
        return r;
    }

    // The transport refused what poll_transmit gave for this stream (a DCEP message or a
    // reset): the channel fails with the reason (an error event, then close), as a browser's
    // channel does when its transport refuses; with no channel there, the error alone.
    void handle_transmit_failure(time_point, std::uint16_t stream, const peerkit::error& e)
    {
        if (channel_state* s = live(stream)) fail(stream, *s, e);
        else events_.push_back(error_event{stream, e});
    }

    // ---- input from the transport ------------------------------------------------------
    // The SCTP association is established: pending channels open.
    void handle_transport_open(time_point now, stream_counts counts = {})
    {
        if (transport_open_) return;
        transport_open_ = true;
        update_max_streams(counts);
        // In creation order, so OPENs and open events come in the order the user created them.
        std::vector<std::pair<std::uint64_t, std::uint16_t>> pending;
        for (auto& [id, s] : channels_)
            if (s.state == ready_state::connecting && s.locally_opened) pending.emplace_back(s.generation, id);
        std::sort(pending.begin(), pending.end());
        for (const auto& [generation, id] : pending) {
            channel_state& s = channels_.at(id);
            if (s.negotiated && id >= max_streams()) {
                fail(id, s, make_error(errc::invalid_parameters, "negotiated data channel id ", id,
                                       " is beyond the ", max_streams(), " streams SCTP negotiated"));
                continue;
            }
            announce_local(now, id, s);
        }
    }

    // The association ended: every channel closes; `failure` (an abort) is reported first.
    void handle_transport_closed(time_point, std::optional<peerkit::error> failure = std::nullopt)
    {
        transport_open_ = false;
        for (std::uint16_t id : live_ids()) {
            channel_state& s = channels_.at(id);
            if (failure) events_.push_back(error_event{id, *failure});
            finish_close(id, s);
        }
    }

    // One complete SCTP message.
    void handle_message(time_point now, std::uint16_t stream, std::uint32_t ppid_value, std::vector<std::byte>&& data)
    {
        switch (static_cast<ppid>(ppid_value)) {
        case ppid::dcep: handle_dcep(now, stream, data); return;
        case ppid::string:
        case ppid::binary:
        case ppid::string_empty:
        case ppid::binary_empty:
        case ppid::string_partial:
        case ppid::binary_partial: break;
        default: {
            if (live(stream) != nullptr)
                events_.push_back(error_event{stream, make_error(errc::unexpected_ppid, "message with PPID ",
                                                                 ppid_value, " on data channel ", stream,
                                                                 " dropped (RFC 8831 8)")});
            return;
        }
        }
        channel_state* s = live(stream);
        if (s == nullptr || s->state == ready_state::closed) return;  // no channel: nothing to deliver to
        // RFC 8832 6: the peer sends user data only after its ACK, so data means the channel
        // is acknowledged even if the ACK itself was lost or reordered (unordered data).
        s->awaiting_ack = false;
        const auto p = static_cast<ppid>(ppid_value);
        const bool binary = p == ppid::binary || p == ppid::binary_empty || p == ppid::binary_partial;
        // RFC 8831 8: the deprecated partial PPIDs carried pieces of one message; the piece
        // with the regular PPID ends it.
        // The pieces wait here, bounded by max_message_size per channel, and counted in the
        // transport's receive window (holding_transport) until the message is complete, so many
        // channels of unfinished pieces slow the peer instead of growing here.
        if (p == ppid::string_partial || p == ppid::binary_partial) {
            if (s->partial_overflow) return;  // the rest of a message already refused
            if (s->partial.size() + data.size() > config_.max_message_size ||
                partial_bytes_ + data.size() > config_.max_partial_bytes) {
                drop_partial(*s);
                s->partial_overflow = true;
                return;
            }
            s->partial.insert(s->partial.end(), data.begin(), data.end());
            hold_partial(*s, data.size());
            return;
        }
        if (p == ppid::string_empty || p == ppid::binary_empty) data.clear();  // one ignored byte
        if (!s->partial.empty() || s->partial_overflow) {
            const bool overflow = s->partial_overflow || s->partial.size() + data.size() > config_.max_message_size;
            s->partial_overflow = false;
            if (overflow) {
                drop_partial(*s);
                report_too_large(stream);
                return;
            }
            s->partial.insert(s->partial.end(), data.begin(), data.end());
            data = std::move(s->partial);
            s->partial = {};
            release_partial(*s);  // the whole message goes on as one (the core holds it from here)
        }
        if (data.size() > config_.max_message_size) {
            report_too_large(stream);
            return;
        }
        events_.push_back(message_event{stream, binary, std::move(data)});
    }
    void handle_message(time_point now, std::uint16_t stream, std::uint32_t ppid_value, bytes_view data)
    {
        handle_message(now, stream, ppid_value, std::vector<std::byte>(data.begin(), data.end()));
    }

    // RFC 6525 / RFC 8831 6.7: the peer reset these incoming streams (its outgoing side), so
    // it is closing these channels; we reset our side too. Empty means all streams.
    void handle_incoming_reset(time_point now, std::span<const std::uint16_t> streams)
    {
        auto one = [&](std::uint16_t id) {
            channel_state* s = live(id);
            if (s == nullptr) return;
            s->remote_reset = true;
            if (s->state == ready_state::connecting || s->state == ready_state::open) {
                s->state = ready_state::closing;
                events_.push_back(closing_event{id});
            }
            // request_reset may have closed (erased) the channel.
            if (!s->local_reset_requested) request_reset(now, id, *s);
            s = live(id);
            if (s != nullptr && s->local_reset_done) finish_close(id, *s);
        };
        if (streams.empty()) {
            for (std::uint16_t id : live_ids()) one(id);
        } else {
            for (std::uint16_t id : streams) one(id);
        }
    }

    // Our reset request for these outgoing streams completed (or was refused).
    void handle_outgoing_reset(time_point, std::span<const std::uint16_t> streams, bool success)
    {
        for (std::uint16_t id : streams) {
            channel_state* s = live(id);
            if (s == nullptr || !s->local_reset_requested) continue;
            if (!success) {
                // The peer refused the reset (RFC 6525 5.2.2 denied): nothing more we can do
                // on this stream; report and close locally.
                events_.push_back(error_event{id, make_error(errc::transport_error, "the peer refused to reset stream ",
                                                             id, " (RFC 6525)")});
                finish_close(id, *s);
                continue;
            }
            s->local_reset_done = true;
            // Browsers treat a channel as closed once our outgoing side is reset and the peer
            // reset (or resets) its own; waiting for the peer keeps the id from being reused
            // while its messages may still arrive.
            if (s->remote_reset) finish_close(id, *s);
        }
    }

    void handle_buffered_amount_low(time_point, std::uint16_t stream)
    {
        if (channel_state* s = live(stream); s != nullptr && s->state != ready_state::closed)
            events_.push_back(buffered_amount_low_event{stream});
    }

    // Feeds one event of sctp::association (poll_event) to the endpoint, with the association's
    // stream counts (stream_counts_of) for when it reports connected.
    void handle_association_event(time_point now, sctp::association_event&& e, stream_counts counts = {})
    {
        if (auto* m = std::get_if<sctp::message_event>(&e)) {
            handle_message(now, m->stream, m->ppid, std::move(m->data));
        } else if (std::holds_alternative<sctp::connected_event>(e)) {
            handle_transport_open(now, counts);
        } else if (auto* in = std::get_if<sctp::incoming_streams_reset_event>(&e)) {
            handle_incoming_reset(now, in->streams);
        } else if (auto* out = std::get_if<sctp::outgoing_streams_reset_event>(&e)) {
            handle_outgoing_reset(now, out->streams, out->success);
        } else if (auto* low = std::get_if<sctp::buffered_amount_low_event>(&e)) {
            handle_buffered_amount_low(now, low->stream);
        } else if (std::holds_alternative<sctp::closed_event>(e)) {
            handle_transport_closed(now);
        } else if (auto* a = std::get_if<sctp::aborted_event>(&e)) {
            handle_transport_closed(now, make_error(a->code, "SCTP association ended: ", a->reason));
        }
    }

private:
    friend class basic_channel<endpoint>;

    struct channel_state {
        std::uint64_t generation = 0;
        std::string label{};
        std::string protocol{};
        bool ordered = true;
        std::optional<std::uint16_t> max_retransmits{};
        std::optional<std::uint16_t> max_packet_life_time{};
        bool negotiated = false;
        std::uint16_t priority = priority::low;
        datachannel::ready_state state = ready_state::connecting;
        std::size_t low_threshold = 0;
        bool locally_opened = false;
        bool awaiting_ack = false;  // our DCEP OPEN is not acknowledged: send ordered (RFC 8832 6)
        bool local_reset_requested = false;
        bool local_reset_done = false;
        bool remote_reset = false;
        bool partial_overflow = false;
        std::vector<std::byte> partial{};  // deprecated partial PPIDs being joined
        std::size_t partial_held = 0;      // of which held in the transport's window
    };

public:
    // Bookkeeping of one channel entry besides its strings and partial message: the hash
    // node (the pair, a next pointer, the cached hash) and its bucket pointer.
    static constexpr std::size_t channel_entry_overhead =
        sizeof(std::pair<const std::uint16_t, channel_state>) + 3 * sizeof(void*);

private:

    channel_state* find(std::uint16_t id, std::uint64_t generation) noexcept
    {
        auto it = channels_.find(id);
        return it != channels_.end() && it->second.generation == generation ? &it->second : nullptr;
    }
    channel_state* live(std::uint16_t id) noexcept
    {
        auto it = channels_.find(id);
        return it != channels_.end() && it->second.state != ready_state::closed ? &it->second : nullptr;
    }
    [[nodiscard]] bool id_free(std::uint16_t id) const noexcept
    {
        auto it = channels_.find(id);
        return it == channels_.end() || it->second.state == ready_state::closed;
    }
    [[nodiscard]] std::uint32_t max_streams() const noexcept { return config_.max_streams; }

    // Ids of channels not closed, ascending (event order must not depend on hashing).
    [[nodiscard]] std::vector<std::uint16_t> live_ids() const
    {
        std::vector<std::uint16_t> ids;
        for (const auto& [id, s] : channels_)
            if (s.state != ready_state::closed) ids.push_back(id);
        std::sort(ids.begin(), ids.end());
        return ids;
    }

    void update_max_streams(stream_counts counts) noexcept
    {
        if (counts.outbound != 0 && counts.inbound != 0)
            config_.max_streams = std::min({config_.max_streams, counts.outbound, counts.inbound});
    }

    // What poll_transmit hands out; a DCEP message keeps its bytes here until then.
    struct queued_request {
        transport_request request;
        std::vector<std::byte> bytes{};
    };
    void queue(transport_request r) { out_.push_back(queued_request{r}); }
    void queue_message(std::uint16_t stream, ppid p, std::vector<std::byte>&& bytes)
    {
        out_.push_back(queued_request{outgoing_message{stream, static_cast<std::uint32_t>(p), {}, {}}, std::move(bytes)});
    }

    result<std::uint16_t> allocate_id() const
    {
        // RFC 8832 6: the DTLS client takes even ids, the server odd ones. 65535 is reserved.
        const std::uint32_t limit = std::min<std::uint32_t>(max_streams(), 65535);
        for (std::uint32_t id = role_ == dtls_role::client ? 0 : 1; id < limit; id += 2)
            if (id_free(static_cast<std::uint16_t>(id))) return static_cast<std::uint16_t>(id);
        return make_error(errc::no_free_id, "no free ", role_ == dtls_role::client ? "even" : "odd",
                          " stream id below ", limit);
    }

    channel_state& emplace(std::uint16_t id)
    {
        channel_state& s = channels_[id];
        s = channel_state{};
        s.generation = ++generation_;
        ++live_channels_;
        // A reused stream id must not inherit the previous channel's threshold.
        queue(low_threshold{id, 0});
        return s;
    }

    // A locally created channel meets an open transport: negotiated ones open at once, the
    // others send DCEP OPEN (RFC 8832 6) and open too: they may send before the ACK, ordered.
    void announce_local(time_point, std::uint16_t id, channel_state& s)
    {
        if (!s.negotiated) {
            open_message open;
            open.type = channel_type_of(s);
            open.priority = s.priority;
            open.reliability = s.max_retransmits ? *s.max_retransmits
                                                 : (s.max_packet_life_time ? *s.max_packet_life_time : 0u);
            open.label = s.label;
            open.protocol = s.protocol;
            std::vector<std::byte> bytes(open.size());
            auto written = open.write(bytes);
            if (!written) {
                fail(id, s, written.error());
                return;
            }
            // Polled; a refusal comes back through handle_transmit_failure.
            queue_message(id, ppid::dcep, std::move(bytes));
            s.awaiting_ack = true;
        }
        s.state = ready_state::open;
        events_.push_back(open_event{id});
    }

    static channel_type channel_type_of(const channel_state& s) noexcept
    {
        std::uint8_t t = s.max_retransmits ? 0x01 : (s.max_packet_life_time ? 0x02 : 0x00);
        if (!s.ordered) t |= 0x80;
        return static_cast<channel_type>(t);
    }

    void handle_dcep(time_point, std::uint16_t stream, const std::vector<std::byte>& data)
    {
        auto msg = parse_dcep(data);
        if (!msg) {
            if (live(stream) != nullptr) events_.push_back(error_event{stream, msg.error()});
            return;
        }
        if (std::holds_alternative<ack_message>(*msg)) {
            if (channel_state* s = live(stream)) s->awaiting_ack = false;
            return;
        }
        const open_message& open = std::get<open_message>(*msg);
        if (!id_free(stream)) {
            // Both sides picked the same id (a peer that ignored the DTLS-role rule) or a
            // negotiated channel sits there: keep ours, report the conflict.
            events_.push_back(error_event{stream, make_error(errc::id_in_use, "DATA_CHANNEL_OPEN for stream ", stream,
                                                             " which is already in use")});
            return;
        }
        if (live_channels_ >= config_.max_channels) {
            // Refuse by resetting the stream, as a closed channel would be (RFC 8831 6.7).
            // A refused reset comes back through handle_transmit_failure: no channel to report
            // on, so an error event names the stream (the peer's channel stays half-open on its
            // side until the association ends).
            queue(stream_reset{stream});
            return;
        }
        channel_state& s = emplace(stream);
        s.label.assign(open.label);
        s.protocol.assign(open.protocol);
        s.ordered = !is_unordered(open.type);
        s.priority = open.priority;
        // RFC 8832 5.1: the reliability parameter's meaning depends on the channel type; the
        // browser's attributes are 16 bits, so larger values saturate.
        const auto clamp16 = [](std::uint32_t v) { return static_cast<std::uint16_t>(v > 0xffff ? 0xffff : v); };
        if (is_rexmit(open.type)) s.max_retransmits = clamp16(open.reliability);
        if (is_timed(open.type)) s.max_packet_life_time = clamp16(open.reliability);
        // Polled; a refusal comes back through handle_transmit_failure (error, then close).
        queue_message(stream, ppid::dcep, std::vector<std::byte>{std::byte{message_type_ack}});
        events_.push_back(channel_event{stream});
        s.state = ready_state::open;
        events_.push_back(open_event{stream});
    }

    result<outgoing_message> send(time_point, std::uint16_t id, bytes_view data, bool binary)
    {
        if (!out_.empty())
            return make_error(errc::transport_error, "data channel ", id,
                              ": poll_transmit the endpoint's queued requests first (a DCEP OPEN precedes data, RFC 8832 6)");
        channel_state* s = live(id);
        if (s == nullptr || s->state != ready_state::open)
            return make_error(errc::channel_not_open, "data channel ", id, " is ",
                              s == nullptr ? "closed" : (s->state == ready_state::connecting ? "connecting" : "closing"));
        if (config_.remote_max_message_size != 0 && data.size() > config_.remote_max_message_size)
            return make_error(errc::message_too_large, "message of ", data.size(), " bytes exceeds the peer's ",
                              config_.remote_max_message_size, "-byte maximum message size");
        sctp::send_options options;
        // RFC 8832 6: until the ACK arrives, messages go ordered so none overtakes the OPEN.
        options.unordered = !s->ordered && !s->awaiting_ack;
        if (s->max_retransmits) options.max_retransmissions = *s->max_retransmits;
        if (s->max_packet_life_time) options.max_lifetime = std::chrono::milliseconds(*s->max_packet_life_time);
        // RFC 8831 6.6: an empty message is sent as one byte with the "empty" PPID.
        static constexpr std::byte zero[1]{};
        const bool empty = data.empty();
        const ppid p = binary ? (empty ? ppid::binary_empty : ppid::binary) : (empty ? ppid::string_empty : ppid::string);
        return outgoing_message{id, static_cast<std::uint32_t>(p), empty ? bytes_view(zero, 1) : data, options};
    }

    result<void> close(time_point now, std::uint16_t id)
    {
        channel_state* s = live(id);
        if (s == nullptr || s->state == ready_state::closing) return {};
        if (s->state == ready_state::connecting && !transport_open_) {
            finish_close(id, *s);  // nothing was sent on the stream yet
            return {};
        }
        s->state = ready_state::closing;
        // RFC 8831 6.7: closing is resetting our outgoing stream; the peer answers by resetting
        // its own, and the channel is closed when both are.
        request_reset(now, id, *s);
        return {};
    }

    // Polled (stream_reset); a refusal comes back through handle_transmit_failure, which
    // reports it and closes the channel.
    void request_reset(time_point, std::uint16_t id, channel_state& s)
    {
        s.local_reset_requested = true;
        if (!transport_open_) {
            finish_close(id, s);
            return;
        }
        queue(stream_reset{id});
    }

    void fail(std::uint16_t id, channel_state& s, const peerkit::error& e)
    {
        events_.push_back(error_event{id, e});
        finish_close(id, s);
    }

    // The channel is closed: its entry goes with everything in it (label, protocol, partial
    // pieces, whose bytes go back to the window); its handles read as closed (they find no
    // entry of their generation) and the stream id is free for a new channel (RFC 8831 6.7).
    // `s` is invalid afterwards.
    void finish_close(std::uint16_t id, channel_state& s)
    {
        if (s.state == ready_state::closed) return;
        drop_partial(s);
        --live_channels_;
        channels_.erase(id);
        events_.push_back(close_event{id});
    }

    void hold_partial(channel_state& s, std::size_t bytes)
    {
        s.partial_held += bytes;
        partial_bytes_ += bytes;
        queue(window_hold{bytes});
    }
    void release_partial(channel_state& s)
    {
        const std::size_t bytes = s.partial_held;
        s.partial_held = 0;
        partial_bytes_ -= bytes;
        if (bytes != 0) queue(window_release{bytes});
    }
    void drop_partial(channel_state& s)
    {
        std::vector<std::byte>().swap(s.partial);
        release_partial(s);
    }

    void report_too_large(std::uint16_t id)
    {
        events_.push_back(error_event{id, make_error(errc::message_too_large, "received message on data channel ", id,
                                                     " exceeds the ", config_.max_message_size,
                                                     "-byte maximum message size (or its pieces the ", config_.max_partial_bytes,
                                                     " bytes of partial messages held at once); dropped")});
    }

    dtls_role role_;
    endpoint_config config_;
    bool transport_open_ = false;
    std::uint64_t generation_ = 0;
    std::size_t live_channels_ = 0;
    std::size_t partial_bytes_ = 0;  // sum of channel_state::partial_held
    std::unordered_map<std::uint16_t, channel_state> channels_{};
    std::deque<event> events_{};
    std::deque<queued_request> out_{};
    std::vector<std::byte> polled_{};  // the DCEP message poll_transmit last lent out
};

// ---- composing with a transport -------------------------------------------------------------
template <class T>
[[nodiscard]] stream_counts stream_counts_of(const T& transport) noexcept
{
    if constexpr (requires {
                      { transport.outbound_streams() } -> std::convertible_to<std::uint32_t>;
                      { transport.inbound_streams() } -> std::convertible_to<std::uint32_t>;
                  })
        return {transport.outbound_streams(), transport.inbound_streams()};
    else
        return {};
}

// Moves what the endpoint queued (poll_transmit) into the transport; a refused message or
// reset goes back to the endpoint (handle_transmit_failure). Returns the requests moved.
template <message_transport T>
std::size_t transmit_to(time_point now, endpoint& ep, T& transport)
{
    std::size_t moved = 0;
    while (auto r = ep.poll_transmit()) {
        ++moved;
        if (auto* m = std::get_if<outgoing_message>(&*r)) {
            if (auto sent = transport.send(now, m->stream, m->ppid, m->data, m->options); !sent)
                ep.handle_transmit_failure(now, m->stream, sent.error());
        } else if (auto* reset = std::get_if<stream_reset>(&*r)) {
            const std::uint16_t ids[1]{reset->stream};
            if (auto done = transport.reset_streams(now, ids); !done)
                ep.handle_transmit_failure(now, reset->stream, done.error());
        } else if (auto* low = std::get_if<low_threshold>(&*r)) {
            transport.set_buffered_amount_low_threshold(low->stream, low->bytes);
        } else if (auto* hold = std::get_if<window_hold>(&*r)) {
            if constexpr (holding_transport<T>) transport.hold_delivered(hold->bytes);
        } else if (auto* release = std::get_if<window_release>(&*r)) {
            // A reopened window's update SACK is queued by the association itself (its
            // poll_transmit); the result only says that one is due.
            if constexpr (holding_transport<T>) (void)transport.release_delivered(release->bytes);
        }
    }
    return moved;
}

// One user message on `ch`: the endpoint validates it (after its queued requests went out,
// so an OPEN precedes the data) and the transport copies it once, into its send queue. That
// is the only copy on the way down: outgoing_message borrows the caller's bytes.
template <message_transport T>
result<void> send(time_point now, endpoint& ep, T& transport, const channel& ch, bytes_view data, bool binary)
{
    transmit_to(now, ep, transport);
    auto m = binary ? ch.send(now, data) : ch.send(now, as_string_view(data));
    if (!m) return m.error();
    return transport.send(now, m->stream, m->ppid, m->data, m->options);
}

// The same with the caller's buffer handed over: when the message goes as it is (an empty one
// goes as one byte with PPID 56 or 57 instead), a transport that takes a vector
// (sctp::association) keeps this one as its send queue's copy, so a runtime that had to copy
// the user's bytes for an asynchronous call copies them no further.
template <message_transport T>
result<void> send(time_point now, endpoint& ep, T& transport, const channel& ch, std::vector<std::byte>&& data,
                  bool binary)
{
    transmit_to(now, ep, transport);
    const bytes_view bytes(data);
    auto m = binary ? ch.send(now, bytes) : ch.send(now, as_string_view(bytes));
    if (!m) return m.error();
    if (m->data.data() == bytes.data() && m->data.size() == bytes.size())
        return transport.send(now, m->stream, m->ppid, std::move(data), m->options);
    return transport.send(now, m->stream, m->ppid, m->data, m->options);
}

}  // namespace peerkit::datachannel
