#include <peerkit/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <system_error>

namespace demo {
enum class errc { truncated = 1, bad_value };
}
template <>
struct std::is_error_code_enum<demo::errc> : std::true_type {};
template <>
struct peerkit::error_traits<demo::errc> {
    static constexpr const char* name = "peerkit.demo";
    static constexpr std::string_view describe(demo::errc e)
    {
        return e == demo::errc::truncated ? "input is truncated" : "a value is out of range";
    }
};
namespace demo {
inline std::error_code make_error_code(errc e) { return {static_cast<int>(e), peerkit::category_of<errc>()}; }
}  // namespace demo

TEST_CASE("error carries a code of a peerkit category and a specific detail")
{
    const auto e = peerkit::make_error(demo::errc::truncated, "attribute ", peerkit::hex{0x20, 4},
                                       " length ", 9, " runs past the message end");
    CHECK(e == demo::errc::truncated);
    CHECK_FALSE(e == demo::errc::bad_value);
    CHECK(std::string(e.code().category().name()) == "peerkit.demo");
    CHECK(e.detail() == "attribute 0x0020 length 9 runs past the message end");
    CHECK(e.message() == "attribute 0x0020 length 9 runs past the message end");
    CHECK(static_cast<bool>(e));
}

TEST_CASE("error without detail falls back to the category message")
{
    const peerkit::error e{demo::errc::bad_value};
    CHECK(e.detail().empty());
    CHECK(e.message() == "a value is out of range");
    CHECK_FALSE(static_cast<bool>(peerkit::error{}));
}

TEST_CASE("error detail is cut, not overflowed, at its capacity")
{
    const std::string longer(500, 'x');
    const auto e = peerkit::make_error(demo::errc::truncated, longer, " tail");
    REQUIRE(e.detail().size() == peerkit::error::detail_capacity);
    CHECK(e.detail().substr(e.detail().size() - 3) == "...");
}

TEST_CASE("result holds a value or an error")
{
    peerkit::result<int> good = 42;
    REQUIRE(good.has_value());
    CHECK(*good == 42);
    peerkit::result<int> bad = demo::errc::truncated;
    REQUIRE_FALSE(bad);
    CHECK(bad.error() == demo::errc::truncated);
    CHECK(bad.value_or(7) == 7);

    peerkit::result<std::string> text = std::string("hello");
    peerkit::result<std::string> copy = text;
    CHECK(*copy == "hello");
    copy = peerkit::result<std::string>(peerkit::make_error(demo::errc::bad_value, "x"));
    CHECK_FALSE(copy.has_value());
    CHECK(copy.error().detail() == "x");

    peerkit::result<void> ok;
    CHECK(ok.has_value());
    peerkit::result<void> failed = demo::errc::bad_value;
    CHECK_FALSE(failed.has_value());
}

TEST_CASE("appending an empty view, even a null one, changes nothing")
{
    auto e = peerkit::make_error(demo::errc::truncated, "field ", std::string_view{}, "missing");
    CHECK(e.detail() == "field missing");
}
