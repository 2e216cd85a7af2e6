// sdp-roundtrip: reads an SDP offer or answer on stdin and writes it back, serialized by
// peerkit, on stdout (byte for byte the input, line endings normalised to CRLF).
//   --summary   print what matters instead: per m= line kind, mid, direction, codecs and
//               candidates; BUNDLE; ICE credentials; fingerprints; setup.
// Malformed input: "error: line N: ..." on stderr and exit status 1.
#include <peerkit/sdp.hpp>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv)
{
    bool summary = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--summary") == 0) {
            summary = true;
        } else {
            std::fprintf(stderr, "usage: %s [--summary] < offer.sdp\n", argv[0]);
            return 2;
        }
    }
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, stdin)) > 0;) text.append(buffer, n);

    const auto view = peerkit::sdp::parse_view(text);
    if (!view) {
        std::fprintf(stderr, "error: %s\n", view.error().message().c_str());
        return 1;
    }
    const std::string out = summary ? peerkit::sdp::summarize(*view) : peerkit::sdp::serialize(*view);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}
