// configuration::logger reaches the runtime under the facade (driver, sockets): the sockets'
// buffer sizes, as the kernel granted them, are reported at info through it.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/peer_connection.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

using namespace peerkit;
namespace bnet = boost::asio;

namespace {
struct log_lines {
    std::mutex m;
    std::vector<std::string> lines;
    static void sink(void* context, log::level l, log::component c, std::string_view message) noexcept
    {
        auto* self = static_cast<log_lines*>(context);
        std::lock_guard g(self->m);
        self->lines.push_back(std::string(log::to_string(c)) + " " + std::string(log::to_string(l)) + " " + std::string(message));
    }
    bool has(std::string_view a, std::string_view b)
    {
        std::lock_guard g(m);
        for (const auto& line : lines)
            if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
        return false;
    }
};
}  // namespace

TEST_CASE("peer connection: configuration::logger reaches the runtime's sockets (buffer sizes at info)")
{
    bnet::io_context io;
    log_lines captured;
    peer_connection::configuration config;
    config.include_loopback = true;
    config.logger = log::logger{&log_lines::sink, &captured, log::levels{}.set(log::component::runtime, log::level::info)};
    peer_connection_options options;
    options.bind = {{bnet::ip::address_v4::loopback(), 0}};
    auto pc = peer_connection::create(io.get_executor(), config, options);
    REQUIRE(pc);
    const auto port = std::to_string(pc->local_endpoints().at(0).port());
    // The facade's default SO_RCVBUF request (4 MiB), whatever the kernel granted.
    CHECK(captured.has("runtime info udp socket 127.0.0.1:" + port + ": SO_RCVBUF ", "(asked 4194304)"));
    pc->shutdown();
    io.run_for(std::chrono::milliseconds(50));
}
