// Each typed WebRTC attribute: parse, format back to the same text, and refuse malformed values.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace sdp = peerkit::sdp;
using sdp::errc;

namespace {
template <class T>
std::string round(const peerkit::result<T>& r)
{
    REQUIRE(r);
    return sdp::to_value(*r);
}
template <class T>
std::string failure(const peerkit::result<T>& r)
{
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::bad_attribute);
    return std::string(r.error().detail());
}
}  // namespace

TEST_CASE("attribute: group (RFC 5888, RFC 8843) BUNDLE and LS")
{
    auto g = sdp::parse_group("BUNDLE 0 1 data");
    REQUIRE(g);
    CHECK(g->semantics == "BUNDLE");
    CHECK(g->mids.size() == 3);
    CHECK(g->mids.contains("data"));
    CHECK(round(g) == "BUNDLE 0 1 data");
    CHECK(round(sdp::parse_group("LS 1 2")) == "LS 1 2");
    CHECK(sdp::parse_group("BUNDLE")->mids.empty());
    CHECK(failure(sdp::parse_group("")) == "a=group: semantics is not a token");
    CHECK(failure(sdp::parse_group("BUNDLE a(b")) == "a=group: 'a(b' is not a token");
}

TEST_CASE("attribute: msid-semantic, with Chromium's space after the colon")
{
    auto m = sdp::parse_msid_semantic(" WMS stream-a stream-b");
    REQUIRE(m);
    CHECK(m->semantic == "WMS");
    CHECK(m->ids.size() == 2);
    CHECK(round(m) == " WMS stream-a stream-b");
    CHECK(sdp::parse_msid_semantic("WMS *")->ids == sdp::token_list{"*"});
    CHECK(failure(sdp::parse_msid_semantic(" ")) == "a=msid-semantic: semantic is not a token");
}

TEST_CASE("attribute: fingerprint (RFC 8122 5), bytes decoded")
{
    auto f = sdp::parse_fingerprint("sha-256 23:79:DB:BD:2D:B6:47:60:F9:B6:B6:17:3E:E9:CE:3E:13:5F:29:7E:3B:3B:08:86:BA:D1:EF:E8:94:77:5F:45");
    REQUIRE(f);
    CHECK(f->hash_function == "sha-256");
    REQUIRE(f->size == 32);
    CHECK(f->bytes[0] == 0x23);
    CHECK(f->bytes[31] == 0x45);
    CHECK(round(f) == "sha-256 23:79:DB:BD:2D:B6:47:60:F9:B6:B6:17:3E:E9:CE:3E:13:5F:29:7E:3B:3B:08:86:BA:D1:EF:E8:94:77:5F:45");
    auto lower = sdp::parse_fingerprint("SHA-256 23:79:db:bd:2d:b6:47:60:f9:b6:b6:17:3e:e9:ce:3e:13:5f:29:7e:3b:3b:08:86:ba:d1:ef:e8:94:77:5f:45");
    REQUIRE(lower);
    CHECK(*lower == *f);  // hash name and hex digits compare case-insensitively
    CHECK(failure(sdp::parse_fingerprint("sha-256")) == "a=fingerprint: no fingerprint after 'sha-256'");
    CHECK(failure(sdp::parse_fingerprint("sha-256 AB:C")) == "a=fingerprint: odd number of hex digits");
    CHECK(failure(sdp::parse_fingerprint("sha-256 AB:XY")) == "a=fingerprint: 'XY' is not hex");
    CHECK(failure(sdp::parse_fingerprint("sha-256 ABCD")) == "a=fingerprint: bytes must be separated by ':'");
    CHECK(failure(sdp::parse_fingerprint("sha-256 AB:")) == "a=fingerprint: odd number of hex digits");
    std::string big = "sha-512 00";
    for (int i = 0; i < 64; ++i) big += ":00";
    CHECK(failure(sdp::parse_fingerprint(big)) == "a=fingerprint: more than 64 bytes");
}

TEST_CASE("attribute: setup (RFC 4145 4, RFC 8842)")
{
    CHECK(*sdp::parse_setup("actpass") == sdp::setup_role::actpass);
    CHECK(*sdp::parse_setup("active") == sdp::setup_role::active);
    CHECK(*sdp::parse_setup("passive") == sdp::setup_role::passive);
    CHECK(*sdp::parse_setup("holdconn") == sdp::setup_role::holdconn);
    CHECK(failure(sdp::parse_setup("Active")) == "a=setup: 'Active' is not actpass, active, passive or holdconn");
}

