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
    CHECK(r.error() == rtc::errc::bad_configuration);
    INFO(r.error().message());
    CHECK(r.error().message().find(field) != std::string::npos);
}

rtc::configuration with_server(std::vector<std::string> urls, std::string username = {}, std::string credential = {})
{
    rtc::configuration c;
    c.ice_servers.push_back({std::move(urls), std::move(username), std::move(credential)});
    return c;
}

}  // namespace

TEST_CASE("validate: a default configuration and usual servers pass")
{
    CHECK(rtc::validate(rtc::configuration{}));
    CHECK(rtc::validate(with_server({"stun:192.0.2.1", "stun:[2001:db8::1]:3479"})));
    CHECK(rtc::validate(with_server({"turn:192.0.2.1?transport=tcp", "turns:turn.example.org"}, "user", "secret")));
    CHECK(rtc::validate(rtc::limits{}));
}

TEST_CASE("validate: ice server URLs")
{
    check_refused(rtc::validate(with_server({})), "ice_servers[0].urls is empty");
    check_refused(rtc::validate(with_server({"http://192.0.2.1"})), "ice_servers[0]: ice server URL 'http://192.0.2.1'");
    check_refused(rtc::validate(with_server({"stun:192.0.2.1:0"})), "port out of range");
    check_refused(rtc::validate(with_server({"stun:192.0.2.1?transport=udp"})), "stun: URLs take no query");
    check_refused(rtc::validate(with_server({"stuns:192.0.2.1"})), "stuns:");
    check_refused(rtc::validate(with_server({"turns:192.0.2.1?transport=udp"}, "u", "p")), "TURN over DTLS");
    auto second = with_server({"stun:192.0.2.1"});
    second.ice_servers.push_back({{"stun:bad_host!"}, "", ""});
    check_refused(rtc::validate(second), "ice_servers[1]");
}

TEST_CASE("validate: UDP server names are refused unless resolved later")
{
    const auto named = with_server({"stun:stun.example.org"});
    check_refused(rtc::validate(named), "is not an IP literal");
    CHECK(rtc::validate(named, rtc::limits{}, rtc::server_names::resolved_later));
    // A TCP TURN server keeps its name in the core (the runtime connects to it by name).
    CHECK(rtc::validate(with_server({"turn:turn.example.org?transport=tcp"}, "u", "p")));
    // The name rule relaxes nothing else.
    check_refused(rtc::validate(with_server({"turn:turn.example.org"}), rtc::limits{}, rtc::server_names::resolved_later),
                  "needs a username and credential");
}

TEST_CASE("validate: TURN credentials")
{
    check_refused(rtc::validate(with_server({"turn:192.0.2.1"})), "ice_servers[0]: TURN server 'turn:192.0.2.1' needs a username");
    check_refused(rtc::validate(with_server({"turn:192.0.2.1"}, "user", "")), "needs a username and credential");
    check_refused(rtc::validate(with_server({"turns:192.0.2.1"}, "", "secret")), "needs a username and credential");
    check_refused(rtc::validate(with_server({"turn:192.0.2.1"}, std::string(510, 'u'), "p")),
                  "ice_servers[0].username is 510 bytes, at most 509");
    CHECK(rtc::validate(with_server({"turn:192.0.2.1"}, std::string(509, 'u'), "p")));
    // STUN servers take no credentials, and none are asked for.
    CHECK(rtc::validate(with_server({"stun:192.0.2.1"})));
}

TEST_CASE("validate: relay policy and certificates")
{
    rtc::configuration relay;
    relay.ice_transport_policy = rtc::ice_transport_policy::relay;
    check_refused(rtc::validate(relay), "ice_transport_policy relay without a TURN server");
    relay.ice_servers.push_back({{"stun:192.0.2.1"}, "", ""});
    check_refused(rtc::validate(relay), "ice_transport_policy relay");
    relay.ice_servers.push_back({{"turn:192.0.2.1"}, "u", "p"});
    CHECK(rtc::validate(relay));

    auto cert = rtc::openssl_dtls_backend::generate_certificate();
    REQUIRE(cert);
    rtc::configuration many;
    rtc::limits two;
    two.max_certificates = 2;
    many.certificates = {*cert, *cert};
    CHECK(rtc::validate(many, two));
    many.certificates.push_back(*cert);
    check_refused(rtc::validate(many, two), "certificates: 3, at most 2 (limits::max_certificates)");
    // What only the backend can judge (an expired certificate: flow_test.cpp's case) it judges.
    const std::vector<rtc::openssl_dtls_backend::certificate> one{*cert};
    CHECK(rtc::validate_certificates<rtc::openssl_dtls_backend>(one));
    auto same_type = rtc::validate_certificates<rtc::openssl_dtls_backend>(many.certificates);
    REQUIRE(!same_type);
    CHECK(same_type.error() == rtc::errc::bad_configuration);
    CHECK(same_type.error().message().find("certificates: ") == 0);
}

TEST_CASE("validate: limits that contradict each other")
{
    auto refused = [](auto change, std::string_view field) {
        rtc::limits l;
        change(l);
        check_refused(rtc::validate(l), field);
        check_refused(rtc::validate(rtc::configuration{}, l), field);
    };
    refused([](rtc::limits& l) { l.max_message_size = 0; }, "limits::max_message_size is 0");
    refused([](rtc::limits& l) { l.receive_buffer_size = 0; }, "limits::receive_buffer_size is 0");
    refused([](rtc::limits& l) { l.max_queued_events = 0; }, "limits::max_queued_events is 0");
    refused([](rtc::limits& l) { l.max_data_channels = 0; }, "limits::max_data_channels is 0");
    refused([](rtc::limits& l) { l.max_data_channels = 65536; }, "limits::max_data_channels is 65536");
    refused([](rtc::limits& l) { l.max_description_size = 0; }, "limits::max_description_size is 0");
    refused([](rtc::limits& l) { l.max_certificates = 0; }, "limits::max_certificates is 0");
    rtc::limits most;
    most.max_data_channels = 65535;
    CHECK(rtc::validate(most));
}

namespace {
struct zero_events_policy : rtc::openssl_policy {
    static constexpr rtc::limits limits()
    {
        rtc::limits l;
        l.max_queued_events = 0;
        return l;
    }
};
}  // namespace

TEST_CASE("validate: the core refuses what validate refuses")
{
    auto no_credentials = with_server({"turn:192.0.2.1"}, "user", "");
    auto made = rtc::core::create(no_credentials);
    REQUIRE(!made);
    CHECK(made.error().message() == rtc::validate(no_credentials).error().message());
    // The policy's limits are checked too.
    auto zero = rtc::basic_core<zero_events_policy>::create({});
    REQUIRE(!zero);
    CHECK(zero.error().message().find("limits::max_queued_events is 0") != std::string::npos);
}
