#include <peerkit/signaling/json.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace peerkit::signaling;

namespace {
const session_description& as_description(const message& m) { return std::get<session_description>(m); }
const ice_candidate& as_candidate(const message& m) { return std::get<ice_candidate>(m); }
}  // namespace

TEST_CASE("json: descriptions of every type parse")
{
    auto offer = parse_message(R"({"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"})");
    REQUIRE(offer);
    CHECK(as_description(*offer).type == sdp_type::offer);
    CHECK(as_description(*offer).sdp == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");

    auto answer = parse_message(R"({"sdp":"v=0\r\n","type":"answer"})");
    REQUIRE(answer);
    CHECK(as_description(*answer).type == sdp_type::answer);

    auto pr = parse_message(R"({"type":"pranswer","sdp":"v=0\r\n"})");
    REQUIRE(pr);
    CHECK(as_description(*pr).type == sdp_type::pranswer);

    auto rollback = parse_message(R"({"type":"rollback"})");
    REQUIRE(rollback);
    CHECK(as_description(*rollback).type == sdp_type::rollback);
    CHECK(as_description(*rollback).sdp.empty());
    auto rollback_empty = parse_message(R"({"type":"rollback","sdp":""})");
    REQUIRE(rollback_empty);
}

TEST_CASE("json: candidates, end of candidates and the empty-sdpMid quirk")
{
    auto c = parse_message(
        R"({"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"})");
    REQUIRE(c);
    const auto& cand = as_candidate(*c);
    CHECK(cand.candidate == "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host");
    CHECK(cand.sdp_mid == std::optional<std::string>("0"));
    CHECK(cand.sdp_m_line_index == std::optional<std::uint16_t>(0));
    CHECK(cand.username_fragment == std::optional<std::string>("abcd"));
    CHECK_FALSE(cand.end_of_candidates());

    auto eoc = parse_message(R"({"candidate":""})");
    REQUIRE(eoc);
    CHECK(as_candidate(*eoc).end_of_candidates());

    auto eoc_null = parse_message(R"({"candidate":"","sdpMid":null,"sdpMLineIndex":null,"usernameFragment":null})");
    REQUIRE(eoc_null);
    CHECK(as_candidate(*eoc_null).end_of_candidates());
    CHECK_FALSE(as_candidate(*eoc_null).sdp_mid);

    // interop notes: an empty sdpMid beside a valid index is accepted, the index identifies it.
    auto quirk = parse_message(R"({"candidate":"candidate:2 1 udp 1 10.0.0.1 9 typ host","sdpMid":"","sdpMLineIndex":1})");
    REQUIRE(quirk);
    CHECK_FALSE(as_candidate(*quirk).sdp_mid);
    CHECK(as_candidate(*quirk).sdp_m_line_index == std::optional<std::uint16_t>(1));

    auto mid_only = parse_message(R"({"candidate":"candidate:2 1 udp 1 10.0.0.1 9 typ host","sdpMid":"data"})");
    REQUIRE(mid_only);
    CHECK(as_candidate(*mid_only).sdp_mid == std::optional<std::string>("data"));

    auto with_prefix = parse_message(R"({"candidate":"a=candidate:3 1 udp 1 10.0.0.1 9 typ host","sdpMLineIndex":0})");
    REQUIRE(with_prefix);
    CHECK(as_candidate(*with_prefix).candidate == "candidate:3 1 udp 1 10.0.0.1 9 typ host");

    auto unknown_members = parse_message(R"({"candidate":"","extra":{"a":[1,2]},"sdpMid":"0"})");
    CHECK(unknown_members);
}

TEST_CASE("json: malformed and invalid input gives a precise error, never an exception")
{
    struct bad_case {
        const char* text;
        errc code;
        const char* detail_part;
    };
    const bad_case cases[] = {
        {"", errc::malformed_json, "malformed JSON"},
        {"{", errc::malformed_json, "malformed JSON"},
        {R"({"type":"offer","sdp":"x"} trailing)", errc::malformed_json, "malformed JSON at byte"},
        {"[1,2]", errc::invalid_message, "must be a JSON object"},
        {"\"offer\"", errc::invalid_message, "must be a JSON object"},
        {"{}", errc::invalid_message, "neither \"type\" nor \"candidate\""},
        {R"({"type":"offer"})", errc::invalid_message, "has no \"sdp\""},
        {R"({"type":"answer","sdp":""})", errc::invalid_message, "empty \"sdp\""},
        {R"({"type":"bogus","sdp":"v=0"})", errc::invalid_message, "\"type\" is \"bogus\""},
        {R"({"type":1,"sdp":"v=0"})", errc::invalid_message, "\"type\" must be a string"},
        {R"({"type":"offer","sdp":5})", errc::invalid_message, "\"sdp\" must be a string"},
        {R"({"type":"offer","sdp":"v=0","candidate":""})", errc::invalid_message, "both"},
        {R"({"candidate":7})", errc::invalid_message, "\"candidate\" must be a string"},
        {R"({"candidate":"host 1 2"})", errc::invalid_message, "must start with"},
        {R"({"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host"})", errc::invalid_message, "neither \"sdpMid\" nor"},
        {R"({"candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":""})", errc::invalid_message, "neither"},
        {R"({"candidate":"candidate:1","sdpMLineIndex":-1})", errc::invalid_message, "0..65535"},
        {R"({"candidate":"candidate:1","sdpMLineIndex":70000})", errc::invalid_message, "0..65535"},
        {R"({"candidate":"candidate:1","sdpMLineIndex":1.5})", errc::invalid_message, "must be an integer"},
        {R"({"candidate":"candidate:1","sdpMLineIndex":"0"})", errc::invalid_message, "must be an integer"},
        {R"({"candidate":"candidate:1","sdpMid":3})", errc::invalid_message, "\"sdpMid\" must be a string"},
        {R"({"candidate":"candidate:1","sdpMid":"0","usernameFragment":[]})", errc::invalid_message, "usernameFragment"},
        {"{\"type\":\"offer\",\"sdp\":\"\xff\xfe\"}", errc::malformed_json, "malformed JSON"},
    };
    for (const auto& c : cases) {
        INFO(c.text);
        auto r = parse_message(c.text);
        REQUIRE_FALSE(r);
        CHECK(r.error() == c.code);
        CHECK(std::string(r.error().detail()).find(c.detail_part) != std::string::npos);
    }
}

TEST_CASE("json: limits on size and depth are enforced and configurable")
{
    const std::string big = R"({"type":"offer","sdp":")" + std::string(2000, 'a') + "\"}";
    codec_limits small;
    small.max_message_size = 1000;
    auto r = parse_message(big, small);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::message_too_large);
    CHECK(std::string(r.error().detail()).find("exceeds the limit of 1000") != std::string::npos);
    CHECK(parse_message(big));  // default limit is larger

    std::string deep = R"({"candidate":"","x":)";
    for (int i = 0; i < 50; ++i) deep += "[";
    for (int i = 0; i < 50; ++i) deep += "]";
    deep += "}";
    auto d = parse_message(deep);
    REQUIRE_FALSE(d);
    CHECK(d.error() == errc::malformed_json);
    codec_limits deep_ok;
    deep_ok.max_depth = 64;
    CHECK(parse_message(deep, deep_ok));
}

TEST_CASE("json: serialisation is the browser's shape and round-trips")
{
    const session_description offer{sdp_type::offer, "v=0\r\ns=\"quoted\"\r\n"};
    CHECK(to_json(offer) == R"({"type":"offer","sdp":"v=0\r\ns=\"quoted\"\r\n"})");
    CHECK(to_json(session_description{sdp_type::rollback, {}}) == R"({"type":"rollback"})");
    CHECK(to_json(end_of_candidates()) == R"({"candidate":""})");

    ice_candidate c{"candidate:1 1 udp 5 ::1 9 typ host", "0", 0, "uf"};
    CHECK(to_json(c) ==
          R"({"candidate":"candidate:1 1 udp 5 ::1 9 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"uf"})");

    const message samples[] = {offer, session_description{sdp_type::answer, "v=0\r\n"}, c,
                               ice_candidate{"candidate:9 1 tcp 1 1.2.3.4 5 typ host", std::nullopt, 3, std::nullopt},
                               end_of_candidates()};
    for (const auto& m : samples) {
        auto back = parse_message(to_json(m));
        REQUIRE(back);
        CHECK(*back == m);
    }
}
