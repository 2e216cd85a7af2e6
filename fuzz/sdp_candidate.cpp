// Fuzz target: the ICE candidate codec. When a candidate parses, the owning copy formats to
// text that parses back to an equal candidate; anything else aborts.
#include <peerkit/sdp/candidate.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sdp = peerkit::sdp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto view = sdp::parse_candidate(text);
    if (!view) return 0;
    const auto owned = sdp::candidate::from(*view);
    const std::string formatted = sdp::to_string(owned);
    const auto back = sdp::candidate::parse(formatted);
    if (!back || !(*back == owned)) std::abort();
    if (sdp::to_string(*back) != formatted) std::abort();
    return 0;
}
