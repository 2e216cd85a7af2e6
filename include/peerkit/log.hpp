// peerkit::log: the one logging hook of every layer.
//
// Codecs and machines do no I/O; they report what they drop, refuse or fail through a
// `log::logger` they were given (a sink function, its context and a level per component). The
// sink decides where a line goes: stderr in the examples (log/stderr.hpp), the user's own
// logging library elsewhere. Off is the default and costs one byte compare per site: the
// PEERKIT_LOG_AT macro does not evaluate its message arguments unless the level is enabled.
//
//   log::logger lg{&my_sink, &my_context, log::levels::all(log::level::debug)};
//   PEERKIT_LOG_AT(lg, log::component::ice, log::level::debug,
//                  "check ", pair_id, " failed: ", error.message());
//
// A line is formatted into a fixed buffer on the stack (no heap unless an argument's own
// conversion allocates, such as std::error_code::message()); text beyond line_capacity is cut.
#pragma once

#include <peerkit/error.hpp>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace peerkit::log {

// Ordered from quiet to verbose: a component set to `debug` also gets info, warn and error.
enum class level : std::uint8_t { off = 0, error, warn, info, debug, trace };

// One per protocol layer; `runtime` is the Asio driver, sockets, signaling and the facade.
enum class component : std::uint8_t { ice, stun, turn, dtls, sctp, datachannel, sdp, runtime, pc, count };

inline constexpr std::size_t component_count = static_cast<std::size_t>(component::count);

constexpr std::string_view to_string(level l) noexcept
{
    switch (l) {
    case level::off: return "off";
    case level::error: return "error";
    case level::warn: return "warn";
    case level::info: return "info";
    case level::debug: return "debug";
    case level::trace: return "trace";
    }
    return "?";
}

constexpr std::string_view to_string(component c) noexcept
{
    switch (c) {
    case component::ice: return "ice";
    case component::stun: return "stun";
    case component::turn: return "turn";
    case component::dtls: return "dtls";
    case component::sctp: return "sctp";
    case component::datachannel: return "datachannel";
    case component::sdp: return "sdp";
    case component::runtime: return "runtime";
    case component::pc: return "pc";
    case component::count: break;
    }
    return "?";
}

constexpr std::optional<level> parse_level(std::string_view text) noexcept
{
    for (auto l : {level::off, level::error, level::warn, level::info, level::debug, level::trace})
        if (text == to_string(l)) return l;
    return std::nullopt;
}

constexpr std::optional<component> parse_component(std::string_view text) noexcept
{
    for (std::size_t i = 0; i < component_count; ++i) {
        const auto c = static_cast<component>(i);
        if (text == to_string(c)) return c;
    }
    return std::nullopt;
}

// The most verbose level each component logs at.
class levels {
public:
    constexpr levels() noexcept = default;
    static constexpr levels all(level l) noexcept
    {
        levels ls;
        ls.by_component_.fill(l);
        return ls;
    }
    constexpr levels& set(component c, level l) noexcept
    {
        by_component_[static_cast<std::size_t>(c)] = l;
        return *this;
    }
    [[nodiscard]] constexpr level of(component c) const noexcept { return by_component_[static_cast<std::size_t>(c)]; }

    // "debug" (every component), "ice:debug,dtls:trace", "all:info,sctp:trace". Later items
    // override earlier ones. The error names the first item that is not understood.
    static result<levels> parse(std::string_view spec) noexcept
    {
        levels ls;
        while (!spec.empty()) {
            const auto comma = spec.find(',');
            const auto item = spec.substr(0, comma);
            spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
            if (item.empty()) continue;
            const auto colon = item.find(':');
            const auto name = colon == std::string_view::npos ? std::string_view("all") : item.substr(0, colon);
            const auto level_text = colon == std::string_view::npos ? item : item.substr(colon + 1);
            const auto l = parse_level(level_text);
            if (!l)
                return make_error(std::make_error_code(std::errc::invalid_argument), "log level '", level_text,
                                  "' is not one of off, error, warn, info, debug, trace");
            if (name == "all") {
                ls.by_component_.fill(*l);
                continue;
            }
            const auto c = parse_component(name);
            if (!c)
                return make_error(std::make_error_code(std::errc::invalid_argument), "log component '", name,
                                  "' is not one of all, ice, stun, turn, dtls, sctp, datachannel, sdp, runtime, pc");
            ls.set(*c, *l);
        }
        return ls;
    }

private:
    std::array<level, component_count> by_component_{};  // all off
};

