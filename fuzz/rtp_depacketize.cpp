// Fuzzes the RTP payload depacketizers (Opus, VP8, H.264): the input picks a codec, a frame
// budget and a payload size, then carries a sequence of packets (flags, length, payload) with
// markers, sequence gaps and timestamp changes. Every push answers a frame, nothing, or an
// error; the bytes held never pass the budget. Each frame that comes out is packetized again
// and depacketized by a fresh depacketizer: the frame, its key flag and its size must come
// back unchanged. Any mismatch aborts (a crash for libFuzzer).
//
// Input: byte 0 = codec (mod 3) and budget (256 << (b >> 2) % 10); byte 1 = payload size for
// the repacketizing (3 + 5 * b); then records: flags (bit 0 marker, bit 1 skip a sequence
// number, bit 2 next timestamp, bit 3 repeat the last sequence number), 16-bit length, bytes.
#include <peerkit/rtp/payload.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

using namespace peerkit;
using namespace peerkit::rtp::payload;

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "rtp_depacketize fuzz: %s\n", what);
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

// What the H.264 depacketizer promises: every unit behind a 4-byte start code and none with
// an embedded start code or a trailing zero (it refuses such units), so the Annex B output
// splits back into exactly the units it received.
bool canonical_annexb(bytes_view au)
{
    annexb_reader r{au};
    std::size_t at = 0;
    while (const auto nal = r.next()) {
        if (au.size() - at < 4 + nal->size()) return false;
        if (au[at] != std::byte{0} || au[at + 1] != std::byte{0} || au[at + 2] != std::byte{0} || au[at + 3] != std::byte{1})
            return false;
        if (nal->data() != au.data() + at + 4) return false;
        at += 4 + nal->size();
    }
    return at == au.size();
}

template <class Packetizer, class Depacketizer>
void round_trip(const frame& f, std::size_t max_payload, std::vector<std::byte>& storage)
{
    Packetizer pack{{.max_payload_size = max_payload}};
    const auto count = pack.start(f.data);
    if (!count) std::fprintf(stderr, "rtp_depacketize fuzz: %s\n", count.error().message().c_str());
    require(count.has_value(), "a depacketized frame does not packetize");
    Depacketizer again{storage};
    static std::vector<std::byte> buffer(2000);
    std::uint16_t seq = 0;
    std::optional<frame> out;
    std::size_t produced = 0;
    while (pack.has_next()) {
        const auto payload = pack.next(buffer);
        require(payload.has_value(), "next() failed");
        require(payload->bytes.size() <= max_payload, "a payload exceeds the payload size");
        ++produced;
        const auto r = again.push({payload->bytes, seq++, f.timestamp, payload->marker});
        require(r.has_value(), "our own payload does not depacketize");
        if (*r) {
            require(!pack.has_next(), "a frame before the last payload");
            out = **r;
        }
    }
    require(produced == *count, "start() miscounted the payloads");
    require(out.has_value(), "the repacketized frame did not come back");
    require(same(out->data, f.data), "the frame changed in a round trip");
    require(out->key == f.key && out->width == f.width && out->height == f.height, "key flag or size changed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 2) return 0;
    const unsigned codec = data[0] % 3;
    const std::size_t budget = std::size_t{256} << ((data[0] >> 2) % 10);
    const std::size_t max_payload = 3 + 5 * std::size_t{data[1]};
    std::vector<std::byte> storage(budget);
    std::vector<std::byte> second(budget);
    opus_depacketizer opus{{.max_packet_bytes = budget}};
    vp8_depacketizer vp8{storage};
    h264_depacketizer h264{storage};

    std::size_t pos = 2;
    std::uint16_t seq = 1000;
    std::uint32_t ts = 0;
    std::size_t input = 0;
    while (pos + 3 <= size) {
        const std::uint8_t flags = data[pos];
        std::size_t length = std::size_t{data[pos + 1]} << 8 | data[pos + 2];
        pos += 3;
        if (length > size - pos) length = size - pos;
        const bytes_view payload{reinterpret_cast<const std::byte*>(data + pos), length};
        pos += length;
        input += length;
        if ((flags & 0x02) != 0) ++seq;
        if ((flags & 0x04) != 0) ts += 3000;
        const packet_info p{payload, seq, ts, (flags & 0x01) != 0};
        if ((flags & 0x08) == 0) ++seq;

        result<std::optional<frame>> r = std::optional<frame>{};
        switch (codec) {
        case 0: r = opus.push(p); break;
        case 1: r = vp8.push(p); break;
        default: r = h264.push(p); break;
        }
        require(vp8.held_bytes() <= budget && h264.held_bytes() <= budget, "held bytes passed the budget");
        if (!r) {
            require(!r.error().message().empty(), "an error without a message");
            continue;
        }
        if (!*r) continue;
        const frame f = **r;
        require(f.data.size() <= budget, "a frame larger than the budget");
        require(!f.data.empty(), "an empty frame");
        switch (codec) {
        case 0: {
            std::vector<std::byte> buffer(f.data.size());
            const auto out = opus_packetize(f.data, buffer, {.max_payload_size = f.data.size()});
            require(out.has_value(), "an accepted Opus packet does not packetize");
            opus_depacketizer again{};
            const auto g = again.push({out->bytes, 0, f.timestamp, out->marker});
            require(g.has_value() && g->has_value() && same((*g)->data, f.data), "Opus round trip changed the packet");
            break;
        }
        case 1: round_trip<vp8_packetizer, vp8_depacketizer>(f, max_payload < 7 ? 7 : max_payload, second); break;
        default:
            require(canonical_annexb(f.data), "an H.264 access unit that does not split back into its units");
            round_trip<h264_packetizer, h264_depacketizer>(f, max_payload, second);
            break;
        }
    }
    // The work stays proportional to the input (a quadratic path would break this).
    const auto& s = codec == 1 ? vp8.stats() : h264.stats();
    if (codec != 0) require(s.work <= 3 * input + 16 * s.packets, "work out of proportion to the input");
    return 0;
}
