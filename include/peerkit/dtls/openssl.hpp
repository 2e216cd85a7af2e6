// The OpenSSL 3 DTLS backend (target peerkit::openssl): certificates, the shared context and
// the sans-IO session that satisfies peerkit::dtls::session.
#pragma once

#include <peerkit/dtls.hpp>
#include <peerkit/dtls/openssl/certificate.hpp>
#include <peerkit/dtls/openssl/context.hpp>
#include <peerkit/dtls/openssl/session.hpp>
