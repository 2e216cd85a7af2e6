// Fuzzes the STUN codec: parse; when it parses, rebuild the message from its attributes (the
// same type, transaction id and attribute order, a fresh FINGERPRINT), parse the rebuild and
// require the same attributes; decode every typed attribute and require that re-encoding and
// decoding again gives the same value. Also parses the input as TURN ChannelData, both framings.
// Any mismatch aborts (a crash for libFuzzer).
#include <peerkit/crypto/openssl.hpp>
#include <peerkit/stun.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

using namespace peerkit;

namespace {

[[noreturn]] void fail(const char* what)
{
    std::fprintf(stderr, "stun_message fuzz: %s\n", what);
    std::abort();
}

void require(bool ok, const char* what)
{
    if (!ok) fail(what);
}

// decode -> encode -> decode must be a fixed point for every attribute type with ==.
template <class A>
void typed_round_trip(const stun::message_view& msg)
{
    const auto first = msg.get<A>();
    if (!first) return;
    std::array<std::byte, 70000> buffer;
    stun::message_builder b{buffer, msg.type(), msg.id()};
    b.add(*first);
    const auto out = b.finish();
    if (!out) {
        // Only values the builder refuses by RFC rule may fail: never a decoded one.
        fail("a decoded attribute could not be re-encoded");
    }
    const auto again = stun::message_view::parse(*out);
    require(again.has_value(), "a single re-encoded attribute did not parse");
    const auto second = again->get<A>();
    require(second.has_value(), "a re-encoded attribute did not decode");
    require(*first == *second, "decode(encode(decode(x))) != decode(x)");
}

void check_stun(bytes_view input)
{
    const stun::parse_options options{.allow_classic = true};
    const auto msg = stun::message_view::parse(input, options);
    if (!msg) return;

    // Exercise integrity checking (it must not crash; it will not match).
    static const crypto::openssl_provider provider;
    static const auto key = stun::make_short_term_key(provider, "fuzz");
    (void)stun::check_integrity(*msg, key);
    (void)msg->check_message_integrity(key.sha1());
    (void)msg->check_message_integrity_sha256(key.sha256());

    // Rebuild from the attributes that count.
    std::array<std::byte, 70000> buffer;
    auto builder = msg->is_classic() ? stun::message_builder{buffer, msg->type(), msg->classic_id()}
                                     : stun::message_builder{buffer, msg->type(), msg->id()};
    std::size_t count = 0;
    for (const stun::raw_attribute a : *msg) {
        ++count;
        if (a.type == stun::attribute_type::fingerprint) continue;
        builder.add_raw(a.type, a.value);
    }
    require(count == msg->attribute_count(), "iteration count differs from attribute_count()");
    if (msg->has_fingerprint()) builder.add_fingerprint();
    const auto rebuilt = builder.finish();
    require(rebuilt.has_value(), "rebuilding a parsed message failed");
    const auto reparsed = stun::message_view::parse(*rebuilt, options);
    require(reparsed.has_value(), "the rebuilt message does not parse");
    require(reparsed->type() == msg->type(), "type changed");
    require(reparsed->classic_id() == msg->classic_id(), "transaction id changed");
    require(reparsed->attribute_count() == msg->attribute_count(), "attribute count changed");
    require(reparsed->ignored_attribute_count() == 0, "rebuild kept an ignored attribute");
    auto a = msg->begin();
    auto b = reparsed->begin();
    for (; a != msg->end() && b != reparsed->end(); ++a, ++b) {
        const auto x = *a;
        const auto y = *b;
        require(x.type == y.type, "attribute type changed");
        if (x.type == stun::attribute_type::fingerprint) continue;
        require(x.value.size() == y.value.size(), "attribute length changed");
        require(x.value.empty() || std::memcmp(x.value.data(), y.value.data(), x.value.size()) == 0,
                "attribute value changed");
    }
    require(a == msg->end() && b == reparsed->end(), "attribute sequences differ in length");
    require(reparsed->unknown_comprehension_required_count() == msg->unknown_comprehension_required_count(),
            "unknown attributes changed");

    typed_round_trip<stun::mapped_address>(*msg);
    typed_round_trip<stun::xor_mapped_address>(*msg);
    typed_round_trip<stun::xor_peer_address>(*msg);
    typed_round_trip<stun::xor_relayed_address>(*msg);
    typed_round_trip<stun::alternate_server>(*msg);
    typed_round_trip<stun::username>(*msg);
    typed_round_trip<stun::realm>(*msg);
    typed_round_trip<stun::nonce>(*msg);
    typed_round_trip<stun::software>(*msg);
    typed_round_trip<stun::alternate_domain>(*msg);
    typed_round_trip<stun::userhash>(*msg);
    typed_round_trip<stun::reservation_token>(*msg);
    typed_round_trip<stun::priority>(*msg);
    typed_round_trip<stun::ice_controlled>(*msg);
    typed_round_trip<stun::ice_controlling>(*msg);
    typed_round_trip<stun::use_candidate>(*msg);
    typed_round_trip<stun::dont_fragment>(*msg);
    typed_round_trip<stun::lifetime>(*msg);
    typed_round_trip<stun::channel_number>(*msg);
    typed_round_trip<stun::requested_transport>(*msg);
    typed_round_trip<stun::requested_address_family>(*msg);
    typed_round_trip<stun::additional_address_family>(*msg);
    typed_round_trip<stun::even_port>(*msg);
    typed_round_trip<stun::change_request>(*msg);
    typed_round_trip<stun::icmp>(*msg);
    typed_round_trip<stun::error_code>(*msg);
    typed_round_trip<stun::address_error_code>(*msg);
    typed_round_trip<stun::password_algorithm>(*msg);
    if (const auto u = msg->get<stun::unknown_attributes>()) {
        for (std::size_t i = 0; i < u->count(); ++i) (void)(*u)[i];
    }
    if (const auto p = msg->get<stun::password_algorithms>()) {
        std::size_t n = 0;
        p->for_each([&](const stun::password_algorithm&) { ++n; });
        require(n == p->count(), "PASSWORD-ALGORITHMS count disagrees with iteration");
    }
}

void check_channel_data(bytes_view input)
{
    for (const auto framing : {stun::channel_data_framing::datagram, stun::channel_data_framing::stream}) {
        const auto v = stun::channel_data_view::parse(input, framing);
        if (!v) continue;
        require(v->size <= input.size(), "ChannelData size beyond the input");
        std::array<std::byte, 70000> buffer;
        const auto built = stun::build_channel_data(buffer, v->channel, v->payload,
                                                    framing == stun::channel_data_framing::stream);
        require(built.has_value(), "rebuilding ChannelData failed");
        const auto again = stun::channel_data_view::parse(*built, framing);
        require(again.has_value(), "rebuilt ChannelData does not parse");
        require(again->channel == v->channel && again->payload.size() == v->payload.size(), "ChannelData changed");
    }
    (void)net::classify(input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const bytes_view input{reinterpret_cast<const std::byte*>(data), size};
    check_stun(input);
    check_channel_data(input);
    return 0;
}
