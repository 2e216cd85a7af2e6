// An SRTP/SRTCP context (RFC 3711, RFC 7714): protects what this endpoint sends and
// unprotects what it receives, in place in the caller's buffer.
//
// Keys: from the keying material of a DTLS-SRTP session and the local DTLS role (RFC 5764
// 4.2: the client protects with the client's half and unprotects with the server's), or from
// raw master keys and salts. The session keys are derived once (key_derivation_rate 0) and
// each cipher is prepared once; per packet only the IV changes and nothing is allocated.
//
// Per-SSRC state (RFC 3711 3.2.3: ROC, highest sequence number, replay lists, SRTCP index) lives
// in two bounded tables, one for the SSRCs this side sends and one for those it receives, each
// of `config::max_ssrcs` entries reserved at construction. A hostile peer cannot grow them: a
// new SSRC beyond the limit fails with errc::too_many_ssrcs and changes nothing. A received
// SSRC is entered only once one of its packets authenticated.
//
// Unprotect changes state only after the packet authenticated: a tampered, replayed or forged
// packet leaves the ROC, the replay windows and the tables as they were. On any failure the
// buffer's bytes are unspecified (GCM decrypts before it can check the tag); drop the packet.
//
// Not here: MKI, key_derivation_rate other than 0, RFC 6904 header-extension encryption and
// cryptex (header extensions and CSRCs stay in the clear, authenticated).
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/dtls/srtp.hpp>
#include <peerkit/error.hpp>
#include <peerkit/srtp/error.hpp>
#include <peerkit/srtp/keys.hpp>
#include <peerkit/srtp/replay_window.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace peerkit::srtp {

struct config {
    // The most SSRCs each table (sent, received) holds. A WebRTC session has a handful per
    // media section (media, RTX, FEC, the RTCP-only receiver SSRC); 64 leaves room for simulcast.
    std::size_t max_ssrcs = 64;
};

// Counters for tests and monitoring. `crypto_bytes` counts the bytes the ciphers and the MAC
// went over: the work a packet caused, which stays proportional to the bytes it carried.
struct context_stats {
    std::uint64_t rtp_protected = 0;
    std::uint64_t rtp_unprotected = 0;
    std::uint64_t rtcp_protected = 0;
    std::uint64_t rtcp_unprotected = 0;
    std::uint64_t rejected = 0;  // unprotect failures of any kind
    std::uint64_t crypto_bytes = 0;
    std::size_t sent_ssrcs = 0;
    std::size_t received_ssrcs = 0;
};

// One side's master key and salt (RFC 3711 8.2).
struct master_key {
    bytes_view key;
    bytes_view salt;
};

inline constexpr std::uint64_t max_rtp_index = (std::uint64_t{1} << 48) - 1;  // RFC 3711 3.3.1
inline constexpr std::uint32_t max_rtcp_index = 0x7fffffffu;                  // RFC 3711 3.4
inline constexpr std::size_t rtp_fixed_header_size = 12;                      // RFC 3550 5.1
inline constexpr std::size_t rtcp_header_size = 8;                            // RFC 3711 3.4: through the SSRC
inline constexpr std::size_t rtcp_index_size = 4;                             // E flag and 31-bit index

// RFC 3711 Appendix A: the index a received sequence number most probably has, given the
// stream's ROC and highest sequence number s_l. Returns the guessed ROC.
[[nodiscard]] constexpr std::uint64_t estimate_roc(std::uint32_t roc, std::uint16_t s_l, std::uint16_t seq) noexcept
{
    if (s_l < 32768) {
        // A sequence number far above s_l is from before the last rollover (if there was one).
        if (seq > s_l && seq - s_l > 32768 && roc > 0) return std::uint64_t{roc} - 1;
        return roc;
    }
    // s_l in the upper half: a number far below it is after the next rollover.
    if (s_l - 32768 > seq) return std::uint64_t{roc} + 1;
    return roc;
}

