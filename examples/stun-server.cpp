// stun-server: a STUN Binding server (RFC 8489) that is safe to expose to the Internet.
//
//   stun-server [--port P] [--address A] [--verbose] [--max-response-bytes N] [--max-amplification F]
//
// It answers Binding requests with the source address it saw them from:
//   - RFC 5389/8489 requests get XOR-MAPPED-ADDRESS and FINGERPRINT (RFC 8489 14.2, 14.7);
//   - classic RFC 3489 requests (no magic cookie) get MAPPED-ADDRESS, their 128-bit
//     transaction id echoed (RFC 8489 12 via RFC 5389 12.2);
//   - requests with comprehension-required attributes it does not understand get 420 with
//     UNKNOWN-ATTRIBUTES (RFC 8489 6.3.1);
//   - everything else (not STUN, malformed, indications, responses, other methods) is dropped
//     without a word: a server that answers garbage helps attackers, not clients.
//
// Amplification rule. UDP source addresses can be forged, so a STUN server is a reflector: an
// attacker sends small requests "from" a victim and the server sends its answers to the victim.
// This server never authenticates anyone, so every answer obeys the rule below, checked in
// code (response_limits, enforced in serve_one() before anything is sent):
//   1. a response is at most max_response_size (96) bytes, and at most
//      max_amplification (3) times the size of the request it answers (both can be lowered
//      with --max-response-bytes and --max-amplification, never raised);
//   2. nothing the request chose is reflected except its transaction id and, in a 420, at most
//      max_unknown_listed (4) attribute type numbers: no SOFTWARE, no echoed values.
// A minimal 20-byte Binding request is answered with 40 bytes (IPv4) or 52 bytes (IPv6), so the
// factor of 3 admits every legitimate answer while bounding what a forged one can do.
//
// CHANGE-REQUEST (0x0003) is comprehension-required and RFC 3489-era clients put it in every
// request, usually with both flags clear (RFC 5780 7.2). This server understands it: with no
// flag set the request asks for nothing special and is answered; asking to change IP or port
// cannot be honoured by a server with one address, and gets 420 listing CHANGE-REQUEST (what
// RFC 5389 12.2 says a modern server does with it).
//
// With --port 0 the kernel picks a port; the first line on stdout is always
// "listening on IP:PORT". --verbose prints one line per datagram on stderr.

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
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace asio = boost::asio;
using asio::ip::udp;
namespace stun = peerkit::stun;
namespace net = peerkit::net;

namespace {

struct response_limits {
    std::size_t max_response_size = 96;   // bytes, whatever the request
    std::size_t max_amplification = 3;    // response bytes per request byte
    std::size_t max_unknown_listed = 4;   // attribute types listed in a 420
    [[nodiscard]] std::size_t allowed_for(std::size_t request_size) const noexcept
    {
        return std::min(max_response_size, max_amplification * request_size);
    }
};

// The attributes this server understands (RFC 8489 14: a comprehension-required attribute
// outside this list makes the request fail with 420). A Binding server has no use for TURN or
// ICE attributes, but USERNAME and the integrity attributes are part of every STUN usage and
// are ignored here: this server does not authenticate, and answers the same with or without.
bool understood(stun::attribute_type t) noexcept
{
    using stun::attribute_type;
    switch (t) {
    case attribute_type::username:
    case attribute_type::message_integrity:
    case attribute_type::message_integrity_sha256:
    case attribute_type::userhash:
    case attribute_type::realm:
    case attribute_type::nonce:
    case attribute_type::change_request:
    case attribute_type::priority:       // ICE checks sent to a STUN server by mistake
    case attribute_type::use_candidate:  // are still Binding requests
        return true;
    default:
        return false;
    }
}

net::endpoint to_peerkit(const udp::endpoint& e)
{
    const auto a = e.address();
    if (a.is_v4()) return {net::ip_address::v4(a.to_v4().to_uint()), e.port()};
    const auto v6 = a.to_v6();
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; XOR-MAPPED-ADDRESS must carry
    // the IPv4 address the peer actually has.
    if (v6.is_v4_mapped()) return {net::ip_address::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_uint()), e.port()};
    const auto bytes = v6.to_bytes();
    return {net::ip_address::v6(std::as_bytes(std::span<const unsigned char, 16>(bytes))), e.port()};
}

