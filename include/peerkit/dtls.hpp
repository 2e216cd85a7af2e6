// peerkit DTLS, core part: the session concept, fingerprints, SRTP profiles, alert names and errors.
// The OpenSSL backend is include/peerkit/dtls/openssl.hpp (target peerkit::openssl).
#pragma once

#include <peerkit/dtls/alert.hpp>
#include <peerkit/dtls/concepts.hpp>
#include <peerkit/dtls/error.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/dtls/srtp.hpp>
