// The OpenSSL crypto policy the STUN tests hash and sign with (MESSAGE-INTEGRITY, long-term
// keys, transaction ids): one stateless provider shared by every file, so that the files of
// tests/stun/ can be compiled as one unit (tests/CMakeLists.txt).
#pragma once

#include <peerkit/crypto/openssl.hpp>

namespace stun_test {

inline const peerkit::crypto::openssl_provider crypto_provider;

}  // namespace stun_test
