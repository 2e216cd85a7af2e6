// MDN's "Getting started with peer connections", end to end on two peerkit cores: offer and
// answer, trickled candidates, connection, a data channel opened by the offerer, text and
// binary messages both ways, close.
#include "harness.hpp"

#include <peerkit/sdp/view.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <string>

using namespace peerkit;
using namespace peerkit::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
    return v;
}

// The whole flow; returns the offerer's channel. `trickle` false: candidates go in the SDP.
template <class World>
peerkit::channel_id connect_and_open(World& w, bool trickle)
{
    w.trickle = trickle;
    auto& a = w.a;
    auto& b = w.b;
    // The caller creates a channel first: negotiation is needed (webrtc-pc 6.2).
    auto ch = a.pc->create_data_channel(w.now, "chat");
    REQUIRE(ch);
    w.drain_events(a);
    CHECK(a.template count<peerkit::negotiation_needed_event>() == 1);

    // Making the call: createOffer, setLocalDescription, send the offer.
    auto offer = a.pc->create_offer();
    REQUIRE(offer);
    REQUIRE(a.pc->set_local_description(w.now, *offer));
    CHECK(a.pc->signaling_state() == peerkit::signaling_state::have_local_offer);
    CHECK(a.pc->pending_local_description());
    CHECK(!a.pc->current_local_description());

    std::string offer_sdp = offer->sdp;
    if (!trickle) {
        // Without trickle, wait until gathering is complete and send localDescription, which
        // then carries every candidate and a=end-of-candidates.
        REQUIRE(w.run_until([&] { return a.pc->ice_gathering_state() == ice::gathering_state::complete; }));
        offer_sdp = a.pc->local_description()->sdp;
        CHECK(offer_sdp.find("a=candidate:") != std::string::npos);
        CHECK(offer_sdp.find("a=end-of-candidates") != std::string::npos);
    }

    // Answering: setRemoteDescription, createAnswer, setLocalDescription.
    REQUIRE(b.pc->set_remote_description(w.now, {peerkit::sdp_type::offer, offer_sdp}));
    CHECK(b.pc->signaling_state() == peerkit::signaling_state::have_remote_offer);
    auto answer = b.pc->create_answer();
    REQUIRE(answer);
    CHECK(answer->type == peerkit::sdp_type::answer);
    CHECK(answer->sdp.find("a=setup:active") != std::string::npos);  // RFC 8842 5.3
    CHECK(answer->sdp.find("a=sctp-port:5000") != std::string::npos);
    CHECK(answer->sdp.find("a=max-message-size:") != std::string::npos);
    REQUIRE(b.pc->set_local_description(w.now, *answer));
    CHECK(b.pc->signaling_state() == peerkit::signaling_state::stable);
    std::string answer_sdp = answer->sdp;
    if (!trickle) {
        REQUIRE(w.run_until([&] { return b.pc->ice_gathering_state() == ice::gathering_state::complete; }));
        answer_sdp = b.pc->local_description()->sdp;
        CHECK(answer_sdp.find("a=candidate:") != std::string::npos);
    }
    REQUIRE(a.pc->set_remote_description(w.now, {peerkit::sdp_type::answer, answer_sdp}));
    CHECK(a.pc->signaling_state() == peerkit::signaling_state::stable);
    CHECK(a.pc->current_remote_description());
    CHECK(!a.pc->pending_remote_description());

    REQUIRE(w.run_until([&] {
        return a.pc->connection_state() == peerkit::connection_state::connected &&
               b.pc->connection_state() == peerkit::connection_state::connected && b.remote_channel &&
               !a.opened.empty();
    }));
    CHECK(ch->ready_state() == peerkit::data_channel_state::open);
    CHECK(ch->stream_id().has_value());
    CHECK(*ch->stream_id() % 2 == 1);  // a is the DTLS server (answer said active): odd ids
    return ch->id();
}

// Sends `count` copies of `message` on a's channel `ch`, keeping at most 4 MiB buffered, and
// runs until b has received them all (within 120 s of virtual time); whether it did. b's
// messages are counted in its stats, not kept: 16 MB of copies would only slow the test.
template <class World, class Channel>
bool transfer(World& w, Channel& ch, bytes_view message, std::size_t count)
{
    std::size_t sent = 0;
    return w.run_until(
        [&] {
            while (sent < count && ch.buffered_amount() < 4 * 1024 * 1024) {
                REQUIRE(ch.send(w.now, message));
                ++sent;
            }
            w.b.binaries.clear();
            return w.b.pc->get_stats().messages_received == count;
        },
        120'000ms);
}

}  // namespace

