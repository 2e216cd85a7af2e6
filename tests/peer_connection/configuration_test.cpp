// validate(configuration) (peer_connection/configuration.hpp): each refusal names its field,
// and the core refuses what validate refuses.
#include <peerkit/peer_connection/configuration.hpp>
#include <peerkit/peer_connection/openssl.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using namespace peerkit;

namespace {

// The refusal's code is bad_configuration and its message names `field`.
void check_refused(const result<void>& r, std::string_view field)
{
    REQUIRE(!r);
    CHECK(r.error() == peerkit::peer_connection_errc::bad_configuration);
    INFO(r.error().message());
    CHECK(r.error().message().find(field) != std::string::npos);
}

peerkit::configuration with_server(std::vector<std::string> urls, std::string username = {}, std::string credential = {})
{
    peerkit::configuration c;
    c.ice_servers.push_back({std::move(urls), std::move(username), std::move(credential)});
    return c;
}

}  // namespace

TEST_CASE("validate: a default configuration and usual servers pass")
{
    CHECK(peerkit::validate(peerkit::configuration{}));
    CHECK(peerkit::validate(with_server({"stun:192.0.2.1", "stun:[2001:db8::1]:3479"})));
    CHECK(peerkit::validate(with_server({"turn:192.0.2.1?transport=tcp", "turns:turn.example.org"}, "user", "secret")));
    CHECK(peerkit::validate(peerkit::peer_connection_limits{}));
}

TEST_CASE("validate: ice server URLs")
{
    check_refused(peerkit::validate(with_server({})), "ice_servers[0].urls is empty");
    check_refused(peerkit::validate(with_server({"http://192.0.2.1"})), "ice_servers[0]: ice server URL 'http://192.0.2.1'");
    check_refused(peerkit::validate(with_server({"stun:192.0.2.1:0"})), "port out of range");
    check_refused(peerkit::validate(with_server({"stun:192.0.2.1?transport=udp"})), "stun: URLs take no query");
    check_refused(peerkit::validate(with_server({"stuns:192.0.2.1"})), "stuns:");
    check_refused(peerkit::validate(with_server({"turns:192.0.2.1?transport=udp"}, "u", "p")), "TURN over DTLS");
    auto second = with_server({"stun:192.0.2.1"});
    second.ice_servers.push_back({{"stun:bad_host!"}, "", ""});
    check_refused(peerkit::validate(second), "ice_servers[1]");
}

TEST_CASE("validate: UDP server names are refused unless resolved later")
{
    const auto named = with_server({"stun:stun.example.org"});
    check_refused(peerkit::validate(named), "is not an IP literal");
    CHECK(peerkit::validate(named, peerkit::peer_connection_limits{}, peerkit::server_names::resolved_later));
    // A TCP TURN server keeps its name in the core (the runtime connects to it by name).
    CHECK(peerkit::validate(with_server({"turn:turn.example.org?transport=tcp"}, "u", "p")));
    // The name rule relaxes nothing else.
    check_refused(peerkit::validate(with_server({"turn:turn.example.org"}), peerkit::peer_connection_limits{}, peerkit::server_names::resolved_later),
                  "needs a username and credential");
}

TEST_CASE("validate: TURN credentials")
{
    check_refused(peerkit::validate(with_server({"turn:192.0.2.1"})), "ice_servers[0]: TURN server 'turn:192.0.2.1' needs a username");
    check_refused(peerkit::validate(with_server({"turn:192.0.2.1"}, "user", "")), "needs a username and credential");
    check_refused(peerkit::validate(with_server({"turns:192.0.2.1"}, "", "secret")), "needs a username and credential");
    check_refused(peerkit::validate(with_server({"turn:192.0.2.1"}, std::string(510, 'u'), "p")),
                  "ice_servers[0].username is 510 bytes, at most 509");
    CHECK(peerkit::validate(with_server({"turn:192.0.2.1"}, std::string(509, 'u'), "p")));
    // STUN servers take no credentials, and none are asked for.
    CHECK(peerkit::validate(with_server({"stun:192.0.2.1"})));
}

