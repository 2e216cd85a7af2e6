// Every file of tests/data/sdp/ (real Chromium 156, aiortc 1.4, werift 0.24 and Pion 3.1 offers
// and answers, and hand-written Firefox-, Safari- and legacy-style SDP) round-trips byte for byte through both
// parsers, and its typed view agrees with what a plain text search of the file finds.
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace sdp = peerkit::sdp;
namespace jsep = peerkit::sdp::jsep;

namespace {
std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::string out(static_cast<std::size_t>(std::filesystem::file_size(p)), '\0');
    in.read(out.data(), static_cast<std::streamsize>(out.size()));
    return out;
}
std::string to_crlf(const std::string& s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += '\r';
        out += s[i];
    }
    return out;
}
std::vector<std::filesystem::path> corpus()
{
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(PEERKIT_TEST_DATA_DIR "/sdp"))
        if (e.path().extension() == ".sdp") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}
// Plain text search, independent of the parser: the lines of the file.
std::vector<std::string> text_lines(const std::string& s)
{
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) {
        if (!l.empty() && l.back() == '\r') l.pop_back();
        out.push_back(l);
    }
    return out;
}
std::size_t count_prefix(const std::vector<std::string>& lines, const std::string& prefix)
{
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
}
std::string first_value(const std::vector<std::string>& lines, const std::string& prefix)
{
    for (const auto& l : lines)
        if (l.rfind(prefix, 0) == 0) return l.substr(prefix.size());
    return {};
}
}  // namespace

TEST_CASE("corpus: at least the captured and hand-written files are there")
{
    const auto files = corpus();
    CHECK(files.size() >= 20);
    std::size_t chromium = 0, aiortc = 0, werift = 0, pion = 0;
    for (const auto& f : files) {
        chromium += f.filename().string().starts_with("chromium_");
        aiortc += f.filename().string().starts_with("aiortc_");
        werift += f.filename().string().starts_with("werift_");
        pion += f.filename().string().starts_with("pion_");
    }
    CHECK(chromium >= 6);
    CHECK(aiortc >= 6);
    CHECK(werift >= 2);
    CHECK(pion >= 2);
}

TEST_CASE("corpus: every file round-trips byte for byte and its typed view matches the text")
{
    for (const auto& path : corpus()) {
        INFO(path.filename().string());
        const auto text = read_file(path);
        const auto lines = text_lines(text);

        auto view = sdp::parse_view(text);
        REQUIRE(view);
        CHECK(sdp::serialize(*view) == to_crlf(text));

        auto model = sdp::session_description::parse(text);
        REQUIRE(model);
        CHECK(model->to_string() == to_crlf(text));
        CHECK(*model == sdp::session_description::from(*view));
        // And again from our own output: a fixed point.
        auto again = sdp::session_description::parse(model->to_string());
        REQUIRE(again);
        CHECK(*again == *model);

        // m= sections
        CHECK(view->media().size() == count_prefix(lines, "m="));
        CHECK(model->media.size() == count_prefix(lines, "m="));

        // Candidates: all of them, across sections, parse.
        std::size_t candidates = view->candidates().size();
        for (const auto& m : view->media()) candidates += m.candidates().size();
        CHECK(candidates == count_prefix(lines, "a=candidate:"));

        // BUNDLE group
        const auto bundle_line = first_value(lines, "a=group:BUNDLE");
        if (!bundle_line.empty()) {
            auto g = view->bundle_group();
            REQUIRE(g);
            std::string mids;
            for (auto mid : g->mids) { mids += ' '; mids += mid; }
            CHECK(mids == bundle_line);
        }

        // ICE credentials and fingerprint: where they are, they are what the text says.
        const auto ufrag = first_value(lines, "a=ice-ufrag:");
        const auto fp_text = first_value(lines, "a=fingerprint:");
        std::optional<std::string_view> seen_ufrag = view->ice_ufrag();
        std::optional<sdp::fingerprint> fp = view->fingerprints().front();
        for (const auto& m : view->media()) {
            if (!seen_ufrag) seen_ufrag = m.ice_ufrag();
            if (!fp) fp = m.fingerprints().front();
            // mids in the text
            if (auto mid = m.mid()) CHECK(std::find(lines.begin(), lines.end(), "a=mid:" + std::string(*mid)) != lines.end());
            // every rtpmap of the section names a payload type listed on its m= line (RTP only)
            for (const auto& r : m.rtpmaps()) CHECK(m.formats().contains(std::to_string(r.payload_type)));
        }
        if (!ufrag.empty()) {
            REQUIRE(seen_ufrag);
            CHECK(*seen_ufrag == ufrag);
        }
        if (!fp_text.empty()) {
            REQUIRE(fp);
            CHECK(std::string(fp->hash_function) + " " + sdp::to_value(*fp).substr(fp->hash_function.size() + 1) == fp_text);
            CHECK(fp->size >= 20);
        }
        CHECK(count_prefix(lines, "a=rtpmap:") ==
              [&] { std::size_t n = 0; for (const auto& m : view->media()) n += m.rtpmaps().size(); return n; }());
    }
}

