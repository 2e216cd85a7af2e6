// An mDNS (RFC 6762) resolver for `<uuid>.local` names, the host candidates browsers send
// instead of their addresses (draft-ietf-mmusic-mdns-ice-candidates). Only what a peer
// connection needs: ask for one name, take the first acceptable A/AAAA answer, give up after a
// timeout. It never answers anything.
//
//   auto r = peerkit::asio::mdns_resolver::create(ex, peerkit::asio::mdns_config{});
//   r->async_resolve("1f4712db-....local", [](peerkit::result<peerkit::net::ip_address> a) { ... });
//   r->close();   // pending resolutions are dropped, their handlers never run
//
// How it asks (docs/net.md, "mDNS"): Chromium's responder ignores queries whose source port is
// not 5353 (RFC 6762 6.7 "legacy unicast" is not honored) and answers by multicast to
// 224.0.0.251:5353, so the resolver binds port 5353 itself, shared with any responder on the
// host (SO_REUSEADDR and SO_REUSEPORT), joins the group on each IPv4 interface and sends
// standard QM queries (RFC 6762 5.2) out of each interface. Both an A and an AAAA question go
// out (Chromium adds the address of the other family as an additional record, RFC 6762 6.2).
//
// What it accepts (mDNS answers are unauthenticated; RFC 6762 11, 18): a response (QR set,
// opcode 0, rcode 0) from source port 5353 (the group's port), whose answer or additional
// section has an A/AAAA record of class IN, TTL not zero, for a name we are resolving right
// now (case-insensitively); the address must be unicast (not unspecified, multicast or
// broadcast). Everything else is ignored and counted. Sizes are bounded (max_message_size,
// dns::limits), resolutions at once (max_concurrent) and the cache (max_cache_entries) too.
// Each resolution sends at most `transmissions` pairs of queries per interface, so an answer
// can never make us send more (no amplification).
//
// Threads: the socket and timers live on a strand of the executor; async_resolve and close
// may be called from any thread; handlers run on that strand.
#pragma once

#include <peerkit/asio/interfaces.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/net/dns.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::asio {

struct mdns_config {
    // Where queries go; answers must come from its port (RFC 6762 11: mDNS responses come from
    // port 5353). A unicast address here (a test's responder on 127.0.0.1) sends there and
    // joins no group.
    boost::asio::ip::udp::endpoint group{boost::asio::ip::make_address_v4("224.0.0.251"), 5353};
    // The local endpoint queries are sent from and answers received on. Port 5353 because
    // Chromium answers only queries from port 5353, by multicast (see above).
    boost::asio::ip::udp::endpoint bind{boost::asio::ip::address_v4::any(), 5353};
    // IPv4 addresses of the interfaces to join the group on and send out of. Empty: every up,
    // non-loopback IPv4 interface (enumerate_interfaces) when `group` is multicast.
    std::vector<boost::asio::ip::address_v4> interfaces;
    // A resolution fails with no_answer after `timeout`. Queries go out at 0, then after
    // `first_interval`, doubling (RFC 6762 5.2: at least 1 s, then doubling), at most
    // `transmissions` times.
    std::chrono::milliseconds timeout{5000};
    std::chrono::milliseconds first_interval{1000};
    std::size_t transmissions = 3;
    std::size_t max_concurrent = 16;     // names being resolved at once; more fail with busy
    std::size_t max_cache_entries = 64;  // resolved names kept (oldest dropped first)
    std::size_t max_message_size = 9000; // RFC 6762 17: an mDNS message fits 9000 bytes
    net::dns::limits dns_limits{};
    // Component `runtime`: failed resolutions and malformed answers (debug), other ignored
    // datagrams (trace). Off by default.
    log::logger logger{};
};

// Counters since creation (relaxed atomics: readable from any thread).
struct mdns_stats {
    std::uint64_t queries_sent = 0;      // datagrams (one question each)
    std::uint64_t resolved = 0;          // resolutions completed with an address (cache hits included)
    std::uint64_t cache_hits = 0;
    std::uint64_t failed = 0;            // no answer in time, busy, or a socket error
    std::uint64_t answers_accepted = 0;  // datagrams that completed a resolution
    std::uint64_t datagrams_ignored = 0; // not a response, wrong port, or no record for a name we asked
    std::uint64_t datagrams_malformed = 0;
    std::uint64_t cached_names = 0;      // entries in the cache now (<= max_cache_entries)
    std::uint64_t pending_names = 0;     // names being resolved now (<= max_concurrent)
};

