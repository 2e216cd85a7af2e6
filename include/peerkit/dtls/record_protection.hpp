// DTLS 1.2 records (RFC 6347 4.1) and their AES-GCM protection (RFC 5288, RFC 5246 6.2.3.3),
// over the crypto concept: what a DTLS backend can use to protect application data itself once
// its TLS library has finished the handshake. peerkit::core: standard C++ only.
//
// Why: a TLS library pays for generality on every record. OpenSSL 3.0's SSL_write and SSL_read
// cost about 8,000 and 9,300 instructions for a 1 KiB record, of which AES-GCM is about 1,900;
// the rest is record-layer bookkeeping and provider parameter lookups (docs/performance.md).
// Here a record costs a header, a nonce and one AEAD call with a key scheduled once, as
// srtp/ does for SRTP. The TLS library keeps the handshake, alerts and everything else.
//
// The rules this file implements:
// - Record header (RFC 6347 4.1): type, version {254, 253}, epoch, 48-bit sequence number,
//   length; 13 bytes.
// - GCM nonce (RFC 5288 3): the 4-byte implicit salt (client_write_IV or server_write_IV of
//   the key block) followed by an 8-byte explicit nonce carried at the start of the fragment.
//   We send the record's epoch and sequence number as the explicit nonce, which RFC 5288 3
//   allows and which is unique per key as long as sequence numbers are.
// - Additional data (RFC 5246 6.2.3.3, with RFC 6347 4.1.2.1's 64-bit epoch||sequence in place
//   of TLS's implicit sequence number): epoch, sequence, type, version, plaintext length.
// - Replay detection (RFC 6347 4.1.2.6): a sliding window, checked before decryption and
//   updated only after the record authenticated; records failing authentication are dropped
//   without a word (4.1.2.7).
// - Sequence numbers are never reused under one key and never wrap (RFC 6347 4.1): sealing
//   fails when 2^48 records have been sent in the epoch.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/concepts.hpp>
#include <peerkit/srtp/replay_window.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

