// Local interface enumeration (getifaddrs): the addresses an ICE agent gathers host
// candidates on (RFC 8445 5.1.1.1), with name filters and loopback / family choices.
#pragma once

#include <peerkit/error.hpp>

#include <boost/asio/ip/address.hpp>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace peerkit::asio {

struct interface_address {
    std::string name;        // "lo", "eth0", ...
    unsigned index = 0;      // if_nametoindex; the scope id of link-local IPv6 addresses
    boost::asio::ip::address address;
    unsigned prefix_length = 0;
    bool loopback = false;

    [[nodiscard]] bool is_v4() const noexcept { return address.is_v4(); }
    [[nodiscard]] bool is_v6() const noexcept { return address.is_v6(); }
};

// Which addresses to return. A name pattern is an exact name, or a prefix followed by '*'
// ("veth*", "docker*").
struct interface_filter {
    bool include_loopback = false;         // 127.0.0.0/8, ::1 (ICE skips them by default, RFC 8445 5.1.1.1)
    bool include_ipv4 = true;
    bool include_ipv6 = true;
    bool include_link_local_ipv6 = false;  // fe80::/10 (RFC 8445 5.1.1.1: should not be used unless ...)
    std::vector<std::string> include_names;  // non-empty: only interfaces matching one of these
    std::vector<std::string> exclude_names;  // interfaces matching one of these are skipped
};

namespace detail {
inline bool name_matches(std::string_view name, std::string_view pattern) noexcept
{
    if (!pattern.empty() && pattern.back() == '*') return name.starts_with(pattern.substr(0, pattern.size() - 1));
    return name == pattern;
}
inline bool matches_any(std::string_view name, const std::vector<std::string>& patterns) noexcept
{
    for (const auto& p : patterns)
        if (name_matches(name, p)) return true;
    return false;
}
inline unsigned prefix_of(const sockaddr* mask) noexcept
{
    if (mask == nullptr) return 0;
    const unsigned char* bytes = nullptr;
    std::size_t size = 0;
    if (mask->sa_family == AF_INET) {
        bytes = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(mask)->sin_addr);
        size = 4;
    } else if (mask->sa_family == AF_INET6) {
        bytes = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in6*>(mask)->sin6_addr);
        size = 16;
    }
    unsigned bits = 0;
    for (std::size_t i = 0; i < size; ++i)
        for (int b = 7; b >= 0; --b)
            if ((bytes[i] >> b) & 1u) ++bits;
    return bits;
}
}  // namespace detail

// The up interfaces' addresses that pass the filter, in the kernel's order.
[[nodiscard]] inline result<std::vector<interface_address>> enumerate_interfaces(const interface_filter& filter = {})
{
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        const int e = errno;
        return make_error(std::error_code(e, std::system_category()), "getifaddrs: ", std::strerror(e));
    }
    std::vector<interface_address> out;
    for (const ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
        if (it->ifa_addr == nullptr || (it->ifa_flags & IFF_UP) == 0) continue;
        const int family = it->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        const std::string_view name(it->ifa_name);
        if (!filter.include_names.empty() && !detail::matches_any(name, filter.include_names)) continue;
        if (detail::matches_any(name, filter.exclude_names)) continue;

        interface_address a;
        a.name = std::string(name);
        a.index = ::if_nametoindex(it->ifa_name);
        if (family == AF_INET) {
            if (!filter.include_ipv4) continue;
            boost::asio::ip::address_v4::bytes_type b;
            std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(it->ifa_addr)->sin_addr, b.size());
            a.address = boost::asio::ip::address_v4(b);
        } else {
            if (!filter.include_ipv6) continue;
            boost::asio::ip::address_v6::bytes_type b;
            std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(it->ifa_addr)->sin6_addr, b.size());
            boost::asio::ip::address_v6 v6(b);
            if (v6.is_link_local()) {
                if (!filter.include_link_local_ipv6) continue;
                v6.scope_id(a.index);
            }
            if (v6.is_v4_mapped()) continue;
            a.address = v6;
        }
        a.loopback = (it->ifa_flags & IFF_LOOPBACK) != 0 || a.address.is_loopback();
        if (a.loopback && !filter.include_loopback) continue;
        a.prefix_length = detail::prefix_of(it->ifa_netmask);
        out.push_back(std::move(a));
    }
    ::freeifaddrs(list);
    return out;
}

}  // namespace peerkit::asio
