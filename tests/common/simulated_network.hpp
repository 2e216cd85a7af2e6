// A deterministic simulated IP network for ICE-level tests: many addresses, NAT boxes with the
// classic mapping/filtering behaviours (RFC 4787), seeded loss, reordering and delay, all on a
// virtual clock. It moves (source, destination, payload) datagrams; it knows nothing of STUN.
//
//   peerkit::test::simulated_network net{{.loss = 0.1, .seed = 3}};
//   auto& nat = net.add_nat(ip("203.0.113.1"), nat_type::port_restricted);
//   nat.add_inside(ip("10.0.0.2"));
//   net.send(now, from, to, bytes);
//   while (auto d = net.poll_delivery(now)) ...   // d->from is what the receiver sees
#pragma once

#include "simulated_link.hpp"

#include <peerkit/net/address.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace peerkit::test {

using net::ip_address;

// RFC 4787 terms: mapping is endpoint-independent except for "symmetric" (address-and-port-
// dependent); filtering goes from none (full cone) to address, to address-and-port.
enum class nat_type { full_cone, address_restricted, port_restricted, symmetric };

class nat_box {
public:
    nat_box(ip_address public_ip, nat_type type) : public_ip_(public_ip), type_(type) {}

    void add_inside(ip_address ip) { inside_.push_back(ip); }
    [[nodiscard]] bool is_inside(const ip_address& ip) const
    {
        return std::find(inside_.begin(), inside_.end(), ip) != inside_.end();
    }
    [[nodiscard]] const ip_address& public_ip() const noexcept { return public_ip_; }
    [[nodiscard]] nat_type type() const noexcept { return type_; }
    [[nodiscard]] std::size_t mapping_count() const noexcept { return mappings_.size(); }

    // Outbound: the public source the datagram leaves with; opens the filter for `to`.
    net::endpoint translate_out(const net::endpoint& from, const net::endpoint& to)
    {
        mapping* m = nullptr;
        for (mapping& x : mappings_)
            if (x.inside == from && (type_ != nat_type::symmetric || x.remote == to)) m = &x;
        if (m == nullptr) {
            mappings_.push_back({from, to, next_port_++, {}});
            m = &mappings_.back();
        }
        if (std::find(m->permitted.begin(), m->permitted.end(), to) == m->permitted.end())
            m->permitted.push_back(to);
        return net::endpoint{public_ip_, m->public_port};
    }

    // Inbound to public_ip:port from `from`: the inside destination, if the filter lets it in.
    std::optional<net::endpoint> translate_in(std::uint16_t port, const net::endpoint& from) const
    {
        for (const mapping& m : mappings_) {
            if (m.public_port != port) continue;
            for (const net::endpoint& p : m.permitted) {
                const bool ok = type_ == nat_type::full_cone ||
                                (type_ == nat_type::address_restricted && p.address() == from.address()) ||
                                p == from;
                if (ok) return m.inside;
            }
        }
        return std::nullopt;
    }

private:
    struct mapping {
        net::endpoint inside;
        net::endpoint remote;  // symmetric NATs map per destination
        std::uint16_t public_port;
        std::vector<net::endpoint> permitted;
    };
    ip_address public_ip_;
    nat_type type_;
    std::vector<ip_address> inside_;
    std::vector<mapping> mappings_;
    std::uint16_t next_port_ = 40000;
};

struct network_config {
    double loss = 0.0;
    double reorder = 0.0;
    double duplicate = 0.0;
    std::chrono::microseconds delay{1000};           // one-way
    std::chrono::microseconds reorder_delay{20'000};  // extra delay of a reordered datagram
    std::uint64_t seed = 1;
};

struct network_delivery {
    net::endpoint from;  // as the receiver sees it (after NAT)
    net::endpoint to;    // the receiver's own address (inside its NAT)
    std::vector<std::byte> payload;
    sim_time at;
    std::uint64_t sequence = 0;
};

struct network_stats {
    std::size_t sent = 0, lost = 0, filtered = 0, unroutable = 0, delivered = 0;
};

class simulated_network {
public:
    explicit simulated_network(network_config config = {}) : config_(config), random_(config.seed) {}