// Not a template on purpose: its Asio code is instantiated once, where this header is read
// (clang 14 with ASan failed to link some translation units that instantiated it late, from
// the peer connection's templates: virtual members of Asio's services left undefined).
class mdns_resolver : public std::enable_shared_from_this<mdns_resolver> {
public:
    using handler_type = std::function<void(result<net::ip_address>)>;
    using executor_type = boost::asio::any_io_executor;
    using strand_type = boost::asio::strand<executor_type>;

    [[nodiscard]] static std::shared_ptr<mdns_resolver> create(const executor_type& ex, mdns_config config)
    {
        return std::shared_ptr<mdns_resolver>(new mdns_resolver(ex, std::move(config)));
    }

    // Resolves `name` (a .local name); handler(address or error) runs once on the resolver's
    // strand, unless close() came first. The socket opens at the first call.
    void async_resolve(std::string name, handler_type handler)
    {
        boost::asio::post(strand_, [self = this->shared_from_this(), name = std::move(name), h = std::move(handler)]() mutable {
            self->start(std::move(name), std::move(h));
        });
    }

    // Drops every pending resolution (their handlers are destroyed unrun) and closes the
    // socket. From any thread; returns at once.
    void close()
    {
        if (closed_.exchange(true)) return;
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            self->pending_.clear();  // timers cancel as they are destroyed
            boost::system::error_code ignored;
            self->socket_.close(ignored);
        });
    }

    [[nodiscard]] mdns_stats stats() const noexcept
    {
        return {queries_sent_.load(std::memory_order_relaxed),   resolved_.load(std::memory_order_relaxed),
                cache_hits_.load(std::memory_order_relaxed),     failed_.load(std::memory_order_relaxed),
                accepted_.load(std::memory_order_relaxed),       ignored_.load(std::memory_order_relaxed),
                malformed_.load(std::memory_order_relaxed),      cached_.load(std::memory_order_relaxed),
                pending_count_.load(std::memory_order_relaxed)};
    }
    [[nodiscard]] const mdns_config& config() const noexcept { return config_; }
    // The bound endpoint once the socket is open (a test binding port 0 reads it); on the strand.
    [[nodiscard]] boost::asio::ip::udp::endpoint local_endpoint() const
    {
        boost::system::error_code ec;
        return socket_.local_endpoint(ec);
    }

