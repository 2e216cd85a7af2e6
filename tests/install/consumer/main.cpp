// A consumer of peerkit::core: reads a field with the shared byte reader and reports an
// error through peerkit's error model. Returns 0 only when both behave.
#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>

#include <array>
#include <cstdio>
#include <system_error>

int main()
{
    const std::array<std::byte, 3> data{std::byte{0x12}, std::byte{0x34}, std::byte{0x56}};
    peerkit::byte_reader reader{data};
    const auto first = reader.read_u16();
    const auto second = reader.read_u16();  // only one byte left: must fail
    const auto e = peerkit::make_error(std::make_error_code(std::errc::message_size), "field at offset ", reader.offset(),
                                       " needs 2 bytes");
    if (!first || *first != 0x1234 || second || e.detail() != "field at offset 2 needs 2 bytes") {
        std::puts("consumer: unexpected behaviour");
        return 1;
    }
    std::puts("consumer: ok");
    return 0;
}
