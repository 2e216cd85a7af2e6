// RFC 9653 zero checksums stay off in the peer connection: the SCTP INIT and INIT ACK a core
// sends carry no Zero Checksum Acceptable parameter (0x8001, RFC 9653 4). Debian's Pion 3.1.56
// never completes an association whose INIT or INIT ACK offers it (docs/sctp.md, the comment
// in peer_connection/core.hpp), so turning it back on in the core must fail here.
//
// The packets are read where the peer reads them: after its DTLS decrypted them. The policy
// swaps in a DTLS backend whose sessions keep a copy of every record they decrypted; all else
// is the default policy's, and the association config is the one the core builds.
#include "harness.hpp"

#include <peerkit/sctp/chunks.hpp>
#include <peerkit/sctp/packet.hpp>

#include <span>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

using namespace peerkit;
using namespace peerkit::test;

namespace {

// peerkit::openssl_dtls_backend, with sessions that keep every record they decrypt: the
// plaintext SCTP packets the other side sent (RFC 8261: SCTP packets are DTLS application data,
// one packet per record).
class plaintext_keeping_backend {
public:
    using certificate = openssl_dtls_backend::certificate;

    class session : public openssl_dtls_backend::session {
    public:
        explicit session(openssl_dtls_backend::session s) : openssl_dtls_backend::session(std::move(s)) {}

        // Hides the base's poll_event (the core calls it on this type): the same events, and a
        // copy of each application_data's bytes, borrowed from the session until its next call.
        std::optional<dtls::event> poll_event()
        {
            auto e = openssl_dtls_backend::session::poll_event();
            if (e)
                if (const auto* data = std::get_if<dtls::application_data>(&*e))
                    decrypted_.emplace_back(data->data.begin(), data->data.end());
            return e;
        }

        [[nodiscard]] const std::vector<std::vector<std::byte>>& decrypted() const noexcept { return decrypted_; }

    private:
        std::vector<std::vector<std::byte>> decrypted_;
    };

    [[nodiscard]] static result<certificate> generate_certificate()
    {
        return openssl_dtls_backend::generate_certificate();
    }
    [[nodiscard]] static dtls::fingerprint fingerprint_of(const certificate& c)
    {
        return openssl_dtls_backend::fingerprint_of(c);
    }
    [[nodiscard]] static result<plaintext_keeping_backend> create(std::span<const certificate> certs)
    {
        auto inner = openssl_dtls_backend::create(certs);
        if (!inner) return inner.error();
        return plaintext_keeping_backend(std::move(*inner));
    }
    [[nodiscard]] result<session> create_session(dtls::session_config config) const
    {
        auto s = inner_.create_session(std::move(config));
        if (!s) return s.error();
        return session(std::move(*s));
    }

private:
    explicit plaintext_keeping_backend(openssl_dtls_backend inner) : inner_(std::move(inner)) {}
    openssl_dtls_backend inner_;
};

// The default policy (OpenSSL crypto and random, default limits) with that backend.
struct plaintext_keeping_policy : peerkit::openssl_policy {
    using dtls_backend = plaintext_keeping_backend;
};
static_assert(peerkit::peer_connection_policy<plaintext_keeping_policy>);
using plaintext_keeping_core = peerkit::basic_peer_connection_core<plaintext_keeping_policy>;

// The INIT and INIT ACK chunks of the SCTP packets `receiver`'s DTLS decrypted: the handshake
// its peer sent. Every record must parse as an SCTP packet; a zero checksum is let through
// (RFC 9653 5), so that zero checksums turned on fail the checks on the INIT below, which say
// why, and not this parse.
std::vector<sctp::init_chunk> handshake_chunks_received_by(const plaintext_keeping_core& receiver)
{
    std::vector<sctp::init_chunk> out;
    REQUIRE(receiver.dtls_session());
    const sctp::packet_options zero_or_crc32c{.checksum = {.verify = true, .accept_zero = true}};
    for (const auto& record : receiver.dtls_session()->decrypted()) {
        const auto packet = sctp::packet_view::parse(record, zero_or_crc32c);
        REQUIRE(packet);
        for (const auto chunk : *packet) {
            if (!chunk.is(sctp::chunk_type::init) && !chunk.is(sctp::chunk_type::init_ack)) continue;
            auto init = sctp::init_chunk::parse(chunk);
            REQUIRE(init);
            out.push_back(std::move(*init));
        }
    }
    return out;
}

}  // namespace

TEST_CASE("the peer connection's SCTP INIT and INIT ACK do not offer zero checksums (RFC 9653 off for Pion 3.1.56)")
{
    pc_world<plaintext_keeping_core> w;
    w.setup_default();
    REQUIRE(w.a.pc->create_data_channel(w.now, "chat"));
    w.negotiate();
    REQUIRE(w.run_until([&] { return !w.a.opened.empty() && w.b.remote_channel; }));

    constexpr auto zero_checksum_acceptable = static_cast<std::uint16_t>(sctp::parameter_type::zero_checksum_acceptable);
    static_assert(zero_checksum_acceptable == 0x8001);  // RFC 9653 4
    std::size_t inits = 0;
    for (const auto& [sender, receiver] : {std::pair{&w.a, &w.b}, std::pair{&w.b, &w.a}}) {
        const auto chunks = handshake_chunks_received_by(*receiver->pc);
        // Each side sends one at least: an INIT, or the INIT ACK answering the other's.
        REQUIRE(!chunks.empty());
        for (const auto& init : chunks) {
            std::ostringstream types;
            for (const auto& parameter : init.other_parameters) types << std::hex << parameter.type << ' ';
            INFO(sender->name << "'s " << (init.ack ? "INIT ACK" : "INIT") << ", parameter types: " << types.str());
            CHECK(!init.params.zero_checksum_edmid);
            for (const auto& parameter : init.other_parameters) CHECK(parameter.type != zero_checksum_acceptable);
            inits += init.ack ? 0u : 1u;
        }
    }
    CHECK(inits >= 1);  // the association was set up by an INIT, seen and checked above
    // The same config, seen from the association: it does not accept zero checksums either.
    CHECK(!w.a.pc->sctp_association()->announces_zero_checksum());
    CHECK(!w.b.pc->sctp_association()->announces_zero_checksum());
}