    nat_box& add_nat(ip_address public_ip, nat_type type)
    {
        nats_.emplace_back(public_ip, type);
        return nats_.back();
    }
    // Addresses that exist (hosts and servers); anything else is unroutable.
    void attach(const net::endpoint& e) { attached_.push_back(e); }
    // Every port of an address (a TURN server's relay address).
    void attach_ip(const ip_address& ip) { attached_ips_.push_back(ip); }
    // Drops everything between two IPs (both directions) from now on, e.g. to cut a path.
    void block(const ip_address& a, const ip_address& b) { blocked_.emplace_back(a, b); }
    void unblock_all() { blocked_.clear(); }
    void set_loss(double loss) { config_.loss = loss; }

    void send(sim_time now, const net::endpoint& from, const net::endpoint& to, std::span<const std::byte> payload)
    {
        ++stats_.sent;
        if (random_.chance(config_.loss)) {
            ++stats_.lost;
            return;
        }
        net::endpoint source = from;
        nat_box* from_nat = nat_of(from.address());
        nat_box* to_nat_private = nat_of(to.address());
        // Inside the same NAT: delivered directly (a LAN). Leaving a NAT: translated.
        if (from_nat != nullptr && from_nat != to_nat_private) source = from_nat->translate_out(from, to);
        if (to_nat_private != nullptr && to_nat_private != from_nat) {
            ++stats_.unroutable;  // a private address of another network
            return;
        }
        net::endpoint destination = to;
        for (nat_box& n : nats_) {
            if (n.public_ip() != to.address()) continue;
            auto inside = n.translate_in(to.port(), source);
            if (!inside) {
                ++stats_.filtered;
                return;
            }
            destination = *inside;
        }
        if (std::find(attached_.begin(), attached_.end(), destination) == attached_.end() &&
            std::find(attached_ips_.begin(), attached_ips_.end(), destination.address()) == attached_ips_.end()) {
            ++stats_.unroutable;
            return;
        }
        for (const auto& [a, b] : blocked_) {
            const auto& s = from.address();
            const auto& d = destination.address();
            if ((s == a && d == b) || (s == b && d == a) || (source.address() == a && d == b) ||
                (source.address() == b && d == a)) {
                ++stats_.filtered;
                return;
            }
        }
        enqueue(now, source, destination, payload);
        if (random_.chance(config_.duplicate)) enqueue(now, source, destination, payload);
    }

    [[nodiscard]] std::optional<sim_time> next_delivery() const
    {
        if (queue_.empty()) return std::nullopt;
        return std::min_element(queue_.begin(), queue_.end(), earlier)->at;
    }

    std::optional<network_delivery> poll_delivery(sim_time now)
    {
        if (queue_.empty()) return std::nullopt;
        auto it = std::min_element(queue_.begin(), queue_.end(), earlier);
        if (it->at > now) return std::nullopt;
        network_delivery d = std::move(*it);
        queue_.erase(it);
        ++stats_.delivered;
        return d;
    }

    [[nodiscard]] const network_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] const nat_box* nat_for(const ip_address& inside) const
    {
        for (const nat_box& n : nats_)
            if (n.is_inside(inside)) return &n;
        return nullptr;
    }

private:
    static bool earlier(const network_delivery& x, const network_delivery& y)
    {
        return std::tie(x.at, x.sequence) < std::tie(y.at, y.sequence);
    }
    nat_box* nat_of(const ip_address& ip)
    {
        for (nat_box& n : nats_)
            if (n.is_inside(ip)) return &n;
        return nullptr;
    }
    void enqueue(sim_time now, const net::endpoint& from, const net::endpoint& to, std::span<const std::byte> payload)
    {
        sim_time at = now + config_.delay;
        if (random_.chance(config_.reorder))
            at += std::chrono::microseconds(static_cast<std::int64_t>(
                random_.unit() * static_cast<double>(config_.reorder_delay.count())));
        queue_.push_back({from, to, {payload.begin(), payload.end()}, at, sequence_++});
    }

    network_config config_;
    deterministic_random random_;
    std::deque<nat_box> nats_;  // a deque: references from add_nat stay valid
    std::vector<net::endpoint> attached_;
    std::vector<ip_address> attached_ips_;
    std::vector<std::pair<ip_address, ip_address>> blocked_;
    std::vector<network_delivery> queue_;
    network_stats stats_;
    std::uint64_t sequence_ = 0;
};

}  // namespace peerkit::test