private:
    using timer_type = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                         boost::asio::wait_traits<std::chrono::steady_clock>, strand_type>;
    struct pending {
        explicit pending(const strand_type& s) : timer(s) {}
        std::string name;
        std::vector<handler_type> handlers;
        timer_type timer;
        std::chrono::steady_clock::time_point deadline;
        std::chrono::milliseconds interval{};
        std::size_t sent = 0;
    };

    mdns_resolver(const executor_type& ex, mdns_config config)
        : strand_(boost::asio::make_strand(ex)), socket_(strand_), config_(std::move(config))
    {
    }

    static std::string lower(std::string s)
    {
        for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (!s.empty() && s.back() == '.') s.pop_back();
        return s;
    }

    void fail(handler_type& h, error e)
    {
        failed_.fetch_add(1, std::memory_order_relaxed);
        PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "mdns: resolution failed: ", e);
        h(std::move(e));
    }

    void start(std::string name, handler_type h)
    {
        if (closed_) return;
        name = lower(std::move(name));
        for (const auto& [cached, address] : cache_)
            if (cached == name) {
                cache_hits_.fetch_add(1, std::memory_order_relaxed);
                resolved_.fetch_add(1, std::memory_order_relaxed);
                h(address);
                return;
            }
        if (auto it = pending_.find(name); it != pending_.end()) {
            it->second->handlers.push_back(std::move(h));  // one question for every asker
            return;
        }
        // The name must make a query (label and name sizes) before it takes a slot.
        std::array<std::byte, net::dns::max_name_size + 32> probe{};
        if (auto q = net::dns::build_query(probe, name, net::dns::record_type::a); !q)
            return fail(h, make_error(q.error().code(), "cannot ask for '", name, "': ", q.error().detail()));
        if (pending_.size() >= config_.max_concurrent)
            return fail(h, make_error(net::dns::errc::busy, "more than ", config_.max_concurrent,
                                      " mDNS resolutions at once (mdns_config::max_concurrent); '", name, "' not resolved"));
        if (auto r = open(); !r) return fail(h, r.error());
        auto p = std::make_shared<pending>(strand_);
        p->name = name;
        p->handlers.push_back(std::move(h));
        p->deadline = std::chrono::steady_clock::now() + config_.timeout;
        p->interval = config_.first_interval;
        pending_.emplace(name, p);
        note_sizes();
        transmit(p);
    }

    // Sends the queries, then waits for the next transmission or the deadline.
    void transmit(const std::shared_ptr<pending>& p)
    {
        const auto now = std::chrono::steady_clock::now();
        if (p->sent < config_.transmissions && now < p->deadline) {
            ++p->sent;
            for (auto type : {net::dns::record_type::a, net::dns::record_type::aaaa}) {
                std::array<std::byte, net::dns::max_name_size + 32> buf{};
                const auto n = net::dns::build_query(buf, p->name, type);
                if (!n) continue;  // checked in start()
                send_everywhere(std::span(buf).first(*n));
            }
        }
        auto next = p->deadline;
        if (p->sent < config_.transmissions) next = std::min(next, now + p->interval);
        p->interval *= 2;
        p->timer.expires_at(next);
        p->timer.async_wait([weak = std::weak_ptr<pending>(p), self = this->shared_from_this()](boost::system::error_code ec) {
            auto q = weak.lock();
            if (ec || !q || self->closed_) return;
            if (std::chrono::steady_clock::now() >= q->deadline) return self->expire(q);
            self->transmit(q);
        });
    }

    void send_everywhere(std::span<const std::byte> query)
    {
        boost::system::error_code ec;
        const auto buffer = boost::asio::buffer(query.data(), query.size());
        if (!config_.group.address().is_multicast() || interfaces_.empty()) {
            socket_.send_to(buffer, config_.group, 0, ec);
            if (!ec) queries_sent_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        for (const auto& i : interfaces_) {
            socket_.set_option(boost::asio::ip::multicast::outbound_interface(i), ec);
            if (ec) continue;
            socket_.send_to(buffer, config_.group, 0, ec);
            if (!ec) queries_sent_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    void expire(const std::shared_ptr<pending>& p)
    {
        pending_.erase(p->name);
        note_sizes();
        for (auto& h : p->handlers)
            fail(h, make_error(net::dns::errc::no_answer, "no mDNS answer for '", p->name, "' within ",
                               config_.timeout.count(), " ms (asked ", p->sent, " times on ", std::max<std::size_t>(1, interfaces_.size()),
                               " interfaces)"));
    }

    result<void> open()
    {
        if (socket_.is_open()) return {};
        namespace ip = boost::asio::ip;
        boost::system::error_code ec;
        const auto where = [&](std::string_view what) {
            return make_error(net::dns::errc::socket_error, "mDNS socket: ", what, " ", config_.bind.address().to_string(), ":",
                              config_.bind.port(), ": ", ec.message());
        };
        socket_.open(config_.bind.protocol(), ec);
        if (ec) return where("open");
        // Shared with the host's responders (Avahi, a browser): RFC 6762 15.1.
        socket_.set_option(boost::asio::socket_base::reuse_address(true), ec);
        using reuse_port = boost::asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
        socket_.set_option(reuse_port(true), ec);
        socket_.bind(config_.bind, ec);
        if (ec) {
            auto e = where("bind");
            socket_.close(ec);
            return e;
        }
        if (config_.group.address().is_multicast() && config_.group.address().is_v4()) {
            std::vector<ip::address_v4> wanted = config_.interfaces;
            if (wanted.empty()) {
                interface_filter f;
                f.include_ipv6 = false;
                if (auto found = enumerate_interfaces(f))
                    for (const auto& i : *found)
                        if (i.address.is_v4()) wanted.push_back(i.address.to_v4());
            }
            for (const auto& a : wanted) {
                socket_.set_option(ip::multicast::join_group(config_.group.address().to_v4(), a), ec);
                if (!ec || ec == boost::asio::error::address_in_use) interfaces_.push_back(a);
            }
            if (interfaces_.empty()) {
                socket_.close(ec);
                return make_error(net::dns::errc::socket_error, "mDNS socket: no IPv4 interface could join ",
                                  config_.group.address().to_string(), " (", wanted.size(), " tried)");
            }
            socket_.set_option(ip::multicast::hops(255), ec);  // RFC 6762 11
            socket_.set_option(ip::multicast::enable_loopback(true), ec);  // a responder on this host
        }
        buffer_.resize(config_.max_message_size);
        receive();
        return {};
    }

    void receive()
    {
        socket_.async_receive_from(boost::asio::buffer(buffer_), sender_,
                                   [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
                                       if (self->closed_ || ec == boost::asio::error::operation_aborted) return;
                                       if (!ec) self->handle(std::span<const std::byte>(self->buffer_.data(), n));
                                       self->receive();
                                   });
    }

    void handle(std::span<const std::byte> datagram)
    {
        if (sender_.port() != config_.group.port()) {  // RFC 6762 11: responses come from 5353
            ignored_.fetch_add(1, std::memory_order_relaxed);
            PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::trace, "mdns: ignored a datagram from ",
                           sender_.address().to_string(), " port ", sender_.port(), ": not the group's port");
            return;
        }
        auto m = net::dns::message_view::parse(datagram, config_.dns_limits);
        if (!m) {
            malformed_.fetch_add(1, std::memory_order_relaxed);
            PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "mdns: dropped a malformed answer from ",
                           sender_.address().to_string(), ": ", m.error());
            return;
        }
        const auto& h = m->header();
        if (!h.is_response() || h.opcode() != 0 || h.rcode() != 0) {  // RFC 6762 18.3, 18.11
            ignored_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        bool used = false;
        for (auto it = pending_.begin(); it != pending_.end();) {
            std::array<net::ip_address, 4> found{};
            const std::size_t n = m->addresses_for(it->first, found);
            const auto* usable = std::find_if(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(n), [](const net::ip_address& a) {
                return usable_address(a);
            });
            if (usable == found.begin() + static_cast<std::ptrdiff_t>(n)) {
                ++it;
                continue;
            }
            if (!used) accepted_.fetch_add(1, std::memory_order_relaxed);  // before any handler runs
            used = true;
            auto p = it->second;
            it = pending_.erase(it);
            remember(p->name, *usable);
            note_sizes();
            for (auto& handler : p->handlers) {
                resolved_.fetch_add(1, std::memory_order_relaxed);
                handler(*usable);
            }
            if (closed_) return;  // a handler closed us
        }
        if (!used) ignored_.fetch_add(1, std::memory_order_relaxed);
    }

    // A unicast address: not 0.0.0.0 / ::, multicast (224/4, ff00::/8) or 255.255.255.255.
    // For stats(), which any thread may call.
    void note_sizes() noexcept
    {
        cached_.store(cache_.size(), std::memory_order_relaxed);
        pending_count_.store(pending_.size(), std::memory_order_relaxed);
    }

    static bool usable_address(const net::ip_address& a) noexcept
    {
        if (a.is_unspecified()) return false;
        const auto first = std::to_integer<unsigned>(a.bytes()[0]);
        if (a.is_v4()) return (first & 0xF0) != 0xE0 && a.to_v4_uint() != 0xffffffffu;
        return first != 0xFF;
    }

    void remember(const std::string& name, const net::ip_address& a)
    {
        if (config_.max_cache_entries == 0) return;
        if (cache_.size() >= config_.max_cache_entries) cache_.pop_front();
        cache_.emplace_back(name, a);
    }

    strand_type strand_;
    boost::asio::ip::udp::socket socket_;
    const mdns_config config_;
    std::atomic<bool> closed_{false};
    std::vector<boost::asio::ip::address_v4> interfaces_;
    std::map<std::string, std::shared_ptr<pending>> pending_;
    std::deque<std::pair<std::string, net::ip_address>> cache_;
    std::vector<std::byte> buffer_;
    boost::asio::ip::udp::endpoint sender_;
    std::atomic<std::uint64_t> queries_sent_{0}, resolved_{0}, cache_hits_{0}, failed_{0}, accepted_{0}, ignored_{0},
        malformed_{0}, cached_{0}, pending_count_{0};
};

}  // namespace peerkit::asio
