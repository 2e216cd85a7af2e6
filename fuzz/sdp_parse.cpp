// Fuzz target: any bytes through both SDP parsers. When the text parses:
//   - the view and the owning model hold the same lines,
//   - serialize -> parse gives the same model (the serializer writes what the parser reads),
//   - the serialized text is a fixed point,
//   - every typed accessor and the summary run without crashing.
// Any mismatch aborts.
#include <peerkit/sdp.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sdp = peerkit::sdp;

namespace {
template <class Section>
std::size_t touch(const Section& s)
{
    auto b = [](bool x) -> std::size_t { return x ? 1 : 0; };
    std::size_t n = 0;
    n += b(s.ice_ufrag().has_value()) + b(s.ice_pwd().has_value()) + s.ice_options().size();
    n += s.fingerprints().size() + b(s.setup().has_value()) + s.groups().size() + b(s.mid().has_value());
    n += s.msid_semantics().size() + b(s.direction().has_value()) + b(s.rtcp().has_value());
    n += s.rtpmaps().size() + s.fmtps().size() + s.rtcp_fbs().size() + s.extmaps().size();
    n += s.ssrcs().size() + s.ssrc_groups().size() + s.msids().size() + s.rids().size();
    n += b(s.simulcast().has_value()) + b(s.sctp_port().has_value()) + b(s.max_message_size().has_value());
    n += b(s.sctpmap().has_value());
    for (const auto& c : s.candidates())
        for (const auto& e : c.extensions()) n += e.name.size();
    return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto view = sdp::parse_view(text);
    const auto model = sdp::session_description::parse(text);
    if (view.has_value() != model.has_value()) std::abort();
    if (!view) {
        if (view.error().code() != model.error().code() || view.error().detail() != model.error().detail()) std::abort();
        return 0;
    }
    if (sdp::session_description::from(*view) != *model) std::abort();
    const std::string out = sdp::serialize(*view);
    if (out != model->to_string() || out.size() != model->serialized_size()) std::abort();
    const auto again = sdp::session_description::parse(out);
    if (!again || *again != *model) std::abort();
    if (again->to_string() != out) std::abort();

    volatile std::size_t sink = touch(*view);
    for (const auto& m : view->media()) sink = sink + touch(m) + m.m_line().formats.size();
    sink = sink + sdp::summarize(*view).size();
    (void)sink;
    return 0;
}
