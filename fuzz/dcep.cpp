// Fuzzes the DCEP codec (RFC 8832): parse; a parsed OPEN must re-encode to the same bytes.
// The data-channel endpoint has its own target, fuzz/datachannel_endpoint.cpp.
#include <peerkit/datachannel/dcep.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <variant>
#include <vector>

using namespace peerkit;
using namespace peerkit::datachannel;

namespace {
void check(bool ok)
{
    if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view input{reinterpret_cast<const std::byte*>(data), size};
    if (auto m = parse_dcep(input)) {
        std::vector<std::byte> out(size);
        if (auto* open = std::get_if<open_message>(&*m)) {
            auto n = open->write(out);
            check(n.has_value() && *n == size);
            check(std::memcmp(out.data(), data, size) == 0);
        } else {
            // DATA_CHANNEL_ACK: the type byte (RFC 8832 5.2); padding after it is tolerated.
            check(size >= 1 && data[0] == 0x02);
        }
    }
    return 0;
}