// The length of an RTP header (fixed part, CSRCs, extension), or 0 when `packet` does not hold
// a version 2 header that fits. Header extensions stay in the clear (RFC 3711 3.1). Not
// rtp::packet_view::parse: it checks the padding count, the last payload byte, which SRTP
// encrypts.
[[nodiscard]] inline std::size_t rtp_header_size(bytes_view packet) noexcept
{
    if (packet.size() < rtp_fixed_header_size) return 0;
    const unsigned first = std::to_integer<unsigned>(packet[0]);
    if ((first >> 6) != 2) return 0;
    std::size_t size = rtp_fixed_header_size + 4 * (first & 0x0fu);
    if ((first & 0x10u) != 0) {
        if (packet.size() < size + 4) return 0;
        size += 4 + 4 * std::size_t{peerkit::detail::load_be16(packet.data() + size + 2)};
    }
    return size <= packet.size() ? size : 0;
}

template <crypto::provider Crypto, std::size_t ReplayBits = 1024>
class context {
public:
    using replay_type = replay_window<ReplayBits>;

    // `local` protects, `remote` unprotects: master keys and salts (RFC 3711 8.2), from which
    // the session keys are derived once.
    [[nodiscard]] static result<context> make(const Crypto& crypto, srtp_profile profile, master_key local,
                                              master_key remote, config cfg = {}) noexcept
    {
        auto local_keys = derive(crypto, profile, local, "local");
        if (!local_keys) return local_keys.error();
        auto remote_keys = derive(crypto, profile, remote, "remote");
        if (!remote_keys) return remote_keys.error();
        return make(crypto, profile, *local_keys, *remote_keys, cfg);
    }

    // From session keys, skipping the key derivation: for test vectors stated that way
    // (RFC 7714 16-17) and for keys derived elsewhere.
    [[nodiscard]] static result<context> make(const Crypto& crypto, srtp_profile profile, const session_keys& local,
                                              const session_keys& remote, config cfg = {}) noexcept
    {
        const auto params = parameters(profile);
        if (!params) return make_error(errc::unknown_profile, "SRTP profile ", static_cast<unsigned>(profile));
        if (cfg.max_ssrcs == 0) return make_error(errc::invalid_config, "max_ssrcs must be at least 1");
        context c(profile, *params, cfg);
        if (auto e = c.tx_.init(crypto, local, *params); !e) return e.error();
        if (auto e = c.rx_.init(crypto, remote, *params); !e) return e.error();
        return c;
    }

    // Keys from DTLS-SRTP (RFC 5764 4.2). `Role` is dtls::role (client/server), taken by its
    // enumerator names so that this codec-layer header need not include the DTLS machine.
    template <class Role>
        requires requires { Role::client; Role::server; }
    [[nodiscard]] static result<context> make(const Crypto& crypto, const dtls::srtp_keying_material& material,
                                              Role local_role, config cfg = {}) noexcept
    {
        const auto& mine = local_role == Role::client ? material.client() : material.server();
        const auto& theirs = local_role == Role::client ? material.server() : material.client();
        return make(crypto, material.profile(), master_key{mine.key(), mine.salt()},
                    master_key{theirs.key(), theirs.salt()}, cfg);
    }

    [[nodiscard]] srtp_profile profile() const noexcept { return profile_; }
    [[nodiscard]] const config& configuration() const noexcept { return config_; }
    // Bytes the tag (and for SRTCP the index) adds: what protect needs beyond the packet.
    [[nodiscard]] std::size_t rtp_overhead() const noexcept { return params_.rtp_tag; }
    [[nodiscard]] std::size_t rtcp_overhead() const noexcept { return params_.rtcp_tag + rtcp_index_size; }
    [[nodiscard]] context_stats stats() const noexcept
    {
        context_stats s = stats_;
        s.sent_ssrcs = sent_.size();
        s.received_ssrcs = received_.size();
        return s;
    }
    // The bytes of per-SSRC state this context holds: fixed at construction.
    [[nodiscard]] std::size_t state_bytes() const noexcept
    {
        return sent_.capacity() * sizeof(sent_stream) + received_.capacity() * sizeof(received_stream);
    }