namespace peerkit::dtls {

// ContentType (RFC 5246 6.2.1).
enum class content_type : std::uint8_t {
    change_cipher_spec = 20,
    alert = 21,
    handshake = 22,
    application_data = 23,
};

inline constexpr std::size_t record_header_size = 13;    // RFC 6347 4.1
inline constexpr std::uint16_t dtls_1_2_version = 0xFEFD;  // {254, 253}
inline constexpr std::uint64_t max_record_sequence = (std::uint64_t{1} << 48) - 1;

struct record_header {
    std::uint8_t type = 0;
    std::uint16_t version = 0;
    std::uint16_t epoch = 0;
    std::uint64_t sequence = 0;  // 48 bits
    std::uint16_t length = 0;    // of the fragment that follows
};

// The header at the start of `bytes`, if 13 bytes are there (nothing else is checked).
[[nodiscard]] inline std::optional<record_header> read_record_header(bytes_view bytes) noexcept
{
    if (bytes.size() < record_header_size) return std::nullopt;
    const auto at = [&](std::size_t i) { return std::to_integer<std::uint64_t>(bytes[i]); };
    record_header h;
    h.type = static_cast<std::uint8_t>(at(0));
    h.version = static_cast<std::uint16_t>(at(1) << 8 | at(2));
    h.epoch = static_cast<std::uint16_t>(at(3) << 8 | at(4));
    for (std::size_t i = 5; i < 11; ++i) h.sequence = h.sequence << 8 | at(i);
    h.length = static_cast<std::uint16_t>(at(11) << 8 | at(12));
    return h;
}

inline void write_record_header(const record_header& h, std::span<std::byte, record_header_size> out) noexcept
{
    out[0] = std::byte{h.type};
    out[1] = static_cast<std::byte>(h.version >> 8);
    out[2] = static_cast<std::byte>(h.version);
    out[3] = static_cast<std::byte>(h.epoch >> 8);
    out[4] = static_cast<std::byte>(h.epoch);
    for (std::size_t i = 0; i < 6; ++i) out[5 + i] = static_cast<std::byte>(h.sequence >> (8 * (5 - i)));
    out[11] = static_cast<std::byte>(h.length >> 8);
    out[12] = static_cast<std::byte>(h.length);
}

// Calls `visit(header, record)` for each whole record of a datagram in order (RFC 6347 4.1.1:
// a datagram may carry several), `record` being the header and its fragment. Stops at the
// first record whose length runs past the datagram, or when `visit` returns false; returns
// false when the framing was broken (the rest of the datagram is then not visited).
template <class Visit>
bool for_each_record(bytes_view records, Visit&& visit)
{
    std::size_t offset = 0;
    while (offset < records.size()) {
        const auto h = read_record_header(records.subspan(offset));
        if (!h || h->length > records.size() - offset - record_header_size) return false;
        const std::size_t size = record_header_size + h->length;
        if (!visit(*h, records.subspan(offset, size))) return true;
        offset += size;
    }
    return true;
}

// One direction's keys from the TLS 1.2 key block (RFC 5246 6.3; RFC 5288 3: AES-GCM suites
// have no MAC keys and a 4-byte IV, the salt).
struct gcm_direction_keys {
    std::array<std::byte, 32> key{};
    std::size_t key_size = 0;  // 16 (AES-128-GCM) or 32 (AES-256-GCM)
    std::array<std::byte, 4> salt{};
};

inline constexpr std::size_t gcm_explicit_nonce_size = 8;  // RFC 5288 3
inline constexpr std::size_t gcm_tag_size = 16;
// Bytes a protected record adds to its plaintext.
inline constexpr std::size_t gcm_record_overhead = record_header_size + gcm_explicit_nonce_size + gcm_tag_size;

enum class open_verdict : std::uint8_t {
    opened,        // authenticated and fresh: the plaintext is valid
    malformed,     // shorter than a nonce and a tag, or not this epoch
    replayed,      // RFC 6347 4.1.2.6: seen before
    too_old,       // behind the replay window
    unauthentic,   // the tag did not verify (forged, corrupted, or another key)
};

// The AES-GCM protection of one epoch's records in both directions: sealing with our write key
// and our sequence numbers, opening with the peer's write key behind a replay window. `Aead` is
// a crypto provider's prepared AES-GCM key type.
template <crypto::prepared_aes_gcm Aead>
class gcm_record_protection {
public:
    // The replay window: RFC 6347 4.1.2.6 asks for at least 32 records and suggests 64; 256
    // keeps records that SCTP's bursts get reordered by a few dozen datagrams.
    using replay_window = srtp::replay_window<256>;

    gcm_record_protection() = default;
    // `write_key`/`read_key`: the prepared keys of our and the peer's write keys, with their
    // salts. `next_write_sequence`: the first sequence number not yet used in `epoch` by
    // whoever wrote before us (the TLS library's Finished).
    gcm_record_protection(Aead write_key, std::array<std::byte, 4> write_salt, Aead read_key,
                          std::array<std::byte, 4> read_salt, std::uint16_t epoch,
                          std::uint64_t next_write_sequence) noexcept
        : write_(std::move(write_key)), read_(std::move(read_key)), write_salt_(write_salt), read_salt_(read_salt),
          epoch_(epoch), next_write_(next_write_sequence)
    {
    }

    [[nodiscard]] bool valid() const noexcept { return write_.valid() && read_.valid(); }
    [[nodiscard]] std::uint16_t epoch() const noexcept { return epoch_; }
    [[nodiscard]] std::uint64_t next_write_sequence() const noexcept { return next_write_; }
    [[nodiscard]] const replay_window& window() const noexcept { return window_; }

