// The stream machines' output queue: whole datagrams (RTP packets or RTCP compounds) waiting
// for poll_transmit() / poll_rtcp(), at most `capacity` of them. Buffers are recycled, so a
// queue that runs at a steady size stops allocating. What poll() returns is borrowed: valid
// until the next non-const call of the queue's owner.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace peerkit::rtp::stream {

class datagram_queue {
public:
    explicit datagram_queue(std::size_t capacity = 64) noexcept : capacity_(capacity) {}

    [[nodiscard]] bool full() const noexcept { return queue_.size() >= capacity_; }

    // Lets `write(mutable_bytes) -> result<mutable_bytes>` fill a buffer of `size` bytes and
    // queues what it wrote. False (nothing queued) when the queue is full or `write` failed.
    template <class Write>
    bool push(std::size_t size, Write&& write)
    {
        if (full()) return false;
        std::vector<std::byte> buffer = take_spare();
        buffer.resize(size);
        auto written = write(mutable_bytes{buffer});
        if (!written) {
            spare_.push_back(std::move(buffer));
            return false;
        }
        buffer.resize(written->size());
        bytes_held_ += buffer.size();
        queue_.push_back(std::move(buffer));
        return true;
    }

    std::optional<bytes_view> poll()
    {
        if (current_.capacity() != 0) spare_.push_back(std::move(current_));
        current_ = {};
        if (queue_.empty()) return std::nullopt;
        current_ = std::move(queue_.front());
        queue_.pop_front();
        bytes_held_ -= current_.size();
        return bytes_view{current_};
    }

    [[nodiscard]] std::size_t size() const noexcept { return queue_.size(); }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return bytes_held_; }

private:
    std::vector<std::byte> take_spare()
    {
        if (spare_.empty()) return {};
        std::vector<std::byte> b = std::move(spare_.back());
        spare_.pop_back();
        return b;
    }

    std::size_t capacity_;
    std::deque<std::vector<std::byte>> queue_;
    std::vector<std::vector<std::byte>> spare_;
    std::vector<std::byte> current_;  // the datagram poll() lent out last
    std::size_t bytes_held_ = 0;
};

}  // namespace peerkit::rtp::stream