// What serve_one() did with one datagram, for the --verbose log.
struct outcome {
    std::string what;             // "success", "420 ...", "dropped: ..."
    std::size_t response_size = 0;  // 0: nothing sent
};

// Builds the answer to `request` into `out`. Returns the bytes to send (empty: send nothing).
peerkit::bytes_view serve_one(peerkit::bytes_view request, const net::endpoint& source, peerkit::mutable_bytes out,
                              const response_limits& limits, outcome& log)
{
    stun::parse_options options;
    options.allow_classic = true;  // RFC 8489 12
    options.is_known = &understood;
    // A wrong FINGERPRINT rejects the message (RFC 8489 7.3); parse() checks it when present.
    auto parsed = stun::message_view::parse(request, options);
    if (!parsed) {
        log.what = "dropped: " + parsed.error().message();
        return {};
    }
    const stun::message_view& msg = *parsed;
    if (msg.type() != stun::binding_request) {
        log.what = "dropped: not a Binding request";
        return {};
    }

    // 420 for comprehension-required attributes we do not understand (RFC 8489 6.3.1), and for a
    // CHANGE-REQUEST that asks for an address or port this server does not have.
    const auto change = msg.get<stun::change_request>();
    if (!change && change.error() != stun::errc::missing_attribute) {
        log.what = "dropped: " + change.error().message();
        return {};
    }
    std::array<stun::attribute_type, 8> unknown{};
    std::size_t unknown_count = 0;
    for (const stun::attribute_type t : msg.unknown_comprehension_required())
        if (unknown_count < limits.max_unknown_listed) unknown[unknown_count++] = t;
    if (change && (change->change_ip || change->change_port) && unknown_count < limits.max_unknown_listed)
        unknown[unknown_count++] = stun::attribute_type::change_request;

    const auto start = [&](stun::message_type type) {
        return msg.is_classic() ? stun::message_builder{out, type, msg.classic_id()}
                                : stun::message_builder{out, type, msg.id()};
    };
    stun::message_builder b = start(unknown_count == 0 ? stun::binding_success : stun::binding_error);
    if (unknown_count == 0) {
        if (msg.is_classic())
            b.add(stun::mapped_address{source});
        else
            b.add(stun::xor_mapped_address{source});
        log.what = (msg.is_classic() ? "classic request, mapped-address " : "xor-mapped-address ") + source.to_string();
    } else {
        // RFC 3489 11.2.8: a classic client expects an even number of types (4-byte aligned
        // value); repeating one is what it asks for. Its reason phrase must also be a multiple
        // of 4 bytes long (RFC 3489 11.2.9), which "Unknown attribute(s)" is (20).
        if (msg.is_classic() && unknown_count % 2 == 1) {
            unknown[unknown_count] = unknown[unknown_count - 1];
            ++unknown_count;
        }
        const std::span<const stun::attribute_type> listed(unknown.data(), unknown_count);
        b.add(stun::error_code{stun::error_codes::unknown_attribute, "Unknown attribute(s)"})
            .add(stun::unknown_attributes{listed});
        log.what = "420, unknown attribute(s)";
        for (const auto t : listed) {
            char text[8];
            const auto end = std::to_chars(text, text + sizeof text, static_cast<unsigned>(t), 16).ptr;
            log.what += " 0x" + std::string(4 - static_cast<std::size_t>(end - text), '0') + std::string(text, end);
        }
    }
    // FINGERPRINT is RFC 5389+; a classic client would not know it.
    if (!msg.is_classic()) b.add_fingerprint();

    auto response = b.finish();
    if (!response) {
        log.what = "dropped: cannot build the response: " + response.error().message();
        return {};
    }
    // The amplification rule (see the top of this file), enforced whatever the code above does.
    if (response->size() > limits.allowed_for(request.size())) {
        log.what = "dropped: a " + std::to_string(response->size()) + "-byte response to a " +
                   std::to_string(request.size()) + "-byte request breaks the amplification rule";
        return {};
    }
    log.response_size = response->size();
    return *response;
}