    // SRTP (RFC 3711 3.3, RFC 7714 8): the RTP packet is buffer[0, length); the protected packet
    // (payload encrypted, tag appended) replaces it. Returns the protected length.
    [[nodiscard]] result<std::size_t> protect_rtp(mutable_bytes buffer, std::size_t length) noexcept
    {
        if (length > buffer.size())
            return make_error(errc::buffer_too_small, "length ", length, " beyond buffer of ", buffer.size());
        const mutable_bytes packet = buffer.first(length);
        const std::size_t header = rtp_header_size(packet);
        if (header == 0) return make_error(errc::bad_header, "RTP header of ", length, " bytes is malformed");
        const std::size_t tag = params_.rtp_tag;
        if (buffer.size() - length < tag)
            return make_error(errc::buffer_too_small, "SRTP needs ", length + tag, " bytes, buffer has ",
                              buffer.size());
        const std::uint32_t ssrc = peerkit::detail::load_be32(packet.data() + 8);
        const std::uint16_t seq = peerkit::detail::load_be16(packet.data() + 2);
        sent_stream* s = find(sent_, ssrc);
        if (s == nullptr && sent_.size() == config_.max_ssrcs)
            return make_error(errc::too_many_ssrcs, "cannot send SSRC ", hex{ssrc, 8}, ": ", config_.max_ssrcs,
                              " in use");
        // The sender estimates like the receiver (RFC 3711 3.3.1): in-order numbers that wrap
        // bump the ROC, an older number (a retransmission) keeps the ROC it was sent with.
        const std::uint64_t roc =
            s != nullptr && s->rtp_started ? estimate_roc(s->roc, s->s_l, seq) : (s != nullptr ? s->roc : 0);
        const std::uint64_t index = (roc << 16) | seq;
        if (index > max_rtp_index)
            return make_error(errc::index_exhausted, "SSRC ", hex{ssrc, 8}, " ROC exhausted");
        const auto roc32 = static_cast<std::uint32_t>(roc);
        const mutable_bytes payload = packet.subspan(header);
        if (params_.aead) {
            const auto iv = rtp_gcm_iv(tx_.rtp_salt, ssrc, roc32, seq);
            const bytes_view aad[] = {packet.first(header)};
            if (!tx_.rtp_gcm.seal(iv, aad, payload, buffer.subspan(length).template first<16>()))
                return make_error(errc::crypto_failure, "AES-GCM seal failed");
        } else {
            const auto iv = cm_iv(tx_.rtp_salt, ssrc, index);
            if (!tx_.rtp_ctr.apply(iv, payload)) return make_error(errc::crypto_failure, "AES-CM failed");
            const auto mac = rtp_mac(tx_, packet, roc32);
            std::copy_n(mac.begin(), tag, buffer.begin() + static_cast<std::ptrdiff_t>(length));
        }
        stats_.crypto_bytes += length;
        if (s == nullptr) s = &add(sent_, ssrc);
        if (!s->rtp_started || index > ((std::uint64_t{s->roc} << 16) | s->s_l)) {
            s->roc = roc32;
            s->s_l = seq;
            s->rtp_started = true;
        }
        ++stats_.rtp_protected;
        return length + tag;
    }

    // Authenticates and decrypts the SRTP packet `packet` in place; returns the RTP packet, a
    // prefix of `packet`. On failure nothing changed but the buffer's bytes.
    [[nodiscard]] result<mutable_bytes> unprotect_rtp(mutable_bytes packet) noexcept
    {
        auto r = unprotect_rtp_impl(packet);
        if (!r) ++stats_.rejected;
        return r;
    }

