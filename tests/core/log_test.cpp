#include <peerkit/log.hpp>
#include <peerkit/net/address.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace peerkit;

namespace {
struct captured {
    log::level lvl;
    log::component comp;
    std::string text;
};
void capture(void* context, log::level l, log::component c, std::string_view message) noexcept
{
    static_cast<std::vector<captured>*>(context)->push_back({l, c, std::string(message)});
}
}  // namespace

TEST_CASE("log levels parse per component, later items override earlier ones")
{
    auto ls = log::levels::parse("all:info,ice:debug,dtls:trace,sctp:off");
    REQUIRE(ls);
    CHECK(ls->of(log::component::ice) == log::level::debug);
    CHECK(ls->of(log::component::dtls) == log::level::trace);
    CHECK(ls->of(log::component::sctp) == log::level::off);
    CHECK(ls->of(log::component::turn) == log::level::info);
    auto plain = log::levels::parse("debug");
    REQUIRE(plain);
    CHECK(plain->of(log::component::runtime) == log::level::debug);
}

TEST_CASE("log levels: an unknown level or component is named in the error")
{
    auto bad_level = log::levels::parse("ice:loud");
    REQUIRE_FALSE(bad_level);
    CHECK(bad_level.error().message().find("'loud'") != std::string::npos);
    auto bad_component = log::levels::parse("quic:debug");
    REQUIRE_FALSE(bad_component);
    CHECK(bad_component.error().message().find("'quic'") != std::string::npos);
}

TEST_CASE("a logger formats only enabled lines, and does not evaluate arguments when off")
{
    std::vector<captured> lines;
    log::logger lg{&capture, &lines, log::levels{}.set(log::component::ice, log::level::debug)};
    int evaluated = 0;
    auto count = [&] { return ++evaluated; };
    const auto ep = net::endpoint::parse("198.18.0.1:5000");
    REQUIRE(ep);
    PEERKIT_LOG_AT(lg, log::component::ice, log::level::debug, "check to ", *ep, " failed (", count(), ") ",
                   hex{0x20, 4});
    PEERKIT_LOG_AT(lg, log::component::ice, log::level::trace, "too verbose ", count());
    PEERKIT_LOG_AT(lg, log::component::dtls, log::level::error, "component off ", count());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text == "check to 198.18.0.1:5000 failed (1) 0x0020");
    CHECK(lines[0].comp == log::component::ice);
    CHECK(evaluated == 1);

    log::logger off;
    PEERKIT_LOG_AT(off, log::component::ice, log::level::error, "never ", count());
    CHECK(evaluated == 1);
    CHECK_FALSE(off.any_enabled());
}

TEST_CASE("a log line longer than the capacity is cut and marked")
{
    std::vector<captured> lines;
    log::logger lg{&capture, &lines, log::levels::all(log::level::trace)};
    const std::string long_text(2000, 'x');
    lg.write(log::component::sctp, log::level::info, long_text, " tail");
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].text.size() == log::logger::line_capacity);
    CHECK(lines[0].text.ends_with("..."));
}
