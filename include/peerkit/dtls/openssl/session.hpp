// peerkit::dtls::openssl::session: a sans-IO DTLS 1.2 session (RFC 6347) over OpenSSL 3,
// satisfying peerkit::dtls::session (dtls/concepts.hpp).
//
//   auto cert = openssl::certificate::generate();
//   auto ctx = openssl::context::create(*cert);                     // share across sessions
//   auto s = openssl::session::create(*ctx, {.role = dtls::role::client,
//                                            .remote_fingerprints = {*fp_from_sdp}});
//   s->start(now);  then handle_packet / handle_timeout / poll_* as for any peerkit machine.
//
// How OpenSSL is driven:
// - I/O goes through the context's datagram BIO: handle_packet() lends OpenSSL the one
//   datagram, every BIO write becomes one queued datagram. Nothing touches a socket.
// - Retransmission (RFC 6347 section 4.2.4) runs on the caller's clock. The session keeps the
//   schedule: the first timeout is session_config::initial_retransmit_timeout (100 ms) or
//   twice the ICE RTT, not OpenSSL's fixed 1 s, and each retransmission doubles it up to
//   max_retransmit_timeout (RFC 6347 4.2.4.1). Whenever OpenSSL arms its timer (the
//   DTLS_set_timer_cb callback) we arm ours at `now + timeout`; poll_timeout() reports it and
//   handle_timeout(now) makes OpenSSL retransmit. OpenSSL 3.0 decides expiry only by
//   comparing its stored deadline with gettimeofday() and has no clock hook, so: OpenSSL is
//   given a one-hour timeout (it never fires on its own, not even inside handle_packet),
//   and when our deadline comes the session sets OpenSSL's stored deadline to the past
//   (OpenSSL hands the BIO its address with BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT) and calls
//   DTLSv1_handle_timeout. Only done with a 3.0.x libssl (detail::openssl_timer_is_steerable);
//   with another libssl, or context_config::retransmit_on_caller_clock = false, OpenSSL gets
//   the real timeout and its wall clock decides: a deadline our clock reaches first (only in
//   a simulation running ahead of real time) is deferred by OpenSSL's remaining time.
//   docs/dtls.md, "Retransmission timing", has the experiments behind this.
// - The peer's certificate is checked against the expected SDP fingerprints in the
//   context's verify callback, during the handshake: a mismatch sends bad_certificate and
//   fails the session with errc::fingerprint_mismatch.
// - use_srtp (RFC 5764) is set on the context, so every session offers or selects the
//   browser's profiles (context_config::srtp_profiles), whatever the session is for.
// - Logging (session_config::logger, component dtls): alerts sent and received (the info
//   callback), refused datagrams, records OpenSSL dropped, queue drops, fingerprint
//   mismatches and failures at debug; the negotiated profile and cipher at info;
//   retransmissions at trace. Nothing is formatted unless the level is on.
// - Application data after the handshake (context_config::peerkit_application_records, on by
//   default): with an AES-GCM suite the session protects and opens application data records
//   itself (dtls/record_protection.hpp), keyed from the TLS 1.2 key block (RFC 5246 6.3), and
//   leaves OpenSSL the handshake, alerts and close_notify. OpenSSL's per-record cost is most
//   of the data path's CPU (docs/performance.md). Two things keep one key's nonces unique:
//   our sequence numbers start after the last one OpenSSL wrote in the epoch (its Finished),
//   and every record OpenSSL writes in that epoch afterwards (a retransmitted Finished, an
//   alert) is opened and sealed again under our next number before it leaves
//   (gcm_record_protection::reseal). Received records other than application data go to
//   OpenSSL. Other suites (ChaCha20-Poly1305, CBC) leave every record to OpenSSL.
#pragma once

#include <peerkit/bytes.hpp>
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/dtls/alert.hpp>
#include <peerkit/dtls/concepts.hpp>
#include <peerkit/dtls/error.hpp>
#include <peerkit/dtls/fingerprint.hpp>
#include <peerkit/dtls/openssl/certificate.hpp>
#include <peerkit/dtls/openssl/context.hpp>
#include <peerkit/dtls/openssl/detail/handles.hpp>
#include <peerkit/dtls/openssl/detail/record_keys.hpp>
#include <peerkit/dtls/record_protection.hpp>
#include <peerkit/dtls/srtp.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>

#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::dtls::openssl {

class session {
public:
    // Validates the config (an expected fingerprint with an acceptable hash is required; the
    // MTU must be 256..16384) and creates the SSL object. Nothing is sent until start().
    [[nodiscard]] static result<session> create(std::shared_ptr<const context> ctx, session_config config);

    session(session&&) noexcept = default;
    session& operator=(session&&) noexcept = default;
    ~session() = default;

    // --- the peerkit::dtls::session concept ---------------------------------------------------
    result<void> start(time_point now) { return state_->start(now); }
    result<void> handle_packet(time_point now, bytes_view datagram) { return state_->handle_packet(now, datagram); }
    void handle_timeout(time_point now) { state_->handle_timeout(now); }
    std::optional<datagram> poll_transmit() { return state_->poll_transmit(); }
    [[nodiscard]] std::optional<time_point> poll_timeout() const { return state_->poll_timeout(); }
    std::optional<event> poll_event() { return state_->poll_event(); }
    result<void> send(time_point now, bytes_view data) { return state_->send(now, data); }
    [[nodiscard]] std::size_t max_application_data() const { return state_->max_application_data(); }
    void close(time_point now) { state_->close(now); }
    [[nodiscard]] dtls::role role() const noexcept { return state_->config.role; }
    [[nodiscard]] session_state state() const noexcept { return state_->status; }
    [[nodiscard]] const fingerprint& local_fingerprint() const noexcept
    {
        return state_->ctx->local_certificate().sha256_fingerprint();
    }
    [[nodiscard]] result<void> export_keying_material(std::string_view label, std::span<std::byte> out) const
    {
        return state_->export_keying_material(label, out);
    }
    [[nodiscard]] std::optional<dtls::srtp_profile> srtp_profile() const noexcept { return state_->srtp; }

