// Send side: messages given to send() until their last byte is cut into a chunk (RFC 9260
// 6.1, 6.9; RFC 8260 for I-DATA), per stream, taken in turns.
//
//   tx::send_queue q;
//   tx::out_message* m = q.new_message();  ... fill data, ppid, options ...
//   q.add(stream, m);
//   while (auto id = q.next_stream()) { ... cut a fragment of q.stream(*id).queue.front() ...
//                                       q.on_cut(*id, fragment, interleave, on_low); }
//
// What it owns: the message records (pooled, their buffers reused), each stream's queue, next
// SSN / MIDs and reset flag, the round robin over streams with queued data (per message with
// DATA, per chunk with I-DATA), each stream's buffered amount and its low threshold, and the
// expiry of queued messages with a lifetime (RFC 3758 3.5 A1).
//
// Invariants (tests/sctp_loss/tx_queues_test.cpp):
//   - queued_bytes() == sum over streams of buffered() == payload bytes not yet cut into chunks;
//   - bytes_held() == sum over live message records of (payload size + message_cost): a record
//     lives while it is queued or a chunk of it is in the retransmission queue (refs);
//   - a stream is in the round robin (scheduled) at most once, and whenever its queue holds
//     a message;
//   - a buffered-amount-low notice is given when a stream's buffered amount crosses its
//     threshold downwards, once per crossing.
// Work: add O(1); cutting O(1) per chunk; expiry O(1) per message it drops.
#pragma once

#include <peerkit/sctp/association_types.hpp>
#include <peerkit/sctp/detail/association_ring.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace peerkit::sctp::tx {

struct out_message {
    std::vector<std::byte> data;
    std::uint16_t stream = 0;
    std::uint32_t ppid = 0;
    bool unordered = false;
    bool numbered = false;   // an SSN / MID was assigned (its first fragment was sent)
    bool abandoned = false;  // RFC 3758: given up on
    std::uint32_t seq = 0;   // SSN (DATA) or MID (I-DATA)
    std::uint32_t next_fsn = 0;  // I-DATA fragment sequence number of the next fragment
    std::size_t offset = 0;  // bytes already cut into chunks
    std::uint32_t refs = 0;  // chunks in flight, plus one while in its stream's queue
    std::optional<std::uint16_t> max_retransmissions;
    std::optional<time_point> expires;
    // The retransmission queue's index of this message's chunks (G12): the TSN of the first
    // one not yet cumulatively acknowledged and of the last one sent (0: none). The chunks
    // link to the next chunk of the same message, so abandoning walks only this message.
    std::uint64_t first_tsn = 0;
    std::uint64_t last_tsn = 0;
};

struct out_stream {
    detail::ring<out_message*> queue;
    std::uint32_t next_ssn = 0;            // next SSN, or next ordered MID with I-DATA
    std::uint32_t next_unordered_mid = 0;  // I-DATA: unordered messages have MIDs too
    std::size_t buffered = 0;
    std::size_t low_threshold = 0;
    bool scheduled = false;  // in the round robin
    bool resetting = false;  // reset requested: no new messages
};

class send_queue {
public:
    // What a message record costs besides its payload (counted in bytes_held()).
    static constexpr std::size_t message_cost = sizeof(out_message);

