// Fuzzes the RTP packet codec: parse; walk the extensions and look each up by id; rebuild the
// packet from the parsed fields (same extension form, payload and padding size), parse the
// rebuild and require equal fields; rewrite the header in place and read it back. Any mismatch
// aborts (a crash for libFuzzer).
#include <peerkit/rtp.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace peerkit;

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "rtp_packet fuzz: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what)
{
    if (!ok) fail(what);
}

bool same(bytes_view a, bytes_view b)
{
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view input{reinterpret_cast<const std::byte*>(data), size};
    const auto p = rtp::packet_view::parse(input);
    if (!p) return 0;
    require(p->header_size() + p->payload().size() + p->padding_size() == size, "sizes do not add up");

    std::vector<rtp::header_extension> extensions;
    for (const auto& e : p->extensions()) {
        require(e.id != 0, "an extension with id 0 (padding) was reported");
        const auto found = p->find_extension(e.id);
        require(found.has_value(), "an iterated extension is not found by id");
        extensions.push_back(e);
    }
    std::vector<std::uint32_t> csrcs;
    for (std::size_t i = 0; i < p->csrc_count(); ++i) csrcs.push_back(p->csrc(i));

    const bool walked = p->extension_kind() == rtp::extension_form::one_byte ||
                        p->extension_kind() == rtp::extension_form::two_byte;
    static std::array<std::byte, 140000> buffer;
    const auto out = rtp::build_packet(
        buffer, {.marker = p->marker(), .payload_type = p->payload_type(), .sequence_number = p->sequence_number(),
                 .timestamp = p->timestamp(), .ssrc = p->ssrc(), .csrcs = csrcs,
                 .extensions = walked ? std::span<const rtp::header_extension>(extensions) : std::span<const rtp::header_extension>{},
                 .encoding = p->extension_kind() == rtp::extension_form::two_byte ? rtp::extension_encoding::two_byte
                                                                                 : rtp::extension_encoding::one_byte,
                 .payload = p->payload(), .padding = p->padding_size()});
    require(out.has_value(), "rebuilding a parsed packet failed");
    const auto again = rtp::packet_view::parse(*out);
    require(again.has_value(), "the rebuilt packet does not parse");
    require(again->marker() == p->marker() && again->payload_type() == p->payload_type() &&
                again->sequence_number() == p->sequence_number() && again->timestamp() == p->timestamp() &&
                again->ssrc() == p->ssrc(),
            "fixed header fields changed");
    require(again->csrc_count() == p->csrc_count(), "CSRC count changed");
    for (std::size_t i = 0; i < csrcs.size(); ++i) require(again->csrc(i) == csrcs[i], "a CSRC changed");
    require(same(again->payload(), p->payload()), "payload changed");
    require(again->padding_size() == p->padding_size(), "padding changed");
    std::size_t n = 0;
    for (const auto& e : again->extensions()) {
        require(n < extensions.size(), "more extensions after the rebuild");
        require(e.id == extensions[n].id && same(e.value, extensions[n].value), "an extension changed");
        ++n;
    }
    require(n == (walked ? extensions.size() : 0), "fewer extensions after the rebuild");
    if (!extensions.empty()) require(again->extension_kind() == p->extension_kind(), "extension form changed");

    // In-place rewriting on the rebuild.
    auto m = rtp::mutable_packet_view::parse(*out);
    require(m.has_value(), "the mutable view refuses what the view accepted");
    m->set_ssrc(~p->ssrc());
    m->set_sequence_number(static_cast<std::uint16_t>(p->sequence_number() + 1));
    m->set_payload_type(static_cast<std::uint8_t>((p->payload_type() + 1) & 0x7F));
    if (!extensions.empty()) {
        const std::uint8_t from = extensions[0].id;
        const auto renamed = m->set_extension_id(from, from);
        require(renamed.has_value() && *renamed >= 1, "renaming an id to itself failed");
    }
    const auto rewritten = rtp::packet_view::parse(*out);
    require(rewritten.has_value(), "the rewritten packet does not parse");
    require(rewritten->ssrc() == ~p->ssrc(), "SSRC not rewritten");
    require(rewritten->sequence_number() == static_cast<std::uint16_t>(p->sequence_number() + 1), "sequence not rewritten");
    require(same(rewritten->payload(), p->payload()), "rewriting touched the payload");
    return 0;
}