// Where lines go. Called synchronously from the machine that logs, on whatever thread drives
// that machine; it must not call back into the machine.
using sink_function = void (*)(void* context, level, component, std::string_view message) noexcept;

class logger {
public:
    constexpr logger() noexcept = default;  // off
    constexpr logger(sink_function sink, void* context, levels ls) noexcept : sink_(sink), context_(context), levels_(ls)
    {
        if (sink_ == nullptr) levels_ = {};
    }

    [[nodiscard]] constexpr bool enabled(component c, level l) const noexcept
    {
        return l != level::off && static_cast<std::uint8_t>(l) <= static_cast<std::uint8_t>(levels_.of(c));
    }
    [[nodiscard]] constexpr bool any_enabled() const noexcept { return sink_ != nullptr; }
    [[nodiscard]] constexpr const levels& thresholds() const noexcept { return levels_; }
    [[nodiscard]] void* context() const noexcept { return context_; }

    // Emits one line; callers normally go through PEERKIT_LOG_AT so that the arguments are not
    // evaluated when the level is off.
    template <class... Parts>
    void write(component c, level l, const Parts&... parts) const noexcept
    {
        if (!enabled(c, l)) return;
        line text;
        (text.append(parts), ...);
        sink_(context_, l, c, text.view());
    }

    static constexpr std::size_t line_capacity = 480;

private:
    class line {
    public:
        std::string_view view() const noexcept { return {data_, size_}; }
        void append(std::string_view s) noexcept
        {
            if (s.empty()) return;
            const std::size_t room = line_capacity - size_;
            const std::size_t n = s.size() <= room ? s.size() : room;
            std::memcpy(data_ + size_, s.data(), n);
            size_ += n;
            if (n < s.size() && line_capacity >= 3) std::memcpy(data_ + line_capacity - 3, "...", 3);
        }
        void append(const char* s) noexcept { append(std::string_view(s == nullptr ? "(null)" : s)); }
        void append(char c) noexcept { append(std::string_view(&c, 1)); }
        void append(bool b) noexcept { append(b ? std::string_view("true") : std::string_view("false")); }
        void append(const std::string& s) noexcept { append(std::string_view(s)); }
        template <class Int>
            requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool> && !std::is_same_v<Int, char>)
        void append(Int value) noexcept
        {
            char digits[24];
            const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
            append(std::string_view(digits, static_cast<std::size_t>(end - digits)));
        }
        template <class Enum>
            requires std::is_enum_v<Enum>
        void append(Enum value) noexcept
        {
            append(static_cast<std::underlying_type_t<Enum>>(value));
        }
        void append(hex value) noexcept
        {
            char digits[16];
            const auto end = std::to_chars(digits, digits + sizeof digits, value.value, 16).ptr;
            const auto count = static_cast<int>(end - digits);
            append("0x");
            for (int pad = value.digits - count; pad > 0; --pad) append('0');
            append(std::string_view(digits, static_cast<std::size_t>(count)));
        }
        void append(const error& e) noexcept
        {
            if (!e.detail().empty()) append(e.detail());
            else append_code(e.code());
        }
        void append(const std::error_code& code) noexcept { append_code(code); }
        // Addresses, endpoints and anything else that formats itself into a fixed buffer.
        template <class T>
            requires requires(const T& t, std::span<char, T::max_text_size> out) {
                { t.format_to(out) } -> std::convertible_to<std::size_t>;
            }
        void append(const T& value) noexcept
        {
            char text[T::max_text_size];
            const std::size_t n = value.format_to(std::span<char, T::max_text_size>(text, T::max_text_size));
            append(std::string_view(text, n));
        }

    private:
        void append_code(const std::error_code& code) noexcept
        {
            // Only reached with logging on: the message's allocation is the sink's price.
            append(code.category().name());
            append(": ");
            append(code.message());
        }
        char data_[line_capacity];
        std::size_t size_ = 0;
    };

    sink_function sink_ = nullptr;
    void* context_ = nullptr;
    levels levels_{};
};

}  // namespace peerkit::log

// Logs when `logger` has `lvl` enabled for `comp`; the message arguments are evaluated only then.
#define PEERKIT_LOG_AT(logger, comp, lvl, ...)                                  \
    do {                                                                        \
        if ((logger).enabled((comp), (lvl))) (logger).write((comp), (lvl), __VA_ARGS__); \
    } while (false)