    // Writes one protected record of `type` carrying `plaintext` to the start of `out`, which
    // must hold plaintext.size() + gcm_record_overhead bytes, and returns its size; 0 when
    // `out` is too small, the plaintext exceeds a record (2^14, RFC 6347 4.1), the epoch's
    // sequence numbers are used up, or the cipher failed. `plaintext` may alias `out` at
    // offset record_header_size + gcm_explicit_nonce_size (sealing in place).
    [[nodiscard]] std::size_t seal(content_type type, bytes_view plaintext, mutable_bytes out) noexcept
    {
        const std::size_t size = plaintext.size() + gcm_record_overhead;
        if (plaintext.size() > 16384 || out.size() < size || next_write_ > max_record_sequence) return 0;
        const std::uint64_t sequence = next_write_++;
        record_header h{static_cast<std::uint8_t>(type), dtls_1_2_version, epoch_, sequence,
                        static_cast<std::uint16_t>(size - record_header_size)};
        write_record_header(h, out.first<record_header_size>());
        std::byte* nonce_at = out.data() + record_header_size;
        write_explicit_nonce(h, nonce_at);
        const mutable_bytes body = out.subspan(record_header_size + gcm_explicit_nonce_size, plaintext.size());
        if (!plaintext.empty() && body.data() != plaintext.data())
            std::memmove(body.data(), plaintext.data(), plaintext.size());
        const auto nonce = make_nonce(write_salt_, nonce_at);
        const auto aad = make_aad(h, plaintext.size());
        const std::array<bytes_view, 1> aad_parts{bytes_view(aad)};
        const auto tag = out.subspan(record_header_size + gcm_explicit_nonce_size + plaintext.size()).first<gcm_tag_size>();
        if (!write_.seal(nonce, aad_parts, body, tag)) return 0;
        return size;
    }

    // Opens one whole record (header and fragment) in place. On `opened`, `plaintext` is the
    // record's plaintext, inside `record`. The window moves only for an authentic record. The
    // caller has checked the type it wants; the epoch is checked here.
    [[nodiscard]] open_verdict open(mutable_bytes record, mutable_bytes& plaintext) noexcept
    {
        const auto h = read_record_header(record);
        if (!h || h->epoch != epoch_ || record.size() != record_header_size + h->length ||
            h->length < gcm_explicit_nonce_size + gcm_tag_size)
            return open_verdict::malformed;
        switch (window_.check(h->sequence)) {
        case srtp::replay_verdict::replayed: return open_verdict::replayed;
        case srtp::replay_verdict::too_old: return open_verdict::too_old;
        case srtp::replay_verdict::fresh: break;
        }
        if (!decrypt(read_, read_salt_, *h, record, plaintext)) return open_verdict::unauthentic;
        window_.accept(h->sequence);
        return open_verdict::opened;
    }

    // As open(), but the record stays where it is (a receive buffer the caller may not write)
    // and only its ciphertext is copied, to the start of `into`, and decrypted there: on
    // `opened`, `plaintext` is `into`'s first bytes. `into` must hold the record's plaintext
    // (plaintext_size(record) bytes).
    [[nodiscard]] open_verdict open_into(bytes_view record, mutable_bytes into, mutable_bytes& plaintext) noexcept
    {
        const auto h = read_record_header(record);
        if (!h || h->epoch != epoch_ || record.size() != record_header_size + h->length ||
            h->length < gcm_explicit_nonce_size + gcm_tag_size)
            return open_verdict::malformed;
        const std::size_t size = h->length - gcm_explicit_nonce_size - gcm_tag_size;
        if (into.size() < size) return open_verdict::malformed;
        switch (window_.check(h->sequence)) {
        case srtp::replay_verdict::replayed: return open_verdict::replayed;
        case srtp::replay_verdict::too_old: return open_verdict::too_old;
        case srtp::replay_verdict::fresh: break;
        }
        const std::byte* nonce_at = record.data() + record_header_size;
        const mutable_bytes body = into.first(size);
        if (size != 0) std::memcpy(body.data(), nonce_at + gcm_explicit_nonce_size, size);
        const auto nonce = make_nonce(read_salt_, nonce_at);
        const auto aad = make_aad(*h, size);
        const std::array<bytes_view, 1> aad_parts{bytes_view(aad)};
        const auto tag = record.subspan(record_header_size + gcm_explicit_nonce_size + size).template first<gcm_tag_size>();
        if (!read_.open(nonce, aad_parts, body, tag)) return open_verdict::unauthentic;
        window_.accept(h->sequence);
        plaintext = body;
        return open_verdict::opened;
    }

    // The plaintext size a record claims (0 for one too short to be protected).
    [[nodiscard]] static std::size_t plaintext_size(bytes_view record) noexcept
    {
        const auto h = read_record_header(record);
        if (!h || h->length < gcm_explicit_nonce_size + gcm_tag_size) return 0;
        return h->length - gcm_explicit_nonce_size - gcm_tag_size;
    }

