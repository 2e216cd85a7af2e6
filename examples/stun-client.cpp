// stun-client: ask a STUN server which address it sees us at (RFC 8489 Binding), or a TURN
// server for a relayed address (RFC 8656 Allocate).
//
//   stun-client HOST:PORT [--username U --password P] [--allocate [--hold S]] [--timeout S] [--verbose]
//
//   stun-client stun.example.org:3478            xor-mapped-address 203.0.113.7:40312
//   stun-client [2001:db8::1]:3478                 (IPv6 works the same way)
//   stun-client turn.example.org:3478 --allocate --username alice --password s3cret
//
// Binding: one request; with --username/--password it carries short-term credentials
// (USERNAME + MESSAGE-INTEGRITY, RFC 8489 9.1), and then only a response with a valid
// MESSAGE-INTEGRITY is accepted (RFC 8489 9.1.4).
//
// --allocate: a TURN Allocate request for a UDP relay (REQUESTED-TRANSPORT 17). TURN uses the
// long-term credential mechanism (RFC 8656 9, RFC 8489 9.2): the first request goes without
// credentials, the server answers 401 with REALM and NONCE, the client repeats the request with
// USERNAME, REALM, NONCE and MESSAGE-INTEGRITY keyed with MD5(user:realm:password). A 438
// (Stale Nonce) answer means "same again with this new NONCE". On success it prints the relayed
// and the mapped address, then releases the allocation with a Refresh of LIFETIME 0
// (RFC 8656 7.2); --hold S waits S seconds before that.
//
// Every response must come from the server's address, carry our transaction id, and pass the
// FINGERPRINT check when it has one (all requests here carry FINGERPRINT, RFC 8489 7.3);
// responses that fail are dropped as if never received (RFC 8489 6.3).
//
// Retransmission (RFC 8489 6.2.1): UDP loses datagrams, so a request is sent again after RTO =
// 500 ms, then after 1 s, 2 s, ... (doubling). RFC 8489's full schedule is 7 sends and up to
// 39.5 s; a command-line tool should fail faster, so this one stops at --timeout seconds
// (default 5: sends at 0, 0.5, 1.5 and 3.5 s) with at most 7 sends, and exits 1.
//
// Exit status: 0 on success; 1 when the server did not answer, answered with an error (its
// code and reason are printed), or the exchange failed; 2 for bad usage.

#include <peerkit/crypto/openssl.hpp>
#include <peerkit/stun.hpp>

// g++ 12's -Wnull-dereference (on in peerkit's own builds) fires inside Asio's scheduler
// after inlining; the warning is about Boost, not this program.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <boost/asio.hpp>
#pragma GCC diagnostic pop

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>

namespace asio = boost::asio;
using asio::ip::udp;
namespace stun = peerkit::stun;
namespace net = peerkit::net;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct options {
    std::string host;
    std::string port;
    std::string username;
    std::string password;
    bool allocate = false;
    bool verbose = false;
    milliseconds timeout{5000};
    std::chrono::seconds hold{0};
};

// RFC 8489 6.2.1 defaults, with the total bounded by --timeout.
struct retransmission {
    milliseconds initial_rto{500};
    int max_sends = 7;  // Rc
};

// Why an exchange failed, in words for the user.
struct failure {
    std::string message;
};

net::endpoint to_peerkit(const udp::endpoint& e)
{
    const auto a = e.address();
    if (a.is_v4()) return {net::ip_address::v4(a.to_v4().to_uint()), e.port()};
    const auto bytes = a.to_v6().to_bytes();
    return {net::ip_address::v6(std::as_bytes(std::span<const unsigned char, 16>(bytes))), e.port()};
}

std::string describe(const stun::error_code& e)
{
    return std::to_string(e.code) + " " + std::string(e.text());
}

// One UDP socket to one server, and the request/response exchange of RFC 8489 6.2.1 on it.
class stun_transport {
public:
    stun_transport(asio::io_context& io, const udp::endpoint& server, const options& opts)
        : io_(io), socket_(io, server.protocol()), timer_(io), server_(server), opts_(opts)
    {
        // A connected UDP socket: the kernel picks the local address the server will see
        // (printed as local-address) and drops datagrams from anyone else.
        socket_.connect(server);
    }

