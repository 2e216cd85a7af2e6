// A growable ring buffer for the association's TSN-ordered queues (chunks in flight,
// received chunks awaiting reassembly). Unlike std::deque it keeps its storage when elements
// leave, so a queue that has reached its working size never allocates again: the steady state
// of a busy association makes no heap allocation per packet.
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace peerkit::sctp::detail {

template <class T>
class ring {
public:
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }

    T& operator[](std::size_t i) noexcept
    {
        assert(i < size_);
        return slots_[(head_ + i) & (slots_.size() - 1)];
    }
    const T& operator[](std::size_t i) const noexcept
    {
        assert(i < size_);
        return slots_[(head_ + i) & (slots_.size() - 1)];
    }
    T& front() noexcept { return (*this)[0]; }
    T& back() noexcept { return (*this)[size_ - 1]; }

    // Appends a slot and returns it. The slot keeps whatever its previous occupant left
    // (notably vector capacity), so callers assign every field they use.
    T& push_back()
    {
        if (size_ == slots_.size()) grow(size_ + 1);
        ++size_;
        return back();
    }
    // Makes sure index i exists, appending slots as needed (they keep old contents).
    void extend_to(std::size_t count)
    {
        if (count > slots_.size()) grow(count);
        size_ = count > size_ ? count : size_;
    }
    void pop_front() noexcept
    {
        assert(size_ != 0);
        head_ = (head_ + 1) & (slots_.size() - 1);
        --size_;
    }
    void clear() noexcept
    {
        head_ = 0;
        size_ = 0;
    }

private:
    void grow(std::size_t needed)
    {
        std::size_t cap = slots_.empty() ? 16 : slots_.size();
        while (cap < needed) cap *= 2;
        std::vector<T> bigger(cap);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
        // Moved-from tail slots of the old storage are dropped; new slots are default.
        slots_ = std::move(bigger);
        head_ = 0;
    }

    std::vector<T> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace peerkit::sctp::detail