TEST_CASE("corpus: Chromium's audio+video+data offer, typed")
{
    const auto text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/chromium_offer_av_data.sdp");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    CHECK(v->origin().username == "-");
    CHECK(v->extmap_allow_mixed());
    REQUIRE(v->bundle_group());
    CHECK(v->bundle_group()->mids == sdp::token_list{"0 1 2"});
    REQUIRE(v->media().size() == 3);
    auto audio = *v->media().at(0);
    auto video = *v->media().at(1);
    auto data = *v->media().at(2);
    CHECK(audio.kind() == "audio");
    CHECK(audio.proto() == "UDP/TLS/RTP/SAVPF");
    CHECK(audio.mid() == "0");
    CHECK(audio.setup() == sdp::setup_role::actpass);
    CHECK(audio.direction() == sdp::direction::sendrecv);
    CHECK(audio.rtcp_mux());
    CHECK(audio.has_ice_option("trickle"));
    auto opus = audio.rtpmap_for(111);
    REQUIRE(opus);
    CHECK(opus->encoding_name == "opus");
    CHECK(opus->clock_rate == 48000);
    CHECK(opus->channels == 2);
    REQUIRE(audio.fmtp_for(111));
    CHECK(audio.fmtp_for(111)->parameter_items().find("useinbandfec") == "1");
    CHECK(audio.fingerprints().front()->hash_function == "sha-256");
    CHECK(audio.fingerprints().front()->size == 32);
    CHECK(!audio.candidates().empty());
    for (const auto& c : audio.candidates()) {
        CHECK(c.component == 1);
        CHECK(c.kind() == sdp::candidate_type::host);
        if (c.protocol() == sdp::transport_protocol::tcp) CHECK(c.tcp == sdp::tcp_type::active);
        CHECK(c.extensions().find("generation") == "0");
    }
    CHECK(video.kind() == "video");
    CHECK(video.rtcp_rsize());
    bool vp8 = false, rtx = false;
    for (const auto& r : video.rtpmaps()) {
        vp8 = vp8 || r.encoding_name == "VP8";
        rtx = rtx || r.encoding_name == "rtx";
    }
    CHECK(vp8);
    CHECK(rtx);
    REQUIRE(video.ssrc_groups().front());
    CHECK(video.ssrc_groups().front()->semantics == "FID");
    CHECK(video.ssrc_groups().front()->ssrcs.size() == 2);
    CHECK(!video.extmaps().empty());
    CHECK(!video.msids().empty());
    CHECK(data.kind() == "application");
    CHECK(data.m_line().is_data_channel());
    CHECK(data.formats() == sdp::token_list{"webrtc-datachannel"});
    CHECK(data.sctp_port() == 5000);
    CHECK(data.max_message_size() == 262144);
}

TEST_CASE("corpus: aiortc's data-channel answer, typed")
{
    const auto text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/aiortc_answer_data.sdp");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    REQUIRE(v->media().size() == 1);
    auto m = *v->media().at(0);
    CHECK(m.m_line().is_data_channel());
    CHECK(m.setup() == sdp::setup_role::active);  // aiortc answers an actpass offer as DTLS client
    CHECK(m.sctp_port() == 5000);
    CHECK(!m.candidates().empty());
    CHECK(m.ice_ufrag());
    CHECK(m.ice_pwd());
}

