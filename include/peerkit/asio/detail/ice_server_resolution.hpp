// Host names of UDP ICE servers (stun:name, turn:name[?transport=udp]), for
// peerkit::peer_connection (asio/peer_connection.hpp). The core takes IP literals for UDP
// servers; the runtime resolves the names asynchronously (udp::resolver::async_resolve, on a
// strand over the peer connection's executor), IPv4 and IPv6, and makes the core once they
// are resolved (calls made meanwhile wait in the driver, asio/driver.hpp deferred_machine),
// so that gathering, which needs the servers, waits for the names as well.
//
// Which addresses: the first address of each family that a local socket has. The agent sends
// from every local socket to every server of its family (RFC 8445 5.1.1.2), so one address per
// family gives every socket its server-reflexive and relayed candidates; a name's further
// addresses of the same family are the same server again (more STUN transactions and TURN
// allocations, no new candidate), and the first is the one getaddrinfo ranks best (RFC 6724).
// A family no local socket has could not be reached anyway.
//
// A name that does not resolve (or has no address of a local socket's family) is logged with
// the reason (component runtime, warn) and its URL skipped, as browsers skip such a server;
// create() does not fail for it. TCP and TLS TURN URLs keep their names: the driver resolves
// them when it connects, and TLS verifies the certificate against the name.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/peer_connection/configuration.hpp>
#include <peerkit/peer_connection/ice_server_url.hpp>
#include <peerkit/peer_connection/policy.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace peerkit::asio::detail {

// One URL of configuration.ice_servers whose UDP server is named by a host name.
struct named_ice_server {
    std::size_t server = 0;  // index in ice_servers
    std::size_t url = 0;     // index in that server's urls
    std::string host;
    std::uint16_t port = 0;
};

// The UDP URLs with host names; URLs that do not parse are left to the core, which reports
// them from create().
[[nodiscard]] inline std::vector<named_ice_server> udp_server_names(const std::vector<peerkit::ice_server>& servers)
{
    std::vector<named_ice_server> out;
    for (std::size_t s = 0; s < servers.size(); ++s)
        for (std::size_t u = 0; u < servers[s].urls.size(); ++u) {
            auto parsed = peerkit::parse_ice_server_url(servers[s].urls[u]);
            if (!parsed || !parsed->is_name() || parsed->transport != ice::turn_transport::udp) continue;
            out.push_back({s, u, std::string(parsed->host), parsed->port});
        }
    return out;
}

// The URL at `n` with its host replaced by `address` (scheme, port and query kept).
[[nodiscard]] inline std::string resolved_url(const std::vector<peerkit::ice_server>& servers, const named_ice_server& n,
                                              const net::ip_address& address)
{
    const std::string& url = servers[n.server].urls[n.url];
    auto parsed = peerkit::parse_ice_server_url(url);
    return parsed ? peerkit::with_address(url, *parsed, address) : url;
}

// The servers with each named URL replaced by its addresses (one URL per address, in place),
// or removed when it has none; a server left with no URL is removed.
[[nodiscard]] inline std::vector<peerkit::ice_server> with_resolved_names(const std::vector<peerkit::ice_server>& servers,
                                                                      const std::vector<named_ice_server>& names,
                                                                      const std::vector<std::vector<net::ip_address>>& addresses)
{
    std::vector<peerkit::ice_server> out;
    for (std::size_t s = 0; s < servers.size(); ++s) {
        peerkit::ice_server server = servers[s];
        server.urls.clear();
        for (std::size_t u = 0; u < servers[s].urls.size(); ++u) {
            std::size_t i = 0;
            while (i < names.size() && !(names[i].server == s && names[i].url == u)) ++i;
            if (i == names.size()) {
                server.urls.push_back(servers[s].urls[u]);
                continue;
            }
            for (const auto& a : addresses[i]) server.urls.push_back(resolved_url(servers, names[i], a));
        }
        if (!server.urls.empty()) out.push_back(std::move(server));
    }
    return out;
}

// Resolves every name at once; `done` runs once, on the resolution's strand, with one list of
// addresses per name (empty: skipped, and logged).
template <class Executor>
class ice_server_resolution : public std::enable_shared_from_this<ice_server_resolution<Executor>> {
public:
    using strand_type = boost::asio::strand<Executor>;
    using done_function = std::function<void(std::vector<std::vector<net::ip_address>>)>;

    ice_server_resolution(const Executor& ex, std::vector<named_ice_server> names, bool local_v4, bool local_v6,
                          log::logger logger)
        : strand_(boost::asio::make_strand(ex)), resolver_(strand_), names_(std::move(names)),
          addresses_(names_.size()), local_v4_(local_v4), local_v6_(local_v6), logger_(logger)
    {
    }

    void start(done_function done)
    {
        done_ = std::move(done);
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            self->pending_ = self->names_.size();
            for (std::size_t i = 0; i < self->names_.size(); ++i) self->resolve(i);
        });
    }
    // From any thread: the resolutions not over end now (operation_aborted), so a closed peer
    // connection does not wait for a slow DNS server.
    void cancel()
    {
        boost::asio::post(strand_, [self = this->shared_from_this()] { self->resolver_.cancel(); });
    }
    // Counters (read on the strand, or after done): names resolved, names skipped.
    [[nodiscard]] std::size_t resolved() const noexcept { return resolved_; }
    [[nodiscard]] std::size_t skipped() const noexcept { return skipped_; }

