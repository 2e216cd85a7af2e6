// Fuzz target: the DNS message view (net/dns.hpp). Whatever parses must be walkable: every
// question and record name decodes and compares, record data lies inside the message, and
// addresses_for stays within its output; the first bytes also go through build_query as a name.
#include <peerkit/net/dns.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

namespace dns = peerkit::net::dns;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto bytes = std::as_bytes(std::span(data, size));
    std::array<std::byte, 512> query{};
    const std::string_view text(reinterpret_cast<const char*>(data), size < 300 ? size : 300);
    if (auto n = dns::build_query(query, text, dns::record_type::a)) {
        auto q = dns::message_view::parse(std::span(query).first(*n));
        if (!q || q->header().question_count != 1) std::abort();
    }
    auto v = dns::message_view::parse(bytes);
    if (!v) return 0;
    std::array<char, 254> name{};
    auto check_name = [&](std::size_t offset) {
        auto n = v->name_text(offset, name);
        if (!n) std::abort();  // parse() validated every name
        // A label may hold '.', so the text need not compare equal; it must not crash.
        (void)v->name_equals(offset, std::string_view(name.data(), *n));
    };
    v->for_each([&](const dns::question& q) { check_name(q.name_offset); },
                [&](const dns::record& rr) {
                    check_name(rr.name_offset);
                    if (rr.data.data() < bytes.data() || rr.data.data() + rr.data.size() > bytes.data() + bytes.size())
                        std::abort();
                });
    std::array<peerkit::net::ip_address, 3> out{};
    if (v->addresses_for("x.local", out) > out.size()) std::abort();
    return 0;
}
