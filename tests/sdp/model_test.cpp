// The owning model: edit with typed setters, serialize, and read back through the view.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <string>

namespace sdp = peerkit::sdp;

TEST_CASE("model: build a data-channel description from scratch")
{
    auto d = sdp::session_description::make(4611731400430051336u);
    sdp::group bundle{"BUNDLE", sdp::token_list{"0"}};
    d.add(bundle);
    d.add(sdp::msid_semantic{"WMS", {}});
    sdp::media_description m{sdp::media_line{"application", 9, {}, "UDP/DTLS/SCTP", sdp::token_list{"webrtc-datachannel"}}};
    m.set_ice_credentials("abcd", "0123456789abcdefghijkl").set_ice_options("trickle");
    auto fp = sdp::parse_fingerprint("sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F");
    REQUIRE(fp);
    m.add(*fp).set_setup(sdp::setup_role::actpass).set_mid("0").set_sctp_port(5000).set_max_message_size(262144);
    sdp::candidate c;
    c.foundation = "1";
    c.priority = 2130706431;
    c.address = "127.0.0.1";
    c.port = 40000;
    m.add_candidate(c).add_flag("end-of-candidates");
    d.media.push_back(m);

    const std::string expected =
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=ice-options:trickle\r\n"
        "a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\n"
        "a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n"
        "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\na=end-of-candidates\r\n";
    CHECK(d.to_string() == expected);
    CHECK(d.serialized_size() == expected.size());
    auto v = sdp::parse_view(expected);  // what we write, we read
    REQUIRE(v);
    CHECK(sdp::session_description::from(*v) == d);
    CHECK(d.media[0].sctp_port() == 5000);
    CHECK(d.media[0].candidates().front()->port == 40000);
    CHECK(d.bundle_group()->mids == sdp::token_list{"0"});
}

TEST_CASE("model: setters replace in place, keeping line order")
{
    const std::string text =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=x-keep:me\r\n";
    auto d = sdp::session_description::parse(text);
    REQUIRE(d);
    auto& m = d->media[0];
    m.set_setup(sdp::setup_role::passive);
    m.set_direction(sdp::direction::recvonly);
    m.set_flag("rtcp-mux", false);
    m.set_flag("rtcp-rsize", true);
    REQUIRE(m.set_port(0));
    CHECK(d->to_string() ==
          "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
          "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=setup:passive\r\na=mid:0\r\na=recvonly\r\na=x-keep:me\r\na=rtcp-rsize\r\n");
    CHECK(m.rejected());
    CHECK(m.setup() == sdp::setup_role::passive);
    CHECK(m.direction() == sdp::direction::recvonly);
    CHECK_FALSE(m.rtcp_mux());
    CHECK(m.remove_attribute("x-keep") == 1);
    CHECK(m.remove_attribute("x-keep") == 0);
    CHECK(d->find_media("0") == &m);
    CHECK(d->find_media("1") == nullptr);
}

TEST_CASE("model: set_direction collapses several direction attributes into one")
{
    auto d = sdp::session_description::parse("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\na=inactive\r\n");
    REQUIRE(d);
    d->media[0].set_direction(sdp::direction::sendrecv);
    CHECK(d->media[0].lines.size() == 2);
    CHECK(d->media[0].lines[1].value == "sendrecv");
}

TEST_CASE("model: typed add() for codecs, feedback, extmap, ssrc, rid, simulcast")
{
    sdp::media_description m{sdp::media_line{"video", 9, {}, "UDP/TLS/RTP/SAVPF", sdp::token_list{"96 97"}}};
    m.add(sdp::rtpmap{96, "VP8", 90000, {}})
        .add(sdp::rtpmap{97, "rtx", 90000, {}})
        .add(sdp::fmtp{"97", "apt=96"})
        .add(sdp::rtcp_fb{"96", "nack", "pli"})
        .add(sdp::extmap{3, {}, "urn:ietf:params:rtp-hdrext:sdes:mid", {}})
        .add(sdp::ssrc{1, "cname", "x"})
        .add(sdp::ssrc_group{"FID", sdp::token_list{"1 2"}})
        .add(sdp::rid{"h", sdp::rid_direction::send, "max-width=1280"})
        .set(sdp::simulcast{"h;~l", {}})
        .set(sdp::msid{"s", "t"})
        .set(sdp::rtcp{9, "IN", "IP4", "0.0.0.0"});
    std::string out;
    for (const auto& l : m.lines) { out += l.type; out += '='; out += l.value; out += '\n'; }
    CHECK(out ==
          "m=video 9 UDP/TLS/RTP/SAVPF 96 97\nc=IN IP4 0.0.0.0\n"
          "a=rtpmap:96 VP8/90000\na=rtpmap:97 rtx/90000\na=fmtp:97 apt=96\na=rtcp-fb:96 nack pli\n"
          "a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid\na=ssrc:1 cname:x\na=ssrc-group:FID 1 2\n"
          "a=rid:h send max-width=1280\na=simulcast:send h;~l\na=msid:s t\na=rtcp:9 IN IP4 0.0.0.0\n");
    CHECK(m.rtpmap_for(97)->encoding_name == "rtx");
    CHECK(m.fmtp_for(97)->parameter_items().find("apt") == "96");
    CHECK(m.kind() == "video");
}