// werift 0.24 (tests/interop/pc_werift.py), as it sends them: what a data-only description from
// it holds that Chromium's and aiortc's do not all hold.
TEST_CASE("corpus: werift's data-channel offer and answer, typed")
{
    for (const auto* name : {"werift_offer_data.sdp", "werift_answer_data.sdp"}) {
        INFO(name);
        const auto text = read_file(std::string(PEERKIT_TEST_DATA_DIR "/sdp/") + name);
        auto v = sdp::parse_view(text);
        REQUIRE(v);
        CHECK(v->extmap_allow_mixed());  // RFC 8285 6, at session level although no RTP is offered
        CHECK(!v->ice_ufrag());          // credentials, fingerprint and setup only in the section
        CHECK(!v->fingerprints().front());
        CHECK(!v->setup());
        REQUIRE(v->bundle_group());
        CHECK(v->bundle_group()->mids == sdp::token_list{"0"});
        REQUIRE(v->media().size() == 1);
        auto m = *v->media().at(0);
        CHECK(m.m_line().is_data_channel());
        CHECK(m.port() == 9);  // RFC 8829 5.2.1 placeholder, even with candidates below
        CHECK(m.mid() == "0");
        CHECK(m.sctp_port() == 5000);
        CHECK(m.max_message_size() == 65536);
        CHECK(m.has_ice_option("trickle"));  // also in the answer
        CHECK(m.end_of_candidates());
        REQUIRE(m.ice_ufrag());
        REQUIRE(m.fingerprints().front());
        CHECK(m.fingerprints().front()->hash_function == "sha-256");
        std::vector<sdp::candidate_view> cands(m.candidates().begin(), m.candidates().end());
        REQUIRE(cands.size() == 1);
        CHECK(cands[0].kind() == sdp::candidate_type::host);
        CHECK(cands[0].address == "127.0.0.1");
        CHECK(cands[0].extensions().find("generation") == "0");
        CHECK(cands[0].extensions().find("ufrag") == *m.ice_ufrag());  // the ufrag extension (libwebrtc's)
    }
    const auto offer_text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/werift_offer_data.sdp");
    const auto answer_text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/werift_answer_data.sdp");
    auto offer = sdp::parse_view(offer_text);  // views into the texts above
    auto answer = sdp::parse_view(answer_text);
    REQUIRE(offer);
    REQUIRE(answer);
    CHECK(offer->media().at(0)->setup() == sdp::setup_role::actpass);
    CHECK(answer->media().at(0)->setup() == sdp::setup_role::active);  // werift answers as DTLS client
}

TEST_CASE("corpus: peerkit's JSEP answers werift's offer and takes a DTLS role against its answer")
{
    jsep::local_description local;
    local.ice_ufrag = "pkUf";
    local.ice_pwd = "peerkitpeerkitpeerkit0";
    auto fp = sdp::parse_fingerprint("sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F");
    REQUIRE(fp);
    local.fingerprints.push_back(*fp);
    local.media.push_back(jsep::local_media{});  // the data channel

    const auto offer_text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/werift_offer_data.sdp");
    auto offer = sdp::parse_view(offer_text);
    REQUIRE(offer);
    auto ours = jsep::create_answer(*offer, local);
    REQUIRE(ours);
    REQUIRE(ours->media.size() == 1);
    CHECK(ours->media[0].port() == 9);
    CHECK(ours->media[0].mid() == "0");
    auto role = jsep::dtls_role(*ours, *offer);
    REQUIRE(role);
    CHECK(*role == sdp::setup_role::active);  // werift offered actpass; we answer as DTLS client

    // We offer actpass; werift's answer says active, so we are the DTLS server.
    auto our_offer = jsep::create_offer(local);
    REQUIRE(our_offer);
    const auto answer_text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/werift_answer_data.sdp");
    auto answer = sdp::parse_view(answer_text);
    REQUIRE(answer);
    role = jsep::dtls_role(*our_offer, *answer);
    REQUIRE(role);
    CHECK(*role == sdp::setup_role::passive);
}

