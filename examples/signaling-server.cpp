// A WebSocket rendezvous server for signaling: two clients connecting to
// ws://HOST:PORT/<room> are paired, and every message one sends is relayed to the other.
//
//   signaling-server [--host 127.0.0.1] [--port 8080] [--max-rooms N] [--max-message-size BYTES]
//
// Prints "listening on ws://HOST:PORT/<room>" and runs until SIGINT or SIGTERM.
// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/log/stderr.hpp>
#include <peerkit/signaling/rendezvous_server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace {
bool parse_size(const char* text, std::size_t& out)
{
    const std::string_view s(text);
    return std::from_chars(s.data(), s.data() + s.size(), out).ec == std::errc{};
}
int usage()
{
    std::fprintf(stderr, "usage: signaling-server [--host ADDRESS] [--port PORT] [--max-rooms N] [--max-message-size BYTES]\n");
    return 2;
}
}  // namespace

int main(int argc, char** argv)
{
    std::string host = "127.0.0.1";
    std::size_t port = 8080;
    peerkit::signaling::rendezvous_config config;
    // PEERKIT_LOG=runtime:debug: messages the server's transports could not parse (stderr).
    config.server.websocket.transport.logger = peerkit::log::stderr_logger_from_env();
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        const bool has_value = i + 1 < argc;
        if (arg == "--host" && has_value) host = argv[++i];
        else if (arg == "--port" && has_value && parse_size(argv[++i], port) && port <= 65535) continue;
        else if (arg == "--max-rooms" && has_value && parse_size(argv[++i], config.max_rooms)) continue;
        else if (arg == "--max-message-size" && has_value &&
                 parse_size(argv[++i], config.server.websocket.transport.codec.max_message_size))
            continue;
        else return usage();
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    if (ec) {
        std::fprintf(stderr, "signaling-server: bad --host %s\n", host.c_str());
        return 2;
    }

    boost::asio::io_context io;
    auto server = peerkit::signaling::rendezvous_server::listen(io.get_executor(), {address, static_cast<unsigned short>(port)},
                                                              config);
    if (!server) {
        std::fprintf(stderr, "signaling-server: %s\n", server.error().message().c_str());
        return 1;
    }
    const auto local = server->local_endpoint();
    std::printf("listening on ws://%s:%u/<room>\n", local.address().to_string().c_str(), local.port());
    std::fflush(stdout);

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { server->close(); });
    io.run();
    return 0;
}