TEST_CASE("model: session-level set_line keeps RFC 8866 order")
{
    auto d = sdp::session_description::make(1);
    d.add_flag("ice-lite");
    d.set_line('c', "IN IP4 127.0.0.1");
    d.set_line('b', "AS:100");
    d.set_line('s', "renamed");
    CHECK(d.to_string() == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=renamed\r\nc=IN IP4 127.0.0.1\r\nb=AS:100\r\nt=0 0\r\na=ice-lite\r\n");
    CHECK(sdp::parse_view(d.to_string()));
    CHECK(d.origin()->session_version == 2);
}

TEST_CASE("model: an edited section with a broken m= line reports it")
{
    sdp::media_description m;
    CHECK_FALSE(m.m_line());
    CHECK(m.m_line().error() == sdp::errc::missing_line);
    CHECK_FALSE(m.set_port(1));
    CHECK(m.kind().empty());
}

TEST_CASE("model: a section keeps one text buffer; edits re-point lines and old views of other lines stay right")
{
    const std::string text = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                             "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:audio-section-0\r\na=sendrecv\r\n";
    auto d = sdp::session_description::parse(text);
    REQUIRE(d);
    auto& m = d->media[0];
    // A value that views this very section is copied before the buffer grows.
    m.set_mid(*m.mid());
    CHECK(m.mid() == "audio-section-0");
    m.add_attribute("x-copy", m.lines[1].value);  // "IN IP4 0.0.0.0", from the same buffer
    CHECK(m.lines.back().value == "x-copy:IN IP4 0.0.0.0");
    m.set_attribute("mid", m.lines.back().value);
    CHECK(m.attribute_value("mid") == "x-copy:IN IP4 0.0.0.0");  // not a token: mid() would skip it
    // Many edits: dead text is compacted away, every line still reads back right.
    for (int i = 0; i < 2000; ++i) m.set_attribute("x-counter", std::to_string(i));
    CHECK(m.attribute_value("x-counter") == "1999");
    CHECK(d->to_string() == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:x-copy:IN IP4 0.0.0.0\r\na=sendrecv\r\n"
                            "a=x-copy:IN IP4 0.0.0.0\r\na=x-counter:1999\r\n");
    // Copies are independent.
    auto copy = *d;
    CHECK(copy == *d);
    copy.media[0].set_direction(sdp::direction::inactive);
    CHECK(copy != *d);
    CHECK(d->media[0].direction() == sdp::direction::sendrecv);
    CHECK(copy.media[0].direction() == sdp::direction::inactive);
}

TEST_CASE("model: line_list insert, set, erase keep order and content")
{
    sdp::line_list l{{'v', "0"}, {'s', "-"}};
    l.insert(1, 'o', "- 1 2 IN IP4 127.0.0.1");
    l.push_back('t', "0 0");
    REQUIRE(l.size() == 4);
    CHECK(l[1] == sdp::line{'o', "- 1 2 IN IP4 127.0.0.1"});
    l.set_value(2, "renamed");
    l.set(3, 'a', "x");
    CHECK(l[2].value == "renamed");
    CHECK(l[3] == sdp::line{'a', "x"});
    l.erase(0);
    CHECK(l.front() == sdp::line{'o', "- 1 2 IN IP4 127.0.0.1"});
    CHECK(l.erase_if([](const sdp::line& x) { return x.type == 's'; }) == 1);
    std::string out;
    for (const auto& x : l) { out += x.type; out += '='; out += x.value; out += '\n'; }
    CHECK(out == "o=- 1 2 IN IP4 127.0.0.1\na=x\n");
    CHECK(l == sdp::line_list{{'o', "- 1 2 IN IP4 127.0.0.1"}, {'a', "x"}});
}