TEST_CASE("attribute: direction (RFC 8866 6.7) and its reverse for answers")
{
    CHECK(sdp::direction_from("recvonly") == sdp::direction::recvonly);
    CHECK_FALSE(sdp::direction_from("sendreceive"));
    CHECK(sdp::reverse(sdp::direction::sendonly) == sdp::direction::recvonly);
    CHECK(sdp::reverse(sdp::direction::recvonly) == sdp::direction::sendonly);
    CHECK(sdp::reverse(sdp::direction::sendrecv) == sdp::direction::sendrecv);
    CHECK(sdp::reverse(sdp::direction::inactive) == sdp::direction::inactive);
}

TEST_CASE("attribute: rtpmap (RFC 8866 6.6)")
{
    auto r = sdp::parse_rtpmap("111 opus/48000/2");
    REQUIRE(r);
    CHECK(r->payload_type == 111);
    CHECK(r->encoding_name == "opus");
    CHECK(r->clock_rate == 48000);
    CHECK(r->channels == 2);
    CHECK(round(r) == "111 opus/48000/2");
    CHECK(round(sdp::parse_rtpmap("96 VP8/90000")) == "96 VP8/90000");
    CHECK_FALSE(sdp::parse_rtpmap("96 VP8/90000")->channels);
    CHECK(failure(sdp::parse_rtpmap("128 x/1")) == "a=rtpmap: payload type '128' is not 0-127");
    CHECK(failure(sdp::parse_rtpmap("96 /90000")) == "a=rtpmap:96 has no encoding name");
    CHECK(failure(sdp::parse_rtpmap("96 VP8")) == "a=rtpmap:96 clock rate '' is not a number");
    CHECK(failure(sdp::parse_rtpmap("96 VP8/0")) == "a=rtpmap:96 clock rate '0' is not a number");
    CHECK(failure(sdp::parse_rtpmap("96 opus/48000/two")) == "a=rtpmap:96 encoding parameters 'two' are not a number");
}

TEST_CASE("attribute: fmtp (RFC 8866 6.15) with its parameter list")
{
    auto f = sdp::parse_fmtp("111 minptime=10; useinbandfec=1;;flag");
    REQUIRE(f);
    CHECK(f->payload_type() == 111);
    CHECK(f->parameters == "minptime=10; useinbandfec=1;;flag");
    std::vector<sdp::parameter> ps(f->parameter_items().begin(), f->parameter_items().end());
    REQUIRE(ps.size() == 3);
    CHECK(ps[1].key == "useinbandfec");
    CHECK(ps[1].value == "1");
    CHECK(ps[2].key == "flag");
    CHECK(ps[2].value.empty());
    CHECK(round(sdp::parse_fmtp("63 111/111")) == "63 111/111");
    CHECK(failure(sdp::parse_fmtp("")) == "a=fmtp: no format");
}

TEST_CASE("attribute: rtcp-fb (RFC 4585 4.2)")
{
    auto f = sdp::parse_rtcp_fb("96 nack pli");
    REQUIRE(f);
    CHECK(f->payload_type == "96");
    CHECK(f->type == "nack");
    CHECK(f->parameter == "pli");
    CHECK(round(f) == "96 nack pli");
    CHECK(round(sdp::parse_rtcp_fb("* transport-cc")) == "* transport-cc");
    CHECK(failure(sdp::parse_rtcp_fb("x nack")) == "a=rtcp-fb: 'x' is not a payload type or *");
    CHECK(failure(sdp::parse_rtcp_fb("96")) == "a=rtcp-fb:96 has no feedback type");
}

