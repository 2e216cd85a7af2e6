#include <peerkit/asio/interfaces.hpp>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace peerkit::asio;

TEST_CASE("interfaces: loopback is found when asked for, and only then")
{
    interface_filter with_loopback;
    with_loopback.include_loopback = true;
    auto all = enumerate_interfaces(with_loopback);
    REQUIRE(all);
    const auto lo4 = std::find_if(all->begin(), all->end(), [](const interface_address& a) {
        return a.name == "lo" && a.is_v4() && a.address.to_string() == "127.0.0.1";
    });
    REQUIRE(lo4 != all->end());
    CHECK(lo4->loopback);
    CHECK(lo4->prefix_length == 8);
    CHECK(lo4->index > 0);
    const bool has_lo6 = std::any_of(all->begin(), all->end(), [](const interface_address& a) {
        return a.name == "lo" && a.is_v6() && a.address.is_loopback() && a.prefix_length == 128;
    });
    CHECK(has_lo6);

    auto defaults = enumerate_interfaces();
    REQUIRE(defaults);
    CHECK(std::none_of(defaults->begin(), defaults->end(), [](const interface_address& a) { return a.loopback; }));
    CHECK(std::none_of(defaults->begin(), defaults->end(),
                       [](const interface_address& a) { return a.is_v6() && a.address.to_v6().is_link_local(); }));
    CHECK(defaults->size() < all->size());
}

TEST_CASE("interfaces: name and family filters")
{
    interface_filter only_lo;
    only_lo.include_loopback = true;
    only_lo.include_names = {"lo"};
    auto lo = enumerate_interfaces(only_lo);
    REQUIRE(lo);
    REQUIRE_FALSE(lo->empty());
    CHECK(std::all_of(lo->begin(), lo->end(), [](const interface_address& a) { return a.name == "lo"; }));

    interface_filter prefix = only_lo;
    prefix.include_names = {"l*"};
    auto by_prefix = enumerate_interfaces(prefix);
    REQUIRE(by_prefix);
    CHECK(by_prefix->size() == lo->size());

    interface_filter excluded = only_lo;
    excluded.exclude_names = {"lo"};
    auto none = enumerate_interfaces(excluded);
    REQUIRE(none);
    CHECK(none->empty());

    interface_filter v6_only = only_lo;
    v6_only.include_ipv4 = false;
    auto v6 = enumerate_interfaces(v6_only);
    REQUIRE(v6);
    REQUIRE_FALSE(v6->empty());
    CHECK(std::all_of(v6->begin(), v6->end(), [](const interface_address& a) { return a.is_v6(); }));
}
