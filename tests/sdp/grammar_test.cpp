// RFC 8866 grammar, rule by rule, with the errors (code and "line N: what") it gives.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace sdp = peerkit::sdp;
using sdp::errc;

namespace {
constexpr std::string_view head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

// Both parsers must agree on every verdict: same code, same message.
peerkit::error parse_error(std::string_view text, const sdp::parse_options& o = {})
{
    auto v = sdp::parse_view(text, o);
    auto m = sdp::session_description::parse(text, o);
    REQUIRE(v.has_value() == m.has_value());
    if (v) return {};
    CHECK(v.error().code() == m.error().code());
    CHECK(v.error().detail() == m.error().detail());
    return v.error();
}
std::string with(std::string_view tail) { return std::string(head) + std::string(tail); }
}  // namespace

TEST_CASE("grammar: the smallest description parses and round-trips")
{
    auto v = sdp::parse_view(head);
    REQUIRE(v);
    CHECK(v->media().empty());
    CHECK(sdp::serialize(*v) == head);
    CHECK(v->origin().session_id == "1");
    CHECK(v->origin().session_version == 2);
    CHECK(v->origin().address == "127.0.0.1");
    CHECK(v->session_name() == "-");
}

TEST_CASE("grammar: LF-only and mixed line endings are accepted and normalised to CRLF")
{
    const std::string lf = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\r\nt=0 0\nm=audio 9 RTP/AVP 0\na=sendonly";
    auto v = sdp::parse_view(lf);
    REQUIRE(v);
    CHECK(sdp::serialize(*v) == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=sendonly\r\n");
    CHECK(v->media().at(0)->direction() == sdp::direction::sendonly);
}

TEST_CASE("grammar: trailing blank lines are dropped, inner ones refused")
{
    auto v = sdp::parse_view(with("a=x\r\n\r\n\r\n"));
    REQUIRE(v);
    CHECK(sdp::serialize(*v) == with("a=x\r\n"));
    auto e = parse_error(with("\r\na=x\r\n"));
    CHECK(e == errc::malformed_line);
    CHECK(e.detail() == "line 5: empty line");
}

TEST_CASE("grammar: line syntax errors carry the line number")
{
    CHECK(parse_error("").detail() == "SDP is empty: no v= line");
    CHECK(parse_error("o=- 1 2 IN IP4 1.2.3.4\r\n").detail() == "line 1: SDP must start with v=");
    CHECK(parse_error("v=1\r\n").detail() == "line 1: v= must be 0, not '1'");
    CHECK(parse_error(with("novalue\r\n")).detail() == "line 5: line is not <type>=<value>");
    CHECK(parse_error(with("A=x\r\n")).detail() == "line 5: line type must be a lower-case letter");
    CHECK(parse_error(with("a =x\r\n")) == errc::malformed_line);
    CHECK(parse_error(with("a=x\ry\r\n")).detail() == "line 5: stray CR in line");
    CHECK(parse_error(with(std::string("a=x\0y\r\n", 7))).detail() == "line 5: NUL byte in line");
}

TEST_CASE("grammar: RFC 8866 5 unknown type letters void the description")
{
    auto e = parse_error(with("x=1\r\n"));
    CHECK(e == errc::unknown_line_type);
    CHECK(e.detail() == "line 5: unknown line type 'x'");
}

TEST_CASE("grammar: RFC 8866 9 order of session and media lines")
{
    CHECK(parse_error("v=0\r\ns=-\r\no=- 1 2 IN IP4 1.2.3.4\r\nt=0 0\r\n").detail() ==
          "line 3: o= line after s= line (RFC 8866 9 fixes the order)");
    CHECK(parse_error(with("a=x\r\nb=AS:1\r\n")) == errc::misplaced_line);
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n") == errc::misplaced_line);
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nr=1 2 3\r\nt=0 0\r\n") == errc::misplaced_line);
    CHECK(parse_error(with("m=audio 9 RTP/AVP 0\r\nt=0 0\r\n")).detail() == "line 6: t= line is not allowed in a media section");
    CHECK(parse_error(with("m=audio 9 RTP/AVP 0\r\na=x\r\nc=IN IP4 1.2.3.4\r\n")) == errc::misplaced_line);
    CHECK(parse_error(with("m=audio 9 RTP/AVP 0\r\ni=a\r\ni=b\r\n")) == errc::misplaced_line);
    // Several t=/r= groups, several c= in media (layered multicast) and b= are fine.
    CHECK(sdp::parse_view(with("r=1d 1h 0\r\nt=1 2\r\nr=7d 1h 0 25h\r\nm=audio 9 RTP/AVP 0\r\nc=IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.5\r\nb=AS:1\r\nb=CT:2\r\n")));
}

TEST_CASE("grammar: mandatory lines")
{
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\n").detail() == "SDP has no t= line");
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\nt=0 0\r\n").detail() == "SDP has no s= line");
    CHECK(parse_error("v=0\r\ns=-\r\nt=0 0\r\n").detail() == "SDP has no o= line");
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n").detail() ==
          "line 4: no t= line before the first m= line");
}

