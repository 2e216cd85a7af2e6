// Fuzz target: the IVF and Ogg Opus readers (media_file/) over arbitrary bytes.
//
// Input: one mode byte, then the file. mode % 2 == 0: IVF (every frame read, twice, with a
// rewind between); 1: Ogg Opus (every packet read with a scratch buffer of (mode * 37) % 4096
// bytes, so that packets spanning pages both fit and do not). Invariants: every frame or packet
// lent from the file lies inside it, one from the scratch inside the scratch; a reader that
// stopped with an error stays stopped; the number of frames is bounded by the file's size.
#include <peerkit/media_file/ivf.hpp>
#include <peerkit/media_file/ogg.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace mf = peerkit::media_file;

namespace {
void check(bool ok)
{
    if (!ok) std::abort();
}
bool inside(peerkit::bytes_view part, peerkit::bytes_view whole)
{
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const unsigned mode = data[0];
    const peerkit::bytes_view file(reinterpret_cast<const std::byte*>(data + 1), size - 1);
    if (mode % 2 == 0) {
        auto r = mf::ivf_reader::open(file);
        if (!r) return 0;
        for (int pass = 0; pass < 2; ++pass) {
            std::size_t frames = 0;
            while (auto f = r->next()) {
                check(inside(f->data, file));
                ++frames;
                check(frames <= file.size() / mf::ivf_reader::frame_header_size);
            }
            const bool failed = r->error().has_value();
            check(!r->next().has_value());
            check(r->error().has_value() == failed);
            r->rewind();
        }
    } else {
        static std::array<std::byte, 4096> scratch;
        const std::span<std::byte> room(scratch.data(), (mode * 37u) % scratch.size());
        auto r = mf::ogg_opus_reader::open(file);
        if (!r) return 0;
        std::size_t packets = 0;
        while (auto p = r->next(room)) {
            check(inside(p->data, file) || inside(p->data, room));
            ++packets;
            check(packets <= file.size() + 1);
        }
        const bool failed = r->error().has_value();
        check(!r->next(room).has_value());
        check(r->error().has_value() == failed);
    }
    return 0;
}
