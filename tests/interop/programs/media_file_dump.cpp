// Prints what peerkit's media file readers find in a file (media_file/), for
// tests/interop/media_file_pyav.py to compare with PyAV's (ffmpeg's) demuxer:
//   HEADER ivf <fourcc> <width> <height> <timebase num>/<den>   |   HEADER opus <channels> <pre-skip>
//   FRAME <size> <timestamp>                    |   PACKET <size> <granule or -1> <1: spanned pages>
// Exit 1 with the reader's error on stderr when the file is broken.
#include <peerkit/media_file/ivf.hpp>
#include <peerkit/media_file/ogg.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

namespace mf = peerkit::media_file;

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: media_file_dump FILE.ivf|FILE.ogg\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    const std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const peerkit::bytes_view file(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
    if (raw.size() >= 4 && std::string_view(raw.data(), 4) == "DKIF") {
        auto r = mf::ivf_reader::open(file);
        if (!r) {
            std::fprintf(stderr, "ivf: %s\n", r.error().message().c_str());
            return 1;
        }
        const auto& h = r->header();
        std::printf("HEADER ivf %.4s %u %u %u/%u\n", h.fourcc, h.width, h.height, h.timebase_numerator,
                    h.timebase_denominator);
        while (auto f = r->next())
            std::printf("FRAME %zu %llu\n", f->data.size(), static_cast<unsigned long long>(f->timestamp));
        if (r->error()) {
            std::fprintf(stderr, "ivf: %s\n", r->error()->message().c_str());
            return 1;
        }
        return 0;
    }
    auto r = mf::ogg_opus_reader::open(file);
    if (!r) {
        std::fprintf(stderr, "ogg: %s\n", r.error().message().c_str());
        return 1;
    }
    std::printf("HEADER opus %u %u\n", r->head().channels, r->head().pre_skip);
    std::array<std::byte, 65536> scratch{};
    while (auto p = r->next(scratch))
        std::printf("PACKET %zu %lld %d\n", p->data.size(), static_cast<long long>(p->granule_position),
                    p->data.data() == scratch.data() ? 1 : 0);
    if (r->error()) {
        std::fprintf(stderr, "ogg: %s\n", r->error()->message().c_str());
        return 1;
    }
    return 0;
}