TEST_CASE("grammar: o= (RFC 8866 5.2)")
{
    CHECK(parse_error("v=0\r\no=- x 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n").detail() == "line 2: o= session id 'x' is not a 64-bit number");
    CHECK(parse_error("v=0\r\no=- 1 99999999999999999999 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n") == errc::bad_field);
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4\r\ns=-\r\nt=0 0\r\n").detail() == "line 2: o= line has no unicast address");
    CHECK(parse_error("v=0\r\no=\r\ns=-\r\nt=0 0\r\n").detail() == "line 2: o= line has no username");
}

TEST_CASE("grammar: c=, b=, t=, r=, z=, k=")
{
    CHECK(parse_error(with("c=IN IP4\r\n")) == errc::misplaced_line);  // c= after t=
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n").detail() == "line 4: c= line has no connection address");
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nb=AS\r\nt=0 0\r\n").detail() == "line 4: b=AS value '' is not a number");
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nb=AS:x\r\nt=0 0\r\n") == errc::bad_field);
    CHECK(parse_error("v=0\r\no=- 1 2 IN IP4 1.2.3.4\r\ns=-\r\nt=0\r\n").detail() == "line 4: t= line is not <start-time> <stop-time>");
    CHECK(parse_error(with("r=1d 1h\r\n")).detail() == "line 5: r= line needs an interval, a duration and an offset");
    CHECK(parse_error(with("r=1w 1h 0\r\n")).detail() == "line 5: r= '1w' is not a typed time");
    CHECK(parse_error(with("z=1 -1h 2\r\n")) == errc::bad_field);
    CHECK(parse_error(with("z=x 1h\r\n")) == errc::bad_field);
    CHECK(sdp::parse_view(with("z=1 -1h 2 0\r\n")));
    CHECK(parse_error(with("k=\r\n")).detail() == "line 5: k= line has no method");
    CHECK(sdp::parse_view(with("k=base64:AAAA\r\n")));
}

TEST_CASE("grammar: m= (RFC 8866 5.14)")
{
    CHECK(parse_error(with("m=audio\r\n")).detail() == "line 5: m= line has no port");
    CHECK(parse_error(with("m=audio x RTP/AVP 0\r\n")).detail() == "line 5: m= line port 'x' is not a number from 0 to 65535");
    CHECK(parse_error(with("m=audio 65536 RTP/AVP 0\r\n")) == errc::bad_field);
    CHECK(parse_error(with("m=audio 9\r\n")).detail() == "line 5: m= line has no protocol");
    CHECK(parse_error(with("m=audio 9 RTP/AVP\r\n")).detail() == "line 5: m= line has no formats");
    CHECK(parse_error(with("m=audio 9 RTP//AVP 0\r\n")) == errc::bad_field);
    CHECK(parse_error(with("m=audio 9/x RTP/AVP 0\r\n")) == errc::bad_field);
    auto v = sdp::parse_view(with("m=video 49170/2 RTP/AVP 31 32\r\n"));
    REQUIRE(v);
    auto m = v->media().at(0)->m_line();
    CHECK(m.media == "video");
    CHECK(m.port == 49170);
    CHECK(m.port_count == 2);
    CHECK(m.proto == "RTP/AVP");
    CHECK(m.formats == sdp::token_list{"31 32"});
    CHECK_FALSE(m.is_data_channel());
    auto dc = sdp::parse_view(with("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"));
    REQUIRE(dc);
    CHECK(dc->media().at(0)->m_line().is_data_channel());
}

