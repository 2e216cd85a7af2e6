// peerkit's one error model (see docs/architecture.md, "Errors").
//
// Every fallible operation returns `peerkit::result<T>`: a value, or a `peerkit::error`.
// An error is a `std::error_code` of one of peerkit's categories (one per module, so users
// can compare against `peerkit::stun::errc::bad_fingerprint` and friends) plus a short
// detail text that names what was wrong and where ("attribute 0x0020 length 9 runs past the
// message end"). The detail is stored in a fixed-size buffer inside the error, so codecs can
// report precise errors on paths that must not allocate, and the whole model works with
// -fno-exceptions -fno-rtti.
#pragma once

#include <cassert>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace peerkit {

// A module declares `enum class errc` and specialises error_traits with the category's name
// and a describe() for each value; make_error_code then works through category_of<Enum>().
template <class Enum>
struct error_traits;

namespace detail {
template <class Enum>
class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return error_traits<Enum>::name; }
    std::string message(int value) const override
    {
        return std::string(error_traits<Enum>::describe(static_cast<Enum>(value)));
    }
};
}  // namespace detail

template <class Enum>
const std::error_category& category_of() noexcept
{
    static const detail::error_category_impl<Enum> category;
    return category;
}

// Hexadecimal formatting request for make_error: hex{0x20, 4} prints "0x0020".
struct hex {
    std::uint64_t value;
    int digits = 0;  // minimum number of digits, zero-padded
};

class error {
public:
    static constexpr std::size_t detail_capacity = 127;

    // The detail buffer is left uninitialised and copies move only its used bytes: results are
    // returned on hot paths (a STUN integrity check), where zero-filling 127 bytes per result
    // showed up as a third of the cost.
    error() noexcept {}  // NOLINT: detail_ is written before it is read
    error(std::error_code code) noexcept : code_(code) {}  // NOLINT: implicit on purpose
    error(const error& other) noexcept : code_(other.code_), size_(other.size_)
    {
        std::memcpy(detail_, other.detail_, size_);
    }
    error& operator=(const error& other) noexcept
    {
        code_ = other.code_;
        size_ = other.size_;
        std::memmove(detail_, other.detail_, size_);
        return *this;
    }
    template <class Enum>
        requires std::is_error_code_enum_v<Enum>
    error(Enum value) noexcept : code_(make_error_code(value))  // NOLINT
    {
    }
    error(std::error_code code, std::string_view detail) noexcept : code_(code) { append(detail); }

    [[nodiscard]] std::error_code code() const noexcept { return code_; }
    // The specific text, or empty when only the code is known.
    [[nodiscard]] std::string_view detail() const noexcept { return {detail_, size_}; }
    // What a user prints: the detail when there is one, otherwise the category's message.
    [[nodiscard]] std::string message() const
    {
        return size_ != 0 ? std::string(detail()) : code_.message();
    }
    explicit operator bool() const noexcept { return static_cast<bool>(code_); }

    friend bool operator==(const error& e, std::error_code code) noexcept { return e.code_ == code; }
    template <class Enum>
        requires std::is_error_code_enum_v<Enum>
    friend bool operator==(const error& e, Enum value) noexcept
    {
        return e.code_ == make_error_code(value);
    }

    // Appending never allocates; text beyond the capacity is cut and marked with "...".
    error& append(std::string_view text) noexcept
    {
        if (text.empty()) return *this;  // an empty view may carry a null pointer: no memcpy
        const std::size_t room = detail_capacity - size_;
        if (text.size() <= room) {
            std::memcpy(detail_ + size_, text.data(), text.size());
            size_ += static_cast<std::uint8_t>(text.size());
        } else {
            std::memcpy(detail_ + size_, text.data(), room);
            size_ = static_cast<std::uint8_t>(detail_capacity);
            std::memcpy(detail_ + detail_capacity - 3, "...", 3);
        }
        return *this;
    }
    error& append(const char* text) noexcept { return append(std::string_view(text)); }
    error& append(char c) noexcept { return append(std::string_view(&c, 1)); }
    template <class Int>
        requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool> && !std::is_same_v<Int, char>)
    error& append(Int value) noexcept
    {
        char text[24] = {};
        const auto end = std::to_chars(text, text + sizeof text, value).ptr;
        // The clamp never changes the length (any integer fits 24 digits); it tells g++ 12 so,
        // which otherwise reports a false -Warray-bounds / -Wmaybe-uninitialized in append()
        // when make_error is inlined into some callers.
        const auto length = static_cast<std::size_t>(end - text);
        return append(std::string_view(text, length < sizeof text ? length : sizeof text));
    }
    // Another error as text (its detail, else its category's message): "dtls: " + reason.
    error& append(const error& other) noexcept
    {
        if (!other.detail().empty()) return append(other.detail());
        return append(std::string_view(other.code_.message()));
    }
    error& append(hex value) noexcept
    {
        char digits[16];
        const auto end = std::to_chars(digits, digits + sizeof digits, value.value, 16).ptr;
        const auto count = static_cast<int>(end - digits);
        append("0x");
        for (int pad = value.digits - count; pad > 0; --pad) append('0');
        return append(std::string_view(digits, static_cast<std::size_t>(count)));
    }