    [[nodiscard]] udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }
    [[nodiscard]] const udp::endpoint& server() const noexcept { return server_; }

    // Sends `request` (transaction `id`) until a response to it arrives that `accept` takes, or
    // the deadline passes. `accept` sees every well-formed response with our transaction id and
    // returns an error to drop it (for example a failed MESSAGE-INTEGRITY check). The returned
    // view points into this object's buffer and is valid until the next exchange().
    template <class Accept>
    std::optional<stun::message_view> exchange(peerkit::bytes_view request, const stun::transaction_id& id,
                                               Accept&& accept, failure& why)
    {
        const retransmission policy;
        const auto started = clock_type::now();
        const auto deadline = started + opts_.timeout;
        milliseconds rto = policy.initial_rto;
        int sends = 0;
        int dropped = 0;
        std::string drop_reason;
        for (auto next_send = started; sends < policy.max_sends && next_send < deadline; next_send += rto, rto *= 2) {
            boost::system::error_code ec;
            const auto sent_at = clock_type::now();
            socket_.send(asio::buffer(request.data(), request.size()), 0, ec);
            if (ec == asio::error::connection_refused) {  // an earlier ICMP report, now consumed
                refused_ = true;
                socket_.send(asio::buffer(request.data(), request.size()), 0, ec);
            }
            ++sends;
            if (ec) {
                why.message = "cannot send to " + to_peerkit(server_).to_string() + ": " + ec.message();
                return std::nullopt;
            }
            if (opts_.verbose && sends > 1) std::cerr << "  retransmission " << sends - 1 << '\n';
            // Wait for the answer until the next retransmission (or the deadline).
            const auto wait_until = std::min(next_send + rto, deadline);
            while (auto size = receive_until(wait_until)) {
                const auto note_drop = [&](std::string reason) {
                    ++dropped;
                    drop_reason = std::move(reason);
                    if (opts_.verbose) std::cerr << "  dropped a response: " << drop_reason << '\n';
                };
                auto parsed = stun::message_view::parse(std::as_bytes(std::span(buffer_).first(*size)));
                // parse() verifies FINGERPRINT when present (RFC 8489 7.3).
                if (!parsed) {
                    note_drop(parsed.error().message());
                    continue;
                }
                const stun::message_view& response = *parsed;
                // A late answer to an earlier transaction (e.g. to a retransmission) is not ours.
                if (response.id() != id || response.is_request() || response.is_indication()) {
                    if (opts_.verbose) std::cerr << "  ignored a message that is not a response to this request\n";
                    continue;
                }
                if (const peerkit::result<void> ok = accept(response); !ok) {
                    const auto e = response.get<stun::error_code>();
                    note_drop(e ? "error " + describe(*e) + " (" + ok.error().message() + ")" : ok.error().message());
                    continue;
                }
                rtt_ = clock_type::now() - sent_at;
                return response;
            }
        }
        const auto waited = std::chrono::duration<double>(clock_type::now() - started).count();
        char text[32];
        std::snprintf(text, sizeof text, "%.1f", waited);
        why.message = "no response from " + to_peerkit(server_).to_string() + " after " + std::to_string(sends) +
                      (sends == 1 ? " send" : " sends") + " in " + text +
                      " s (timed out; RFC 8489 6.2.1 retransmissions, RTO 500 ms doubling)" +
                      (refused_ ? "; ICMP says nothing listens on that port" : "") +
                      (dropped != 0 ? "; " + std::to_string(dropped) + " response(s) dropped: " + drop_reason : "");
        return std::nullopt;
    }

    // Round-trip time of the last successful exchange, from the latest transmission. After a
    // retransmission the answer may belong to an earlier one (Karn's problem, which is why RFC
    // 8489 6.2.1 estimates RTO only from unretransmitted requests); here it is only printed.
    [[nodiscard]] clock_type::duration rtt() const noexcept { return rtt_; }

