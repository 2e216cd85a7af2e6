// The byte scanners under the grammar (detail/text.hpp): 16-byte vector loops, 8-byte SWAR
// tails and byte loops must give the same answers as the plain definitions, wherever in a
// string the interesting byte falls (so every path is taken: vector, SWAR tail, byte tail).
#include <peerkit/sdp.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace sdp = peerkit::sdp;
namespace detail = peerkit::sdp::detail;

namespace {
constexpr std::string_view session_head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

const char* naive_line_break(const char* p, const char* end)
{
    for (; p != end; ++p)
        if (*p == '\n' || *p == '\r' || *p == '\0') return p;
    return end;
}
bool table_class(std::string_view s, unsigned char cls)
{
    if (s.empty()) return false;
    for (char c : s)
        if (!detail::in_class(c, cls)) return false;
    return true;
}
template <unsigned char Cls>
void check_cut_class_against_table()
{
    // Field of length `len` with byte `b` at position `at`, then a separator and padding, so
    // that the vector path (>= 16 bytes left) and the byte path (short rest) both run.
    for (int b = 0; b < 256; ++b)
        for (std::size_t len : {1u, 5u, 15u, 20u})
            for (std::size_t pad : {0u, 30u}) {
                std::string field(len, 'a');
                field[len - 1] = static_cast<char>(b);
                if (field.find(' ') != std::string::npos) continue;  // the separator itself
                const std::string text = field + " " + std::string(pad, 'z');
                std::string_view rest = text;
                bool ok = false;
                const auto got = detail::cut_class<Cls>(rest, ' ', ok);
                INFO("byte " << b << " len " << len << " pad " << pad);
                CHECK(got == field);
                CHECK(rest == std::string(pad, 'z'));
                CHECK(ok == table_class(field, Cls));
            }
    std::string_view empty_field = " abcdefghijklmnopqrstuvwxyz";
    bool ok = true;
    CHECK(detail::cut_class<Cls>(empty_field, ' ', ok).empty());
    CHECK_FALSE(ok);
}
}  // namespace

TEST_CASE("scan: find_line_break and find_byte agree with a byte loop at every position")
{
    for (std::size_t size = 0; size <= 40; ++size)
        for (std::size_t at = 0; at <= size; ++at)
            for (char special : {'\n', '\r', '\0', ':'}) {
                std::string s(size, 'x');
                if (at < size) s[at] = special;
                const char* b = s.data();
                const char* e = b + s.size();
                INFO("size " << size << " at " << at << " byte " << int(special));
                CHECK(detail::find_line_break(b, e) == naive_line_break(b, e));
                CHECK(detail::find_byte(b, e, ':') == (special == ':' && at < size ? b + at : e));
            }
    // High bytes (>= 0x80) must not be taken for the bytes looked for.
    const std::string high(40, '\xff');
    CHECK(detail::find_line_break(high.data(), high.data() + high.size()) == high.data() + high.size());
    CHECK(detail::find_byte(high.data(), high.data() + high.size(), ' ') == high.data() + high.size());
    const std::string mixed = std::string(9, '\x8a') + "\x0a";  // 0x8A vs LF (0x0A)
    CHECK(detail::find_line_break(mixed.data(), mixed.data() + mixed.size()) == mixed.data() + 9);
}

TEST_CASE("scan: vector class checks agree with the class table for every byte")
{
    check_cut_class_against_table<detail::cc_token>();
    check_cut_class_against_table<detail::cc_ice>();
    check_cut_class_against_table<detail::cc_visible>();
}