private:
    void resolve(std::size_t i)
    {
        const auto& n = names_[i];
        // Both families (not v4 only): a name is resolved as the system resolves it; the
        // answer is filtered by the local sockets' families below.
        resolver_.async_resolve(n.host, std::to_string(n.port), boost::asio::ip::udp::resolver::numeric_service,
                                [self = this->shared_from_this(), i](boost::system::error_code ec,
                                                                     boost::asio::ip::udp::resolver::results_type results) {
                                    self->on_resolved(i, ec, results);
                                });
    }

    void on_resolved(std::size_t i, boost::system::error_code ec, const boost::asio::ip::udp::resolver::results_type& results)
    {
        const auto& n = names_[i];
        bool have_v4 = false, have_v6 = false;
        bool other_family = false;
        if (!ec) {
            for (const auto& r : results) {
                const auto a = r.endpoint().address();
                const bool v4 = a.is_v4();
                if (v4 ? (!local_v4_ || have_v4) : (!local_v6_ || have_v6)) {
                    other_family = other_family || (v4 ? !local_v4_ : !local_v6_);
                    continue;
                }
                (v4 ? have_v4 : have_v6) = true;
                auto parsed = net::ip_address::parse(a.to_string());
                if (parsed) addresses_[i].push_back(*parsed);
            }
        }
        if (addresses_[i].empty()) {
            ++skipped_;
            if (ec)
                PEERKIT_LOG_AT(logger_, log::component::runtime, log::level::warn, "ice server host '", n.host,
                               "' did not resolve (", std::error_code(ec), "): the server is skipped");
            else
                PEERKIT_LOG_AT(logger_, log::component::runtime, log::level::warn, "ice server host '", n.host,
                               "' has no address of a local socket's family", other_family ? " (only of the other)" : "",
                               ": the server is skipped");
        } else {
            ++resolved_;
            PEERKIT_LOG_AT(logger_, log::component::runtime, log::level::info, "ice server host '", n.host, "' is ",
                           addresses_[i].front().to_string(), addresses_[i].size() > 1 ? " (and one of the other family)" : "");
        }
        if (--pending_ == 0 && done_) {
            auto done = std::move(done_);
            done_ = nullptr;
            done(std::move(addresses_));
        }
    }

    strand_type strand_;
    boost::asio::ip::udp::resolver resolver_;
    std::vector<named_ice_server> names_;
    std::vector<std::vector<net::ip_address>> addresses_;
    bool local_v4_ = false, local_v6_ = false;
    log::logger logger_;
    done_function done_;
    std::size_t pending_ = 0, resolved_ = 0, skipped_ = 0;
};

// The core of a peer connection whose UDP servers have names: the configuration is checked
// at once by validate() with the names allowed (create() reports a bad one before anything
// starts), and the core is made once the names are resolved. The certificate is generated here
// if none is given, so that the configuration checked is the one the core gets.
template <class Core>
class deferred_core {
public:
    using configuration = typename Core::configuration;
    using random_type = typename Core::random_type;
    using policy_type = typename Core::policy_type;

    [[nodiscard]] static result<std::shared_ptr<deferred_core>> check(configuration config, random_type random,
                                                                      std::vector<named_ice_server> names)
    {
        if (auto r = peerkit::validate(config, policy_type::limits(), peerkit::server_names::resolved_later); !r) return r.error();
        if (config.certificates.empty()) {
            auto c = Core::backend_type::generate_certificate();
            if (!c) return make_error(peerkit::peer_connection_errc::bad_configuration, "certificate generation: ", c.error().message());
            config.certificates.push_back(std::move(*c));
        }
        using backend_type = typename Core::backend_type;
        if (auto r = peerkit::validate_certificates<backend_type>(std::span<const typename backend_type::certificate>(config.certificates)); !r)
            return r.error();
        return std::make_shared<deferred_core>(std::move(config), std::move(random), std::move(names));
    }

    deferred_core(configuration config, random_type random, std::vector<named_ice_server> names)
        : config_(std::move(config)), random_(std::move(random)), names_(std::move(names))
    {
    }

    // The logger the core will have (the configuration's, else the policy's).
    [[nodiscard]] log::logger logger() const
    {
        return config_.logger.any_enabled() ? config_.logger : peerkit::detail::policy_logger<policy_type>();
    }

    // On the driver's strand, once: the core with the resolved addresses (skipped names left
    // out). Should the configuration be refused without them (relay policy and no TURN server
    // left), the error is logged and the peer connection closes: a core without ICE servers,
    // closed at once, is what the calls then see (it never had a socket). Closed also when the
    // peer connection was closed meanwhile.
    [[nodiscard]] std::unique_ptr<Core> make(const std::vector<std::vector<net::ip_address>>& addresses, bool closed)
    {
        const auto now = std::chrono::steady_clock::now();
        const log::logger lg = logger();
        config_.ice_servers = with_resolved_names(config_.ice_servers, names_, addresses);
        std::unique_ptr<Core> core;
        if (auto made = Core::create(config_, std::move(random_))) {
            core = std::move(*made);
        } else {
            PEERKIT_LOG_AT(lg, log::component::runtime, log::level::error, "ice servers: the configuration without the ",
                           "servers whose names did not resolve is refused (", made.error(), "): the peer connection closes");
            configuration bare = std::move(config_);
            bare.ice_servers.clear();
            bare.ice_transport_policy = peerkit::ice_transport_policy::all;
            auto stand_in = Core::create(std::move(bare), random_type{});
            if (!stand_in) return nullptr;  // not expected: it was valid with more in it
            core = std::move(*stand_in);
            closed = true;
        }
        if (closed) core->close(now);
        return core;
    }

private:
    configuration config_;
    random_type random_;
    std::vector<named_ice_server> names_;
};

}  // namespace peerkit::asio::detail
