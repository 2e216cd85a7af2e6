// Remote candidates that name an mDNS `.local` host (browsers' default,
// draft-ietf-mmusic-mdns-ice-candidates), for peerkit::peer_connection (asio/peer_connection.hpp):
// found in add_ice_candidate calls and in remote descriptions, resolved with
// asio/mdns_resolver.hpp (RFC 6762), then handed to the core on the driver's strand with the
// address rewritten; failures are counted and reported to on_mdns_error through the event
// delivery's gate. An end of candidates waits until the pending resolutions are over.
#pragma once

#include <peerkit/asio/detail/event_delivery.hpp>
#include <peerkit/asio/mdns_resolver.hpp>
#include <peerkit/error.hpp>
#include <peerkit/net/address.hpp>
#include <peerkit/peer_connection/types.hpp>
#include <peerkit/sdp/candidate.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace peerkit::asio::detail {

template <class Machine, class Executor>
struct mdns_candidates {
    explicit mdns_candidates(std::shared_ptr<event_delivery<Executor>> d) : delivery(std::move(d)) {}

    std::shared_ptr<event_delivery<Executor>> delivery;  // for on_mdns_error
    std::atomic<std::uint64_t> added{0}, failed{0};
    // On the driver's strand only: resolutions not yet over, and an end of candidates held
    // back until they are.
    std::size_t pending = 0;
    std::optional<peerkit::ice_candidate> deferred_end;
    // The driver's weak handle (set once by create()): a resolution may end after the peer
    // connection was closed, moved or destroyed.
    std::function<bool(std::function<void(Machine&)>)> to_driver;

    // On the driver's strand, counted there, reported on the user's executor.
    void fail(std::string candidate, std::string reason)
    {
        failed.fetch_add(1, std::memory_order_relaxed);
        delivery->mdns_error(std::move(candidate), std::move(reason));
    }

    // add_ice_candidate on the driver's strand: a `.local` candidate is checked (state, ufrag),
    // then resolved in the background and the call succeeds at once; an end of candidates
    // waits for the pending resolutions; anything else goes to the core.
    template <class Core>
    static result<void> add_candidate(const std::shared_ptr<mdns_resolver>& mdns, const std::shared_ptr<mdns_candidates>& state,
                                      Core& c, std::chrono::steady_clock::time_point now, const peerkit::ice_candidate& cand)
    {
        if (auto name = mdns_name(cand.candidate)) {
            if (auto r = c.check_ice_candidate(cand); !r) return r;
            ++state->pending;
            resolve_then_add(mdns, state, cand, std::move(*name));
            return {};
        }
        if (cand.candidate.empty() && state->pending > 0) {
            if (auto r = c.check_ice_candidate(cand); !r) return r;
            state->deferred_end = cand;
            return {};
        }
        return c.add_ice_candidate(now, cand);
    }

    // The address of a well-formed candidate line when it is an mDNS name (ends in ".local",
    // RFC 6762 3), else nullopt.
    static std::optional<std::string> mdns_name(std::string_view line)
    {
        auto v = sdp::parse_candidate(line);
        if (!v) return std::nullopt;
        std::string_view a = v->address;
        if (!a.empty() && a.back() == '.') a.remove_suffix(1);
        constexpr std::string_view suffix = ".local";
        if (a.size() <= suffix.size()) return std::nullopt;
        for (std::size_t i = 0; i < suffix.size(); ++i) {
            char ch = a[a.size() - suffix.size() + i];
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
            if (ch != suffix[i]) return std::nullopt;
        }
        return std::string(a);
    }

    // Resolves, then (on the driver's strand, if the driver is still open: state->to_driver is a
    // weak handle, the peer connection may have been closed, moved or destroyed) adds the rewritten candidate,
    // or reports the failure; the last resolution to finish releases a held end of candidates.
    static void resolve_then_add(const std::shared_ptr<mdns_resolver>& mdns, std::shared_ptr<mdns_candidates> state,
                                 peerkit::ice_candidate cand, std::string name)
    {
        mdns->async_resolve(std::move(name), [state, cand = std::move(cand)](result<net::ip_address> a) mutable {
            std::optional<peerkit::ice_candidate> resolved;
            std::string why;
            if (!a) {
                why = a.error().message();
            } else if (auto parsed = sdp::candidate::parse(cand.candidate); !parsed) {
                why = parsed.error().message();
            } else {
                parsed->address = a->to_string();
                resolved = cand;
                resolved->candidate = sdp::to_string(*parsed);
            }
            state->to_driver([state, resolved = std::move(resolved), why = std::move(why), original = std::move(cand.candidate)](Machine& m) mutable {
                const auto now = asio::steady_time::clock::now();
                if (resolved) {
                    if (auto r = m.core->add_ice_candidate(now, *resolved)) state->added.fetch_add(1, std::memory_order_relaxed);
                    else state->fail(original, std::string(r.error().message()));
                } else {
                    state->fail(original, why);
                }
                if (state->pending > 0 && --state->pending == 0 && state->deferred_end) {
                    // The end of candidates was checked (state, ufrag) when it was given; what
                    // can fail now is a closed connection, where nothing is left to end.
                    (void)m.core->add_ice_candidate(now, *state->deferred_end);
                    state->deferred_end.reset();
                }
            });
        });
    }

    // The `.local` a=candidate lines of a remote description (the core skips them), with their
    // section's mid and ufrag.
    static void resolve_description_candidates(const std::shared_ptr<mdns_resolver>& mdns,
                                               const std::shared_ptr<mdns_candidates>& state, std::string_view sdp_text)
    {
        std::string mid, session_ufrag, ufrag;
        bool in_media = false;
        std::uint16_t mline = 0;
        std::vector<peerkit::ice_candidate> found;
        std::vector<std::size_t> section_of;
        std::vector<std::string> ufrag_of_section;
        while (!sdp_text.empty()) {
            auto eol = sdp_text.find('\n');
            std::string_view line = sdp_text.substr(0, eol);
            sdp_text = eol == std::string_view::npos ? std::string_view{} : sdp_text.substr(eol + 1);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.starts_with("m=")) {
                if (in_media) ++mline;
                in_media = true;
                mid.clear();
                ufrag_of_section.push_back(session_ufrag);
            } else if (line.starts_with("a=mid:")) {
                mid = std::string(line.substr(6));
                for (std::size_t i = 0; i < found.size(); ++i)
                    if (section_of[i] == mline && in_media) found[i].sdp_mid = mid;
            } else if (line.starts_with("a=ice-ufrag:")) {
                if (in_media) ufrag_of_section.back() = std::string(line.substr(12));
                else session_ufrag = std::string(line.substr(12));
            } else if (in_media && line.starts_with("a=candidate:") && mdns_name(line.substr(2))) {
                found.push_back({std::string(line.substr(2)), mid, mline, {}});
                section_of.push_back(mline);
            }
        }
        for (std::size_t i = 0; i < found.size(); ++i) {
            found[i].username_fragment = ufrag_of_section[section_of[i]];
            ++state->pending;
            auto name = *mdns_name(found[i].candidate);
            resolve_then_add(mdns, state, std::move(found[i]), std::move(name));
        }
    }
};

}  // namespace peerkit::asio::detail
