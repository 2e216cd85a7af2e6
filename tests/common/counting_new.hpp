// Counting replacements of the global allocation functions, for the tests and benchmarks that
// show "allocates nothing" or "copies once" by counting rather than assuming.
//
// Include this header in exactly ONE translation unit of a program: the replacements below are
// definitions ([replacement.functions] allows one per program, and they may not be inline).
// Every form is replaced, the nothrow and array ones included: a form left to the library (or
// to ASan) would allocate memory that our operator delete then frees with free(), which ASan
// reports as alloc-dealloc-mismatch (the DTLS certificate is made with new (std::nothrow)).
//
// Read the counts through `peerkit_test::allocations`, or open an `allocation_window` to count
// only what a piece of code allocates (optionally only allocations of at least N bytes: a copy
// of a payload into a new buffer needs one).
#pragma once

#include <malloc.h>  // malloc_usable_size (glibc; ASan intercepts it too)

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace peerkit_test {

struct allocation_counter {
    std::atomic<bool> enabled{true};       // counts only while set
    std::atomic<std::size_t> min_size{0};  // counts only allocations of at least this many bytes
    std::atomic<std::uint64_t> count{0};   // allocations counted
    std::atomic<std::uint64_t> bytes{0};   // bytes asked for by the counted allocations
    std::atomic<std::int64_t> live_bytes{0};  // usable bytes held now (every allocation, counted or not)

    void on_allocate(std::size_t size, void* p) noexcept
    {
        live_bytes.fetch_add(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
        if (!enabled.load(std::memory_order_relaxed) || size < min_size.load(std::memory_order_relaxed)) return;
        count.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(size, std::memory_order_relaxed);
    }
    void on_free(void* p) noexcept
    {
        if (p != nullptr)
            live_bytes.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    }
};

inline allocation_counter allocations;

// Counts the allocations (of at least `min_size` bytes) made while it lives; the counter is
// disabled when it ends, so one window's count is not disturbed by what runs between windows.
class allocation_window {
public:
    explicit allocation_window(std::size_t min_size = 0) noexcept
    {
        allocations.enabled = false;
        allocations.min_size = min_size;
        start_ = allocations.count.load();
        allocations.enabled = true;
    }
    ~allocation_window() { allocations.enabled = false; }
    allocation_window(const allocation_window&) = delete;
    allocation_window& operator=(const allocation_window&) = delete;

    [[nodiscard]] std::uint64_t count() const noexcept { return allocations.count.load() - start_; }

private:
    std::uint64_t start_ = 0;
};

namespace detail {
inline void* counted_malloc(std::size_t size) noexcept
{
    void* p = std::malloc(size == 0 ? 1 : size);
    if (p != nullptr) allocations.on_allocate(size, p);
    return p;
}
inline void counted_free(void* p) noexcept
{
    allocations.on_free(p);
    std::free(p);
}
}  // namespace detail

}  // namespace peerkit_test

// g++ 12 at -O2 inlines these into new/delete pairs of this translation unit and warns that
// free() meets operator new (-Wmismatched-new-delete), which is what a replacement does: not
// inlined, and the warning silenced for these definitions.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
[[gnu::noinline]] void* operator new(std::size_t size)
{
    if (void* p = peerkit_test::detail::counted_malloc(size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size)
{
    if (void* p = peerkit_test::detail::counted_malloc(size)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
    return peerkit_test::detail::counted_malloc(size);
}
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept
{
    return peerkit_test::detail::counted_malloc(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { peerkit_test::detail::counted_free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { peerkit_test::detail::counted_free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { peerkit_test::detail::counted_free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { peerkit_test::detail::counted_free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { peerkit_test::detail::counted_free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { peerkit_test::detail::counted_free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