    // --- conveniences beyond the concept ---------------------------------------------------------
    // export_keying_material into a new vector of `length` bytes.
    [[nodiscard]] result<std::vector<std::byte>> export_keying_material(std::string_view label,
                                                                       std::size_t length) const
    {
        std::vector<std::byte> out(length);
        if (auto r = export_keying_material(label, std::span<std::byte>(out)); !r) return r.error();
        return out;
    }
    // The peer certificate's fingerprint that matched (after the handshake).
    [[nodiscard]] const std::optional<fingerprint>& peer_fingerprint() const noexcept { return state_->peer_fp; }
    // The negotiated cipher suite's OpenSSL name, e.g. "ECDHE-ECDSA-AES128-GCM-SHA256".
    [[nodiscard]] std::string_view cipher_name() const noexcept { return state_->cipher(); }
    // Whether application data records are protected by peerkit's record layer rather than
    // OpenSSL's (see the header comment): false before the handshake, with the option off,
    // or with a suite other than AES-GCM.
    [[nodiscard]] bool application_records_by_peerkit() const noexcept { return state_->records.has_value(); }
    [[nodiscard]] const session_stats& stats() const noexcept { return state_->stats; }
    [[nodiscard]] const session_config& config() const noexcept { return state_->config; }
    // Whether retransmissions follow the caller's clock (see the header comment).
    [[nodiscard]] bool retransmits_on_caller_clock() const noexcept { return state_->on_caller_clock; }
    // The current retransmission timeout (zero before the first flight).
    [[nodiscard]] std::chrono::microseconds current_retransmit_timeout() const noexcept
    {
        return std::chrono::microseconds(state_->timer_us);
    }
    // The SSL object, for inspection. Its ex_data index 0 (SSL_get_app_data), BIO, timer,
    // info and verify callbacks belong to the session: do not replace them.
    [[nodiscard]] SSL* native_handle() const noexcept { return state_->ssl.get(); }

private:
    struct impl final : detail::session_io {
        std::shared_ptr<const context> ctx;
        session_config config;
        detail::ssl_ptr ssl;
        session_state status = session_state::idle;
        std::deque<datagram> transmit_queue;
        std::deque<event> events;
        std::size_t queued_app_bytes = 0;
        session_stats stats;
        std::optional<dtls::srtp_profile> srtp;
        std::optional<fingerprint> peer_fp;
        // The datagram OpenSSL may read during the current call.
        bytes_view pending_rx{};
        // Timer state (see the header comment).
        unsigned timer_us = 0;             // the current RFC 6347 4.2.4.1 timeout
        bool timer_armed_in_call = false;  // OpenSSL (re)armed its timer during this call
        bool on_caller_clock = false;      // decided at create()
        timeval* openssl_deadline = nullptr;  // OpenSSL's stored deadline (3.0.x)
        bool deadline_moved = false;          // it was reported at another address: not 3.0's layout
        std::optional<time_point> retransmit_at;
        std::optional<time_point> handshake_deadline;
        // Why verification or the handshake failed, when we know better than OpenSSL.
        std::optional<error> verify_error;
        std::optional<error> alert_error;
        // SSL_read's target: each received record's plaintext stays here and the
        // application_data event lends a view of it (no copy into an event of its own).
        // Emptied at the next read once no application_data event is queued; while some are
        // (a caller that polls late), new records go behind them, so the bytes kept are
        // bounded by max_queued_application_bytes plus one record's room.
        std::unique_ptr<std::byte[]> plaintext;
        std::size_t plaintext_capacity = 0;
        std::size_t plaintext_size = 0;
        std::size_t queued_app_records = 0;
        std::size_t data_mtu = 0;  // max_application_data() once connected
        std::uint64_t application_records_delivered = 0;  // queued as application_data events
        // peerkit's record layer for application data, once connected with an AES-GCM suite.
        std::optional<gcm_record_protection<crypto::openssl_provider::aes_gcm_key>> records;
        // The highest epoch OpenSSL has written in and the next sequence number after the
        // last record it wrote there: where our own sequence numbers start.
        std::uint16_t written_epoch = 0;
        std::uint64_t written_next_sequence = 0;
        // Sequence numbers of application data records (epoch > 0) received during the
        // handshake: OpenSSL opens those itself, so our replay window learns them at take-over.
        static constexpr std::size_t max_early_application_records = 256;
        std::vector<std::uint64_t> early_application_sequences;
        // The records of a datagram that go to OpenSSL while peerkit reads application data
        // (alerts, handshake retransmissions): rare, gathered here in their order.
        std::vector<std::byte> library_records;

        impl(std::shared_ptr<const context> c, session_config cfg) : ctx(std::move(c)), config(std::move(cfg)) {}
        impl(const impl&) = delete;
        impl& operator=(const impl&) = delete;
        ~impl() override
        {
            // The BIO outlives nothing of ours, but clear its back pointer first anyway.
            if (ssl) {
                if (BIO* b = SSL_get_rbio(ssl.get())) BIO_set_data(b, nullptr);
                SSL_set_ex_data(ssl.get(), 0, nullptr);
            }
        }