private:
    // Runs the io_context until a datagram from the server arrives or `until` passes.
    std::optional<std::size_t> receive_until(clock_type::time_point until)
    {
        while (clock_type::now() < until) {
            std::optional<std::size_t> got;
            boost::system::error_code error;
            socket_.async_receive(asio::buffer(buffer_), [&](boost::system::error_code ec, std::size_t n) {
                if (!ec) got = n;
                error = ec;
                timer_.cancel();
            });
            timer_.expires_at(until);
            timer_.async_wait([&](boost::system::error_code ec) {
                if (!ec) socket_.cancel();
            });
            io_.restart();
            io_.run();
            if (got) return got;
            // ICMP port unreachable: remembered for the timeout message, but not fatal, since
            // ICMP is unauthenticated and the server may just be starting (RFC 8489 says
            // nothing about it; retransmissions continue).
            if (error == asio::error::connection_refused) {
                refused_ = true;
                continue;
            }
            if (error && error != asio::error::operation_aborted && opts_.verbose)
                std::cerr << "  receive failed: " << error.message() << '\n';
            return std::nullopt;  // the deadline passed
        }
        return std::nullopt;
    }

    asio::io_context& io_;
    udp::socket socket_;
    asio::steady_timer timer_;
    udp::endpoint server_;
    const options& opts_;
    clock_type::duration rtt_{};
    bool refused_ = false;
    std::array<unsigned char, 1500> buffer_{};
};

using crypto_provider = peerkit::crypto::openssl_provider;

// ----- Binding (RFC 8489) -------------------------------------------------------------------

int run_binding(stun_transport& transport, const options& opts)
{
    const crypto_provider crypto;
    const auto id = stun::transaction_id::generate(crypto);
    if (!id) {
        std::cerr << "stun-client: " << id.error().message() << '\n';
        return 1;
    }
    const bool authenticated = !opts.username.empty();
    const auto key = stun::make_short_term_key(crypto, opts.password);

    std::array<std::byte, 576> request_buffer;
    stun::message_builder b{request_buffer, stun::binding_request, *id};
    if (authenticated) b.add(stun::username{opts.username}).add_message_integrity(key.sha1());
    b.add_fingerprint();
    const auto request = b.finish();
    if (!request) {
        std::cerr << "stun-client: cannot build the request: " << request.error().message() << '\n';
        return 1;
    }

    // RFC 8489 9.1.4: with short-term credentials, a response without a valid
    // MESSAGE-INTEGRITY is discarded as if never received (400 aside: a server may be unable to
    // sign it).
    const auto accept = [&](const stun::message_view& m) -> peerkit::result<void> {
        if (!authenticated) return {};
        if (const auto e = m.get<stun::error_code>(); e && e->code == stun::error_codes::bad_request) return {};
        return stun::check_integrity(m, key);
    };
    failure why;
    const auto response = transport.exchange(*request, *id, accept, why);
    if (!response) {
        std::cerr << "stun-client: " << why.message << '\n';
        return 1;
    }
    if (response->is_error_response()) {
        const auto e = response->get<stun::error_code>();
        std::cerr << "stun-client: Binding failed: error " << (e ? describe(*e) : "response without ERROR-CODE")
                  << '\n';
        return 1;
    }
    // RFC 8489 14.2; RFC 5389 servers may still send only MAPPED-ADDRESS (RFC 8489 14.1).
    if (auto xma = response->get<stun::xor_mapped_address>()) {
        std::cout << "xor-mapped-address " << xma->value.to_string() << '\n';
    } else if (auto ma = response->get<stun::mapped_address>()) {
        std::cout << "mapped-address " << ma->value.to_string() << '\n';
    } else {
        std::cerr << "stun-client: the Binding response has no usable address: " << xma.error().message() << '\n';
        return 1;
    }
    const auto rtt = std::chrono::duration<double, std::milli>(transport.rtt()).count();
    std::printf("round-trip-time %.3f ms\n", rtt);
    return 0;
}

// ----- Allocate and Refresh (RFC 8656, long-term credentials RFC 8489 9.2) -----------------