TEST_CASE("attribute: extmap (RFC 8285 7)")
{
    auto e = sdp::parse_extmap("2/sendonly urn:ietf:params:rtp-hdrext:csrc-audio-level vad=on");
    REQUIRE(e);
    CHECK(e->id == 2);
    CHECK(e->direction == sdp::direction::sendonly);
    CHECK(e->uri == "urn:ietf:params:rtp-hdrext:csrc-audio-level");
    CHECK(e->attributes == "vad=on");
    CHECK(round(e) == "2/sendonly urn:ietf:params:rtp-hdrext:csrc-audio-level vad=on");
    CHECK(round(sdp::parse_extmap("14 urn:ietf:params:rtp-hdrext:toffset")) == "14 urn:ietf:params:rtp-hdrext:toffset");
    CHECK(sdp::parse_extmap("255 urn:x"));
    CHECK(failure(sdp::parse_extmap("0 urn:x")) == "a=extmap: id '0' is not 1-255");
    CHECK(failure(sdp::parse_extmap("256 urn:x")) == "a=extmap: id '256' is not 1-255");
    CHECK(failure(sdp::parse_extmap("1/sideways urn:x")) == "a=extmap:1 has a bad direction");
    CHECK(failure(sdp::parse_extmap("1")) == "a=extmap:1 has no URI");
}

TEST_CASE("attribute: ssrc and ssrc-group (RFC 5576)")
{
    auto s = sdp::parse_ssrc("3735928559 cname:user@example");
    REQUIRE(s);
    CHECK(s->id == 3735928559u);
    CHECK(s->attribute == "cname");
    CHECK(s->value == "user@example");
    CHECK(round(s) == "3735928559 cname:user@example");
    auto m = sdp::parse_ssrc("1 msid:stream track");
    REQUIRE(m);
    CHECK(m->value == "stream track");
    CHECK(failure(sdp::parse_ssrc("4294967296 cname:x")) == "a=ssrc: '4294967296' is not a 32-bit SSRC");
    CHECK(failure(sdp::parse_ssrc("1")) == "a=ssrc:1 has no attribute");
    auto g = sdp::parse_ssrc_group("FID 1 2");
    REQUIRE(g);
    CHECK(g->semantics == "FID");
    CHECK(g->ssrcs == sdp::token_list{"1 2"});
    CHECK(round(g) == "FID 1 2");
    CHECK(failure(sdp::parse_ssrc_group("FID 1 x")) == "a=ssrc-group:FID 'x' is not an SSRC");
}

TEST_CASE("attribute: msid (RFC 8830 2)")
{
    auto m = sdp::parse_msid("stream track");
    REQUIRE(m);
    CHECK(m->stream_id == "stream");
    CHECK(m->track_id == "track");
    CHECK(round(m) == "stream track");
    CHECK(round(sdp::parse_msid("- track")) == "- track");
    CHECK(sdp::parse_msid("only")->track_id.empty());
    CHECK(failure(sdp::parse_msid(std::string(65, 'a'))) == "a=msid: id is not 1-64 token chars");
    CHECK(failure(sdp::parse_msid("a b c")) == "a=msid: appdata is not 1-64 token chars");
}

TEST_CASE("attribute: rid (RFC 8851 10)")
{
    auto r = sdp::parse_rid("hi send pt=96,98;max-width=1280");
    REQUIRE(r);
    CHECK(r->id == "hi");
    CHECK(r->dir == sdp::rid_direction::send);
    CHECK(r->restriction_list().find("max-width") == "1280");
    CHECK(round(r) == "hi send pt=96,98;max-width=1280");
    CHECK(round(sdp::parse_rid("lo_1 recv")) == "lo_1 recv");
    CHECK(failure(sdp::parse_rid("h! send")) == "a=rid: 'h!' is not a rid-id");
    CHECK(failure(sdp::parse_rid("h both")) == "a=rid:h direction 'both' is not send or recv");
}

TEST_CASE("attribute: simulcast (RFC 8853 5.1)")
{
    auto s = sdp::parse_simulcast("send h;m,~m2;~l recv r1");
    REQUIRE(s);
    CHECK(s->send == "h;m,~m2;~l");
    CHECK(s->recv == "r1");
    std::vector<std::string_view> streams(sdp::simulcast::streams(s->send).begin(), sdp::simulcast::streams(s->send).end());
    REQUIRE(streams.size() == 3);
    std::vector<std::string_view> alts(sdp::simulcast::alternatives(streams[1]).begin(), sdp::simulcast::alternatives(streams[1]).end());
    REQUIRE(alts.size() == 2);
    CHECK(sdp::simulcast::rid_of(alts[1]).id == "m2");
    CHECK(sdp::simulcast::rid_of(alts[1]).paused);
    CHECK_FALSE(sdp::simulcast::rid_of(alts[0]).paused);
    CHECK(round(s) == "send h;m,~m2;~l recv r1");
    CHECK(round(sdp::parse_simulcast("recv 1;2")) == "recv 1;2");
    CHECK(failure(sdp::parse_simulcast("")) == "a=simulcast: no send or recv streams");
    CHECK(failure(sdp::parse_simulcast("up 1")) == "a=simulcast: 'up' is not send or recv");
    CHECK(failure(sdp::parse_simulcast("send 1 send 2")) == "a=simulcast: 'send' given twice");
    CHECK(failure(sdp::parse_simulcast("send")) == "a=simulcast: send has no streams");
    CHECK(failure(sdp::parse_simulcast("send a;b!")) == "a=simulcast: 'b!' is not a rid");
}

