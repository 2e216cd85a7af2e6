// Stream reset (RFC 6525) as WebRTC uses it to close data channels (RFC 8831 6.7): the request
// sequence numbers of both directions, our one request in flight and the streams waiting for
// the next, the peer's request waiting for its data to arrive ("in progress", 5.2.2), and the
// response to send. dcSCTP's stream_reset_handler is the model. The association owns the
// retransmission timer and the streams themselves: it resets its send and receive queues when
// this piece says a reset is done.
//
//   sctp::stream_reset r;
//   r.start(my_initial_tsn, peer_initial_tsn);          // at ESTABLISHED
//   r.want(id);  r.begin_request(max, last_tsn, ready);  // our outgoing streams (5.1.2)
//   r.on_reset_request(req, inbound, last_tsn);          // the peer's outgoing streams (5.2.2)
//   if (auto done = r.take_ready(cumulative_tsn)) ...    // reset them now, answer "performed"
//   if (r.has_chunk_to_send()) r.write(w);               // RE-CONFIG, at most request + response
//
// Invariants (tests/sctp_parts/stream_reset_test.cpp):
//   - at most one request of ours is outstanding (5.1.1), retransmitted with the same number;
//   - our request numbers start at our initial TSN and grow by one per request; the peer's are
//     taken only in order: the expected one once, the previous one answered again as before,
//     any other one answered "bad sequence number" without state;
//   - at most one request of the peer waits, and a request naming a stream beyond the
//     negotiated ones is denied before anything is stored; so what the peer's requests hold
//     is bounded by one request (one packet), and the work per request by its streams;
//   - at most one response waits to be sent (a newer answer replaces it).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/sctp/chunks.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::sctp {

class stream_reset {
public:
    // TSNs unwrapped into 64 bits by the association (RFC 9260 1.6).
    using tsn64 = std::uint64_t;

    // The peer's request, waiting until everything sent before it has arrived.
    struct incoming_reset {
        std::uint32_t seq = 0;
        tsn64 last_tsn = 0;
        std::vector<std::uint16_t> streams;  // empty: all streams
    };
    // How a Re-configuration Response to our request ended it.
    enum class response_outcome : std::uint8_t {
        ignored,      // not an answer to our outstanding request
        in_progress,  // 5.1.1: ask again later with the same number
        performed,    // success (performed, or nothing to do): the streams restart at 0
        refused,      // any other result: the streams keep their numbers
    };
    // Largest RE-CONFIG chunk write() may produce for the request of at most `streams` streams
    // and one response: 4 (chunk header) + 16 + 2 per stream (4.1) + 12 (4.4), + 4 padding.
    static constexpr std::size_t chunk_size_for(std::size_t streams) noexcept { return 4 + 16 + 2 * streams + 12 + 4; }

    // RFC 6525 5.1.1: request sequence numbers start at the sender's initial TSN.
    void start(std::uint32_t my_initial_tsn, std::uint32_t peer_initial_tsn) noexcept
    {
        next_seq_ = my_initial_tsn;
        peer_seq_ = peer_initial_tsn;
    }

    // ---- our outgoing streams (RFC 6525 5.1.2) ---------------------------------------------
    // A stream to reset in a later request (the association marks it "resetting" so that it
    // is named once).
    void want(std::uint16_t stream) { wanted_.push_back(stream); }
    [[nodiscard]] bool request_outstanding() const noexcept { return request_seq_.has_value(); }
    [[nodiscard]] std::optional<std::uint32_t> outstanding_request() const noexcept { return request_seq_; }
    [[nodiscard]] std::span<const std::uint16_t> in_flight() const noexcept { return in_flight_; }
    [[nodiscard]] std::size_t waiting() const noexcept { return wanted_.size(); }
    [[nodiscard]] std::uint32_t next_request_sequence() const noexcept { return next_seq_; }