class server {
public:
    server(asio::io_context& io, const udp::endpoint& local, const response_limits& limits, bool verbose)
        : socket_(io, local.protocol()), verbose_(verbose), limits_(limits)
    {
        if (local.address().is_v6() && local.address().is_unspecified())
            socket_.set_option(asio::ip::v6_only(false));  // "::" serves IPv4 clients too
        socket_.bind(local);
    }

    [[nodiscard]] udp::endpoint local_endpoint() const { return socket_.local_endpoint(); }

    void start() { receive(); }

private:
    void receive()
    {
        socket_.async_receive_from(asio::buffer(request_), peer_, [this](boost::system::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) handle(n);
            // Errors on an unconnected UDP socket (ICMP reports of earlier sends) concern a
            // peer, not the server: keep serving.
            receive();
        });
    }

    void handle(std::size_t size)
    {
        const auto request = std::as_bytes(std::span(request_).first(size));
        const net::endpoint source = to_peerkit(peer_);
        outcome log;
        const auto response = serve_one(request, source, std::as_writable_bytes(std::span(response_)), limits_, log);
        if (!response.empty()) {
            boost::system::error_code ec;
            socket_.send_to(asio::buffer(response.data(), response.size()), peer_, 0, ec);
            if (ec) log.what += " (send failed: " + ec.message() + ")";
        }
        if (verbose_)
            std::cerr << source.to_string() << ' ' << size << " bytes -> "
                      << (log.response_size != 0 ? std::to_string(log.response_size) + " bytes, " : std::string())
                      << log.what << '\n';
    }

    udp::socket socket_;
    bool verbose_;
    response_limits limits_;
    udp::endpoint peer_;
    // A STUN request that needs more than 1500 bytes is not one this server answers; a larger
    // datagram is truncated by the kernel, then fails the length check and is dropped.
    std::array<unsigned char, 1500> request_{};
    std::array<unsigned char, 128> response_{};  // > max_response_size: the rule, not the buffer, decides
};

int usage(const char* why)
{
    if (why != nullptr) std::cerr << "stun-server: " << why << '\n';
    std::cerr << "usage: stun-server [--port P] [--address A] [--verbose] [--max-response-bytes N]\n"
                 "                   [--max-amplification F]\n"
                 "  --port P                 UDP port to listen on (default 3478; 0 picks a free one)\n"
                 "  --address A              local IPv4 or IPv6 address (default 0.0.0.0; :: for both)\n"
                 "  --verbose                one line per datagram on stderr\n"
                 "  --max-response-bytes N   lower the response size limit (default and maximum 96)\n"
                 "  --max-amplification F    lower the response/request size factor (default and maximum 3)\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    std::string address = "0.0.0.0";
    unsigned port = 3478;
    bool verbose = false;
    response_limits limits;
    // Parses a whole decimal number in [low, high] into `out`.
    const auto number = [](std::string_view text, unsigned low, unsigned high, auto& out) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size() || value < low || value > high) return false;
        out = value;
        return true;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--port" && has_value) {
            if (!number(argv[++i], 0, 65535, port)) return usage("--port needs a number from 0 to 65535");
        } else if (arg == "--max-response-bytes" && has_value) {
            if (!number(argv[++i], 20, 96, limits.max_response_size))
                return usage("--max-response-bytes needs a number from 20 to 96");
        } else if (arg == "--max-amplification" && has_value) {
            if (!number(argv[++i], 1, 3, limits.max_amplification))
                return usage("--max-amplification needs a number from 1 to 3");
        } else if (arg == "--address" && has_value) {
            address = argv[++i];
        } else if (arg == "--verbose") {
            verbose = true;
        } else if (arg == "--help" || arg == "-h") {
            return usage(nullptr);
        } else {
            return usage(("unknown or incomplete option '" + std::string(arg) + "'").c_str());
        }
    }

    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) return usage(("'" + address + "' is not an IP address").c_str());

    try {
        asio::io_context io;
        server s(io, udp::endpoint(ip, static_cast<unsigned short>(port)), limits, verbose);
        const auto local = s.local_endpoint();
        std::cout << "listening on " << to_peerkit(local).to_string() << std::endl;  // flushed: tests read it

        asio::signal_set stop(io, SIGINT, SIGTERM);
        stop.async_wait([&](boost::system::error_code, int) { io.stop(); });
        s.start();
        io.run();
    } catch (const boost::system::system_error& e) {
        std::cerr << "stun-server: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