TEST_CASE("grammar: a= names are tokens; unknown attributes are kept verbatim, unchecked")
{
    CHECK(parse_error(with("a=\r\n")).detail() == "line 5: attribute name '' is not a token");
    CHECK(parse_error(with("a=bad name:x\r\n")) == errc::bad_attribute);
    const auto text = with("a=x-anything:  spaced  value \r\na=flag\r\na=empty:\r\n");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    CHECK(sdp::serialize(*v) == text);
    auto x = v->find_attribute("x-anything");
    REQUIRE(x);
    CHECK(x->value == "  spaced  value ");
    CHECK(x->number == 5);
    CHECK_FALSE(v->find_attribute("flag")->has_value);
    CHECK(v->find_attribute("empty")->has_value);
    CHECK(v->find_attribute("empty")->value.empty());
}

TEST_CASE("grammar: known attributes are checked, with the line number, unless disabled")
{
    const auto bad = with("m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/x\r\n");
    auto e = parse_error(bad);
    CHECK(e == errc::bad_attribute);
    CHECK(e.detail() == "line 6: a=rtpmap:0 clock rate 'x' is not a number");
    sdp::parse_options lax;
    lax.check_attributes = false;
    auto v = sdp::parse_view(bad, lax);
    REQUIRE(v);
    CHECK(v->media().at(0)->rtpmaps().empty());  // the typed range skips what it cannot read
    CHECK(sdp::serialize(*v) == bad);

    auto c = parse_error(with("m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 1.2.3.4 x typ host\r\n"));
    CHECK(c == errc::bad_candidate);
    CHECK(c.detail() == "line 6: candidate port 'x' is not a port");
}

TEST_CASE("grammar: limits are enforced and named")
{
    sdp::parse_options o;
    o.limits.max_size = 10;
    CHECK(parse_error(head, o).detail() == "SDP is 43 bytes, over the limit of 10");
    o = {};
    o.limits.max_lines = 3;
    CHECK(parse_error(head, o).detail() == "SDP has more than 3 lines");
    o = {};
    o.limits.max_line_length = 20;
    CHECK(parse_error(head, o).detail() == "line 2: line is 24 bytes, over the limit of 20");
    o = {};
    o.limits.max_media = 1;
    CHECK(parse_error(with("m=audio 9 RTP/AVP 0\r\nm=audio 9 RTP/AVP 0\r\n"), o).detail() == "line 6: more than 1 m= sections");
    o = {};
    o.limits.max_candidates = 1;
    const auto two = with("m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=candidate:2 1 udp 1 1.2.3.4 6 typ host\r\n");
    auto e = parse_error(two, o);
    CHECK(e == errc::limit_exceeded);
    CHECK(e.detail() == "line 7: more than 1 candidates");
    CHECK(sdp::parse_view(two));
}

TEST_CASE("grammar: errors have the peerkit.sdp category and a message")
{
    auto e = parse_error(with("m=audio\r\n"));
    CHECK(std::string(e.code().category().name()) == "peerkit.sdp");
    CHECK(e.message() == "line 5: m= line has no port");
    CHECK(peerkit::error(errc::bad_field).message() == "SDP line has a malformed field");
}

TEST_CASE("view: line numbers and sections")
{
    const auto text = with("a=s1\r\nm=audio 9 RTP/AVP 0\r\na=mid:a\r\nm=video 9 RTP/AVP 96\r\na=mid:v\r\na=rtpmap:96 VP8/90000\r\n");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    REQUIRE(v->media().size() == 2);
    std::size_t n = 0;
    for (const auto& l : v->lines()) { ++n; CHECK(l.number == n); }
    CHECK(n == 5);
    auto video = *v->media().at(1);
    CHECK(video.line_number() == 8);
    CHECK(video.find_attribute("rtpmap")->number == 10);
    CHECK(video.mid() == "v");
    CHECK(v->media().at(0)->mid() == "a");
    CHECK_FALSE(v->media().at(2));
    CHECK_FALSE(v->mid());  // session level has none
    CHECK(v->find_attribute("s1"));
    CHECK_FALSE(v->find_attribute("mid"));  // media attributes are not session attributes
}
