// Fuzzes the PEERKIT_LOG parser (log::levels::parse) and the line formatter: any text either
// parses into levels that are each a known level, or fails with an error naming the item; a
// line built from the input is cut at line_capacity, never longer.
#include <peerkit/log.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace peerkit;

namespace {
void check(bool ok)
{
    if (!ok) __builtin_trap();
}
std::size_t longest_line = 0;
void measure(void*, log::level, log::component, std::string_view message) noexcept
{
    if (message.size() > longest_line) longest_line = message.size();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    if (auto ls = log::levels::parse(text)) {
        for (std::size_t i = 0; i < log::component_count; ++i) {
            const auto l = static_cast<std::uint8_t>(ls->of(static_cast<log::component>(i)));
            check(l <= static_cast<std::uint8_t>(log::level::trace));
        }
    } else {
        check(!ls.error().message().empty());
    }
    longest_line = 0;
    log::logger lg{&measure, nullptr, log::levels::all(log::level::trace)};
    PEERKIT_LOG_AT(lg, log::component::pc, log::level::debug, "input ", text, " of ", size, " bytes");
    check(longest_line <= log::logger::line_capacity);
    return 0;
}
