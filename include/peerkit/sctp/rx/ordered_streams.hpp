// Ordered delivery per stream (RFC 9260 6.5 with SSNs, RFC 8260 2.1 with MIDs): the next
// sequence number of each stream, and complete messages that wait for earlier ones.
//
//   rx::ordered_streams s;
//   s.reset(rx::ordered_streams::width::ssn16);
//   s.accept(stream, ssn, ppid, std::move(data), pool, [&](std::uint32_t ppid, auto&& data) { ... });
//
// Invariants (tests/hostile_sctp/rx_components_test.cpp):
//   - every waiting message is ahead of its stream's next sequence number (serial
//     arithmetic, RFC 1982), and no (stream, sequence number) waits twice: a second complete
//     message with the same number is refused as a duplicate, never stored;
//   - bytes_held() == payload bytes waiting + entries * entry_cost;
//   - accepting costs O(log n) plus O(log n) per message it releases; FORWARD-TSN and stream
//     reset cost O(log n) per message they remove (work() counts the steps).
// The next sequence numbers live in a vector indexed by stream id, grown on first use to at
// most the negotiated inbound streams (4 bytes each): fixed state, not held on the peer's
// behalf, so not counted in bytes_held().
#pragma once

#include <peerkit/sctp/rx/data_tracker.hpp>
#include <peerkit/sctp/rx/node_cache.hpp>
#include <peerkit/sctp/rx/reassembly_queue.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace peerkit::sctp::rx {

class ordered_streams {
    struct waiting_message {
        std::uint32_t ppid = 0;
        std::vector<std::byte> data;
    };

public:
    enum class width { ssn16, mid32 };  // DATA's SSNs or I-DATA's MIDs
    enum class verdict {
        delivered,  // it was next: delivered, with whatever waited behind it
        stored,     // ahead of the next number: waits
        duplicate,  // a message with this number already waits: refused
        stale,      // behind the next number (skipped by FORWARD-TSN, RFC 3758 3.6): dropped
    };
    // A waiting message: its map node and its buffer's allocation, besides the payload.
    static constexpr std::size_t entry_cost =
        tree_node_overhead + sizeof(std::pair<const std::uint64_t, waiting_message>) + buffer_overhead;

    void reset(width w)
    {
        mask_ = w == width::ssn16 ? 0xFFFFu : 0xFFFFFFFFu;
        next_.clear();
        waiting_.clear();
        bytes_ = 0;
    }

    [[nodiscard]] std::size_t bytes_held() const noexcept { return bytes_; }
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }
    [[nodiscard]] std::size_t waiting_count() const noexcept { return waiting_.size(); }
    [[nodiscard]] std::uint32_t next(std::uint16_t stream) const noexcept
    {
        return stream < next_.size() ? next_[stream] : 0;
    }
    // a comes before b in serial arithmetic of the stream numbers' width.
    [[nodiscard]] bool before(std::uint32_t a, std::uint32_t b) const noexcept
    {
        return a != b && ((b - a) & mask_) <= (mask_ >> 1);
    }

    // A complete ordered message. deliver(ppid, std::vector<std::byte>&&) receives it and every
    // message it releases, in order. A refused message's buffer goes back to the pool.
    template <class Deliver>
    verdict accept(std::uint16_t stream, std::uint32_t seq, std::uint32_t ppid, std::vector<std::byte>&& data,
                   buffer_pool& pool, Deliver&& deliver)
    {
        ++work_;
        std::uint32_t& next = slot(stream);
        if (seq == next) {
            next = (next + 1) & mask_;
            deliver(ppid, std::move(data));
            drain(stream, deliver);
            return verdict::delivered;
        }
        if (!before(next, seq)) {
            pool.give(std::move(data));
            return verdict::stale;
        }
        const std::uint64_t k = key(stream, seq);
        const auto at = waiting_.lower_bound(k);
        if (at != waiting_.end() && at->first == k) {
            pool.give(std::move(data));
            return verdict::duplicate;
        }
        bytes_ += data.size() + entry_cost;
        nodes_.insert(waiting_, at, k, waiting_message{ppid, std::move(data)});
        return verdict::stored;
    }

    // Would a message with this number be stored (rather than delivered or refused)? Lets the
    // caller check its budget before taking the chunk.
    [[nodiscard]] bool would_wait(std::uint16_t stream, std::uint32_t seq) const noexcept
    {
        const std::uint32_t n = next(stream);
        return seq != n && before(n, seq);
    }

    // RFC 3758 3.6 / RFC 8260 2.3.1: messages up to and including `through` were abandoned:
    // those waiting go, the stream continues after `through`.
    template <class Deliver>
    void skip_through(std::uint16_t stream, std::uint32_t through, buffer_pool& pool, Deliver&& deliver)
    {
        ++work_;
        std::uint32_t& next = slot(stream);
        if (before(through, next)) return;  // already past it
        if (next <= through) {
            erase(stream, next, through, pool);
        } else {  // the range wraps
            erase(stream, next, mask_, pool);
            erase(stream, 0, through, pool);
        }
        next = (through + 1) & mask_;
        drain(stream, deliver);
    }

    // RFC 6525 5.2.2: the stream's numbers restart at 0; what waited goes (its bytes too).
    void reset_stream(std::uint16_t stream, buffer_pool& pool)
    {
        ++work_;
        if (stream < next_.size()) next_[stream] = 0;
        erase(stream, 0, mask_, pool);
    }
    void reset_all(buffer_pool& pool)
    {
        ++work_;
        next_.clear();
        for (auto& [k, m] : waiting_) {
            ++work_;
            pool.give(std::move(m.data));
        }
        waiting_.clear();
        bytes_ = 0;
    }

private:
    static std::uint64_t key(std::uint16_t stream, std::uint32_t seq) noexcept
    {
        return (std::uint64_t{stream} << 32) | seq;
    }
    std::uint32_t& slot(std::uint16_t stream)
    {
        if (stream >= next_.size()) next_.resize(std::size_t{stream} + 1, 0);
        return next_[stream];
    }
    template <class Deliver>
    void drain(std::uint16_t stream, Deliver& deliver)
    {
        std::uint32_t& next = next_[stream];
        for (auto it = waiting_.find(key(stream, next)); it != waiting_.end(); it = waiting_.find(key(stream, next))) {
            ++work_;
            bytes_ -= it->second.data.size() + entry_cost;
            const std::uint32_t ppid = it->second.ppid;
            std::vector<std::byte> data = std::move(it->second.data);
            nodes_.erase(waiting_, it);
            next = (next + 1) & mask_;
            deliver(ppid, std::move(data));
        }
    }
    void erase(std::uint16_t stream, std::uint32_t from, std::uint32_t through, buffer_pool& pool)
    {
        auto it = waiting_.lower_bound(key(stream, from));
        const auto end = waiting_.upper_bound(key(stream, through));
        while (it != end) {
            ++work_;
            bytes_ -= it->second.data.size() + entry_cost;
            pool.give(std::move(it->second.data));
            it = nodes_.erase(waiting_, it);
        }
    }

    std::uint32_t mask_ = 0xFFFFu;
    std::vector<std::uint32_t> next_;
    std::map<std::uint64_t, waiting_message> waiting_;  // (stream << 32 | number) -> message
    node_cache<std::map<std::uint64_t, waiting_message>> nodes_;
    std::size_t bytes_ = 0;
    std::uint64_t work_ = 0;
};

}  // namespace peerkit::sctp::rx