    // SRTCP (RFC 3711 3.4, RFC 7714 9): the compound RTCP packet is buffer[0, length); it is
    // encrypted after the first 8 bytes (E = 1), the E flag and index word and the tag are
    // appended. Returns the protected length.
    [[nodiscard]] result<std::size_t> protect_rtcp(mutable_bytes buffer, std::size_t length) noexcept
    {
        if (length > buffer.size())
            return make_error(errc::buffer_too_small, "length ", length, " beyond buffer of ", buffer.size());
        if (length < rtcp_header_size || (std::to_integer<unsigned>(buffer[0]) >> 6) != 2)
            return make_error(errc::bad_header, "RTCP packet of ", length, " bytes has no version 2 header");
        const std::size_t total = length + rtcp_overhead();
        if (buffer.size() < total)
            return make_error(errc::buffer_too_small, "SRTCP needs ", total, " bytes, buffer has ", buffer.size());
        const std::uint32_t ssrc = peerkit::detail::load_be32(buffer.data() + 4);
        sent_stream* s = find(sent_, ssrc);
        if (s == nullptr && sent_.size() == config_.max_ssrcs)
            return make_error(errc::too_many_ssrcs, "cannot send SSRC ", hex{ssrc, 8}, ": ", config_.max_ssrcs,
                              " in use");
        const std::uint32_t index = s != nullptr ? s->rtcp_next : 0;
        if (index > max_rtcp_index)
            return make_error(errc::index_exhausted, "SSRC ", hex{ssrc, 8}, " SRTCP index exhausted");
        std::array<std::byte, 4> e_index{};
        peerkit::detail::store_be32(e_index.data(), 0x80000000u | index);
        const mutable_bytes body = buffer.subspan(rtcp_header_size, length - rtcp_header_size);
        if (params_.aead) {
            // RFC 7714 9.2: header, ciphertext, tag, then the E flag and index.
            const auto iv = rtcp_gcm_iv(tx_.rtcp_salt, ssrc, index);
            const bytes_view aad[] = {buffer.first(rtcp_header_size), e_index};
            if (!tx_.rtcp_gcm.seal(iv, aad, body, buffer.subspan(length).template first<16>()))
                return make_error(errc::crypto_failure, "AES-GCM seal failed");
            std::copy(e_index.begin(), e_index.end(), buffer.begin() + static_cast<std::ptrdiff_t>(length + 16));
        } else {
            // RFC 3711 3.4: header, ciphertext, E flag and index, then the tag over all of it.
            const auto iv = cm_iv(tx_.rtcp_salt, ssrc, index);
            if (!tx_.rtcp_ctr.apply(iv, body)) return make_error(errc::crypto_failure, "AES-CM failed");
            std::copy(e_index.begin(), e_index.end(), buffer.begin() + static_cast<std::ptrdiff_t>(length));
            const bytes_view parts[] = {buffer.first(length + rtcp_index_size)};
            const auto mac = tx_.rtcp_auth.sign(parts);
            std::copy_n(mac.begin(), params_.rtcp_tag,
                        buffer.begin() + static_cast<std::ptrdiff_t>(length + rtcp_index_size));
        }
        stats_.crypto_bytes += length;
        if (s == nullptr) s = &add(sent_, ssrc);
        s->rtcp_next = index + 1;
        ++stats_.rtcp_protected;
        return total;
    }

    // Authenticates and (when its E flag is set) decrypts the SRTCP packet in place; returns
    // the compound RTCP packet, a prefix of `packet`.
    [[nodiscard]] result<mutable_bytes> unprotect_rtcp(mutable_bytes packet) noexcept
    {
        auto r = unprotect_rtcp_impl(packet);
        if (!r) ++stats_.rejected;
        return r;
    }

private:
    struct direction_keys {
        typename Crypto::aes_ctr_key rtp_ctr;
        typename Crypto::aes_ctr_key rtcp_ctr;
        typename Crypto::aes_gcm_key rtp_gcm;
        typename Crypto::aes_gcm_key rtcp_gcm;
        typename Crypto::hmac_sha1_key rtp_auth;
        typename Crypto::hmac_sha1_key rtcp_auth;
        std::array<std::byte, max_salt_size> rtp_salt{};
        std::array<std::byte, max_salt_size> rtcp_salt{};

        result<void> init(const Crypto& crypto, const session_keys& keys, const profile_parameters& params) noexcept
        {
            if (keys.key_size != params.master_key || keys.salt_size != params.master_salt)
                return make_error(errc::bad_key, "session key/salt of ", keys.key_size, "/", keys.salt_size,
                                  " bytes, the profile needs ", params.master_key, "/", params.master_salt);
            const bytes_view rtp_key = bytes_view(keys.rtp_key).first(keys.key_size);
            const bytes_view rtcp_key = bytes_view(keys.rtcp_key).first(keys.key_size);
            rtp_salt = keys.rtp_salt;
            rtcp_salt = keys.rtcp_salt;
            if (params.aead) {
                rtp_gcm = crypto.prepare_aes_gcm(rtp_key);
                rtcp_gcm = crypto.prepare_aes_gcm(rtcp_key);
                if (!rtp_gcm.valid() || !rtcp_gcm.valid())
                    return make_error(errc::crypto_failure, "AES-GCM key setup failed");
            } else {
                rtp_ctr = crypto.prepare_aes_ctr(rtp_key);
                rtcp_ctr = crypto.prepare_aes_ctr(rtcp_key);
                if (!rtp_ctr.valid() || !rtcp_ctr.valid())
                    return make_error(errc::crypto_failure, "AES-CM key setup failed");
                rtp_auth = crypto.prepare_hmac_sha1(keys.rtp_auth);
                rtcp_auth = crypto.prepare_hmac_sha1(keys.rtcp_auth);
            }
            return {};
        }
    };