    // Starts the next request with up to `max_streams` waiting streams when none is
    // outstanding (5.1.1). `ready(stream)` says whether the messages accepted on it before the
    // reset all have TSNs: the request names the last TSN we assigned (5.1.2), so it waits
    // until they do. Returns true when a request started.
    template <class Ready>
    bool begin_request(std::size_t max_streams, tsn64 last_assigned_tsn, Ready&& ready)
    {
        if (request_seq_ || wanted_.empty()) return false;
        const std::size_t batch = std::min(wanted_.size(), max_streams);
        for (std::size_t i = 0; i < batch; ++i)
            if (!ready(wanted_[i])) return false;
        in_flight_.assign(wanted_.begin(), wanted_.begin() + static_cast<std::ptrdiff_t>(batch));
        wanted_.erase(wanted_.begin(), wanted_.begin() + static_cast<std::ptrdiff_t>(batch));
        request_seq_ = next_seq_++;
        request_last_tsn_ = last_assigned_tsn;
        send_request_ = true;
        return true;
    }
    // The retransmission timer expired: send the outstanding request again, same number.
    void retransmit_request() noexcept
    {
        if (request_seq_) send_request_ = true;
    }
    // A Re-configuration Response. With performed or refused, the request is over: take its
    // streams with finish_request().
    [[nodiscard]] response_outcome on_response(const reconfig_response& response) noexcept
    {
        ++work_;
        if (!request_seq_ || response.response_sequence != *request_seq_) return response_outcome::ignored;
        if (response.result == reconfig_result::in_progress) return response_outcome::in_progress;
        const bool ok = response.result == reconfig_result::success_performed ||
                        response.result == reconfig_result::success_nothing_to_do;
        request_seq_.reset();
        send_request_ = false;
        return ok ? response_outcome::performed : response_outcome::refused;
    }
    [[nodiscard]] std::vector<std::uint16_t> finish_request() noexcept
    {
        std::vector<std::uint16_t> done = std::move(in_flight_);
        in_flight_.clear();
        return done;
    }

    // ---- the peer's outgoing streams, our incoming ones (RFC 6525 5.2.2) --------------------
    // An Outgoing SSN Reset Request. `last_tsn` is its Sender's Last Assigned TSN, unwrapped.
    // When it is accepted, take_ready() says when to perform it.
    void on_reset_request(const outgoing_reset_request& request, std::uint16_t inbound_streams, tsn64 last_tsn)
    {
        ++work_;
        const std::uint32_t seq = request.request_sequence;
        if (seq == peer_seq_) {
            if (pending_) {
                answer(seq, reconfig_result::in_progress);
                return;
            }
            // Stream ids are checked before any per-stream state grows: a request naming a
            // stream that was never negotiated is refused whole, with the result "Denied"
            // (RFC 6525 4.4), and its sequence number is used up like any answered request.
            for (const std::uint16_t id : request.streams) {
                ++work_;
                if (id >= inbound_streams) {
                    ++peer_seq_;
                    last_response_ = {seq, reconfig_result::denied};
                    response_ = last_response_;
                    return;
                }
            }
            incoming_reset pending;
            pending.seq = seq;
            pending.last_tsn = last_tsn;
            pending.streams.reserve(request.streams.size());  // exactly one request's worth
            for (const std::uint16_t id : request.streams) pending.streams.push_back(id);
            pending_ = std::move(pending);
            // Until take_ready() performs it: "in progress" (5.2.2), replaced by the result.
            answer(seq, reconfig_result::in_progress);
        } else if (seq + 1 == peer_seq_ && last_response_ && last_response_->first == seq) {
            response_ = last_response_;  // a retransmitted request
        } else {
            answer(seq, reconfig_result::error_bad_sequence_number);
        }
    }
    // The peer's other requests: we reset our outgoing streams only when our user asks
    // (WebRTC closes channels from each side), and neither add streams nor reset TSNs.
    void on_other_request(const reconfig_parameter& p)
    {
        ++work_;
        if (const auto* incoming = std::get_if<incoming_reset_request>(&p)) {
            const std::uint32_t seq = incoming->request_sequence;
            if (seq == peer_seq_) {
                ++peer_seq_;
                last_response_ = {seq, reconfig_result::denied};
            }
            answer(seq, reconfig_result::denied);
        } else if (const auto* other = std::get_if<ssn_tsn_reset_request>(&p)) {
            answer(other->request_sequence, reconfig_result::denied);
        } else if (const auto* add = std::get_if<add_streams_request>(&p)) {
            answer(add->request_sequence, reconfig_result::denied);
        }
    }
    // RFC 6525 5.2.2: once every TSN up to the request's last one has arrived, the reset is
    // performed: the waiting request comes out (the association resets the streams' receive
    // state) and "performed" is the answer.
    [[nodiscard]] std::optional<incoming_reset> take_ready(tsn64 cumulative_tsn)
    {
        if (!pending_ || cumulative_tsn < pending_->last_tsn) return std::nullopt;
        incoming_reset r = std::move(*pending_);
        pending_.reset();
        response_ = {r.seq, reconfig_result::success_performed};
        last_response_ = response_;
        ++peer_seq_;
        return r;
    }
    [[nodiscard]] bool incoming_pending() const noexcept { return pending_.has_value(); }
    [[nodiscard]] std::uint32_t expected_peer_sequence() const noexcept { return peer_seq_; }

