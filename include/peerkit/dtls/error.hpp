// peerkit::dtls errors: one category ("peerkit.dtls") shared by the concept and every
// backend, so that code driving a session compares against dtls::errc whatever the TLS
// library behind it.
#pragma once

#include <peerkit/error.hpp>

#include <string_view>
#include <system_error>
#include <type_traits>

namespace peerkit::dtls {

enum class errc {
    // Fingerprints (RFC 8122 section 5, the SDP a=fingerprint attribute).
    bad_fingerprint = 1,       // the text is not "<hash-func> <HEX:HEX:...>"
    unknown_hash_function,     // a hash name RFC 8122 does not register
    no_usable_fingerprint,     // none of the expected fingerprints uses a hash we accept
    fingerprint_mismatch,      // the peer's certificate matches no expected fingerprint
    no_peer_certificate,       // the peer did not present a certificate
    // Session use.
    not_dtls,                  // the datagram's first byte is not 20..63 (RFC 7983 section 7)
    datagram_too_large,        // larger than session_config::max_datagram_size
    not_connected,             // application data or keying material before the handshake
    message_too_large,         // application data does not fit into one record within the MTU
    session_closed,            // the session was closed (close_notify) or has failed
    handshake_timeout,         // no handshake within session_config::handshake_timeout
    handshake_failed,          // the TLS library failed the handshake (alert, bad record...)
    peer_alert,                // the peer sent a fatal alert
    protocol_error,            // the peer violated DTLS after the handshake (we sent an alert)
    bad_keying_material_request,  // export_keying_material with a bad label or length
    // Certificates and the backend.
    certificate_error,         // generating, loading or encoding a certificate failed
    backend_error,             // the TLS library failed in a way that is not the peer's fault
    bad_config,                // a configuration value is out of range
};

}  // namespace peerkit::dtls

template <>
struct std::is_error_code_enum<peerkit::dtls::errc> : std::true_type {};

template <>
struct peerkit::error_traits<peerkit::dtls::errc> {
    static constexpr const char* name = "peerkit.dtls";
    static constexpr std::string_view describe(peerkit::dtls::errc e) noexcept
    {
        using peerkit::dtls::errc;
        switch (e) {
        case errc::bad_fingerprint: return "malformed certificate fingerprint";
        case errc::unknown_hash_function: return "unknown fingerprint hash function";
        case errc::no_usable_fingerprint: return "no expected fingerprint uses an acceptable hash function";
        case errc::fingerprint_mismatch: return "peer certificate does not match the expected fingerprint";
        case errc::no_peer_certificate: return "peer presented no certificate";
        case errc::not_dtls: return "datagram is not a DTLS record";
        case errc::datagram_too_large: return "datagram exceeds the configured maximum size";
        case errc::not_connected: return "DTLS handshake not complete";
        case errc::message_too_large: return "application data does not fit into one DTLS record";
        case errc::session_closed: return "DTLS session is closed";
        case errc::handshake_timeout: return "DTLS handshake timed out";
        case errc::handshake_failed: return "DTLS handshake failed";
        case errc::peer_alert: return "peer sent a fatal DTLS alert";
        case errc::protocol_error: return "DTLS protocol violation";
        case errc::bad_keying_material_request: return "bad keying material export request";
        case errc::certificate_error: return "certificate error";
        case errc::backend_error: return "TLS library error";
        case errc::bad_config: return "bad DTLS configuration";
        }
        return "unknown DTLS error";
    }
};

namespace peerkit::dtls {
inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), peerkit::category_of<errc>()};
}
}  // namespace peerkit::dtls
