// JSEP offers and answers (RFC 8829/9429), checked by reading them back with the parser.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace sdp = peerkit::sdp;
namespace jsep = peerkit::sdp::jsep;

namespace {
std::string read_corpus_file(const std::string& name)
{
    const std::filesystem::path p = std::string(PEERKIT_TEST_DATA_DIR "/sdp/") + name;
    std::ifstream in(p, std::ios::binary);
    std::string out(static_cast<std::size_t>(std::filesystem::file_size(p)), '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    return out;
}

jsep::local_description local_side(std::vector<jsep::media_kind> kinds)
{
    jsep::local_description l;
    l.session_id = 1234567890123456789u;
    l.ice_ufrag = "pkUf";
    l.ice_pwd = "peerkitpeerkitpeerkit0";
    auto fp = sdp::parse_fingerprint("sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F");
    REQUIRE(fp);
    l.fingerprints.push_back(*fp);
    sdp::candidate c;
    c.foundation = "1";
    c.priority = 2130706431;
    c.address = "127.0.0.1";
    c.port = 40000;
    l.candidates.push_back(c);
    l.end_of_candidates = true;
    for (auto k : kinds) {
        jsep::local_media m;
        m.kind = k;
        if (k == jsep::media_kind::audio) {
            m.codecs = jsep::default_audio_codecs();
            m.header_extensions = {"urn:ietf:params:rtp-hdrext:sdes:mid"};
            m.stream_id = "stream";
            m.track_id = "audio-track";
            m.ssrc = 1111;
            m.cname = "peerkit";
        } else if (k == jsep::media_kind::video) {
            m.codecs = jsep::default_video_codecs();
            m.header_extensions = {"urn:ietf:params:rtp-hdrext:sdes:mid", "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"};
            m.stream_id = "stream";
            m.track_id = "video-track";
            m.ssrc = 2222;
            m.rtx_ssrc = 3333;
            m.cname = "peerkit";
        }
        l.media.push_back(m);
    }
    return l;
}

// What we write must be what we read: parse our own output with the strict view parser.
sdp::session_view reparse(const sdp::session_description& d, std::string& keep)
{
    keep = d.to_string();
    auto v = sdp::parse_view(keep);
    INFO(keep);
    REQUIRE(v);
    return *v;
}

std::vector<std::string> mids_of(const sdp::session_view& v)
{
    std::vector<std::string> out;
    for (const auto& m : v.media()) out.emplace_back(m.mid().value_or("?"));
    return out;
}
}  // namespace

TEST_CASE("jsep: data-channel offer (RFC 8829 5.2.1, RFC 8841)")
{
    auto offer = jsep::create_offer(local_side({jsep::media_kind::data}));
    REQUIRE(offer);
    std::string text;
    auto v = reparse(*offer, text);
    CHECK(v.origin().session_id == "1234567890123456789");
    CHECK(v.bundle_group()->mids == sdp::token_list{"0"});
    CHECK(v.msid_semantics().empty());
    REQUIRE(v.media().size() == 1);
    auto m = *v.media().at(0);
    CHECK(m.m_line().is_data_channel());
    CHECK(m.port() == 9);
    CHECK(m.connection()->address == "0.0.0.0");
    CHECK(m.formats() == sdp::token_list{"webrtc-datachannel"});
    CHECK(m.mid() == "0");
    CHECK(m.setup() == sdp::setup_role::actpass);
    CHECK(m.has_ice_option("trickle"));
    CHECK(m.ice_ufrag() == "pkUf");
    CHECK(m.ice_pwd() == "peerkitpeerkitpeerkit0");
    CHECK(m.fingerprints().size() == 1);
    CHECK(m.sctp_port() == 5000);
    CHECK(m.max_message_size() == 262144);
    CHECK(m.candidates().size() == 1);
    CHECK(m.end_of_candidates());
}

TEST_CASE("jsep: audio+video+data offer")
{
    auto offer = jsep::create_offer(local_side({jsep::media_kind::audio, jsep::media_kind::video, jsep::media_kind::data}));
    REQUIRE(offer);
    std::string text;
    auto v = reparse(*offer, text);
    CHECK(mids_of(v) == std::vector<std::string>{"0", "1", "2"});
    CHECK(v.bundle_group()->mids == sdp::token_list{"0 1 2"});
    CHECK(v.msid_semantics().front()->semantic == "WMS");
    auto audio = *v.media().at(0);
    CHECK(audio.kind() == "audio");
    CHECK(audio.proto() == "UDP/TLS/RTP/SAVPF");
    CHECK(audio.formats() == sdp::token_list{"111"});
    CHECK(audio.rtpmap_for(111)->channels == 2);
    CHECK(audio.fmtp_for(111)->parameters == "minptime=10;useinbandfec=1");
    CHECK(audio.rtcp_mux());
    CHECK(audio.rtcp_rsize());
    CHECK(audio.direction() == sdp::direction::sendrecv);
    CHECK(audio.msids().front()->track_id == "audio-track");
    CHECK(audio.candidates().size() == 1);  // candidates only in the BUNDLE tag section
    auto video = *v.media().at(1);
    CHECK(video.formats() == sdp::token_list{"96 97"});
    CHECK(video.rtcp_fbs().size() == 5);
    CHECK(video.extmaps().size() == 2);
    CHECK(video.ssrc_groups().front()->ssrcs == sdp::token_list{"2222 3333"});
    CHECK(video.ssrcs().size() == 4);
    CHECK(video.candidates().empty());
    CHECK(video.setup() == sdp::setup_role::actpass);
    CHECK(v.media().at(2)->sctp_port() == 5000);
}

TEST_CASE("jsep: answering Chromium's audio+video+data offer")
{
    const auto offer_text = read_corpus_file("chromium_offer_av_data.sdp");
    auto offer = sdp::parse_view(offer_text);
    REQUIRE(offer);
    auto answer = jsep::create_answer(*offer, local_side({jsep::media_kind::audio, jsep::media_kind::video, jsep::media_kind::data}));
    REQUIRE(answer);
    std::string text;
    auto v = reparse(*answer, text);
    CHECK(mids_of(v) == mids_of(*offer));
    CHECK(v.bundle_group()->mids == offer->bundle_group()->mids);
    auto audio = *v.media().at(0);
    CHECK(audio.setup() == sdp::setup_role::active);  // RFC 8842 5.3: answer actpass with active
    CHECK(audio.formats() == sdp::token_list{"111"});  // only opus, with the offer's number
    CHECK(audio.rtcp_fbs().front()->type == "transport-cc");
    CHECK(audio.direction() == sdp::direction::sendrecv);
    CHECK(audio.rtcp_mux());
    REQUIRE(audio.extmaps().size() == 1);
    auto offered_mid_ext = offer->media().at(0)->extmaps();
    for (const auto& e : offered_mid_ext)
        if (e.uri == "urn:ietf:params:rtp-hdrext:sdes:mid") CHECK(audio.extmaps().front()->id == e.id);
    auto video = *v.media().at(1);
    // VP8 with the offer's payload type, plus the offer's rtx for it.
    std::vector<sdp::rtpmap> maps(video.rtpmaps().begin(), video.rtpmaps().end());
    REQUIRE(maps.size() == 2);
    CHECK(maps[0].encoding_name == "VP8");
    CHECK(offer->media().at(1)->rtpmap_for(maps[0].payload_type)->encoding_name == "VP8");
    CHECK(maps[1].encoding_name == "rtx");
    CHECK(video.fmtp_for(maps[1].payload_type)->parameter_items().find("apt") == std::to_string(maps[0].payload_type));
    CHECK(video.rtcp_fbs().size() == 5);
    auto data = *v.media().at(2);
    CHECK(data.sctp_port() == 5000);
    CHECK(data.setup() == sdp::setup_role::active);
    CHECK(jsep::dtls_role(v, *offer).value_or(sdp::setup_role::holdconn) == sdp::setup_role::active);
    CHECK(jsep::dtls_role(*offer, v).value_or(sdp::setup_role::holdconn) == sdp::setup_role::passive);
}

TEST_CASE("jsep: sections we cannot take are rejected with port 0, keeping their mids")
{
    const auto offer_text = read_corpus_file("chromium_offer_av_data.sdp");
    auto offer = sdp::parse_view(offer_text);
    REQUIRE(offer);
    auto answer = jsep::create_answer(*offer, local_side({jsep::media_kind::data}));
    REQUIRE(answer);
    std::string text;
    auto v = reparse(*answer, text);
    CHECK(mids_of(v) == std::vector<std::string>{"0", "1", "2"});
    CHECK(v.media().at(0)->port() == 0);
    CHECK(v.media().at(0)->kind() == "audio");
    CHECK(v.media().at(1)->port() == 0);
    CHECK(v.media().at(2)->port() == 9);
    CHECK(v.bundle_group()->mids == sdp::token_list{"2"});
    CHECK(v.media().at(2)->candidates().size() == 1);  // in the first accepted section
    CHECK(v.msid_semantics().empty());
}

TEST_CASE("jsep: a section the offer rejects stays rejected; no common codec rejects")
{
    const std::string offer_text =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 1 2\r\n"
        "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=setup:active\r\na=rtpmap:0 PCMU/8000\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=setup:passive\r\na=sctp-port:5000\r\n";
    auto offer = sdp::parse_view(offer_text);
    REQUIRE(offer);
    auto answer = jsep::create_answer(*offer, local_side({jsep::media_kind::audio, jsep::media_kind::audio, jsep::media_kind::data}));
    REQUIRE(answer);
    std::string text;
    auto v = reparse(*answer, text);
    CHECK(v.media().at(0)->port() == 0);
    CHECK(v.media().at(1)->port() == 0);  // PCMU only; we do opus
    CHECK(v.media().at(2)->port() == 9);
    CHECK(v.media().at(2)->setup() == sdp::setup_role::active);  // they are passive
    CHECK(v.bundle_group()->mids == sdp::token_list{"2"});

    // An offerer that is active gets a passive answer.
    const std::string active_offer =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:d\r\na=setup:active\r\na=sctp-port:5000\r\n";
    auto a2 = jsep::create_answer(*sdp::parse_view(active_offer), local_side({jsep::media_kind::data}));
    REQUIRE(a2);
    CHECK(a2->media[0].setup() == sdp::setup_role::passive);
    CHECK(a2->media[0].mid() == "d");
    CHECK_FALSE(a2->bundle_group());  // the offer had no BUNDLE group
}

TEST_CASE("jsep: direction of the answer follows RFC 3264 6.1")
{
    const std::string offer_text =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n";
    auto offer = sdp::parse_view(offer_text);
    REQUIRE(offer);
    auto answer = jsep::create_answer(*offer, local_side({jsep::media_kind::audio, jsep::media_kind::audio}));
    REQUIRE(answer);
    CHECK(answer->media[0].direction() == sdp::direction::sendonly);
    CHECK(answer->media[0].msids().size() == 1);
    CHECK(answer->media[1].direction() == sdp::direction::recvonly);
    CHECK(answer->media[1].msids().empty());  // not sending: no msid, no ssrc
    CHECK(answer->media[1].ssrcs().empty());
}

TEST_CASE("jsep: legacy sctpmap offers are answered in kind")
{
    const std::string offer_text =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\na=mid:data\r\na=setup:actpass\r\na=sctpmap:5000 webrtc-datachannel 1024\r\n";
    auto answer = jsep::create_answer(*sdp::parse_view(offer_text), local_side({jsep::media_kind::data}));
    REQUIRE(answer);
    auto& m = answer->media[0];
    CHECK(m.m_line()->proto == "DTLS/SCTP");
    CHECK(m.m_line()->formats == sdp::token_list{"5000"});
    CHECK(m.sctpmap()->port == 5000);
    CHECK_FALSE(m.sctp_port());
}

TEST_CASE("jsep: renegotiation keeps m= line order, mids, session id and credentials")
{
    auto local = local_side({jsep::media_kind::data, jsep::media_kind::audio});
    local.media[0].mid = "data";
    auto first = jsep::create_offer(local);
    REQUIRE(first);
    std::string t1;
    auto v1 = reparse(*first, t1);
    CHECK(mids_of(v1) == std::vector<std::string>{"data", "0"});

    // Add video in front and change the credentials without asking for a restart.
    auto next = local;
    next.media.insert(next.media.begin(), local_side({jsep::media_kind::video}).media[0]);
    next.media[2].mid = "0";  // the audio transceiver keeps its mid
    next.ice_ufrag = "newU";
    next.ice_pwd = "newpasswordnewpassword";
    auto second = jsep::create_offer(next, {&*first, false});
    REQUIRE(second);
    std::string t2;
    auto v2 = reparse(*second, t2);
    CHECK(mids_of(v2) == std::vector<std::string>{"data", "0", "1"});  // old order, new one appended
    CHECK(v2.origin().session_id == v1.origin().session_id);
    CHECK(v2.origin().session_version == v1.origin().session_version + 1);
    CHECK(v2.media().at(2)->kind() == "video");
    CHECK(v2.media().at(0)->ice_ufrag() == "pkUf");  // no restart: same credentials
    CHECK(v2.bundle_group()->mids == sdp::token_list{"data 0 1"});

    // Stop the audio transceiver: its section stays, with port 0 and its mid.
    auto third_local = next;
    third_local.media.erase(third_local.media.begin() + 2);
    auto third = jsep::create_offer(third_local, {&*second, false});
    REQUIRE(third);
    std::string t3;
    auto v3 = reparse(*third, t3);
    CHECK(mids_of(v3) == std::vector<std::string>{"data", "0", "1"});
    CHECK(v3.media().at(1)->port() == 0);
    CHECK(v3.bundle_group()->mids == sdp::token_list{"data 1"});
}

TEST_CASE("jsep: ICE restart needs and uses new credentials")
{
    auto local = local_side({jsep::media_kind::data});
    auto first = jsep::create_offer(local);
    REQUIRE(first);
    auto same = jsep::create_offer(local, {&*first, true});
    REQUIRE_FALSE(same);
    CHECK(same.error() == sdp::errc::negotiation_failed);
    CHECK(same.error().detail() == "ICE restart needs a new ufrag; 'pkUf' was used before");
    local.ice_ufrag = "rest";
    local.ice_pwd = "restartrestartrestart0";
    auto restarted = jsep::create_offer(local, {&*first, true});
    REQUIRE(restarted);
    CHECK(restarted->media[0].ice_ufrag() == "rest");
    CHECK(restarted->media[0].ice_pwd() == "restartrestartrestart0");

    // Answering: a changed remote ufrag is a restart, and our answer changes credentials too.
    const auto offer1 = first->to_string();
    auto answer_local = local_side({jsep::media_kind::data});
    answer_local.ice_ufrag = "ansA";
    auto answer1 = jsep::create_answer(*sdp::parse_view(offer1), answer_local);
    REQUIRE(answer1);
    const auto offer2 = restarted->to_string();
    auto kept = jsep::create_answer(*sdp::parse_view(offer2), answer_local, {&*answer1, "pkUf"});
    REQUIRE_FALSE(kept);  // restart offered, same local credentials given
    answer_local.ice_ufrag = "ansB";
    answer_local.ice_pwd = "answeranswerBanswerB00";
    auto answer2 = jsep::create_answer(*sdp::parse_view(offer2), answer_local, {&*answer1, "pkUf"});
    REQUIRE(answer2);
    CHECK(answer2->media[0].ice_ufrag() == "ansB");
    // No restart: the previous credentials are kept whatever local says.
    auto answer3 = jsep::create_answer(*sdp::parse_view(offer2), answer_local, {&*answer2, "rest"});
    REQUIRE(answer3);
    CHECK(answer3->media[0].ice_ufrag() == "ansB");
    CHECK(answer3->origin()->session_version == answer2->origin()->session_version + 1);
}

TEST_CASE("jsep: answers also accept an owning description as the offer")
{
    auto offer = jsep::create_offer(local_side({jsep::media_kind::audio, jsep::media_kind::data}));
    REQUIRE(offer);
    auto answer = jsep::create_answer(*offer, local_side({jsep::media_kind::data}));
    REQUIRE(answer);
    CHECK(answer->media.size() == 2);
    CHECK(answer->media[0].port() == 0);
    CHECK(answer->media[1].port() == 9);
}

TEST_CASE("jsep: the local description is checked")
{
    auto l = local_side({jsep::media_kind::data});
    l.ice_ufrag = "abc";
    CHECK(jsep::create_offer(l).error().detail() == "ICE ufrag must be 4 to 256 ice-chars (RFC 8839 5.4)");
    l = local_side({jsep::media_kind::data});
    l.ice_pwd = "short";
    CHECK(jsep::create_offer(l).error().detail() == "ICE pwd must be 22 to 256 ice-chars (RFC 8839 5.4)");
    l = local_side({jsep::media_kind::data});
    l.fingerprints.clear();
    CHECK(jsep::create_offer(l).error().detail() == "a DTLS fingerprint is required (RFC 8842 5.1)");
    l = local_side({});
    CHECK(jsep::create_offer(l).error().detail() == "an offer needs at least one m= section");
    l = local_side({jsep::media_kind::audio});
    l.media[0].codecs.clear();
    CHECK(jsep::create_offer(l).error().detail() == "audio section has no codecs");
    const std::string no_mid = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
    auto r = jsep::create_answer(*sdp::parse_view(no_mid), local_side({jsep::media_kind::data}));
    REQUIRE_FALSE(r);
    CHECK(r.error().detail() == "offered application section has no a=mid (RFC 8843 requires one)");
}

TEST_CASE("jsep: an offer gives each header extension URI one id across the BUNDLE group, kept at renegotiation")
{
    const std::string audio_level = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    const std::string mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
    const std::string abs_send_time = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    const std::string transport_cc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    auto local = local_side({jsep::media_kind::audio, jsep::media_kind::video});
    local.media[0].header_extensions = {audio_level, mid};
    local.media[1].header_extensions = {mid, abs_send_time, transport_cc};
    auto offer = jsep::create_offer(local);
    REQUIRE(offer);
    std::string keep;
    const auto v = reparse(*offer, keep);
    // Every (id, URI) of every section: one URI per id and one id per URI (one RTP session,
    // RFC 8843 9.1, RFC 8285 5; Chromium refuses an offer that maps one id to two URIs).
    std::map<std::uint16_t, std::string> uri_of;
    std::map<std::string, std::uint16_t> id_of;
    std::size_t seen = 0;
    for (const auto& m : v.media())
        for (const auto& e : m.extmaps()) {
            ++seen;
            const auto [it, fresh] = uri_of.emplace(e.id, std::string(e.uri));
            CHECK(it->second == e.uri);
            const auto [jt, fresh_uri] = id_of.emplace(std::string(e.uri), e.id);
            CHECK(jt->second == e.id);
        }
    CHECK(seen == 5);
    CHECK(uri_of.size() == 4);
    CHECK(id_of.at(mid) == 2);  // the audio section named it second, so the group's id for it is 2

    // Renegotiation: a new video transceiver with its own list; the ids already given stay.
    const auto mids = mids_of(v);
    local.media[0].mid = mids[0];
    local.media[1].mid = mids[1];
    jsep::local_media more = local.media[1];
    more.mid.clear();
    more.header_extensions = {transport_cc, "urn:3gpp:video-orientation"};
    local.media.push_back(more);
    auto again = jsep::create_offer(local, {.previous = &*offer});
    REQUIRE(again);
    std::string keep2;
    const auto v2 = reparse(*again, keep2);
    for (const auto& m : v2.media())
        for (const auto& e : m.extmaps()) {
            if (id_of.count(std::string(e.uri)) != 0) CHECK(e.id == id_of.at(std::string(e.uri)));
            else CHECK(uri_of.count(e.id) == 0);  // a new URI takes an id nobody had
        }
}

TEST_CASE("h264: profile-level-id is read as ITU-T H.264 A.2 profiles and A.3 levels")
{
    using sdp::h264_profile;
    const auto profile_of = [](std::string_view text) { return sdp::parse_h264_profile_level_id(text); };
    CHECK(profile_of("42e01f")->profile == h264_profile::constrained_baseline);  // Chromium's and aiortc's
    CHECK(profile_of("42c01f")->profile == h264_profile::constrained_baseline);
    CHECK(profile_of("42001f")->profile == h264_profile::baseline);
    CHECK(profile_of("4d001f")->profile == h264_profile::main);
    CHECK(profile_of("4d801f")->profile == h264_profile::constrained_baseline);  // Main obeying Baseline's constraints
    CHECK(profile_of("58c01f")->profile == h264_profile::constrained_baseline);
    CHECK(profile_of("58801f")->profile == h264_profile::baseline);
    CHECK(profile_of("640c1f")->profile == h264_profile::constrained_high);
    CHECK(profile_of("64001f")->profile == h264_profile::high);
    CHECK(profile_of("f4001f")->profile == h264_profile::predictive_high_444);
    CHECK(profile_of("42E01F")->level_idc == 31);
    CHECK(profile_of("42f00b")->level_idc == 9);   // level 1b: level_idc 11 with constraint_set3 (A.3.1)
    CHECK(profile_of("64100b")->level_idc == 11);  // not so in High, where 1b is level_idc 9
    CHECK_FALSE(profile_of("42e01"));              // five digits
    CHECK_FALSE(profile_of("42e01g"));
    CHECK_FALSE(profile_of("2ae01f"));             // profile_idc 42 is no profile
    CHECK_FALSE(profile_of("42e11f"));             // reserved bits of profile-iop set
}

TEST_CASE("jsep: H.264 payload types match by packetization-mode and profile, not by level (RFC 6184 8.2.2)")
{
    auto local = local_side({jsep::media_kind::video});
    local.media[0].codecs = {jsep::codec{102, "H264", 90000, 0, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", {"nack"}}};
    // The offer: Baseline (42001f), then Constrained Baseline at another level (42e034), then
    // packetization-mode 0: only 108 is ours.
    sdp::session_description mine;
    {
        // Build a one-section offer by hand, so that the formats are exactly these.
        jsep::local_description remote = local_side({jsep::media_kind::video});
        remote.ice_ufrag = "RmUf";
        remote.media[0].codecs = {
            jsep::codec{100, "H264", 90000, 0, "packetization-mode=1;profile-level-id=42001f", {}},
            jsep::codec{108, "H264", 90000, 0, "packetization-mode=1;profile-level-id=42e034", {}},
            jsep::codec{109, "H264", 90000, 0, "packetization-mode=0;profile-level-id=42e01f", {}},
        };
        auto o = jsep::create_offer(remote);
        REQUIRE(o);
        mine = *o;
    }
    auto answer = jsep::create_answer(mine, local);
    REQUIRE(answer);
    std::string keep;
    const auto v = reparse(*answer, keep);
    REQUIRE(v.media().size() == 1);
    const auto section = *v.media().begin();
    const auto ml = section.m_line();
    std::vector<std::string> formats;
    for (const auto f : ml.formats) formats.emplace_back(f);
    CHECK(formats == std::vector<std::string>{"108"});
    // Nothing compatible: rejected.
    local.media[0].codecs[0].fmtp = "packetization-mode=1;profile-level-id=640c1f";
    auto none = jsep::create_answer(mine, local);
    REQUIRE(none);
    CHECK(none->media[0].port() == 0);
}