    // ---- the RE-CONFIG chunk out -----------------------------------------------------------
    [[nodiscard]] bool has_chunk_to_send() const noexcept { return (send_request_ && request_seq_) || response_; }
    // What write() needs at most (the caller checks the room left in its packet).
    [[nodiscard]] std::size_t chunk_size_bound() const noexcept { return chunk_size_for(in_flight_.size()); }
    // One RE-CONFIG chunk: our request (4.1) and / or the response (4.4).
    void write(byte_writer& w)
    {
        std::optional<reconfig_parameter> first, second;
        if (send_request_ && request_seq_) {
            // RFC 6525 4.1: Outgoing SSN Reset Request.
            first = outgoing_reset_request{*request_seq_, peer_seq_ - 1, static_cast<std::uint32_t>(request_last_tsn_),
                                           wire_array<std::uint16_t>(std::span<const std::uint16_t>(in_flight_))};
            send_request_ = false;
        }
        if (response_) {
            // RFC 6525 4.4: Re-configuration Response.
            reconfig_response response;
            response.response_sequence = response_->first;
            response.result = response_->second;
            (first ? second : first) = response;
            response_.reset();
        }
        if (first) reconfig_chunk{*first, second}.write(w);
    }

    // Bytes held: our waiting and in-flight stream lists and the peer's waiting request.
    [[nodiscard]] std::size_t bytes_held() const noexcept
    {
        return (wanted_.capacity() + in_flight_.capacity() + (pending_ ? pending_->streams.capacity() : 0)) *
               sizeof(std::uint16_t);
    }
    // Steps taken: one per parameter handled and one per stream id a peer's request named.
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }

private:
    void answer(std::uint32_t seq, reconfig_result result) noexcept { response_ = {seq, result}; }

    std::uint32_t next_seq_ = 0;              // our next request sequence number
    std::uint32_t peer_seq_ = 0;              // the peer's next expected request number
    std::vector<std::uint16_t> wanted_;       // streams waiting for a request
    std::optional<std::uint32_t> request_seq_;  // request in flight
    bool send_request_ = false;
    std::vector<std::uint16_t> in_flight_;
    tsn64 request_last_tsn_ = 0;
    std::optional<incoming_reset> pending_;
    std::optional<std::pair<std::uint32_t, reconfig_result>> response_;  // to send
    std::optional<std::pair<std::uint32_t, reconfig_result>> last_response_;
    std::uint64_t work_ = 0;
};

}  // namespace peerkit::sctp