    struct sent_stream {
        std::uint32_t ssrc = 0;
        std::uint32_t roc = 0;
        std::uint16_t s_l = 0;  // highest sequence number sent
        bool rtp_started = false;
        std::uint32_t rtcp_next = 0;  // next SRTCP index
    };
    struct received_stream {
        std::uint32_t ssrc = 0;
        std::uint32_t roc = 0;
        std::uint16_t s_l = 0;  // highest authenticated sequence number
        bool rtp_started = false;
        replay_type rtp_replay;
        replay_type rtcp_replay;
    };

    context(srtp_profile profile, const profile_parameters& params, config cfg) noexcept
        : profile_(profile), params_(params), config_(cfg)
    {
        // Reserved once: emplace_back below never reallocates (the tables never pass the limit).
        sent_.reserve(cfg.max_ssrcs);
        received_.reserve(cfg.max_ssrcs);
    }

    static result<session_keys> derive(const Crypto& crypto, srtp_profile profile, master_key master,
                                       const char* which) noexcept
    {
        const auto params = parameters(profile);
        if (!params) return make_error(errc::unknown_profile, "SRTP profile ", static_cast<unsigned>(profile));
        if (master.key.size() != params->master_key || master.salt.size() != params->master_salt)
            return make_error(errc::bad_key, which, " master key/salt of ", master.key.size(), "/", master.salt.size(),
                              " bytes, ", dtls::to_string(profile), " needs ", params->master_key, "/",
                              params->master_salt);
        auto keys = derive_session_keys(crypto, profile, master.key, master.salt);
        if (!keys) return make_error(errc::crypto_failure, "SRTP key derivation failed");
        return *keys;
    }

    template <class Stream>
    static Stream* find(std::vector<Stream>& table, std::uint32_t ssrc) noexcept
    {
        for (auto& s : table)
            if (s.ssrc == ssrc) return &s;
        return nullptr;
    }

    template <class Stream>
    static Stream& add(std::vector<Stream>& table, std::uint32_t ssrc) noexcept
    {
        Stream& s = table.emplace_back();
        s.ssrc = ssrc;
        return s;
    }