        // ---- detail::session_io -------------------------------------------------------------
        int on_bio_read(char* out, int size) noexcept override
        {
            if (pending_rx.empty()) return 0;
            // A datagram larger than OpenSSL's buffer is cut; OpenSSL then drops the
            // malformed tail record, which is what a too-large datagram deserves.
            const std::size_t n = std::min(pending_rx.size(), static_cast<std::size_t>(size));
            std::memcpy(out, pending_rx.data(), n);
            pending_rx = {};
            return static_cast<int>(n);
        }
        // The bounded transmit queue (session_config::max_queued_datagrams).
        void queue_datagram(datagram&& d)
        {
            if (transmit_queue.size() >= config.max_queued_datagrams) {
                ++stats.datagrams_dropped;  // as if lost on the wire; DTLS recovers
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": dropped an outgoing datagram of ", d.size(), " bytes: transmit queue full (",
                               config.max_queued_datagrams, " datagrams, max_queued_datagrams)");
                return;
            }
            transmit_queue.push_back(std::move(d));
            ++stats.datagrams_sent;
        }
        void on_bio_write(const char* data, int size) noexcept override
        {
            const auto* p = reinterpret_cast<const std::byte*>(data);
            datagram d(p, p + size);
            if (!records) {
                note_written_sequences(d);
            } else if (!reseal_library_records(d)) {
                ++stats.datagrams_dropped;
                return;
            }
            queue_datagram(std::move(d));
        }
        // Where OpenSSL's sequence numbers are (RFC 6347 4.1: per epoch, from 0).
        void note_written_sequences(bytes_view d) noexcept
        {
            (void)for_each_record(d, [&](const record_header& h, bytes_view) {
                if (h.epoch > written_epoch) {
                    written_epoch = h.epoch;
                    written_next_sequence = h.sequence + 1;
                } else if (h.epoch == written_epoch) {
                    written_next_sequence = std::max(written_next_sequence, h.sequence + 1);
                }
                return true;
            });
        }
        // OpenSSL wrote in our epoch after we took over: its sequence numbers (and GCM nonces)
        // may be ones we used, so each such record is sealed again under our next number.
        bool reseal_library_records(datagram& d) noexcept
        {
            bool ok = true;
            const bytes_view whole(d);
            (void)for_each_record(whole, [&](const record_header& h, bytes_view record) {
                if (h.epoch != records->epoch()) return true;  // epoch 0: a ChangeCipherSpec
                const auto offset = static_cast<std::size_t>(record.data() - whole.data());
                ok = records->reseal(mutable_bytes(d.data() + offset, record.size()));
                return ok;
            });
            if (!ok)
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": dropped an outgoing datagram of ", d.size(),
                               " bytes: a record OpenSSL wrote after the handshake could not be sealed again");
            return ok;
        }
        int on_verify_peer(X509* peer) noexcept override
        {
            // RFC 8122 section 5 / RFC 8842 section 5: the certificate must match one of the
            // a=fingerprint values; compute its digest with each acceptable hash offered.
            std::optional<fingerprint> first_computed;
            for (const auto& expected : config.remote_fingerprints) {
                if (!is_acceptable_for_verification(expected.hash())) continue;
                auto actual = detail::compute_fingerprint(peer, expected.hash());
                if (!actual) continue;
                if (*actual == expected) {
                    peer_fp = *actual;
                    return 1;
                }
                if (!first_computed) first_computed = *actual;
            }
            error e = make_error(errc::fingerprint_mismatch, "peer certificate matches no a=fingerprint; its ");
            if (first_computed) {
                char text[fingerprint::max_text_size];
                const std::size_t n = first_computed->format_to(text);
                e.append(std::string_view(text, std::min<std::size_t>(n, 8 + 3 * 8)));
                e.append("...");
            }
            verify_error = e;
            if (config.logger.enabled(log::component::dtls, log::level::debug)) log_fingerprint_mismatch(first_computed);
            return 0;
        }
        // RFC 8122 section 5: say what we expected and what the certificate is, in full.
        void log_fingerprint_mismatch(const std::optional<fingerprint>& got) const noexcept
        {
            if (got)
                config.logger.write(log::component::dtls, log::level::debug, to_string(config.role),
                                    ": fingerprint mismatch: peer certificate is ", *got);
            else
                config.logger.write(log::component::dtls, log::level::debug, to_string(config.role),
                                    ": fingerprint mismatch: no digest of the peer certificate could be computed");
            for (const auto& expected : config.remote_fingerprints)
                config.logger.write(log::component::dtls, log::level::debug, to_string(config.role),
                                    ": fingerprint mismatch: expected ", expected,
                                    is_acceptable_for_verification(expected.hash()) ? "" : " (hash not accepted)");
        }
        unsigned on_timer(unsigned previous_us) noexcept override
        {
            using std::chrono::duration_cast;
            using std::chrono::microseconds;
            const auto max_us = static_cast<std::uint64_t>(duration_cast<microseconds>(config.max_retransmit_timeout).count());
            std::uint64_t next = 0;
            if (previous_us == 0) {
                // First flight timeout: from the RTT when ICE measured one, else the
                // configured initial value (RFC 6347 4.2.4.1 allows any initial value; its
                // 1 s is what stalls WebRTC set-ups when the first flight is lost).
                const auto min_us = static_cast<std::uint64_t>(duration_cast<microseconds>(config.min_retransmit_timeout).count());
                if (config.rtt_estimate.count() > 0)
                    next = std::max<std::uint64_t>(min_us, 2 * static_cast<std::uint64_t>(config.rtt_estimate.count()));
                else
                    next = static_cast<std::uint64_t>(duration_cast<microseconds>(config.initial_retransmit_timeout).count());
            } else {
                // A retransmission: back off exponentially (RFC 6347 4.2.4.1). From our
                // timeout, not previous_us: OpenSSL may have been given the backstop.
                next = 2 * static_cast<std::uint64_t>(timer_us);
                ++stats.retransmissions;
            }
            next = std::clamp<std::uint64_t>(next, 1000, std::min<std::uint64_t>(max_us, UINT_MAX));
            timer_us = static_cast<unsigned>(next);
            timer_armed_in_call = true;
            return on_caller_clock ? openssl_backstop_us : timer_us;
        }
        void on_next_timeout(void* deadline) noexcept override
        {
            auto* d = static_cast<timeval*>(deadline);
            if (openssl_deadline != nullptr && d != openssl_deadline) deadline_moved = true;
            openssl_deadline = d;
        }
        void on_info(int where, int value) noexcept override
        {
            if ((where & SSL_CB_ALERT) == 0) return;
            // RFC 5246 7.2: value is AlertLevel << 8 | AlertDescription.
            const auto level = static_cast<std::uint8_t>((value >> 8) & 0xFF);
            const auto description = static_cast<std::uint8_t>(value & 0xFF);
            const bool received = (where & SSL_CB_READ) != 0;
            PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                           received ? ": received " : ": sent ", alert_level_name(level), " alert ",
                           alert_description_name(description), " (", static_cast<unsigned>(description), ")");
            // A fatal alert from the peer ends the session; keep its name for the failure.
            if (received && level == SSL3_AL_FATAL && !alert_error) {
                error e = make_error(errc::peer_alert, "peer sent fatal alert ");
                e.append(alert_description_name(description));
                alert_error = e;
            }
        }
        [[nodiscard]] std::size_t on_mtu() const noexcept override { return config.mtu; }

        // ---- the machine -------------------------------------------------------------------
        // SSL_get_error needs an empty error queue before each call. Peeking is much cheaper
        // than clearing in OpenSSL 3, and the queue is almost always empty.
        static void clear_errors() noexcept
        {
            if (ERR_peek_error() != 0) ERR_clear_error();
        }
        void begin_call() noexcept
        {
            clear_errors();
            timer_armed_in_call = false;
        }
        // After every call into OpenSSL: mirror its timer on the caller's clock.
        void sync_timer(time_point now) noexcept
        {
            timeval remaining{};
            if (DTLSv1_get_timeout(ssl.get(), &remaining) != 1) {
                retransmit_at.reset();  // flight acknowledged (OpenSSL stopped its timer)
            } else if (timer_armed_in_call || !retransmit_at) {
                retransmit_at = now + std::chrono::microseconds(timer_us);
            }
            timer_armed_in_call = false;
        }

        result<void> start(time_point now)
        {
            if (status != session_state::idle) return {};
            status = session_state::handshaking;
            handshake_deadline = now + config.handshake_timeout;
            if (config.role == dtls::role::server) return {};
            return drive_handshake(now);
        }

        result<void> handle_packet(time_point now, bytes_view data)
        {
            const std::uint64_t refused_before = stats.datagrams_refused;
            result<void> r = handle_datagram(now, data);
            // A failure is logged by fail(); here only what was refused unread.
            if (stats.datagrams_refused != refused_before)
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": refused a datagram of ", data.size(), " bytes: ", r.error());
            return r;
        }

        result<void> handle_datagram(time_point now, bytes_view data)
        {
            ++stats.datagrams_received;
            if (data.empty() || std::to_integer<unsigned>(data[0]) < 20 || std::to_integer<unsigned>(data[0]) > 63) {
                ++stats.datagrams_refused;
                // RFC 7983 section 7: only 20..63 is DTLS; the demultiplexer should not
                // have sent this here.
                if (data.empty()) return make_error(errc::not_dtls, "empty datagram");
                return make_error(errc::not_dtls, "datagram first byte ", std::to_integer<unsigned>(data[0]),
                                  " is outside the DTLS range 20..63 (RFC 7983)");
            }
            if (data.size() > config.max_datagram_size) {
                ++stats.datagrams_refused;
                return make_error(errc::datagram_too_large, "datagram of ", data.size(),
                                  " bytes exceeds max_datagram_size ", config.max_datagram_size);
            }
            if (status == session_state::closed || status == session_state::failed) {
                ++stats.datagrams_refused;
                return make_error(errc::session_closed, "datagram after the session ",
                                  status == session_state::closed ? "closed" : "failed");
            }
            if (status == session_state::idle) {
                if (auto r = start(now); !r) return r;
            }
            const bool inspect = config.logger.enabled(log::component::dtls, log::level::debug);
            const bool was_connected = status == session_state::connected;
            const std::size_t application_records = inspect ? inspect_records(data) : 0;
            const std::uint64_t delivered_before = application_records_delivered + stats.application_records_dropped;
            if (status == session_state::handshaking) note_early_application_records(data);
            result<void> r;
            if (status == session_state::connected && records) {
                r = read_records(now, data);
            } else {
                pending_rx = data;
                r = status == session_state::handshaking ? drive_handshake(now) : drive_read(now);
                pending_rx = {};
            }
            if (inspect && was_connected && status == session_state::connected) {
                // RFC 6347 4.1.2.6/4.1.2.7: OpenSSL silently discards records that fail
                // authentication or the replay check; the difference shows how many it did.
                const auto handled = application_records_delivered + stats.application_records_dropped - delivered_before;
                if (handled < application_records)
                    config.logger.write(log::component::dtls, log::level::debug, to_string(config.role), ": dropped ",
                                        application_records - handled, " of ", application_records,
                                        " application data record(s) in a datagram of ", data.size(),
                                        " bytes: failed authentication, replayed or outside the replay window "
                                        "(RFC 6347 4.1.2.6, 4.1.2.7)");
            }
            return r;
        }

        // Walks the datagram's record headers (RFC 6347 4.1: type, version, epoch, sequence
        // number, length) to log framing OpenSSL drops without a word; returns how many
        // application data records it holds. Only run when debug logging is on.
        std::size_t inspect_records(bytes_view data) const noexcept
        {
            constexpr std::size_t header_size = 13;
            std::size_t offset = 0;
            std::size_t application_records = 0;
            while (offset < data.size()) {
                if (data.size() - offset < header_size) {
                    config.logger.write(log::component::dtls, log::level::debug, to_string(config.role),
                                        ": dropped ", data.size() - offset, " trailing bytes at offset ", offset,
                                        " of a datagram: shorter than a record header (RFC 6347 4.1)");
                    break;
                }
                const auto type = std::to_integer<unsigned>(data[offset]);
                const std::size_t length = std::to_integer<std::size_t>(data[offset + 11]) << 8 |
                                           std::to_integer<std::size_t>(data[offset + 12]);
                if (length > data.size() - offset - header_size) {
                    config.logger.write(log::component::dtls, log::level::debug, to_string(config.role),
                                        ": dropped a record at offset ", offset, " claiming ", length,
                                        " bytes where ", data.size() - offset - header_size,
                                        " remain in the datagram (RFC 6347 4.1.2.7)");
                    break;
                }
                // ContentType (RFC 5246 6.2.1): 20 change_cipher_spec, 21 alert, 22 handshake,
                // 23 application_data; 24 (heartbeat, RFC 6520) is not negotiated.
                if (type < 20 || type > 23)
                    config.logger.write(log::component::dtls, log::level::debug, to_string(config.role),
                                        ": dropped a record of unknown content type ", type, " at offset ", offset);
                else if (type == 23)
                    ++application_records;
                offset += header_size + length;
            }
            return application_records;
        }

        void note_early_application_records(bytes_view data)
        {
            (void)for_each_record(data, [&](const record_header& h, bytes_view) {
                if (h.type == static_cast<std::uint8_t>(content_type::application_data) && h.epoch != 0 &&
                    early_application_sequences.size() < max_early_application_records)
                    early_application_sequences.push_back(h.sequence);
                return true;
            });
        }

        // At the end of the handshake: key peerkit's record layer from OpenSSL's key block,
        // if the option is on and the suite is AES-GCM.
        void take_over_application_records()
        {
            if (!ctx->config().peerkit_application_records) return;
            std::optional<detail::gcm_record_keys> keys = detail::derive_gcm_record_keys(ssl.get());
            // The prepared AEAD keys hold the schedule; the raw keys need not outlive this call.
            struct cleanse_on_exit {
                std::optional<detail::gcm_record_keys>& k;
                ~cleanse_on_exit()
                {
                    if (k) OPENSSL_cleanse(&*k, sizeof *k);
                }
            } cleanse{keys};
            if (!keys || written_epoch == 0) {
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": application records stay with OpenSSL (cipher ", cipher(),
                               keys ? "; no record of ours in a protected epoch seen)" : " is not AES-GCM)");
                return;
            }
            const bool client = config.role == dtls::role::client;
            const gcm_direction_keys& mine = client ? keys->client_write : keys->server_write;
            const gcm_direction_keys& theirs = client ? keys->server_write : keys->client_write;
            records.emplace(crypto::openssl_provider::aes_gcm_key(bytes_view(mine.key.data(), mine.key_size)),
                            mine.salt,
                            crypto::openssl_provider::aes_gcm_key(bytes_view(theirs.key.data(), theirs.key_size)),
                            theirs.salt, written_epoch, written_next_sequence);
            if (!records->valid()) {
                records.reset();
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": application records stay with OpenSSL: the AES-GCM keys could not be set");
                return;
            }
            for (const std::uint64_t sequence : early_application_sequences) records->mark_received(sequence);
            early_application_sequences = {};
            PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                           ": application records protected by peerkit (", cipher(), ", epoch ", written_epoch,
                           " from sequence number ", written_next_sequence, ")");
        }

        // A datagram while peerkit reads application data: those records are opened here, in
        // the order they come; the others go to OpenSSL (alerts, a retransmitted Finished).
        result<void> read_records(time_point now, bytes_view data)
        {
            library_records.clear();
            result<void> r;
            const bool whole = for_each_record(data, [&](const record_header& h, bytes_view record) {
                if (h.type != static_cast<std::uint8_t>(content_type::application_data)) {
                    library_records.insert(library_records.end(), record.begin(), record.end());
                    return true;
                }
                if (!library_records.empty()) {
                    r = pass_to_library(now);
                    if (!r || status != session_state::connected) return false;
                }
                open_application_record(record);
                return true;
            });
            if (r && !library_records.empty() && status == session_state::connected) r = pass_to_library(now);
            if (!whole)
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": dropped the rest of a datagram of ", data.size(),
                               " bytes: a record runs past its end (RFC 6347 4.1.2.7)");
            return r;
        }

        result<void> pass_to_library(time_point now)
        {
            pending_rx = bytes_view(library_records);
            result<void> r = drive_read(now);
            pending_rx = {};
            library_records.clear();
            return r;
        }

        // Decrypts into the plaintext arena, so the event lends a view of it as OpenSSL's path
        // does, with records packed one after the other (one copy: the ciphertext into the
        // arena, decrypted there); records failing authentication or the replay check are
        // dropped without a word (RFC 6347 4.1.2.6, 4.1.2.7), counted in stats.
        void open_application_record(bytes_view record)
        {
            const std::size_t size = gcm_record_protection<crypto::openssl_provider::aes_gcm_key>::plaintext_size(record);
            reserve_plaintext(0, std::max<std::size_t>(size, 1));
            mutable_bytes clear;
            const open_verdict v = records->open_into(
                record, mutable_bytes(plaintext.get() + plaintext_size, plaintext_capacity - plaintext_size), clear);
            if (v != open_verdict::opened) {
                ++stats.application_records_refused;
                return;
            }
            if (clear.empty()) return;  // an empty record carries nothing
            deliver(clear);
        }

        result<void> drive_handshake(time_point now)
        {
            begin_call();
            const int ret = SSL_do_handshake(ssl.get());
            if (ret == 1) {
                sync_timer(now);
                on_connected();
                return drive_read(now);  // records after Finished in the same datagram
            }
            const int err = SSL_get_error(ssl.get(), ret);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                sync_timer(now);
                clear_errors();
                return {};
            }
            return fail(handshake_error());
        }

        // The arena's first size (what the session's read buffer always was: a record of 2^14
        // bytes, RFC 6347 4.1, with slack) and the least room SSL_read is given; a record
        // larger than the room left is read on into room made for what OpenSSL still holds of
        // it (SSL_pending), so a record is never split.
        static constexpr std::size_t initial_plaintext_capacity = 16384 + 1024;
        static constexpr std::size_t min_read_room = 2048;

        // Where the first queued application_data event's bytes start (plaintext_size when
        // none is queued): what a move of the arena must keep.
        [[nodiscard]] std::size_t live_plaintext_offset() const noexcept
        {
            if (queued_app_records == 0) return plaintext_size;
            for (const event& e : events)
                if (const auto* a = std::get_if<application_data>(&e))
                    return static_cast<std::size_t>(a->data.data() - plaintext.get());
            return plaintext_size;
        }

        // Makes `room` bytes free behind the arena's used part and `partial`, the bytes of a
        // record being read (at plaintext_size). Everything is polled: the arena starts over.
        // Only a caller that left events unpolled makes this move bytes (their views are
        // re-pointed; they were lent only until this call anyway).
        void reserve_plaintext(std::size_t partial, std::size_t room)
        {
            if (queued_app_records == 0 && partial == 0) plaintext_size = 0;
            const std::size_t used = plaintext_size + partial;
            if (plaintext_capacity - used >= room) return;
            const std::size_t live = live_plaintext_offset();
            const std::size_t kept = used - live;
            std::byte* from = plaintext.get();
            std::byte* to = from;
            std::unique_ptr<std::byte[]> retired;  // the old arena, until the views moved
            if (plaintext_capacity < kept + room) {
                const std::size_t capacity =
                    std::max({2 * plaintext_capacity, kept + room, initial_plaintext_capacity});
                auto grown = std::make_unique_for_overwrite<std::byte[]>(capacity);
                if (kept != 0) std::memcpy(grown.get(), from + live, kept);
                to = grown.get();
                retired = std::exchange(plaintext, std::move(grown));
                plaintext_capacity = capacity;
                stats.application_buffer_bytes = capacity;
            } else if (kept != 0 && live != 0) {
                std::memmove(to, from + live, kept);
            }
            if (queued_app_records != 0)
                for (event& e : events)
                    if (auto* a = std::get_if<application_data>(&e)) {
                        const auto at = static_cast<std::size_t>(a->data.data() - from) - live;
                        a->data = bytes_view(to + at, a->data.size());
                    }
            plaintext_size -= live;
        }

        result<void> drive_read(time_point now)
        {
            std::size_t partial = 0;  // bytes of a record the room cut, at plaintext_size
            while (true) {
                reserve_plaintext(partial, min_read_room);
                begin_call();
                std::byte* into = plaintext.get() + plaintext_size + partial;
                const std::size_t room = plaintext_capacity - plaintext_size - partial;
                const int n = SSL_read(ssl.get(), into, static_cast<int>(room));
                if (n > 0) {
                    partial += static_cast<std::size_t>(n);
                    if (static_cast<std::size_t>(n) == room && SSL_pending(ssl.get()) > 0) {
                        reserve_plaintext(partial, static_cast<std::size_t>(SSL_pending(ssl.get())));
                        continue;  // the rest of this record
                    }
                    deliver(bytes_view(plaintext.get() + plaintext_size, partial));
                    partial = 0;
                    // Done when the datagram is consumed and OpenSSL holds no further record
                    // of it (one datagram may carry several, RFC 6347 4.1.1); this saves a
                    // failing SSL_read per record.
                    if (pending_rx.empty() && SSL_has_pending(ssl.get()) == 0) {
                        if (timer_armed_in_call) sync_timer(now);
                        return {};
                    }
                    continue;
                }
                const int err = SSL_get_error(ssl.get(), n);
                sync_timer(now);
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                    clear_errors();
                    return {};
                }
                if (err == SSL_ERROR_ZERO_RETURN) {
                    // RFC 5246 7.2.1 (kept by RFC 6347): answer close_notify with our own.
                    begin_call();
                    (void)SSL_shutdown(ssl.get());
                    ERR_clear_error();
                    status = session_state::closed;
                    retransmit_at.reset();
                    events.emplace_back(closed{true});
                    return {};
                }
                if (alert_error) return fail(*alert_error);
                return fail(detail::openssl_error(errc::protocol_error, "fatal DTLS error after the handshake"));
            }
        }

        void deliver(std::span<const std::byte> data)
        {
            if (events.size() >= config.max_queued_events ||
                queued_app_bytes + data.size() > config.max_queued_application_bytes) {
                ++stats.application_records_dropped;  // DTLS is unreliable; so is this queue
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": dropped a received application record of ", data.size(),
                               " bytes: event queue full (", events.size(), " events, ", queued_app_bytes,
                               " bytes queued; max_queued_events ", config.max_queued_events,
                               ", max_queued_application_bytes ", config.max_queued_application_bytes, ")");
                return;
            }
            ++application_records_delivered;
            queued_app_bytes += data.size();
            ++queued_app_records;
            plaintext_size += data.size();  // `data` is the arena's tail: keep it
            events.emplace_back(application_data{data});
        }

        void on_connected()
        {
            status = session_state::connected;
            // Plaintext that fits one record in one MTU-sized datagram (RFC 6347 4.1.1: a
            // record must not span datagrams), given the negotiated cipher's expansion.
            data_mtu = DTLS_get_data_mtu(ssl.get());
            handshake_deadline.reset();
            if (const SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl.get()))
                srtp = srtp_profile_from_id(static_cast<std::uint16_t>(p->id));
            take_over_application_records();
            const std::string_view records_by = records ? "peerkit" : "OpenSSL";
            if (srtp)
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::info, to_string(config.role),
                               ": connected, cipher ", cipher(), ", SRTP profile ", to_string(*srtp),
                               ", application records by ", records_by);
            else
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::info, to_string(config.role),
                               ": connected, cipher ", cipher(),
                               ", no SRTP profile (the peer offered none of ours, or no use_srtp), application records by ",
                               records_by);
            handshake_complete done;
            done.srtp = srtp;
            if (peer_fp) done.peer = *peer_fp;
            events.emplace_back(done);
        }

        error handshake_error()
        {
            if (verify_error) {
                ERR_clear_error();
                return *verify_error;
            }
            if (alert_error) {
                ERR_clear_error();
                return *alert_error;
            }
            const unsigned long code = ERR_peek_last_error();
            if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_READ_TIMEOUT_EXPIRED) {
                ERR_clear_error();
                return make_error(errc::handshake_timeout, "no answer after ", stats.retransmissions,
                                  " retransmissions");
            }
            if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
                ERR_clear_error();
                return make_error(errc::no_peer_certificate,
                                  "the DTLS client sent no certificate (WebRTC requires one, RFC 8827 6.5)");
            }
            return detail::openssl_error(errc::handshake_failed, "DTLS handshake failed as ", to_string(config.role));
        }

        // Kept out of line: GCC 12 reports a false -Warray-bounds when error::append(integer)
        // is inlined into a long caller.
        [[gnu::noinline]] error timeout_error() const noexcept
        {
            const auto ms = static_cast<std::uint64_t>(config.handshake_timeout.count());
            error e = make_error(errc::handshake_timeout, "handshake not complete after ");
            e.append(ms);
            e.append(" ms (");
            e.append(stats.retransmissions);
            e.append(" retransmissions)");
            return e;
        }

        [[nodiscard]] std::string_view cipher() const noexcept
        {
            const SSL_CIPHER* c = SSL_get_current_cipher(ssl.get());
            return c != nullptr ? std::string_view(SSL_CIPHER_get_name(c)) : std::string_view();
        }

        result<void> fail(error reason)
        {
            PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role), ": failed in ",
                           status == session_state::connected ? "the connection" : "the handshake", ": ", reason);
            status = session_state::failed;
            retransmit_at.reset();
            handshake_deadline.reset();
            events.emplace_back(failed{reason});
            return reason;
        }

        void handle_timeout(time_point now)
        {
            if (status != session_state::handshaking && status != session_state::connected) return;
            if (handshake_deadline && now >= *handshake_deadline) {
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": handshake timeout: not complete ", config.handshake_timeout.count(),
                               " ms after start (handshake_timeout), ", stats.datagrams_received,
                               " datagrams received, ", stats.retransmissions, " retransmissions");
                (void)fail(timeout_error());
                return;
            }
            if (!retransmit_at || now < *retransmit_at) return;
            begin_call();
            if (on_caller_clock) {
                timeval remaining{};
                if (DTLSv1_get_timeout(ssl.get(), &remaining) != 1) {
                    retransmit_at.reset();  // OpenSSL stopped its timer: nothing to resend
                    return;
                }
                if (openssl_deadline == nullptr || deadline_moved) {
                    (void)fail(make_error(errc::backend_error,
                                          "cannot reach OpenSSL's DTLS timer to retransmit on the caller's clock"));
                    return;
                }
                // 1970-01-01 00:00:01: long past, and not the all-zero "timer stopped" value.
                *openssl_deadline = timeval{1, 0};
            }
            const long r = DTLSv1_handle_timeout(ssl.get());
            if (r < 0) {
                (void)fail(handshake_error());
                return;
            }
            if (r == 0) {
                if (on_caller_clock) {
                    // The deadline we set was not OpenSSL's: fail loudly rather than hang.
                    (void)fail(make_error(errc::backend_error, "OpenSSL ignored the expired DTLS timer"));
                    return;
                }
                // OpenSSL's wall clock has not reached its deadline yet (see the header
                // comment); wake again when it will have.
                timeval remaining{};
                if (DTLSv1_get_timeout(ssl.get(), &remaining) == 1) {
                    const auto wait = std::chrono::seconds(remaining.tv_sec) + std::chrono::microseconds(remaining.tv_usec);
                    retransmit_at = now + std::max<std::chrono::microseconds>(wait, std::chrono::milliseconds(1));
                } else {
                    retransmit_at.reset();
                }
                return;
            }
            sync_timer(now);
            PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::trace, to_string(config.role),
                           ": retransmitted the last flight (retransmission ", stats.retransmissions,
                           "), next timeout ", timer_us / 1000, " ms");
        }

        std::optional<datagram> poll_transmit()
        {
            if (transmit_queue.empty()) return std::nullopt;
            datagram d = std::move(transmit_queue.front());
            transmit_queue.pop_front();
            return d;
        }

        [[nodiscard]] std::optional<time_point> poll_timeout() const
        {
            std::optional<time_point> t = retransmit_at;
            if (handshake_deadline && (!t || *handshake_deadline < *t)) t = handshake_deadline;
            return t;
        }

        std::optional<event> poll_event()
        {
            if (events.empty()) return std::nullopt;
            event e = std::move(events.front());
            events.pop_front();
            if (const auto* d = std::get_if<application_data>(&e)) {
                queued_app_bytes -= d->data.size();
                --queued_app_records;
            }
            return e;
        }

        [[nodiscard]] std::size_t max_application_data() const
        {
            return status == session_state::connected ? data_mtu : 0;
        }

        result<void> send(time_point now, bytes_view data)
        {
            const session_state before = status;
            result<void> r = send_record(now, data);
            // A failure is logged by fail(); here only what was refused.
            if (!r && status == before)
                PEERKIT_LOG_AT(config.logger, log::component::dtls, log::level::debug, to_string(config.role),
                               ": refused to send ", data.size(), " bytes: ", r.error());
            return r;
        }

        result<void> send_record(time_point now, bytes_view data)
        {
            if (status != session_state::connected) {
                if (status == session_state::closed || status == session_state::failed)
                    return make_error(errc::session_closed, "send after the session closed or failed");
                return make_error(errc::not_connected, "send before the DTLS handshake completed");
            }
            const std::size_t limit = max_application_data();
            if (data.size() > limit)
                return make_error(errc::message_too_large, "application data of ", data.size(),
                                  " bytes exceeds the ", limit, " bytes one record can carry within the MTU ",
                                  config.mtu);
            if (data.empty()) return {};  // an empty record carries nothing; send none
            if (records) {
                datagram d(data.size() + gcm_record_overhead);
                if (records->seal(content_type::application_data, data, d) != d.size())
                    return fail(make_error(errc::backend_error, "sealing an application data record failed (",
                                           records->next_write_sequence() > max_record_sequence
                                               ? "the epoch's sequence numbers are used up, RFC 6347 4.1)"
                                               : "the cipher failed)"));
                queue_datagram(std::move(d));
                return {};
            }
            begin_call();
            const int n = SSL_write(ssl.get(), data.data(), static_cast<int>(data.size()));
            if (n <= 0) return fail(detail::openssl_error(errc::backend_error, "SSL_write failed"));
            if (timer_armed_in_call) sync_timer(now);
            return {};
        }

        void close(time_point now)
        {
            if (status == session_state::closed || status == session_state::failed) return;
            if (status == session_state::connected) {
                begin_call();
                (void)SSL_shutdown(ssl.get());  // queues close_notify (RFC 5246 7.2.1)
                ERR_clear_error();
            }
            (void)now;
            status = session_state::closed;
            retransmit_at.reset();
            handshake_deadline.reset();
            events.emplace_back(closed{false});
        }

        [[nodiscard]] result<void> export_keying_material(std::string_view label, std::span<std::byte> out) const
        {
            if (status != session_state::connected)
                return make_error(errc::not_connected, "keying material before the DTLS handshake completed");
            if (out.empty() || label.empty())
                return make_error(errc::bad_keying_material_request, "export needs a label and a non-empty output");
            ERR_clear_error();
            // RFC 5705 section 4, without context value (RFC 5764 section 4.2 uses none).
            if (SSL_export_keying_material(ssl.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(),
                                           label.data(), label.size(), nullptr, 0, 0) != 1)
                return detail::openssl_error(errc::backend_error, "keying material export failed");
            return {};
        }
    };

    // What OpenSSL's own timer is set to while the session drives it from the caller's clock:
    // far beyond any handshake, so that OpenSSL never retransmits on its own.
    static constexpr unsigned openssl_backstop_us = 3'600'000'000u;  // 1 h

    explicit session(std::unique_ptr<impl> s) noexcept : state_(std::move(s)) {}
    std::unique_ptr<impl> state_;
};