// Pion 3.1 (tests/interop/pc_pion.py): the fingerprint at session level, credentials and setup
// in the section, no trickle option and no candidates (all trickled).
TEST_CASE("corpus: Pion's data-channel offer and answer, typed")
{
    for (const auto* name : {"pion_offer_data.sdp", "pion_answer_data.sdp"}) {
        INFO(name);
        const auto text = read_file(std::string(PEERKIT_TEST_DATA_DIR "/sdp/") + name);
        auto v = sdp::parse_view(text);
        REQUIRE(v);
        REQUIRE(v->fingerprints().front());  // RFC 8842 5.1 allows the session level
        CHECK(v->fingerprints().front()->hash_function == "sha-256");
        CHECK(v->fingerprints().front()->size == 32);
        CHECK(!v->ice_ufrag());
        CHECK(!v->setup());
        CHECK(v->ice_options().empty());
        REQUIRE(v->media().size() == 1);
        auto m = *v->media().at(0);
        CHECK(m.m_line().is_data_channel());
        CHECK(m.mid() == "0");
        CHECK(!m.fingerprints().front());
        CHECK(m.ice_ufrag());
        CHECK(m.ice_pwd());
        CHECK(m.ice_options().empty());  // no a=ice-options:trickle, though it trickles
        CHECK(m.candidates().empty());
        CHECK(!m.end_of_candidates());
        CHECK(m.sctp_port() == 5000);
        CHECK(!m.max_message_size());  // absent: 65536 (RFC 8841 6)
        CHECK(m.direction() == sdp::direction::sendrecv);
    }
    const auto offer_text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/pion_offer_data.sdp");
    const auto answer_text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/pion_answer_data.sdp");
    auto offer = sdp::parse_view(offer_text);  // views into the texts above
    auto answer = sdp::parse_view(answer_text);
    REQUIRE(offer);
    REQUIRE(answer);
    CHECK(offer->extmap_allow_mixed());  // in a data-only offer
    CHECK(!answer->extmap_allow_mixed());
    CHECK(offer->media().at(0)->setup() == sdp::setup_role::actpass);
    CHECK(answer->media().at(0)->setup() == sdp::setup_role::active);

    // peerkit's JSEP answers it and finds the DTLS role with the fingerprint at session level.
    jsep::local_description local;
    local.ice_ufrag = "pkUf";
    local.ice_pwd = "peerkitpeerkitpeerkit0";
    auto fp = sdp::parse_fingerprint("sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F");
    REQUIRE(fp);
    local.fingerprints.push_back(*fp);
    local.media.push_back(jsep::local_media{});
    auto ours = jsep::create_answer(*offer, local);
    REQUIRE(ours);
    REQUIRE(ours->media.size() == 1);
    CHECK(ours->media[0].port() == 9);
    auto role = jsep::dtls_role(*ours, *offer);
    REQUIRE(role);
    CHECK(*role == sdp::setup_role::active);
}