// Sends a TURN request of `type`, with `add_attributes(builder)` adding its own attributes,
// and runs the long-term credential exchange: 401 -> retry with credentials, 438 -> retry with
// the new nonce. Returns the final response (success or error) or nullopt with `why` set.
template <class AddAttributes>
std::optional<stun::message_view> turn_request(stun_transport& transport, stun::long_term_client<crypto_provider>& auth,
                                               stun::message_type type, std::string_view name,
                                               AddAttributes add_attributes, const options& opts, failure& why)
{
    const crypto_provider crypto;
    std::array<std::byte, 1024> request_buffer;
    // At most: a first attempt without credentials, the 401 retry, and the stale-nonce retries
    // that long_term_client allows (it stops the loop with an error after those).
    for (;;) {
        const auto id = stun::transaction_id::generate(crypto);  // a retry is a new transaction
        if (!id) {
            why.message = id.error().message();
            return std::nullopt;
        }
        stun::message_builder b{request_buffer, type, *id};
        auth.add_credentials(b);  // nothing before the first challenge
        add_attributes(b);
        auth.add_integrity(b);
        b.add_fingerprint();
        const auto request = b.finish();
        if (!request) {
            why.message = "cannot build the " + std::string(name) + " request: " + request.error().message();
            return std::nullopt;
        }
        const bool signed_request = auth.has_challenge();
        if (opts.verbose)
            std::cerr << name << ": sending " << request->size() << " bytes"
                      << (signed_request ? " with long-term credentials" : "") << '\n';

        const auto accept = [&](const stun::message_view& m) -> peerkit::result<void> {
            if (!signed_request) return {};
            // RFC 8489 9.2.5: responses to a signed request must be signed with the same key;
            // 401 and 438 cannot be (the server rejects our key or nonce), and 400 may not be.
            if (const auto e = m.get<stun::error_code>(); e && m.is_error_response()) {
                using namespace stun::error_codes;
                if (e->code == unauthenticated || e->code == stale_nonce || e->code == bad_request) return {};
            }
            return auth.check_response(m);
        };
        const std::optional<stun::message_view> response = transport.exchange(*request, *id, accept, why);
        if (!response) return std::nullopt;
        if (response->is_success_response()) {
            auth.handle_success_response();
            return response;
        }
        const auto e = response->get<stun::error_code>();
        if (!e) {
            why.message = std::string(name) + " failed: error response without a valid ERROR-CODE";
            return std::nullopt;
        }
        if (e->code != stun::error_codes::unauthenticated && e->code != stun::error_codes::stale_nonce)
            return response;  // a real error: the caller reports it
        if (opts.username.empty()) {
            why.message = std::string(name) + " failed: error " + describe(*e) +
                          " (the server wants long-term credentials: pass --username and --password)";
            return std::nullopt;
        }
        // 401 to a request without credentials (or 438) is a challenge: take REALM and NONCE.
        // 401 to a signed request means the credentials are wrong (RFC 8489 9.2.5).
        auto retry = auth.handle_error_response(*response);
        if (!retry) {
            why.message = std::string(name) + " failed: " + retry.error().message();
            return std::nullopt;
        }
        std::cout << name << ": " << describe(*e) << ", realm \"" << auth.realm() << "\": retrying with "
                  << (e->code == stun::error_codes::stale_nonce ? "the new nonce" : "long-term credentials") << '\n';
    }
}

int run_allocate(stun_transport& transport, const options& opts)
{
    const crypto_provider crypto;
    stun::long_term_client<crypto_provider> auth{crypto, opts.username, opts.password};
    failure why;

    const auto allocate = turn_request(transport, auth, stun::allocate_request, "allocate",
                                       [](stun::message_builder& b) {
                                           // RFC 8656 7.1: a UDP relay (the only transport RFC 8656 relays)
                                           b.add(stun::requested_transport{stun::requested_transport::udp});
                                       },
                                       opts, why);
    if (!allocate) {
        std::cerr << "stun-client: " << why.message << '\n';
        return 1;
    }
    if (allocate->is_error_response()) {
        const auto e = allocate->get<stun::error_code>();
        std::cerr << "stun-client: allocate failed: error " << describe(*e) << '\n';
        return 1;
    }
    // RFC 8656 7.3: the success response carries XOR-RELAYED-ADDRESS, LIFETIME and
    // XOR-MAPPED-ADDRESS.
    const auto relayed = allocate->get<stun::xor_relayed_address>();
    const auto mapped = allocate->get<stun::xor_mapped_address>();
    const auto lifetime = allocate->get<stun::lifetime>();
    if (!relayed) {
        std::cerr << "stun-client: the Allocate response has no relayed address: " << relayed.error().message() << '\n';
        return 1;
    }
    std::cout << "xor-relayed-address " << relayed->value.to_string() << '\n';
    if (mapped) std::cout << "xor-mapped-address " << mapped->value.to_string() << '\n';
    if (lifetime) std::cout << "lifetime " << lifetime->value.count() << " s\n";
    std::printf("round-trip-time %.3f ms\n", std::chrono::duration<double, std::milli>(transport.rtt()).count());
    std::cout << std::flush;
    if (opts.hold.count() > 0) {
        // Keep the relay for a while, e.g. to send traffic through it from another program. A
        // server's nonce may expire meanwhile: the Refresh below then gets 438 and retries.
        std::cout << "holding the allocation for " << opts.hold.count() << " s" << std::endl;
        std::this_thread::sleep_for(opts.hold);
    }

    // RFC 8656 7.2: a Refresh with LIFETIME 0 deletes the allocation at once, instead of
    // leaving it to expire.
    const auto refresh = turn_request(transport, auth, stun::refresh_request, "refresh",
                                      [](stun::message_builder& b) { b.add(stun::lifetime{std::chrono::seconds{0}}); },
                                      opts, why);
    if (!refresh) {
        std::cerr << "stun-client: could not release the allocation: " << why.message << '\n';
        return 1;
    }
    if (refresh->is_error_response()) {
        const auto e = refresh->get<stun::error_code>();
        std::cerr << "stun-client: could not release the allocation: error " << describe(*e) << '\n';
        return 1;
    }
    std::cout << "deallocated (refresh with lifetime 0)\n";
    return 0;
}