inline result<session> session::create(std::shared_ptr<const context> ctx, session_config config)
{
    if (!ctx) return make_error(errc::bad_config, "no context");
    if (config.mtu < 256 || config.mtu > 16384)
        return make_error(errc::bad_config, "mtu ", config.mtu, " is outside 256..16384");
    if (config.min_retransmit_timeout.count() <= 0 || config.initial_retransmit_timeout.count() <= 0 ||
        config.max_retransmit_timeout < config.initial_retransmit_timeout ||
        config.max_retransmit_timeout < config.min_retransmit_timeout || config.handshake_timeout.count() <= 0)
        return make_error(errc::bad_config,
                          "retransmit timeouts must be positive with min, initial <= max, handshake_timeout > 0");
    if (config.max_queued_datagrams == 0 || config.max_queued_events == 0)
        return make_error(errc::bad_config, "queue limits must be at least 1");
    const bool usable = std::any_of(config.remote_fingerprints.begin(), config.remote_fingerprints.end(),
                                    [](const fingerprint& f) { return !f.empty() && is_acceptable_for_verification(f.hash()); });
    if (!usable)
        return make_error(errc::no_usable_fingerprint, "need an expected remote fingerprint (sha-1/224/256/384/512), got ",
                          config.remote_fingerprints.size(), " usable none");

    ERR_clear_error();
    auto state = std::unique_ptr<impl>(new impl(std::move(ctx), std::move(config)));
    impl& s = *state;
    s.ssl.reset(SSL_new(s.ctx->native_handle()));
    if (!s.ssl) return detail::openssl_error(errc::backend_error, "SSL_new failed");
    SSL* ssl = s.ssl.get();
    if (SSL_set_ex_data(ssl, 0, static_cast<detail::session_io*>(&s)) != 1)
        return detail::openssl_error(errc::backend_error, "SSL_set_ex_data failed");
    BIO* bio = BIO_new(s.ctx->bio_method());
    if (bio == nullptr) return detail::openssl_error(errc::backend_error, "BIO_new failed");
    BIO_set_data(bio, static_cast<detail::session_io*>(&s));
    SSL_set_bio(ssl, bio, bio);  // one BIO for both directions; SSL owns it
    // RFC 6347 4.1.1.1: handshake messages are fragmented to the PMTU; ours is fixed.
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    if (SSL_set_mtu(ssl, static_cast<long>(s.config.mtu)) <= 0)  // returns the MTU set
        return detail::openssl_error(errc::bad_config, "OpenSSL refused mtu ", s.config.mtu);
    s.on_caller_clock = s.ctx->config().retransmit_on_caller_clock && detail::openssl_timer_is_steerable();
    DTLS_set_timer_cb(ssl, &detail::peerkit_dtls_timer);
    SSL_set_info_callback(ssl, &detail::peerkit_dtls_info);
    // use_srtp (RFC 5764 4.1.1) comes from the context: offered by a client, selected from by
    // a server, in every session (data channels or not, as libwebrtc does).
    if (s.config.role == dtls::role::client)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    return session(std::move(state));
}

static_assert(dtls::session<session>);

}  // namespace peerkit::dtls::openssl
