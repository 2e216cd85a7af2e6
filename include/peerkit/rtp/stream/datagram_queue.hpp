// The stream machines' output queue: whole datagrams (RTP packets or RTCP compounds) waiting
// for poll_transmit() / poll_rtcp(), at most `capacity` of them. A ring of buffers made once:
// each buffer keeps its storage from one datagram to the next, so a queue that has carried its
// largest datagrams stops allocating. What poll() returns is borrowed: valid until the next
// non-const call of the queue's owner.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>

#include <cstddef>
#include <optional>
#include <vector>

namespace peerkit::rtp::stream {

class datagram_queue {
public:
    // One slot more than the capacity: the datagram poll() lent out keeps its slot while the
    // queue fills up to capacity behind it.
    explicit datagram_queue(std::size_t capacity = 64) : capacity_(capacity), slots_(capacity + 1) {}

    [[nodiscard]] bool full() const noexcept { return count_ >= capacity_; }

    // Lets `write(mutable_bytes) -> result<mutable_bytes>` fill a buffer of `size` bytes and
    // queues what it wrote. False (nothing queued) when the queue is full or `write` failed.
    template <class Write>
    bool push(std::size_t size, Write&& write)
    {
        if (full()) return false;
        std::vector<std::byte>& buffer = slots_[(head_ + count_) % slots_.size()];
        buffer.resize(size);  // allocates only the first time a slot sees this size
        auto written = write(mutable_bytes{buffer});
        if (!written) return false;
        buffer.resize(written->size());
        bytes_held_ += buffer.size();
        ++count_;
        return true;
    }

    std::optional<bytes_view> poll()
    {
        if (count_ == 0) return std::nullopt;
        const std::vector<std::byte>& buffer = slots_[head_];
        head_ = (head_ + 1) % slots_.size();
        --count_;
        bytes_held_ -= buffer.size();
        return bytes_view{buffer};
    }

    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return bytes_held_; }

private:
    std::size_t capacity_;
    std::vector<std::vector<std::byte>> slots_;
    std::size_t head_ = 0;   // the oldest queued datagram
    std::size_t count_ = 0;
    std::size_t bytes_held_ = 0;
};

}  // namespace peerkit::rtp::stream