TEST_CASE("the MDN flow with trickle ICE: connected, messages both ways, close")
{
    pc_world<> w;
    w.setup_default();
    auto& a = w.a;
    auto& b = w.b;
    const auto id = connect_and_open(w, true);

    // Events seen in the browser's order.
    CHECK(a.connection_states == std::vector{peerkit::connection_state::connecting, peerkit::connection_state::connected});
    CHECK(b.connection_states == std::vector{peerkit::connection_state::connecting, peerkit::connection_state::connected});
    CHECK(a.signaling_states ==
          std::vector{peerkit::signaling_state::have_local_offer, peerkit::signaling_state::stable});
    CHECK(b.signaling_states ==
          std::vector{peerkit::signaling_state::have_remote_offer, peerkit::signaling_state::stable});
    CHECK(!a.candidates.empty());
    CHECK(a.end_of_candidates);
    CHECK(b.end_of_candidates);
    CHECK(a.candidates.front().candidate.starts_with("candidate:"));
    CHECK(a.candidates.front().sdp_mid == "0");
    CHECK(a.candidates.front().username_fragment == a.pc->local_ufrag());
    CHECK(a.template count<peerkit::ice_gathering_state_change_event>() == 2);  // gathering, complete

    auto ch = *a.pc->find_channel(id);
    auto remote = *b.pc->find_channel(*b.remote_channel);
    CHECK(remote.label() == "chat");
    CHECK(remote.ready_state() == peerkit::data_channel_state::open);

    REQUIRE(ch.send(w.now, std::string_view("hello from a")));
    const auto blob = pattern(3000, 7);  // several SCTP packets
    REQUIRE(ch.send(w.now, bytes_view(blob)));
    REQUIRE(remote.send(w.now, std::string_view("hello from b")));
    const auto blob2 = pattern(100, 9);
    REQUIRE(remote.send(w.now, bytes_view(blob2)));
    REQUIRE(w.run_until([&] { return b.texts.size() == 1 && b.binaries.size() == 1 && a.texts.size() == 1 && a.binaries.size() == 1; }));
    CHECK(b.texts[0] == "hello from a");
    CHECK(b.binaries[0] == blob);
    CHECK(a.texts[0] == "hello from b");
    CHECK(a.binaries[0] == blob2);

    const auto sa = a.pc->get_stats();
    CHECK(sa.messages_sent == 2);
    CHECK(sa.bytes_sent == 12 + 3000);
    CHECK(sa.messages_received == 2);
    CHECK(sa.bytes_received == 12 + 100);
    CHECK(sa.selected_local_candidate);
    CHECK(sa.selected_remote_candidate->find("10.0.0.2 40000") != std::string::npos);
    CHECK(sa.packets_sent > 0);
    CHECK(sa.transport_bytes_sent > 3000);
    CHECK(sa.transport_bytes_received > 100);
    REQUIRE(sa.round_trip_time);
    CHECK(*sa.round_trip_time >= 1ms);  // the simulated network's one-way delay is 1 ms
    CHECK(*sa.round_trip_time < 500ms);

    // The channel closes from b's side (stream reset, RFC 8831 6.7).
    REQUIRE(remote.close(w.now));
    REQUIRE(w.run_until([&] { return !a.closed_channels.empty() && !b.closed_channels.empty(); }));
    CHECK(ch.ready_state() == peerkit::data_channel_state::closed);

    // Hang up: a closes, b notices (DTLS close_notify).
    a.pc->close(w.now);
    CHECK(a.pc->signaling_state() == peerkit::signaling_state::closed);
    CHECK(a.pc->connection_state() == peerkit::connection_state::closed);
    REQUIRE(w.run_until([&] { return b.pc->connection_state() == peerkit::connection_state::closed; }, 5'000ms));
}

TEST_CASE("the MDN flow with all candidates in the SDP (no trickle)")
{
    pc_world<> w;
    w.setup_default();
    const auto id = connect_and_open(w, false);
    auto ch = *w.a.pc->find_channel(id);
    auto remote = *w.b.pc->find_channel(*w.b.remote_channel);
    REQUIRE(ch.send(w.now, std::string_view("ping")));
    REQUIRE(w.run_until([&] { return w.b.texts.size() == 1; }));
    REQUIRE(remote.send(w.now, std::string_view("pong")));
    REQUIRE(w.run_until([&] { return w.a.texts.size() == 1; }));
    CHECK(w.a.texts[0] == "pong");
    CHECK(w.signaling.empty());  // nothing was trickled... except what the test never sent
}

TEST_CASE("the MDN flow over a lossy network (5% loss, virtual clock)")
{
    std::uint64_t dtls_retransmissions = 0;
    for (std::uint64_t seed : {3u, 4u, 16u, 17u}) {  // 16 and 17 lose DTLS flights
        INFO("seed " << seed);
        // DTLS retransmits on the core's clock (dtls/openssl/session.hpp), so loss needs no
        // real time to pass.
        pc_world<> w{{.loss = 0.05, .delay = 2ms, .seed = seed}};
        w.setup_default();
        const auto id = connect_and_open(w, true);
        auto ch = *w.a.pc->find_channel(id);
        auto remote = *w.b.pc->find_channel(*w.b.remote_channel);
        for (unsigned i = 0; i < 50; ++i) {
            REQUIRE(ch.send(w.now, "a" + std::to_string(i)));
            REQUIRE(remote.send(w.now, bytes_view(pattern(1500, i))));
        }
        REQUIRE(w.run_until([&] { return w.b.texts.size() == 50 && w.a.binaries.size() == 50; }, 30'000ms));
        for (unsigned i = 0; i < 50; ++i) {
            CHECK(w.b.texts[i] == "a" + std::to_string(i));  // ordered, reliable
            CHECK(w.a.binaries[i] == pattern(1500, i));
        }
        CHECK(w.network.stats().lost > 0);
        dtls_retransmissions += w.a.pc->dtls_session()->stats().retransmissions +
                                w.b.pc->dtls_session()->stats().retransmissions;
    }
    // Some seeds lose a DTLS flight: recovered on the virtual clock, no real time passing.
    CHECK(dtls_retransmissions > 0);
}

TEST_CASE("signaling state machine: rollback, implicit descriptions, wrong states")
{
    pc_world<> w;
    w.setup_default();
    auto& a = *w.a.pc;
    auto& b = *w.b.pc;
    REQUIRE(a.create_data_channel(w.now, "x"));

    // An answer cannot be created without a remote offer; an answer cannot be applied in stable.
    CHECK(!a.create_answer());
    CHECK(a.create_answer().error().code() == peerkit::peer_connection_errc::invalid_state);
    CHECK(!a.set_remote_description(w.now, {peerkit::sdp_type::answer, "v=0\r\n"}));
    CHECK(!a.add_ice_candidate(w.now, {}));  // no remote description yet

    // Implicit setLocalDescription() makes an offer; rollback returns to stable.
    auto offer = a.set_local_description(w.now);
    REQUIRE(offer);
    CHECK(offer->type == peerkit::sdp_type::offer);
    CHECK(a.signaling_state() == peerkit::signaling_state::have_local_offer);
    REQUIRE(a.set_local_description(w.now, {peerkit::sdp_type::rollback, ""}));
    CHECK(a.signaling_state() == peerkit::signaling_state::stable);
    CHECK(!a.pending_local_description());

    // Remote offer, then rollback of it.
    REQUIRE(b.set_remote_description(w.now, *offer));
    CHECK(b.signaling_state() == peerkit::signaling_state::have_remote_offer);
    REQUIRE(b.set_remote_description(w.now, {peerkit::sdp_type::rollback, ""}));
    CHECK(b.signaling_state() == peerkit::signaling_state::stable);

    // Implicit answer.
    offer = a.set_local_description(w.now);
    REQUIRE(offer);
    REQUIRE(b.set_remote_description(w.now, *offer));
    auto answer = b.set_local_description(w.now);
    REQUIRE(answer);
    CHECK(answer->type == peerkit::sdp_type::answer);
    CHECK(b.signaling_state() == peerkit::signaling_state::stable);
    REQUIRE(a.set_remote_description(w.now, *answer));

    // Malformed input names what is wrong.
    auto bad = b.set_remote_description(w.now, {peerkit::sdp_type::offer, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"});
    REQUIRE(!bad);
    CHECK(bad.error().message().find("data-channel") != std::string::npos);
    auto wrong_ufrag = b.add_ice_candidate(w.now, {"candidate:1 1 udp 1 10.0.0.9 9 typ host", "0", 0, "nope"});
    CHECK(!wrong_ufrag);
    CHECK(wrong_ufrag.error().code() == peerkit::peer_connection_errc::bad_candidate);
    auto garbage = b.add_ice_candidate(w.now, {"candidate:garbage", "0", 0, ""});
    CHECK(!garbage);

    REQUIRE(w.run_until([&] { return a.connection_state() == peerkit::connection_state::connected; }));
}

TEST_CASE("configuration: ice server URLs and relay policy")
{
    using peerkit::detail::parse_ice_url;
    auto s = parse_ice_url("stun:192.0.2.1");
    REQUIRE(s);
    CHECK(!s->turn);
    CHECK(s->address.to_string() == "192.0.2.1:3478");
    auto t = parse_ice_url("turn:[2001:db8::1]:5349?transport=udp");
    REQUIRE(t);
    CHECK(t->turn);
    CHECK(t->address.port() == 5349);
    CHECK(t->transport == ice::turn_transport::udp);
    CHECK(!parse_ice_url("http://x"));
    CHECK(!parse_ice_url("stun:192.0.2.1:99999"));
    // RFC 7065: turns: is TURN over TLS (port 5349 unless given); transport=tcp is TURN over TCP.
    auto tls = parse_ice_url("turns:192.0.2.1");
    REQUIRE(tls);
    CHECK(tls->turn);
    CHECK(tls->transport == ice::turn_transport::tls);
    CHECK(tls->port == 5349);
    CHECK(tls->host == "192.0.2.1");
    CHECK(tls->address.to_string() == "192.0.2.1:5349");
    CHECK(parse_ice_url("turns:192.0.2.1:443?transport=tcp")->transport == ice::turn_transport::tls);
    auto tcp = parse_ice_url("turn:192.0.2.1?transport=tcp");
    REQUIRE(tcp);
    CHECK(tcp->transport == ice::turn_transport::tcp);
    CHECK(tcp->port == 3478);
    // TCP/TLS servers may be names: the runtime resolves them when it connects, and TLS
    // verifies the certificate against the name.
    auto named = parse_ice_url("turns:turn.example.org:5350");
    REQUIRE(named);
    CHECK(named->host == "turn.example.org");
    CHECK(named->port == 5350);
    auto v6 = parse_ice_url("turns:[2001:db8::1]");
    REQUIRE(v6);
    CHECK(v6->host == "2001:db8::1");
    CHECK(v6->address.to_string() == "[2001:db8::1]:5349");
    auto dtls = parse_ice_url("turns:192.0.2.1?transport=udp");
    REQUIRE(!dtls);
    CHECK(dtls.error().message().find("DTLS") != std::string::npos);
    CHECK(!parse_ice_url("stuns:192.0.2.1"));
    CHECK(!parse_ice_url("turn:192.0.2.1?transport=sctp"));
    CHECK(!parse_ice_url("turns:bad_host!"));
    CHECK(!parse_ice_url("turns::5349"));
    auto name = parse_ice_url("stun:stun.example.org");
    REQUIRE(!name);
    CHECK(name.error().message().find("IP literal") != std::string::npos);

    peerkit::configuration relay;
    relay.ice_transport_policy = peerkit::ice_transport_policy::relay;
    CHECK(!peerkit::peer_connection_core::create(relay));  // relay without a TURN server
    relay.ice_servers.push_back({{"turn:192.0.2.1:3478"}, "user", "secret"});
    CHECK(peerkit::peer_connection_core::create(relay));
    peerkit::configuration no_credentials;
    no_credentials.ice_servers.push_back({{"turn:192.0.2.1:3478"}, "", ""});
    CHECK(!peerkit::peer_connection_core::create(no_credentials));
}

namespace {
// A copy of `c` whose notAfter is an hour ago, signed again with its key.
peerkit::peer_connection_core::certificate_type expired_copy(const peerkit::peer_connection_core::certificate_type& c)
{
    X509* x = X509_dup(c.native_certificate());
    REQUIRE(x != nullptr);
    REQUIRE(X509_gmtime_adj(X509_getm_notAfter(x), -3600) != nullptr);
    REQUIRE(X509_sign(x, c.native_key(), EVP_sha256()) > 0);
    BIO* bio = BIO_new(BIO_s_mem());
    REQUIRE(PEM_write_bio_X509(bio, x) == 1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(size));
    BIO_free(bio);
    X509_free(x);
    auto expired = peerkit::peer_connection_core::certificate_type::from_pem(pem, *c.private_key_pem());
    REQUIRE(expired);
    return *expired;
}
}  // namespace

TEST_CASE("configuration: several certificates are all in the SDP and the handshake uses one; bad ones refused")
{
    using core = peerkit::peer_connection_core;  // a local name, for brevity
    namespace ossl = dtls::openssl;
    auto ec = ossl::certificate::generate();
    auto rsa = ossl::certificate::generate({.algorithm = ossl::key_algorithm::rsa});
    REQUIRE(ec);
    REQUIRE(rsa);

    // a offers with an ECDSA and an RSA certificate; b answers with RSA only.
    auto ca = pc_world<>::loopback_config();
    ca.certificates = {*ec, *rsa};
    auto cb = pc_world<>::loopback_config();
    cb.certificates = {*rsa};
    for (auto policy : {peerkit::bundle_policy::balanced, peerkit::bundle_policy::max_compat, peerkit::bundle_policy::max_bundle}) {
        INFO("bundle policy " << static_cast<int>(policy));
        ca.bundle_policy = cb.bundle_policy = policy;
        pc_world w;
        auto pa = core::create(ca);
        auto pb = core::create(cb);
        REQUIRE(pa);
        REQUIRE(pb);
        REQUIRE((*pa)->local_fingerprints().size() == 2);
        CHECK((*pa)->local_fingerprints()[1] == rsa->sha256_fingerprint());
        w.setup(w.a, "a", "10.0.0.1", std::move(*pa));
        w.setup(w.b, "b", "10.0.0.2", std::move(*pb));
        REQUIRE(w.a.pc->create_data_channel(w.now, "chat"));
        auto offer = w.a.pc->set_local_description(w.now);
        REQUIRE(offer);
        // RFC 8829 5.2.1: one a=fingerprint per certificate; the data section is bundled alone
        // whatever the bundle policy (it only shapes descriptions with several m= sections).
        auto view = sdp::parse_view(offer->sdp);
        REQUIRE(view);
        REQUIRE(view->media().size() == 1);
        std::size_t fingerprint_lines = 0;
        for (const auto& f : view->media().at(0)->fingerprints()) {
            (void)f;
            ++fingerprint_lines;
        }
        CHECK(fingerprint_lines == 2);
        CHECK(offer->sdp.find("a=group:BUNDLE 0\r\n") != std::string::npos);
        CHECK(offer->sdp.find("a=bundle-only") == std::string::npos);
        REQUIRE(w.b.pc->set_remote_description(w.now, *offer));
        auto answer = w.b.pc->set_local_description(w.now);
        REQUIRE(answer);
        REQUIRE(w.a.pc->set_remote_description(w.now, *answer));
        REQUIRE(w.run_until([&] { return !w.a.opened.empty() && w.b.remote_channel; }));
        // b (the DTLS client, answering actpass with active) verified a's certificate against
        // both fingerprints: a, the server, presented the ECDSA one (its suites come first).
        const auto* seen_by_b = w.b.pc->dtls_session();
        REQUIRE(seen_by_b);
        REQUIRE(seen_by_b->peer_fingerprint().has_value());
        CHECK(*seen_by_b->peer_fingerprint() == ec->sha256_fingerprint());
        REQUIRE(w.a.pc->dtls_session()->peer_fingerprint().has_value());
        CHECK(*w.a.pc->dtls_session()->peer_fingerprint() == rsa->sha256_fingerprint());
    }

    auto refused = [](std::vector<core::certificate_type> certs, std::string_view why) {
        peerkit::configuration c;
        c.certificates = std::move(certs);
        auto r = core::create(c);
        REQUIRE(!r);
        CHECK_THAT(r.error().message(), Catch::Contains(std::string(why)));
    };
    // W3C webrtc-pc 4.4.1.1: an expired certificate is refused.
    refused({*ec, expired_copy(*rsa)}, "certificate 2 expired");
    refused({*ec, *ossl::certificate::generate()}, "same key type");
    refused({*ec, *rsa, *ec, *rsa, *ec}, "at most 4");
}

TEST_CASE("turns: the core asks the runtime for a TLS connection; its failure is an icecandidateerror, not a hang")
{
    peerkit::configuration config;
    config.ice_transport_policy = peerkit::ice_transport_policy::relay;
    config.ice_servers.push_back({{"turns:turn.example.org"}, "user", "secret"});
    auto pc = peerkit::peer_connection_core::create(config);
    REQUIRE(pc);
    auto& core = **pc;
    const auto now = peerkit::clock::now();
    const ice::local_socket s{1, *net::endpoint::parse("192.0.2.10:5000"), "eth0", false};
    core.add_local_sockets(now, std::span<const ice::local_socket>(&s, 1));
    REQUIRE(core.create_data_channel(now, "chat"));
    REQUIRE(core.set_local_description(now));
    core.handle_timeout(now);
    auto c = core.poll_stream();
    REQUIRE(c);
    const auto* open = std::get_if<ice::stream_open>(&*c);
    REQUIRE(open != nullptr);
    CHECK(open->host == "turn.example.org");
    CHECK(open->port == 5349);
    CHECK(open->tls);
    CHECK(core.ice_gathering_state() == ice::gathering_state::gathering);
    CHECK_FALSE(core.poll_transmit());  // relay-only over TLS: nothing goes out on UDP

    core.handle_stream_error(now, open->id, "TLS certificate of turn.example.org:5349 not trusted: unable to get local issuer certificate");
    std::optional<peerkit::ice_candidate_error_event> error;
    bool null_candidate = false;
    while (auto e = core.poll_event()) {
        if (auto* x = std::get_if<peerkit::ice_candidate_error_event>(&*e)) error = *x;
        if (auto* x = std::get_if<peerkit::ice_candidate_event>(&*e); x && !x->candidate) null_candidate = true;
        CHECK(!(std::holds_alternative<peerkit::ice_candidate_event>(*e) && std::get<peerkit::ice_candidate_event>(*e).candidate));
    }
    REQUIRE(error);
    CHECK(error->url == "turns:turn.example.org");
    CHECK(error->error_code == 701);
    CHECK(error->error_text.find("not trusted") != std::string::npos);
    CHECK(null_candidate);  // gathering is complete: nothing left to wait for
    CHECK(core.ice_gathering_state() == ice::gathering_state::complete);
    auto closing = core.poll_stream();
    REQUIRE(closing);
    CHECK(std::holds_alternative<ice::stream_close>(*closing));
}

TEST_CASE("renegotiation: a second channel and a new offer/answer keep the transport and the first channel")
{
    pc_world<> w;
    w.setup_default();
    auto& a = w.a;
    auto& b = w.b;
    const auto first = connect_and_open(w, true);
    const auto first_remote = *b.remote_channel;
    const auto connection_changes = a.connection_states.size();
    const std::string ufrag(a.pc->local_ufrag());

    // The m=application section exists: a second channel needs no negotiation (webrtc-pc 6.2).
    auto second = a.pc->create_data_channel(w.now, "second");
    REQUIRE(second);
    w.drain_events(a);
    CHECK(a.count<peerkit::negotiation_needed_event>() == 1);

    // A subsequent offer/answer all the same: same mid, same ICE credentials (no restart).
    auto offer = a.pc->set_local_description(w.now);
    REQUIRE(offer);
    CHECK(offer->sdp.find("a=mid:0") != std::string::npos);
    CHECK(offer->sdp.find("a=ice-ufrag:" + ufrag) != std::string::npos);
    REQUIRE(b.pc->set_remote_description(w.now, *offer));
    auto answer = b.pc->set_local_description(w.now);
    REQUIRE(answer);
    CHECK(answer->sdp.find("a=mid:0") != std::string::npos);
    REQUIRE(a.pc->set_remote_description(w.now, *answer));
    CHECK(a.pc->signaling_state() == peerkit::signaling_state::stable);

    REQUIRE(w.run_until([&] { return a.opened.size() == 2 && b.remote_channel && !(*b.remote_channel == first_remote); }));
    auto remote_second = *b.pc->find_channel(*b.remote_channel);
    CHECK(remote_second.label() == "second");
    CHECK(*second->stream_id() != *a.pc->find_channel(first)->stream_id());

    // Both channels carry messages; the transport was never torn down.
    REQUIRE(a.pc->find_channel(first)->send(w.now, std::string_view("on the first")));
    REQUIRE(second->send(w.now, std::string_view("on the second")));
    REQUIRE(remote_second.send(w.now, std::string_view("back on the second")));
    REQUIRE(w.run_until([&] { return b.texts.size() == 2 && a.texts.size() == 1; }));
    CHECK(std::find(b.texts.begin(), b.texts.end(), "on the first") != b.texts.end());
    CHECK(std::find(b.texts.begin(), b.texts.end(), "on the second") != b.texts.end());
    CHECK(a.texts[0] == "back on the second");
    CHECK(a.connection_states.size() == connection_changes);
    CHECK(a.pc->connection_state() == peerkit::connection_state::connected);
}

TEST_CASE("hang-up from the answerer's side closes the caller too")
{
    pc_world<> w;
    w.setup_default();
    connect_and_open(w, true);
    w.drain_events(w.b);
    const auto b_events = w.b.events.size();
    w.b.pc->close(w.now);
    CHECK(w.b.pc->connection_state() == peerkit::connection_state::closed);
    // The closing side's channels close abruptly, without events (webrtc-pc 4.4.1.6).
    w.drain_events(w.b);
    CHECK(w.b.events.size() == b_events);
    REQUIRE(w.run_until([&] { return w.a.pc->connection_state() == peerkit::connection_state::closed; }, 5'000ms));
    REQUIRE(w.run_until([&] { return !w.a.closed_channels.empty(); }, 5'000ms));
}

TEST_CASE("connection failure is reported when the remote never answers")
{
    pc_world<> w;
    w.setup_default();
    // Descriptions are exchanged, but no datagram ever gets through: the peer is gone.
    w.network.block(w.a.address.address(), w.b.address.address());
    auto& a = w.a;
    auto& b = w.b;
    REQUIRE(a.pc->create_data_channel(w.now, "chat"));
    auto offer = a.pc->set_local_description(w.now);
    REQUIRE(offer);
    REQUIRE(b.pc->set_remote_description(w.now, *offer));
    auto answer = b.pc->set_local_description(w.now);
    REQUIRE(answer);
    REQUIRE(a.pc->set_remote_description(w.now, *answer));
    // Every check times out (RFC 8445 7.2.5.4 / 14.3); with end-of-candidates from the peer the
    // checklist fails and so does the connection (webrtc-pc 4.3.3).
    REQUIRE(w.run_until([&] { return a.pc->connection_state() == peerkit::connection_state::failed; }, 120'000ms));
    CHECK(a.connection_states.front() == peerkit::connection_state::connecting);
    CHECK(a.connection_states.back() == peerkit::connection_state::failed);
    CHECK(a.opened.empty());
    // The reason names the layer and keeps the agent's code (issue 13: fail fast, say why).
    const auto reason = failure_reason(a);
    REQUIRE(reason);
    INFO(reason->message());
    CHECK(reason->message().starts_with("ice: "));
    CHECK(*reason == ice::errc::checks_failed);
}

TEST_CASE("ICE restart: new credentials both ways, checks again, the data channel survives")
{
    pc_world<> w;
    w.setup_default();
    auto& a = w.a;
    auto& b = w.b;
    const auto id = connect_and_open(w, true);
    auto ch = *a.pc->find_channel(id);
    auto remote = *b.pc->find_channel(*b.remote_channel);
    REQUIRE(ch.send(w.now, std::string_view("before the restart")));
    REQUIRE(w.run_until([&] { return b.texts.size() == 1; }));
    const std::string a_ufrag(a.pc->local_ufrag()), b_ufrag(b.pc->local_ufrag());
    const auto a_candidates = a.candidates.size(), b_candidates = b.candidates.size();
    const auto* dtls_before = a.pc->dtls_session();
    const auto* sctp_before = a.pc->sctp_association();

    // A restart offer that is rolled back leaves the old credentials (RFC 8829 5.7).
    {
        auto offer = a.pc->create_offer(true);
        REQUIRE(offer);
        CHECK(offer->sdp.find("a=ice-ufrag:" + a_ufrag) == std::string::npos);
        CHECK(a.pc->local_ufrag() == a_ufrag);  // creating it changes nothing (RFC 8829 5.2.1)
        REQUIRE(a.pc->set_local_description(w.now, *offer));
        CHECK(a.pc->local_ufrag() != a_ufrag);
        REQUIRE(a.pc->set_local_description(w.now, {peerkit::sdp_type::rollback, ""}));
        CHECK(a.pc->signaling_state() == peerkit::signaling_state::stable);
        CHECK(a.pc->local_ufrag() == a_ufrag);
        REQUIRE(ch.send(w.now, std::string_view("after the rollback")));
        REQUIRE(w.run_until([&] {
            return b.texts.size() == 2 && a.pc->ice_agent().selected_pair().has_value() &&
                   a.pc->connection_state() == peerkit::connection_state::connected;
        }));
        CHECK(b.texts[1] == "after the rollback");
    }

    // RFC 8829 5.2.1 / RFC 8839 4.4.1.1.1: the offer carries new credentials...
    auto offer = a.pc->create_offer(true);
    REQUIRE(offer);
    CHECK(offer->sdp.find("a=ice-ufrag:" + a_ufrag) == std::string::npos);
    CHECK(offer->sdp.find("a=ice-ufrag:") != std::string::npos);
    REQUIRE(a.pc->set_local_description(w.now, *offer));
    const std::string a_new(a.pc->local_ufrag());
    CHECK(a_new != a_ufrag);
    CHECK(offer->sdp.find("a=ice-ufrag:" + a_new) != std::string::npos);
    REQUIRE(b.pc->set_remote_description(w.now, *offer));
    // ...and so does the answer to it.
    auto answer = b.pc->create_answer();
    REQUIRE(answer);
    CHECK(answer->sdp.find("a=ice-ufrag:" + b_ufrag) == std::string::npos);
    REQUIRE(b.pc->set_local_description(w.now, *answer));
    const std::string b_new(b.pc->local_ufrag());
    CHECK(b_new != b_ufrag);
    CHECK(answer->sdp.find("a=ice-ufrag:" + b_new) != std::string::npos);
    REQUIRE(a.pc->set_remote_description(w.now, *answer));
    CHECK(a.pc->signaling_state() == peerkit::signaling_state::stable);
    CHECK(b.pc->signaling_state() == peerkit::signaling_state::stable);
    // The checks start over on both sides (RFC 8445 9): no pair is selected until new ones are.
    CHECK(!a.pc->ice_agent().selected_pair());
    CHECK(!b.pc->ice_agent().selected_pair());

    // Data keeps flowing over the old pair while the checks run again (RFC 8445 9).
    REQUIRE(ch.send(w.now, std::string_view("during the restart")));
    REQUIRE(w.run_until([&] {
        return b.texts.size() == 3 && a.end_of_candidates && b.end_of_candidates &&
               a.candidates.size() > a_candidates && b.candidates.size() > b_candidates &&
               a.pc->ice_agent().selected_pair().has_value() && b.pc->ice_agent().selected_pair().has_value() &&
               a.pc->connection_state() == peerkit::connection_state::connected &&
               b.pc->connection_state() == peerkit::connection_state::connected;
    }));
    CHECK(a.pc->local_ufrag() == a_new);
    CHECK(b.pc->local_ufrag() == b_new);
    // The re-announced candidates carry the new ufrags.
    CHECK(a.candidates.back().username_fragment == a_new);
    CHECK(b.candidates.back().username_fragment == b_new);

    // Same DTLS session and SCTP association, same channel, both ways.
    CHECK(a.pc->dtls_session() == dtls_before);
    CHECK(a.pc->sctp_association() == sctp_before);
    REQUIRE(ch.send(w.now, std::string_view("after the restart")));
    REQUIRE(remote.send(w.now, std::string_view("back after the restart")));
    REQUIRE(w.run_until([&] { return b.texts.size() == 4 && !a.texts.empty(); }));
    CHECK(b.texts[2] == "during the restart");
    CHECK(b.texts[3] == "after the restart");
    CHECK(a.texts.back() == "back after the restart");
    CHECK(ch.ready_state() == peerkit::data_channel_state::open);
    CHECK(remote.ready_state() == peerkit::data_channel_state::open);
    for (auto* p : {&a, &b}) {
        INFO(p->name);
        for (auto s : p->connection_states) {
            CHECK(s != peerkit::connection_state::failed);
            CHECK(s != peerkit::connection_state::closed);
        }
        CHECK(p->closed_channels.empty());
    }
}

TEST_CASE("a datagram the ICE agent refuses is counted, not discarded")
{
    // Once consent is lost (RFC 7675 5.1: no answer for 30 s) the agent has no pair to send
    // on; SCTP still retransmits, and each DTLS datagram the agent refuses is counted.
    pc_world<> w;
    w.setup_default();
    const auto id = connect_and_open(w, true);
    const auto before = w.a.pc->get_stats();
    CHECK(before.dtls_datagrams_not_sent == 0);  // a pair was selected before DTLS started
    w.network.block(w.a.address.address(), w.b.address.address());
    auto ch = *w.a.pc->find_channel(id);
    REQUIRE(ch.send(w.now, std::string_view("into the void")));
    REQUIRE(w.run_until([&] { return w.a.pc->get_stats().dtls_datagrams_not_sent > 0; }, 120'000ms));
    CHECK(w.a.pc->get_stats().packets_sent >= before.packets_sent);
}

// The sender's own queues are not a lossy link: SCTP hands its packets to DTLS and the agent
// only while the agent's transmit queue has room, so a transfer whose congestion window grows
// past that queue (and past DTLS's 256 datagrams) loses nothing inside the sender. Before,
// the core pulled a whole window out of SCTP at once: on this clean path about one datagram in
// sixteen was dropped in DTLS's queue, each one a fast retransmit and a halved cwnd.
TEST_CASE("a transfer larger than the sender's queues loses nothing inside the sender (clean path)")
{
    pc_world<> w{{.delay = 1ms}};
    w.setup_default();
    const auto id = connect_and_open(w, true);
    auto ch = *w.a.pc->find_channel(id);
    const std::vector<std::byte> message(1024, std::byte{0x5a});
    constexpr std::size_t count = 16'000;  // 16 MB: cwnd grows to thousands of packets
    REQUIRE(transfer(w, ch, message, count));
    CHECK(w.b.pc->get_stats().messages_received == count);
    const auto& sctp = w.a.pc->sctp_association()->stats();
    INFO("sctp: retransmissions " << sctp.retransmissions << ", fast " << sctp.fast_retransmissions << ", t3 "
                                  << sctp.t3_expirations);
    CHECK(w.network.stats().lost == 0);
    CHECK(w.a.pc->dtls_session()->stats().datagrams_dropped == 0);
    CHECK(w.a.pc->ice_agent().stats().dropped_transmits == 0);
    CHECK(w.a.pc->get_stats().dtls_datagrams_not_sent == 0);
    CHECK(sctp.fast_retransmissions == 0);
    CHECK(sctp.t3_expirations == 0);
    // The window did grow past both queues, so the bound was exercised, not avoided.
    CHECK(w.a.pc->sctp_association()->cwnd() > 1024 * 1200);
}

// The other half of that bound: a runtime that has not polled the agent's full queue is not
// woken again and again for the SCTP packets held back; once it has polled, the core is due
// at once and sends them.
TEST_CASE("SCTP held back by a full agent queue wakes the runtime only after it polled")
{
    pc_world<> w{{.delay = 1ms}};
    w.setup_default();
    const auto id = connect_and_open(w, true);
    auto ch = *w.a.pc->find_channel(id);
    auto& pc = *w.a.pc;
    // Open the congestion window first: a clean transfer of 16 MB.
    const std::vector<std::byte> message(1024, std::byte{0x5a});
    REQUIRE(transfer(w, ch, message, 16'000));
    REQUIRE(pc.sctp_association()->cwnd() > 1024 * 1200);
    // Now more than the agent's queue (1,024 datagrams) at once, and nobody polls transmits.
    for (int i = 0; i < 3000; ++i) REQUIRE(ch.send(w.now, bytes_view(message)));
    REQUIRE(pc.ice_agent().transmit_room() == 0);
    REQUIRE(pc.sctp_association()->buffered_amount() > 0);
    const auto t = pc.poll_timeout();
    CHECK((!t || *t > w.now));  // not due: the queue it would fill is still full
    // The runtime polls: due now, and the next handle_timeout sends what SCTP held.
    std::size_t polled = 0;
    while (pc.poll_transmit()) ++polled;
    CHECK(polled == 1024);
    const auto due = pc.poll_timeout();
    REQUIRE(due);
    CHECK(*due <= w.now);
    pc.handle_timeout(w.now);
    CHECK(pc.ice_agent().transmit_room() < 1024);
    CHECK(pc.ice_agent().stats().dropped_transmits == 0);
}