TEST_CASE("scan: equals compares constant-size names exactly")
{
    CHECK(detail::equals("candidate", "candidate"));
    CHECK_FALSE(detail::equals("candidatf", "candidate"));
    CHECK_FALSE(detail::equals("dandidate", "candidate"));
    CHECK_FALSE(detail::equals("candidat", "candidate"));
    CHECK(detail::equals("max-message-size", "max-message-size"));
    CHECK_FALSE(detail::equals("max-message-sizE", "max-message-size"));
    CHECK(detail::equals("rtcp-fb", "rtcp-fb"));
    CHECK_FALSE(detail::equals("rtcp_fb", "rtcp-fb"));
    CHECK(detail::equals("mid", "mid"));
    CHECK_FALSE(detail::equals("mie", "mid"));
    CHECK(detail::equals("*", "*"));
    CHECK_FALSE(detail::equals("", "*"));
}

TEST_CASE("scan: parse_uint bounds for every width")
{
    CHECK(detail::parse_uint<std::uint8_t>("255") == 255);
    CHECK_FALSE(detail::parse_uint<std::uint8_t>("256"));
    CHECK(detail::parse_uint<std::uint8_t>("0000000000000000000000000007") == 7);
    CHECK(detail::parse_uint<std::uint16_t>("65535") == 65535);
    CHECK_FALSE(detail::parse_uint<std::uint16_t>("65536"));
    CHECK(detail::parse_uint<std::uint32_t>("4294967295") == 4294967295u);
    CHECK_FALSE(detail::parse_uint<std::uint32_t>("4294967296"));
    CHECK_FALSE(detail::parse_uint<std::uint32_t>("99999999999999999999999"));
    CHECK(detail::parse_uint<std::uint64_t>("18446744073709551615") == std::numeric_limits<std::uint64_t>::max());
    CHECK_FALSE(detail::parse_uint<std::uint64_t>("18446744073709551616"));
    CHECK_FALSE(detail::parse_uint<std::uint64_t>("184467440737095516150"));
    CHECK_FALSE(detail::parse_uint<std::uint16_t>(""));
    CHECK_FALSE(detail::parse_uint<std::uint16_t>("12a"));
    CHECK_FALSE(detail::parse_uint<std::uint16_t>("-1"));
    CHECK_FALSE(detail::parse_uint<std::uint16_t>("1/"));  // '/' is just below '0'
    CHECK_FALSE(detail::parse_uint<std::uint16_t>("1:"));  // ':' is just above '9'
}

TEST_CASE("scan: a stray CR or a NUL is found at any position of a long line, with its line number")
{
    for (std::size_t at = 0; at < 40; ++at)
        for (char bad : {'\r', '\0'}) {
            std::string value(40, 'y');
            value[at] = bad;
            const std::string text = std::string(session_head) + "a=x-" + value + "\r\na=ok\r\n";
            const auto v = sdp::parse_view(text);
            const auto m = sdp::session_description::parse(text);
            INFO("at " << at << " byte " << int(bad));
            REQUIRE_FALSE(v);
            REQUIRE_FALSE(m);
            CHECK(v.error().detail() == (bad == '\r' ? "line 5: stray CR in line" : "line 5: NUL byte in line"));
            CHECK(m.error().detail() == v.error().detail());
        }
    // CR CR LF: the first CR is stray.
    const std::string crcr = std::string(session_head) + "a=x\r\r\n";
    CHECK(sdp::parse_view(crcr).error().detail() == "line 5: stray CR in line");
}

TEST_CASE("scan: line endings LF, CRLF, and a final CR or none, in every mix")
{
    const std::string_view lines[] = {"v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
                                      "m=audio 9 RTP/AVP 0", "a=a-long-attribute-name-over-sixteen-bytes:and-a-value", "a=x"};
    const std::string expected = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
                                 "a=a-long-attribute-name-over-sixteen-bytes:and-a-value\r\na=x\r\n";
    for (unsigned mix = 0; mix < (1u << 7); ++mix)
        for (std::string_view last : {"", "\r", "\n", "\r\n"}) {
            std::string text;
            for (std::size_t i = 0; i < 7; ++i) {
                text += lines[i];
                if (i < 6) text += (mix >> i) & 1 ? "\r\n" : "\n";
            }
            text += last;
            const auto v = sdp::parse_view(text);
            REQUIRE(v);
            CHECK(sdp::serialize(*v) == expected);
            const auto m = sdp::session_description::parse(text);
            REQUIRE(m);
            CHECK(m->to_string() == expected);
            CHECK(m->media.at(0).lines.size() == 3);
        }
}