private:
    std::error_code code_{};
    std::uint8_t size_ = 0;
    char detail_[detail_capacity];  // only the first size_ bytes are meaningful
};

// make_error(stun::errc::attribute_overrun, "attribute ", hex{0x20, 4}, " length ", 9,
//            " runs past the message end")
template <class Code, class... Parts>
[[nodiscard]] error make_error(Code code, const Parts&... parts) noexcept
{
    error e{code};
    (e.append(parts), ...);
    return e;
}

// A value or an error; the shape of std::expected (C++23), kept small enough for C++20 and
// for builds without exceptions. Accessing the wrong alternative is a precondition violation.
template <class T>
class [[nodiscard]] result {
public:
    using value_type = T;

    template <class U = T>
        requires std::is_constructible_v<T, U&&>
    result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>)  // NOLINT: implicit
        : has_value_(true)
    {
        ::new (static_cast<void*>(std::addressof(value_))) T(std::forward<U>(value));
    }
    result(peerkit::error e) noexcept : has_value_(false)  // NOLINT: implicit
    {
        ::new (static_cast<void*>(std::addressof(error_))) peerkit::error(e);
    }
    template <class Enum>
        requires std::is_error_code_enum_v<Enum>
    result(Enum value) noexcept : result(peerkit::error(value))  // NOLINT: implicit
    {
    }
    result(const result& other) : has_value_(other.has_value_)
    {
        if (has_value_)
            ::new (static_cast<void*>(std::addressof(value_))) T(other.value_);
        else
            ::new (static_cast<void*>(std::addressof(error_))) peerkit::error(other.error_);
    }
    result(result&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : has_value_(other.has_value_)
    {
        if (has_value_)
            ::new (static_cast<void*>(std::addressof(value_))) T(std::move(other.value_));
        else
            ::new (static_cast<void*>(std::addressof(error_))) peerkit::error(other.error_);
    }
    result& operator=(const result& other)
    {
        if (this != &other) {
            destroy();
            ::new (static_cast<void*>(this)) result(other);
        }
        return *this;
    }
    result& operator=(result&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
    {
        if (this != &other) {
            destroy();
            ::new (static_cast<void*>(this)) result(std::move(other));
        }
        return *this;
    }
    ~result() { destroy(); }

    [[nodiscard]] bool has_value() const noexcept { return has_value_; }
    explicit operator bool() const noexcept { return has_value_; }

    [[nodiscard]] T& value() & noexcept { assert(has_value_); return value_; }
    [[nodiscard]] const T& value() const& noexcept { assert(has_value_); return value_; }
    [[nodiscard]] T&& value() && noexcept { assert(has_value_); return std::move(value_); }
    T& operator*() & noexcept { return value(); }
    const T& operator*() const& noexcept { return value(); }
    T&& operator*() && noexcept { return std::move(*this).value(); }
    T* operator->() noexcept { return std::addressof(value()); }
    const T* operator->() const noexcept { return std::addressof(value()); }

    [[nodiscard]] const peerkit::error& error() const noexcept { assert(!has_value_); return error_; }

    template <class U>
    [[nodiscard]] T value_or(U&& fallback) const&
    {
        return has_value_ ? value_ : static_cast<T>(std::forward<U>(fallback));
    }

private:
    void destroy() noexcept
    {
        if (has_value_)
            value_.~T();
        else
            error_.~error();
    }

    union {
        T value_;
        peerkit::error error_;
    };
    bool has_value_;
};

template <>
class [[nodiscard]] result<void> {
public:
    using value_type = void;
    result() noexcept {}  // user-provided: value-initialisation must not zero-fill the error
    result(peerkit::error e) noexcept : error_(e) {}  // NOLINT: implicit
    template <class Enum>
        requires std::is_error_code_enum_v<Enum>
    result(Enum value) noexcept : error_(value)  // NOLINT: implicit
    {
    }
    [[nodiscard]] bool has_value() const noexcept { return !error_; }
    explicit operator bool() const noexcept { return has_value(); }
    [[nodiscard]] const peerkit::error& error() const noexcept { return error_; }

private:
    peerkit::error error_{};
};

}  // namespace peerkit