    [[nodiscard]] std::size_t queued_bytes() const noexcept { return queued_bytes_; }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return held_; }
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }
    [[nodiscard]] std::size_t buffered(std::uint16_t stream) const noexcept
    {
        return stream < streams_.size() ? streams_[stream].buffered : 0;
    }
    [[nodiscard]] bool resetting(std::uint16_t stream) const noexcept
    {
        return stream < streams_.size() && streams_[stream].resetting;
    }
    // The stream's state, created on first use (streams are bounded by the negotiated count).
    out_stream& stream(std::uint16_t id)
    {
        if (id >= streams_.size()) streams_.resize(std::size_t{id} + 1);
        return streams_[id];
    }
    void set_low_threshold(std::uint16_t id, std::size_t bytes) { stream(id).low_threshold = bytes; }

    // A cleared message record from the pool; its buffer keeps its capacity.
    out_message* new_message()
    {
        if (free_.empty()) {
            pool_.push_back(std::make_unique<out_message>());
            free_.push_back(pool_.back().get());
        }
        out_message* m = free_.back();
        free_.pop_back();
        auto keep = std::move(m->data);
        *m = out_message{};
        m->data = std::move(keep);
        m->data.clear();
        return m;
    }
    // Queues a filled message at the end of its stream; the queue holds one reference.
    void add(std::uint16_t id, out_message* m)
    {
        ++work_;
        m->stream = id;
        m->refs = 1;
        auto& s = stream(id);
        s.queue.push_back() = m;
        s.buffered += m->data.size();
        queued_bytes_ += m->data.size();
        held_ += m->data.size() + message_cost;
        if (!s.scheduled) {
            s.scheduled = true;
            active_.push_back() = id;
        }
    }
    // Drops one reference (a chunk left the retransmission queue, or the message left its
    // stream's queue); the record returns to the pool with the last.
    void release(out_message* m)
    {
        assert(m->refs > 0);
        if (--m->refs != 0) return;
        held_ -= m->data.size() + message_cost;
        free_.push_back(m);
    }

    // The stream whose turn it is, with a message queued; nullopt when none is.
    std::optional<std::uint16_t> next_stream()
    {
        while (!active_.empty()) {
            const std::uint16_t id = active_.front();
            out_stream& s = streams_[id];
            if (!s.queue.empty()) return id;
            ++work_;
            s.scheduled = false;
            active_.pop_front();
        }
        return std::nullopt;
    }
    // Gives the stream's front message its SSN / MID when its first fragment goes out.
    // RFC 9260 6.5: SSNs are 16 bits, unordered DATA has none; RFC 8260 2.1: MIDs are 32 bits
    // and count ordered and unordered messages separately.
    static void number(out_stream& s, out_message& m, bool i_data) noexcept
    {
        if (m.numbered) return;
        m.numbered = true;
        if (i_data) {
            m.seq = m.unordered ? s.next_unordered_mid++ : s.next_ssn++;
        } else if (!m.unordered) {
            m.seq = s.next_ssn;
            s.next_ssn = static_cast<std::uint16_t>(s.next_ssn + 1);
        }
    }
    // `fragment` more bytes of the stream's front message went into a chunk. A message fully
    // cut leaves the queue and the next stream takes its turn (round robin per message: DATA
    // needs a message's fragments on consecutive TSNs, RFC 9260 6.9); with `interleave`
    // (I-DATA, RFC 8260) streams take turns per chunk, so one large message does not hold the
    // others back. Returns true when the message was fully cut.
    template <class OnLow>
    bool on_cut(std::uint16_t id, std::size_t fragment, bool interleave, OnLow&& on_low)
    {
        ++work_;
        out_stream& s = streams_[id];
        out_message* m = s.queue.front();
        m->offset += fragment;
        decrease(id, fragment, on_low);
        if (m->offset == m->data.size()) {
            s.queue.pop_front();
            release(m);
            active_.pop_front();
            if (!s.queue.empty()) {
                active_.push_back() = id;
            } else {
                s.scheduled = false;
            }
            return true;
        }
        if (interleave && active_.size() > 1) {
            active_.pop_front();
            active_.push_back() = id;
        }
        return false;
    }
    // RFC 3758 3.5: the part of an abandoned message never cut into chunks is never sent.
    // Only the stream's front message can be partly cut (DATA) or, with I-DATA, numbered.
    template <class OnLow>
    void drop_unsent(out_message* m, OnLow&& on_low)
    {
        if (m->offset >= m->data.size()) return;
        ++work_;
        decrease(m->stream, m->data.size() - m->offset, on_low);
        m->offset = m->data.size();
        auto& s = stream(m->stream);
        if (!s.queue.empty() && s.queue.front() == m) {
            s.queue.pop_front();
            release(m);
        }
    }
    // RFC 3758 3.5 A1: messages at the front of stream `id` whose lifetime ended before their
    // first transmission are dropped (they have no TSN or SSN yet); one already numbered (half
    // sent) goes to abandon_numbered(m), which must take it off the queue (drop_unsent).
    // Returns the messages dropped here.
    template <class AbandonNumbered, class OnLow>
    std::size_t expire(time_point now, std::uint16_t id, AbandonNumbered&& abandon_numbered, OnLow&& on_low)
    {
        std::size_t dropped = 0;
        out_stream& s = stream(id);
        while (!s.queue.empty()) {
            out_message* m = s.queue.front();
            if (!m->expires || *m->expires > now) break;
            ++work_;
            if (m->numbered) {
                abandon_numbered(m);
                continue;
            }
            ++dropped;
            decrease(id, m->data.size() - m->offset, on_low);
            s.queue.pop_front();
            release(m);
        }
        return dropped;
    }
    // expire() on every stream with queued messages.
    template <class AbandonNumbered, class OnLow>
    std::size_t expire_all(time_point now, AbandonNumbered&& abandon_numbered, OnLow&& on_low)
    {
        std::size_t dropped = 0;
        for (std::size_t id = 0; id < streams_.size(); ++id)
            if (!streams_[id].queue.empty())
                dropped += expire(now, static_cast<std::uint16_t>(id), abandon_numbered, on_low);
        return dropped;
    }

private:
    template <class OnLow>
    void decrease(std::uint16_t id, std::size_t bytes, OnLow& on_low)
    {
        auto& s = streams_[id];
        const std::size_t before = s.buffered;
        assert(bytes <= s.buffered && bytes <= queued_bytes_);
        s.buffered -= bytes;
        queued_bytes_ -= bytes;
        if (before > s.low_threshold && s.buffered <= s.low_threshold) on_low(id);
    }

    std::vector<out_stream> streams_;
    detail::ring<std::uint16_t> active_;  // round robin over streams with queued data
    std::vector<std::unique_ptr<out_message>> pool_;
    std::vector<out_message*> free_;
    std::size_t queued_bytes_ = 0;  // not yet cut into chunks
    std::size_t held_ = 0;          // G9: payload and records of live messages
    std::uint64_t work_ = 0;
};

}  // namespace peerkit::sctp::tx