namespace {
// The plain definition: every byte a digit, and the value (leading zeros allowed) <= T's max.
template <class T>
std::optional<T> naive_uint(std::string_view s)
{
    if (s.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<T>::max() - digit) / 10) return std::nullopt;  // value * 10 + digit > max
        value = value * 10 + digit;
    }
    return static_cast<T>(value);
}
template <class T>
std::size_t parse_uint_mismatches(const std::string& s)
{
    return detail::parse_uint<T>(s) != naive_uint<T>(s) ? 1u : 0u;
}
}  // namespace

TEST_CASE("scan: parse_uint agrees with a digit loop for every byte at every position (8-digit and 4-8 digit paths)")
{
    std::size_t mismatches = 0, runs = 0;
    for (std::size_t size = 1; size <= 22; ++size)
        for (char fill : {'0', '9', '5'})
            for (std::size_t at = 0; at < size; ++at)
                for (int b = 0; b < 256; ++b) {
                    std::string s(size, fill);
                    s[at] = static_cast<char>(b);
                    mismatches += parse_uint_mismatches<std::uint8_t>(s) + parse_uint_mismatches<std::uint16_t>(s) +
                                  parse_uint_mismatches<std::uint32_t>(s) + parse_uint_mismatches<std::uint64_t>(s);
                    ++runs;
                }
    CHECK(runs > 100000);
    CHECK(mismatches == 0);
    // Values at the edges of each width, with each length the word paths handle.
    CHECK(detail::parse_uint<std::uint16_t>("0065535") == 65535);
    CHECK_FALSE(detail::parse_uint<std::uint16_t>("0065536"));
    CHECK(detail::parse_uint<std::uint32_t>("99999999") == 99999999u);
    CHECK(detail::parse_uint<std::uint32_t>("999999999") == 999999999u);
    CHECK(detail::parse_uint<std::uint32_t>("2122194687") == 2122194687u);
    CHECK(detail::parse_uint<std::uint64_t>("4650479599670877314") == 4650479599670877314u);
    CHECK(detail::parse_uint<std::uint64_t>("9999999999999999999") == 9999999999999999999u);
    CHECK(detail::parse_uint<std::uint16_t>("1234") == 1234);
    CHECK_FALSE(detail::parse_uint<std::uint8_t>("1234"));
}

TEST_CASE("scan: all_in_class agrees with the class table at every length, byte and position")
{
    std::size_t mismatches = 0;
    for (unsigned char cls : {detail::cc_token, detail::cc_ice, detail::cc_visible, detail::cc_token_list, detail::cc_digit})
        for (std::size_t size = 0; size <= 40; ++size)
            for (std::size_t at = 0; at <= size; ++at)
                for (int b = 0; b < 256; ++b) {
                    std::string s(size, '7');  // in every class tested
                    if (at < size) s[at] = static_cast<char>(b);
                    mismatches += detail::all_in_class(s, cls) != table_class(s, cls) ? 1u : 0u;
                    if (at == size) break;  // no byte replaced: once is enough
                }
    CHECK(mismatches == 0);
}

TEST_CASE("scan: find_byte returns the first of two matches wherever they fall")
{
    for (std::size_t size = 2; size <= 24; ++size)
        for (std::size_t first = 0; first < size; ++first)
            for (std::size_t second = first + 1; second < size; ++second) {
                std::string s(size, 'x');
                s[first] = ':';
                s[second] = ':';
                INFO("size " << size << " at " << first << " and " << second);
                CHECK(detail::find_byte(s.data(), s.data() + size, ':') == s.data() + first);
            }
}