    // RFC 3711 4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), 128 bits.
    static std::array<std::byte, 16> cm_iv(const std::array<std::byte, max_salt_size>& salt, std::uint32_t ssrc,
                                           std::uint64_t index) noexcept
    {
        std::array<std::byte, 16> iv{};
        std::copy(salt.begin(), salt.end(), iv.begin());
        std::array<std::byte, 4> s{};
        peerkit::detail::store_be32(s.data(), ssrc);
        for (std::size_t i = 0; i < 4; ++i) iv[4 + i] ^= s[i];
        for (std::size_t i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<std::byte>(index >> (8 * (5 - i)));
        return iv;
    }

    // RFC 7714 8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt, 96 bits.
    static std::array<std::byte, 12> rtp_gcm_iv(const std::array<std::byte, max_salt_size>& salt, std::uint32_t ssrc,
                                                std::uint32_t roc, std::uint16_t seq) noexcept
    {
        std::array<std::byte, 12> iv{};
        peerkit::detail::store_be32(iv.data() + 2, ssrc);
        peerkit::detail::store_be32(iv.data() + 6, roc);
        peerkit::detail::store_be16(iv.data() + 10, seq);
        for (std::size_t i = 0; i < 12; ++i) iv[i] ^= salt[i];
        return iv;
    }

    // RFC 7714 9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt.
    static std::array<std::byte, 12> rtcp_gcm_iv(const std::array<std::byte, max_salt_size>& salt,
                                                 std::uint32_t ssrc, std::uint32_t index) noexcept
    {
        std::array<std::byte, 12> iv{};
        peerkit::detail::store_be32(iv.data() + 2, ssrc);
        peerkit::detail::store_be32(iv.data() + 8, index & max_rtcp_index);
        for (std::size_t i = 0; i < 12; ++i) iv[i] ^= salt[i];
        return iv;
    }

    // RFC 3711 4.2: the tag is HMAC-SHA1 over the authenticated portion and the ROC.
    static crypto::sha1_digest rtp_mac(const direction_keys& keys, bytes_view authenticated, std::uint32_t roc) noexcept
    {
        std::array<std::byte, 4> roc_bytes{};
        peerkit::detail::store_be32(roc_bytes.data(), roc);
        const bytes_view parts[] = {authenticated, roc_bytes};
        return keys.rtp_auth.sign(parts);
    }

    result<mutable_bytes> unprotect_rtp_impl(mutable_bytes packet) noexcept
    {
        const std::size_t tag = params_.rtp_tag;
        if (packet.size() < rtp_fixed_header_size + tag)
            return make_error(errc::too_short, "SRTP packet of ", packet.size(), " bytes, needs at least ",
                              rtp_fixed_header_size + tag);
        const mutable_bytes rtp = packet.first(packet.size() - tag);
        const std::size_t header = rtp_header_size(rtp);
        if (header == 0) return make_error(errc::bad_header, "SRTP header of ", rtp.size(), " bytes is malformed");
        const std::uint32_t ssrc = peerkit::detail::load_be32(packet.data() + 8);
        const std::uint16_t seq = peerkit::detail::load_be16(packet.data() + 2);
        received_stream* s = find(received_, ssrc);
        if (s == nullptr && received_.size() == config_.max_ssrcs)
            return make_error(errc::too_many_ssrcs, "SSRC ", hex{ssrc, 8}, " is new and ", config_.max_ssrcs,
                              " are in use");
        // RFC 3711 3.3.1: a new stream starts at ROC 0 with s_l its first sequence number.
        const std::uint64_t roc =
            s != nullptr && s->rtp_started ? estimate_roc(s->roc, s->s_l, seq) : (s != nullptr ? s->roc : 0);
        const std::uint64_t index = (roc << 16) | seq;
        if (index > max_rtp_index)
            return make_error(errc::index_exhausted, "SSRC ", hex{ssrc, 8}, " ROC exhausted");
        if (s != nullptr) {
            if (const auto verdict = s->rtp_replay.check(index); verdict != replay_verdict::fresh)
                return replay_error(verdict, "SRTP", ssrc, index);
        }
        const auto roc32 = static_cast<std::uint32_t>(roc);
        const mutable_bytes payload = rtp.subspan(header);
        stats_.crypto_bytes += packet.size();
        if (params_.aead) {
            const auto iv = rtp_gcm_iv(rx_.rtp_salt, ssrc, roc32, seq);
            const bytes_view aad[] = {rtp.first(header)};
            if (!rx_.rtp_gcm.open(iv, aad, payload, packet.subspan(rtp.size()).template first<16>()))
                return make_error(errc::auth_failed, "SRTP SSRC ", hex{ssrc, 8}, " index ", index,
                                  ": GCM tag mismatch");
        } else {
            const auto mac = rtp_mac(rx_, rtp, roc32);
            if (!crypto::constant_time_equal(bytes_view(mac).first(tag), packet.subspan(rtp.size())))
                return make_error(errc::auth_failed, "SRTP SSRC ", hex{ssrc, 8}, " index ", index,
                                  ": HMAC tag mismatch");
            const auto iv = cm_iv(rx_.rtp_salt, ssrc, index);
            if (!rx_.rtp_ctr.apply(iv, payload)) return make_error(errc::crypto_failure, "AES-CM failed");
        }
        // Authenticated: now the state may change.
        if (s == nullptr) s = &add(received_, ssrc);
        s->rtp_replay.accept(index);
        if (!s->rtp_started || index > ((std::uint64_t{s->roc} << 16) | s->s_l)) {
            s->roc = roc32;
            s->s_l = seq;
            s->rtp_started = true;
        }
        ++stats_.rtp_unprotected;
        return rtp;
    }

    result<mutable_bytes> unprotect_rtcp_impl(mutable_bytes packet) noexcept
    {
        const std::size_t overhead = rtcp_overhead();
        if (packet.size() < rtcp_header_size + overhead)
            return make_error(errc::too_short, "SRTCP packet of ", packet.size(), " bytes, needs at least ",
                              rtcp_header_size + overhead);
        if ((std::to_integer<unsigned>(packet[0]) >> 6) != 2)
            return make_error(errc::bad_header, "SRTCP packet has no version 2 header");
        const std::size_t length = packet.size() - overhead;  // the RTCP packet's length
        // Where the E flag and index word sits: after the tag for GCM, before it for AES-CM.
        const std::size_t index_at = params_.aead ? length + params_.rtcp_tag : length;
        const std::uint32_t e_index = peerkit::detail::load_be32(packet.data() + index_at);
        const bool encrypted = (e_index & 0x80000000u) != 0;
        const std::uint32_t index = e_index & max_rtcp_index;
        const std::uint32_t ssrc = peerkit::detail::load_be32(packet.data() + 4);
        received_stream* s = find(received_, ssrc);
        if (s == nullptr && received_.size() == config_.max_ssrcs)
            return make_error(errc::too_many_ssrcs, "SSRC ", hex{ssrc, 8}, " is new and ", config_.max_ssrcs,
                              " are in use");
        if (s != nullptr) {
            if (const auto verdict = s->rtcp_replay.check(index); verdict != replay_verdict::fresh)
                return replay_error(verdict, "SRTCP", ssrc, index);
        }
        const mutable_bytes body = packet.subspan(rtcp_header_size, length - rtcp_header_size);
        stats_.crypto_bytes += packet.size();
        if (params_.aead) {
            const auto iv = rtcp_gcm_iv(rx_.rtcp_salt, ssrc, index);
            const bytes_view index_word = packet.subspan(index_at, rtcp_index_size);
            const auto tag = packet.subspan(length).template first<16>();
            // RFC 7714 9.3: unencrypted SRTCP authenticates the whole packet as AAD.
            const bytes_view aad_encrypted[] = {packet.first(rtcp_header_size), index_word};
            const bytes_view aad_clear[] = {packet.first(length), index_word};
            const bool ok = encrypted ? rx_.rtcp_gcm.open(iv, aad_encrypted, body, tag)
                                      : rx_.rtcp_gcm.open(iv, aad_clear, mutable_bytes{}, tag);
            if (!ok)
                return make_error(errc::auth_failed, "SRTCP SSRC ", hex{ssrc, 8}, " index ", index,
                                  ": GCM tag mismatch");
        } else {
            const bytes_view parts[] = {packet.first(length + rtcp_index_size)};
            const auto mac = rx_.rtcp_auth.sign(parts);
            if (!crypto::constant_time_equal(bytes_view(mac).first(params_.rtcp_tag),
                                             packet.subspan(length + rtcp_index_size)))
                return make_error(errc::auth_failed, "SRTCP SSRC ", hex{ssrc, 8}, " index ", index,
                                  ": HMAC tag mismatch");
            if (encrypted) {
                const auto iv = cm_iv(rx_.rtcp_salt, ssrc, index);
                if (!rx_.rtcp_ctr.apply(iv, body)) return make_error(errc::crypto_failure, "AES-CM failed");
            }
        }
        if (s == nullptr) s = &add(received_, ssrc);
        s->rtcp_replay.accept(index);
        ++stats_.rtcp_unprotected;
        return packet.first(length);
    }

    static peerkit::error replay_error(replay_verdict verdict, const char* what, std::uint32_t ssrc,
                                       std::uint64_t index) noexcept
    {
        if (verdict == replay_verdict::replayed)
            return make_error(errc::replayed, what, " SSRC ", hex{ssrc, 8}, " index ", index, " already received");
        return make_error(errc::too_old, what, " SSRC ", hex{ssrc, 8}, " index ", index,
                          " is behind the replay window of ", ReplayBits);
    }

    srtp_profile profile_;
    profile_parameters params_;
    config config_;
    direction_keys tx_;
    direction_keys rx_;
    std::vector<sent_stream> sent_;
    std::vector<received_stream> received_;
    context_stats stats_;
};

}  // namespace peerkit::srtp