// ----- Command line ---------------------------------------------------------------------------

int usage(const std::string& why)
{
    if (!why.empty()) std::cerr << "stun-client: " << why << '\n';
    std::cerr << "usage: stun-client HOST:PORT [--username U --password P] [--allocate [--hold S]] [--timeout S]\n"
                 "                   [--verbose]\n"
                 "  HOST:PORT        server, e.g. 192.0.2.1:3478, [2001:db8::1]:3478, stun.example.org:3478\n"
                 "  --username U     credentials: short-term for a Binding, long-term for --allocate\n"
                 "  --password P\n"
                 "  --allocate       TURN Allocate (UDP relay), then release it\n"
                 "  --timeout S      give up after S seconds per request (default 5)\n"
                 "  --hold S         with --allocate: keep the allocation S seconds before releasing it\n"
                 "  --verbose        log every step on stderr\n";
    return 2;
}

// "host:port", "[v6]:port". Returns false when there is no port.
bool split_host_port(std::string_view text, std::string& host, std::string& port)
{
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return false;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) return false;  // bare IPv6 is ambiguous
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    return !host.empty() && !port.empty();
}

}  // namespace

int main(int argc, char** argv)
{
    options opts;
    std::string target;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--username" && has_value) {
            opts.username = argv[++i];
        } else if (arg == "--password" && has_value) {
            opts.password = argv[++i];
        } else if (arg == "--allocate") {
            opts.allocate = true;
        } else if (arg == "--verbose") {
            opts.verbose = true;
        } else if (arg == "--timeout" && has_value) {
            const std::string_view text = argv[++i];
            double seconds = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
            if (ec != std::errc{} || end != text.data() + text.size() || !(seconds > 0 && seconds <= 600))
                return usage("--timeout needs a number of seconds (0 < S <= 600)");
            opts.timeout = milliseconds(static_cast<long>(seconds * 1000));
        } else if (arg == "--hold" && has_value) {
            const std::string_view text = argv[++i];
            unsigned seconds = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
            if (ec != std::errc{} || end != text.data() + text.size() || seconds > 3600)
                return usage("--hold needs a number of seconds (0 to 3600)");
            opts.hold = std::chrono::seconds(seconds);
        } else if (arg == "--help" || arg == "-h") {
            return usage("");
        } else if (!arg.starts_with("--") && target.empty()) {
            target = arg;
        } else {
            return usage("unknown or incomplete option '" + std::string(arg) + "'");
        }
    }
    if (target.empty()) return usage("no server given");
    if (!split_host_port(target, opts.host, opts.port)) return usage("'" + target + "' is not HOST:PORT or [IPV6]:PORT");
    if (opts.username.empty() != opts.password.empty()) return usage("--username and --password go together");

    try {
        asio::io_context io;
        udp::resolver resolver(io);
        boost::system::error_code ec;
        const auto results = resolver.resolve(opts.host, opts.port, ec);
        if (ec || results.empty()) {
            std::cerr << "stun-client: cannot resolve '" << target << "': " << ec.message() << '\n';
            return 1;
        }
        // The first address the resolver offers (IPv4 or IPv6, per the system's preference).
        stun_transport transport(io, results.begin()->endpoint(), opts);
        std::cout << "server " << to_peerkit(transport.server()).to_string() << '\n'
                  << "local-address " << to_peerkit(transport.local_endpoint()).to_string() << '\n';
        return opts.allocate ? run_allocate(transport, opts) : run_binding(transport, opts);
    } catch (const boost::system::system_error& e) {
        std::cerr << "stun-client: " << e.what() << '\n';
        return 1;
    }
}
