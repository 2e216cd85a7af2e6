// Helper peer for tests/interop/sdp_jsep.py: peerkit's JSEP side, over stdin/stdout.
//   interop_sdp_jsep offer <data|av|av+data> [candidate-port]   -> our offer on stdout
//   interop_sdp_jsep answer <data|av|av+data> [candidate-port]  remote offer on stdin -> our answer
//   interop_sdp_jsep check <our-offer-file>                      remote answer on stdin: checks
//     that it answers our offer (same mids in order, BUNDLE, a DTLS role) and prints a summary.
// Errors go to stderr as "error: ..." with exit status 1.
#include <peerkit/sdp.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sdp = peerkit::sdp;
namespace jsep = peerkit::sdp::jsep;

namespace {
std::string read_all(std::FILE* f)
{
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
    return text;
}

int fail(const std::string& what)
{
    std::fprintf(stderr, "error: %s\n", what.c_str());
    return 1;
}

jsep::local_description local_side(const std::string& kind, int candidate_port)
{
    jsep::local_description l;
    l.session_id = 7364029384756102938u;
    l.ice_ufrag = "pkit";
    l.ice_pwd = "peerkitInteropPassword";
    auto fp = sdp::parse_fingerprint(
        "sha-256 3C:4E:8F:1A:22:90:AB:CD:EF:01:23:45:67:89:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F:20:21");
    l.fingerprints.push_back(*fp);
    if (candidate_port > 0) {
        sdp::candidate c;
        c.foundation = "1";
        c.priority = sdp::compute_priority(126, 65535, 1);
        c.address = "127.0.0.1";
        c.port = static_cast<std::uint16_t>(candidate_port);
        c.extensions.push_back({"generation", "0"});
        l.candidates.push_back(c);
        l.end_of_candidates = true;
    }
    if (kind == "av" || kind == "av+data") {
        jsep::local_media audio;
        audio.kind = jsep::media_kind::audio;
        audio.codecs = jsep::default_audio_codecs();
        audio.header_extensions = {"urn:ietf:params:rtp-hdrext:sdes:mid"};
        audio.stream_id = "peerkit-stream";
        audio.track_id = "peerkit-audio";
        audio.ssrc = 11111111;
        audio.cname = "peerkit";
        l.media.push_back(audio);
        jsep::local_media video;
        video.kind = jsep::media_kind::video;
        video.codecs = jsep::default_video_codecs();
        video.header_extensions = {"urn:ietf:params:rtp-hdrext:sdes:mid"};
        video.stream_id = "peerkit-stream";
        video.track_id = "peerkit-video";
        video.ssrc = 22222222;
        video.rtx_ssrc = 33333333;
        video.cname = "peerkit";
        l.media.push_back(video);
    }
    if (kind == "data" || kind == "av+data") l.media.push_back(jsep::local_media{});
    return l;
}
}  // namespace

int main(int argc, char** argv)
{
    if (argc < 3) return fail("usage: interop_sdp_jsep offer|answer <kind> [port] | check <offer-file>");
    const std::string mode = argv[1];
    const int port = argc > 3 ? std::atoi(argv[3]) : 0;
    if (mode == "offer") {
        auto offer = jsep::create_offer(local_side(argv[2], port));
        if (!offer) return fail(offer.error().message());
        const auto text = offer->to_string();
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    if (mode == "answer") {
        const auto remote = read_all(stdin);
        auto view = sdp::parse_view(remote);
        if (!view) return fail("their offer: " + view.error().message());
        auto answer = jsep::create_answer(*view, local_side(argv[2], port));
        if (!answer) return fail(answer.error().message());
        const auto text = answer->to_string();
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    }
    if (mode == "check") {
        std::ifstream in(argv[2], std::ios::binary);
        std::stringstream buffer;
        buffer << in.rdbuf();
        const auto offer_text = buffer.str();
        const auto answer_text = read_all(stdin);
        auto offer = sdp::parse_view(offer_text);
        auto answer = sdp::parse_view(answer_text);
        if (!offer) return fail("our offer: " + offer.error().message());
        if (!answer) return fail("their answer: " + answer.error().message());
        if (offer->media().size() != answer->media().size())
            return fail("answer has " + std::to_string(answer->media().size()) + " m= sections, offer " +
                        std::to_string(offer->media().size()));
        auto o = offer->media().begin();
        for (const auto& a : answer->media()) {
            if (a.mid() != o->mid()) return fail("answer changed a mid");
            if (a.kind() != o->kind()) return fail("answer changed a media kind");
            if (a.port() == 0) return fail("answer rejected mid " + std::string(a.mid().value_or("?")));
            ++o;
        }
        if (!answer->bundle_group()) return fail("answer has no BUNDLE group");
        auto role = jsep::dtls_role(*offer, *answer);
        if (!role) return fail(role.error().message());
        std::printf("ok: %zu sections accepted, we are DTLS %s\n", answer->media().size(),
                    *role == sdp::setup_role::active ? "client" : "server");
        return 0;
    }
    return fail("unknown mode " + mode);
}