TEST_CASE("corpus: Firefox-style simulcast offer, typed")
{
    const auto text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/firefox_offer_simulcast.sdp");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    CHECK(v->origin().username == "mozilla...THIS_IS_SDPARTA-99.0");
    CHECK(v->origin().session_version == 0);
    REQUIRE(v->fingerprints().front());
    CHECK(v->fingerprints().front()->bytes[0] == 0x9C);
    CHECK(v->has_ice_option("trickle"));
    auto audio = *v->media().at(0);
    CHECK(audio.ice_ufrag() == "a1b2c3d4");
    CHECK(audio.end_of_candidates());
    std::vector<sdp::candidate_view> cands(audio.candidates().begin(), audio.candidates().end());
    REQUIRE(cands.size() == 5);
    CHECK(cands[1].protocol() == sdp::transport_protocol::tcp);
    CHECK(cands[1].tcp == sdp::tcp_type::active);
    CHECK(cands[2].kind() == sdp::candidate_type::srflx);
    CHECK(cands[2].related_address == "198.51.100.7");
    CHECK(cands[2].related_port == 54400);
    CHECK(cands[3].kind() == sdp::candidate_type::relay);
    CHECK(cands[4].address == "2001:db8::7");
    auto ext = audio.extmaps().begin();
    ++ext;
    CHECK(ext->id == 2);
    CHECK(ext->direction == sdp::direction::recvonly);
    CHECK(ext->uri == "urn:ietf:params:rtp-hdrext:csrc-audio-level");
    auto video = *v->media().at(1);
    std::vector<sdp::rid> rids(video.rids().begin(), video.rids().end());
    REQUIRE(rids.size() == 3);
    CHECK(rids[0].id == "h");
    CHECK(rids[1].restriction_list().find("max-width") == "640");
    CHECK(rids[2].restriction_list().find("max-fps") == "15");
    auto sc = video.simulcast();
    REQUIRE(sc);
    CHECK(sc->recv.empty());
    std::vector<std::string_view> streams(sdp::simulcast::streams(sc->send).begin(), sdp::simulcast::streams(sc->send).end());
    REQUIRE(streams.size() == 3);
    CHECK(sdp::simulcast::rid_of(streams[2]).paused);
    CHECK(sdp::simulcast::rid_of(streams[2]).id == "l");
    auto fid = video.ssrc_groups().front();
    REQUIRE(fid);
    CHECK(fid->ssrcs == sdp::token_list{"2345678901 3456789012"});
    auto msid = video.msids().front();
    REQUIRE(msid);
    CHECK(msid->track_id == "{9a8b7c6d-5e4f-3a2b-1c0d-9e8f7a6b5c4d}");
    auto data = *v->media().at(2);
    CHECK(data.max_message_size() == 1073741823);
}

TEST_CASE("corpus: Safari-style offer with .local candidates and rid restrictions")
{
    const auto text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/safari_offer_simulcast.sdp");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    auto ms = v->msid_semantics().front();
    REQUIRE(ms);
    CHECK(ms->semantic == "WMS");
    CHECK(ms->ids == sdp::token_list{"0c9a35e2-0bd1-4c1e-b6a4-0f1e2d3c4b5a"});
    auto video = *v->media().at(1);
    CHECK(video.rids().front()->restriction_list().find("pt") == "96,98");
    CHECK(video.rtcp()->port == 9);
    CHECK(video.rtcp()->address == "0.0.0.0");
    auto data = *v->media().at(2);
    auto c = data.candidates().front();
    REQUIRE(c);
    CHECK(c->address == "5f0b8d2e-6a1c-4b7d-9e3f-0a1b2c3d4e5f.local");
    CHECK(c->extensions().find("network-cost") == "999");
}

TEST_CASE("corpus: legacy description with every RFC 8866 line type")
{
    const auto text = read_file(PEERKIT_TEST_DATA_DIR "/sdp/legacy_all_line_types.sdp");
    auto v = sdp::parse_view(text);
    REQUIRE(v);
    CHECK(v->session_name() == "Legacy gateway");
    CHECK(v->connection()->address == "198.51.100.1");
    CHECK(v->timing()->start == 3724394400u);
    CHECK(v->ice_lite());
    CHECK(v->has_ice_option("ice2"));
    std::vector<sdp::group> groups(v->groups().begin(), v->groups().end());
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].semantics == "LS");
    CHECK(v->fingerprints().size() == 2);
    CHECK(v->attribute_value("x-vendor-thing") == "kept verbatim; even with odd  spacing ");
    auto audio = *v->media().at(0);
    CHECK(audio.direction() == sdp::direction::recvonly);
    CHECK(audio.rtcp()->port == 49171);
    CHECK(audio.rtpmap_for(96)->channels == 1);
    auto data = *v->media().at(1);
    CHECK(data.sctpmap()->protocol == "webrtc-datachannel");
    CHECK(data.sctpmap()->streams == 1024u);
    CHECK(data.setup() == sdp::setup_role::passive);
    auto video = *v->media().at(2);
    CHECK(video.port() == 0);
    CHECK(video.rejected());
    CHECK(video.effective_direction() == sdp::direction::inactive);
}
