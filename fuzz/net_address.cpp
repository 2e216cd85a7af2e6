// Fuzz target: IP address and endpoint text parsing (net/address.hpp). Whatever parses must
// print to a form that parses back to the same value.
#include <peerkit/net/address.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto ip = peerkit::net::ip_address::parse(text)) {
        auto again = peerkit::net::ip_address::parse(ip->to_string());
        if (!again || !(*again == *ip)) std::abort();
    }
    if (auto ep = peerkit::net::endpoint::parse(text)) {
        auto again = peerkit::net::endpoint::parse(ep->to_string());
        if (!again || !(*again == *ep)) std::abort();
    }
    return 0;
}
