// The JSON codec for signaling messages (Boost.JSON): the browser's own shapes,
//   {"type":"offer"|"answer"|"pranswer"|"rollback","sdp":"..."}
//   {"candidate":"candidate:...","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"..."}
// with {"candidate":""} for end of candidates. Parsing never throws: malformed input gives a
// peerkit::result error that says what was wrong.
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/signaling/error.hpp>
#include <peerkit/signaling/message.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

namespace peerkit::signaling {

// Bounds on what parse_message accepts. An SDP of a data-channel session is ~1 KiB, a
// candidate ~150 bytes; the defaults leave room for large multi-section offers.
struct codec_limits {
    std::size_t max_message_size = 256 * 1024;  // bytes of JSON text
    std::size_t max_depth = 8;                  // JSON nesting (messages are flat objects)
};

namespace detail {

inline error invalid(std::string_view what, std::string_view field = {})
{
    return make_error(errc::invalid_message, what, field);
}

inline result<std::optional<std::string>> optional_string(const boost::json::object& o,
                                                           std::string_view key)
{
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return std::optional<std::string>{};
    if (const auto* s = v->if_string()) return std::optional<std::string>{std::string(s->data(), s->size())};
    return make_error(errc::invalid_message, "\"", key, "\" must be a string or null");
}

inline result<message> description_from_json(const boost::json::object& o, const boost::json::value& type)
{
    const auto* type_text = type.if_string();
    if (type_text == nullptr) return invalid("\"type\" must be a string");
    const auto t = sdp_type_from_string(std::string_view(type_text->data(), type_text->size()));
    if (!t) {
        const std::string_view shown(type_text->data(), std::min<std::size_t>(type_text->size(), 32));
        return make_error(errc::invalid_message, "\"type\" is \"", shown,
                          "\", expected offer, answer, pranswer or rollback");
    }
    session_description d{*t, {}};
    const auto* sdp = o.if_contains("sdp");
    if (sdp == nullptr || sdp->is_null()) {
        // webrtc-pc 4.4.1.5: only a rollback may come without an SDP.
        if (*t != sdp_type::rollback) return make_error(errc::invalid_message, "description of type \"", to_string(*t), "\" has no \"sdp\"");
        return message{std::move(d)};
    }
    const auto* sdp_text = sdp->if_string();
    if (sdp_text == nullptr) return invalid("\"sdp\" must be a string");
    if (sdp_text->empty() && *t != sdp_type::rollback)
        return make_error(errc::invalid_message, "description of type \"", to_string(*t), "\" has an empty \"sdp\"");
    d.sdp.assign(sdp_text->data(), sdp_text->size());
    return message{std::move(d)};
}

inline result<message> candidate_from_json(const boost::json::object& o, const boost::json::value& cand)
{
    const auto* text = cand.if_string();
    if (text == nullptr) return invalid("\"candidate\" must be a string");
    ice_candidate c;
    std::string_view line(text->data(), text->size());
    // Some stacks send the whole SDP line; the browser sends the attribute without "a=".
    if (line.starts_with("a=")) line.remove_prefix(2);
    if (!line.empty() && !line.starts_with("candidate:"))
        return invalid("\"candidate\" must start with \"candidate:\" or be empty");
    c.candidate.assign(line);

    auto mid = optional_string(o, "sdpMid");
    if (!mid) return mid.error();
    c.sdp_mid = std::move(*mid);

    if (const auto* index = o.if_contains("sdpMLineIndex"); index != nullptr && !index->is_null()) {
        std::int64_t value = -1;
        if (const auto* i = index->if_int64()) value = *i;
        else if (const auto* u = index->if_uint64()) value = *u > 0xffff ? -1 : static_cast<std::int64_t>(*u);
        else return invalid("\"sdpMLineIndex\" must be an integer or null");
        if (value < 0 || value > 0xffff) return invalid("\"sdpMLineIndex\" must be in 0..65535");
        c.sdp_m_line_index = static_cast<std::uint16_t>(value);
    }

    auto ufrag = optional_string(o, "usernameFragment");
    if (!ufrag) return ufrag.error();
    c.username_fragment = std::move(*ufrag);

    // webrtc-pc 4.4.1.6 (addIceCandidate): a candidate needs sdpMid or sdpMLineIndex. An empty
    // sdpMid next to a valid sdpMLineIndex is seen from some stacks: the index identifies the
    // m-section then, so we keep it and drop the empty mid.
    if (c.sdp_mid && c.sdp_mid->empty() && c.sdp_m_line_index) c.sdp_mid.reset();
    if (!c.end_of_candidates() && !c.sdp_m_line_index && (!c.sdp_mid || c.sdp_mid->empty()))
        return invalid("candidate has neither \"sdpMid\" nor \"sdpMLineIndex\"");
    return message{std::move(c)};
}

}  // namespace detail

// Parses one message. Unknown members are ignored (forward compatibility); an object with
// both "type" and "candidate" is rejected as ambiguous.
[[nodiscard]] inline result<message> parse_message(std::string_view text, const codec_limits& limits = {})
{
    if (text.size() > limits.max_message_size)
        return make_error(errc::message_too_large, "message of ", text.size(), " bytes exceeds the limit of ",
                          limits.max_message_size);
    unsigned char scratch[4096];
    boost::json::monotonic_resource resource(scratch, sizeof scratch);
    boost::json::parse_options options;
    options.max_depth = limits.max_depth;
    boost::json::parser parser(boost::json::storage_ptr(), options);
    parser.reset(&resource);
    boost::system::error_code ec;
    const std::size_t used = parser.write(text.data(), text.size(), ec);
    if (ec) {
        const std::string reason = ec.message();
        return make_error(errc::malformed_json, "malformed JSON at byte ", used, ": ", reason);
    }
    const boost::json::value root = parser.release();
    const auto* object = root.if_object();
    if (object == nullptr) return detail::invalid("message must be a JSON object");
    const auto* type = object->if_contains("type");
    const auto* candidate = object->if_contains("candidate");
    if (type != nullptr && candidate != nullptr)
        return detail::invalid("message has both \"type\" and \"candidate\"");
    if (type != nullptr) return detail::description_from_json(*object, *type);
    if (candidate != nullptr) return detail::candidate_from_json(*object, *candidate);
    return detail::invalid("message has neither \"type\" nor \"candidate\"");
}

// The browser's JSON for a description (RTCSessionDescription.toJSON()).
[[nodiscard]] inline std::string to_json(const session_description& d)
{
    boost::json::object o;
    o["type"] = to_string(d.type);
    if (d.type != sdp_type::rollback || !d.sdp.empty()) o["sdp"] = d.sdp;
    return boost::json::serialize(o);
}

// The browser's JSON for a candidate (RTCIceCandidate.toJSON()); absent fields are omitted.
[[nodiscard]] inline std::string to_json(const ice_candidate& c)
{
    boost::json::object o;
    o["candidate"] = c.candidate;
    if (c.sdp_mid) o["sdpMid"] = *c.sdp_mid;
    if (c.sdp_m_line_index) o["sdpMLineIndex"] = *c.sdp_m_line_index;
    if (c.username_fragment) o["usernameFragment"] = *c.username_fragment;
    return boost::json::serialize(o);
}

[[nodiscard]] inline std::string to_json(const message& m)
{
    return std::visit([](const auto& v) { return to_json(v); }, m);
}

}  // namespace peerkit::signaling