    // Marks a sequence number as received without a record: for records the TLS library
    // opened itself before this object existed, so that a replay of them is refused here too.
    void mark_received(std::uint64_t sequence) noexcept
    {
        if (window_.check(sequence) == srtp::replay_verdict::fresh) window_.accept(sequence);
    }

    // A record of ours in this epoch that the TLS library protected after we took over (a
    // retransmitted Finished, an alert): opens it with our write key and seals it again, in
    // place, under our next sequence number, so that no sequence number (and so no nonce)
    // goes on the wire twice. False when the record is not ours or sealing failed; the
    // record must then not be sent.
    [[nodiscard]] bool reseal(mutable_bytes record) noexcept
    {
        const auto h = read_record_header(record);
        if (!h || h->epoch != epoch_ || record.size() != record_header_size + h->length ||
            h->length < gcm_explicit_nonce_size + gcm_tag_size)
            return false;
        mutable_bytes plaintext;
        if (!decrypt(write_, write_salt_, *h, record, plaintext)) return false;
        return seal(static_cast<content_type>(h->type), plaintext, record) == record.size();
    }

private:
    static void write_explicit_nonce(const record_header& h, std::byte* out) noexcept
    {
        const std::uint64_t v = std::uint64_t{h.epoch} << 48 | h.sequence;
        for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(v >> (8 * (7 - i)));
    }
    static std::array<std::byte, 12> make_nonce(const std::array<std::byte, 4>& salt, const std::byte* explicit_nonce) noexcept
    {
        std::array<std::byte, 12> nonce{};
        std::memcpy(nonce.data(), salt.data(), 4);
        std::memcpy(nonce.data() + 4, explicit_nonce, 8);
        return nonce;
    }
    // RFC 5246 6.2.3.3: seq_num + type + version + length, with DTLS's epoch||sequence.
    static std::array<std::byte, 13> make_aad(const record_header& h, std::size_t plaintext_size) noexcept
    {
        std::array<std::byte, 13> aad{};
        record_header a = h;
        a.length = static_cast<std::uint16_t>(plaintext_size);
        // The header's layout is the AAD's: epoch, sequence, then type and version moved behind.
        aad[0] = static_cast<std::byte>(a.epoch >> 8);
        aad[1] = static_cast<std::byte>(a.epoch);
        for (std::size_t i = 0; i < 6; ++i) aad[2 + i] = static_cast<std::byte>(a.sequence >> (8 * (5 - i)));
        aad[8] = std::byte{a.type};
        aad[9] = static_cast<std::byte>(a.version >> 8);
        aad[10] = static_cast<std::byte>(a.version);
        aad[11] = static_cast<std::byte>(a.length >> 8);
        aad[12] = static_cast<std::byte>(a.length);
        return aad;
    }
    static bool decrypt(Aead& key, const std::array<std::byte, 4>& salt, const record_header& h, mutable_bytes record,
                        mutable_bytes& plaintext) noexcept
    {
        const std::byte* nonce_at = record.data() + record_header_size;
        const std::size_t size = h.length - gcm_explicit_nonce_size - gcm_tag_size;
        const mutable_bytes body = record.subspan(record_header_size + gcm_explicit_nonce_size, size);
        const auto nonce = make_nonce(salt, nonce_at);
        const auto aad = make_aad(h, size);
        const std::array<bytes_view, 1> aad_parts{bytes_view(aad)};
        const auto tag = record.subspan(record_header_size + gcm_explicit_nonce_size + size).template first<gcm_tag_size>();
        if (!key.open(nonce, aad_parts, body, std::span<const std::byte, gcm_tag_size>(tag))) return false;
        plaintext = body;
        return true;
    }

    Aead write_{};
    Aead read_{};
    std::array<std::byte, 4> write_salt_{};
    std::array<std::byte, 4> read_salt_{};
    std::uint16_t epoch_ = 0;
    std::uint64_t next_write_ = 0;
    replay_window window_{};
};

}  // namespace peerkit::dtls
