// OpenSSL's own allocations into the counter of counting_new.hpp, for the benchmarks that
// promise "no allocation per packet" on paths that call OpenSSL. Call
// count_openssl_allocations() first thing in main(): CRYPTO_set_mem_functions fails once
// OpenSSL has allocated anything.
#pragma once

#include "counting_new.hpp"

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdlib>

namespace peerkit_test {

namespace detail {
inline void* counted_crypto_malloc(std::size_t size, const char*, int) { return counted_malloc(size); }
inline void* counted_crypto_realloc(void* p, std::size_t size, const char*, int)
{
    allocations.on_free(p);
    void* q = std::realloc(p, size == 0 ? 1 : size);
    if (q != nullptr) allocations.on_allocate(size, q);
    return q;
}
inline void counted_crypto_free(void* p, const char*, int) { counted_free(p); }
}  // namespace detail

[[nodiscard]] inline bool count_openssl_allocations() noexcept
{
    return CRYPTO_set_mem_functions(detail::counted_crypto_malloc, detail::counted_crypto_realloc,
                                    detail::counted_crypto_free) == 1;
}

}  // namespace peerkit_test
