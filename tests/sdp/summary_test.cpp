// The summary behind examples/sdp-roundtrip --summary.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace sdp = peerkit::sdp;

TEST_CASE("summary: per m= line kind, mid, direction, codecs, candidates; BUNDLE; ICE; DTLS")
{
    const std::string text =
        "v=0\r\no=- 42 7 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a d\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=recvonly\r\n"
        "a=ice-ufrag:uf00\r\na=ice-pwd:pwpwpwpwpwpwpwpwpwpwpw\r\na=ice-options:trickle\r\n"
        "a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n"
        "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 4000 typ host\r\n"
        "a=candidate:2 1 udp 1694498815 203.0.113.1 4001 typ srflx raddr 127.0.0.1 rport 4000\r\n"
        "a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\na=end-of-candidates\r\n"
        "m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:d\r\na=sctp-port:5000\r\na=max-message-size:65536\r\n";
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    CHECK(sdp::summarize(*v) ==
          "session: id 42 version 7\n"
          "group: BUNDLE a d\n"
          "m-line 0: audio mid=a recvonly port=9 UDP/TLS/RTP/SAVPF\n"
          "  ice-ufrag: uf00\n"
          "  ice-pwd: pwpwpwpwpwpwpwpwpwpwpw\n"
          "  ice-options: trickle\n"
          "  fingerprint: sha-256 AA:BB\n"
          "  setup: actpass\n"
          "  codecs: 111 opus/48000/2, 0 PCMU/8000\n"
          "  candidate: host udp 127.0.0.1 4000\n"
          "  candidate: srflx udp 203.0.113.1 4001 from 127.0.0.1 4000\n"
          "  candidate: host tcp 127.0.0.1 9 tcptype active\n"
          "  end-of-candidates\n"
          "m-line 1: video mid=v sendrecv port=0 UDP/TLS/RTP/SAVPF (rejected)\n"
          "m-line 2: application mid=d - port=9 UDP/DTLS/SCTP\n"
          "  data channel: sctp-port 5000 max-message-size 65536\n");
}

TEST_CASE("summary: no BUNDLE, session-level credentials")
{
    const std::string text =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\na=ice-ufrag:LiTe\r\n"
        "m=audio 5000 RTP/AVP 0\r\n";
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    CHECK(sdp::summarize(*v) ==
          "session: id 1 version 1\nBUNDLE: none\nice-ufrag: LiTe\nice-lite\n"
          "m-line 0: audio mid=(none) sendrecv port=5000 RTP/AVP\n");
}