TEST_CASE("validate: relay policy and certificates")
{
    peerkit::configuration relay;
    relay.ice_transport_policy = peerkit::ice_transport_policy::relay;
    check_refused(peerkit::validate(relay), "ice_transport_policy relay without a TURN server");
    relay.ice_servers.push_back({{"stun:192.0.2.1"}, "", ""});
    check_refused(peerkit::validate(relay), "ice_transport_policy relay");
    relay.ice_servers.push_back({{"turn:192.0.2.1"}, "u", "p"});
    CHECK(peerkit::validate(relay));

    auto cert = peerkit::openssl_dtls_backend::generate_certificate();
    REQUIRE(cert);
    peerkit::configuration many;
    peerkit::peer_connection_limits two;
    two.max_certificates = 2;
    many.certificates = {*cert, *cert};
    CHECK(peerkit::validate(many, two));
    many.certificates.push_back(*cert);
    check_refused(peerkit::validate(many, two), "certificates: 3, at most 2 (limits::max_certificates)");
    // What only the backend can judge (an expired certificate: flow_test.cpp's case) it judges.
    const std::vector<peerkit::openssl_dtls_backend::certificate> one{*cert};
    CHECK(peerkit::validate_certificates<peerkit::openssl_dtls_backend>(one));
    auto same_type = peerkit::validate_certificates<peerkit::openssl_dtls_backend>(many.certificates);
    REQUIRE(!same_type);
    CHECK(same_type.error() == peerkit::peer_connection_errc::bad_configuration);
    CHECK(same_type.error().message().find("certificates: ") == 0);
}

TEST_CASE("validate: limits that contradict each other")
{
    auto refused = [](auto change, std::string_view field) {
        peerkit::peer_connection_limits l;
        change(l);
        check_refused(peerkit::validate(l), field);
        check_refused(peerkit::validate(peerkit::configuration{}, l), field);
    };
    refused([](peerkit::peer_connection_limits& l) { l.max_message_size = 0; }, "limits::max_message_size is 0");
    refused([](peerkit::peer_connection_limits& l) { l.receive_buffer_size = 0; }, "limits::receive_buffer_size is 0");
    refused([](peerkit::peer_connection_limits& l) { l.max_queued_events = 0; }, "limits::max_queued_events is 0");
    refused([](peerkit::peer_connection_limits& l) { l.max_data_channels = 0; }, "limits::max_data_channels is 0");
    refused([](peerkit::peer_connection_limits& l) { l.max_data_channels = 65536; }, "limits::max_data_channels is 65536");
    refused([](peerkit::peer_connection_limits& l) { l.max_description_size = 0; }, "limits::max_description_size is 0");
    refused([](peerkit::peer_connection_limits& l) { l.max_certificates = 0; }, "limits::max_certificates is 0");
    refused([](peerkit::peer_connection_limits& l) { l.max_queued_transmits = 0; }, "limits::max_queued_transmits is 0");
    refused([](peerkit::peer_connection_limits& l) { l.max_queued_relay_transmits = 0; },
            "limits::max_queued_relay_transmits is 0");
    peerkit::peer_connection_limits most;
    most.max_data_channels = 65535;
    CHECK(peerkit::validate(most));
}

namespace {
struct zero_events_policy : peerkit::openssl_policy {
    static constexpr peerkit::peer_connection_limits limits()
    {
        peerkit::peer_connection_limits l;
        l.max_queued_events = 0;
        return l;
    }
};
}  // namespace

TEST_CASE("validate: the core refuses what validate refuses")
{
    auto no_credentials = with_server({"turn:192.0.2.1"}, "user", "");
    auto made = peerkit::peer_connection_core::create(no_credentials);
    REQUIRE(!made);
    CHECK(made.error().message() == peerkit::validate(no_credentials).error().message());
    // The policy's limits are checked too.
    auto zero = peerkit::basic_peer_connection_core<zero_events_policy>::create({});
    REQUIRE(!zero);
    CHECK(zero.error().message().find("limits::max_queued_events is 0") != std::string::npos);
}