TEST_CASE("attribute: rtcp (RFC 3605), sctpmap (legacy), sctp-port and max-message-size (RFC 8841)")
{
    auto r = sdp::parse_rtcp("9 IN IP4 0.0.0.0");
    REQUIRE(r);
    CHECK(r->port == 9);
    CHECK(r->address == "0.0.0.0");
    CHECK(round(r) == "9 IN IP4 0.0.0.0");
    CHECK(round(sdp::parse_rtcp("53020")) == "53020");
    CHECK(failure(sdp::parse_rtcp("x")) == "a=rtcp: 'x' is not a port");
    CHECK(failure(sdp::parse_rtcp("9 IN IP4")) == "a=rtcp:9 address is not <nettype> <addrtype> <address>");
    auto m = sdp::parse_sctpmap("5000 webrtc-datachannel 1024");
    REQUIRE(m);
    CHECK(m->port == 5000);
    CHECK(m->streams == 1024u);
    CHECK(round(m) == "5000 webrtc-datachannel 1024");
    CHECK(failure(sdp::parse_sctpmap("5000")) == "a=sctpmap:5000 has no protocol");
    CHECK(*sdp::parse_sctp_port("5000") == 5000);
    CHECK(failure(sdp::parse_sctp_port("70000")) == "a=sctp-port: '70000' is not a port");
    CHECK(*sdp::parse_max_message_size("262144") == 262144u);
    CHECK(*sdp::parse_max_message_size("0") == 0u);
    CHECK(failure(sdp::parse_max_message_size("-1")) == "a=max-message-size: '-1' is not a number");
}

TEST_CASE("attribute: ICE credentials, options (RFC 8839 5.4, 5.6) and mid")
{
    CHECK(*sdp::parse_ice_credential("ice-ufrag", "Hp1H") == "Hp1H");
    CHECK(failure(sdp::parse_ice_credential("ice-ufrag", "a b")) == "a=ice-ufrag: value is not 1-256 non-space characters");
    CHECK(failure(sdp::parse_ice_credential("ice-pwd", "")) == "a=ice-pwd: value is not 1-256 non-space characters");
    auto o = sdp::parse_ice_options("trickle ice2");
    REQUIRE(o);
    CHECK(o->contains("ice2"));
    CHECK(failure(sdp::parse_ice_options(" ")) == "a=ice-options: no option tags");
    CHECK(*sdp::parse_mid("audio0") == "audio0");
    CHECK(failure(sdp::parse_mid("a b")) == "a=mid: 'a b' is not a token");
}

TEST_CASE("attribute: known attributes inside a description are checked at parse time")
{
    const std::string head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n";
    for (std::string bad : {"a=fingerprint:sha-256 XX", "a=setup:maybe", "a=group:", "a=rtpmap:x", "a=fmtp:",
                            "a=rtcp-fb:x y", "a=extmap:0 u", "a=ssrc:x cname:y", "a=ssrc-group:FID x", "a=msid:",
                            "a=rid:! send", "a=simulcast:x", "a=rtcp:x", "a=sctpmap:x y", "a=sctp-port:x",
                            "a=max-message-size:x", "a=ice-ufrag:", "a=ice-pwd:", "a=ice-options:", "a=mid:",
                            "a=msid-semantic:"}) {
        INFO(bad);
        auto r = sdp::parse_view(head + bad + "\r\n");
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::bad_attribute);
        CHECK(r.error().detail().starts_with("line 6: a="));
    }
}
