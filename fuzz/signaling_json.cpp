// Fuzzes the signaling JSON codec: parse never crashes or throws, and whatever parses
// serialises to JSON that parses back to the same message.
#include <peerkit/signaling/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = peerkit::signaling::parse_message(text);
    if (!parsed) return 0;
    const auto json = peerkit::signaling::to_json(*parsed);
    auto again = peerkit::signaling::parse_message(json);
    if (!again || !(*again == *parsed)) std::abort();
    return 0;
}
