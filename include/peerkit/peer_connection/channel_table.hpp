// peerkit::channel_table: the peer connection's data channels as the user names them
// (channel_id, stable for the connection's life) and as SCTP names them (the stream id, known
// once the DTLS role is: RFC 8832 6, the DTLS client opens on even ids and the server on odd
// ones; datachannel::endpoint allocates them, the table records which channel has which).
//
// Invariants:
//   - every entry is found by its id, and an open (or opening) channel bound to a stream by
//     that stream, in O(log n); no call scans the table except close_all and for_each;
//   - a stream maps to at most one live channel; a closed channel leaves the stream map at
//     once, so a stream id reused after a close (RFC 8831 6.7) finds the new channel;
//   - a closed entry stays, readable as closed, until forget() (the core calls it once the
//     user polled the close event), so a peer that opens and closes channels in a loop cannot
//     make the table grow (issue 14);
//   - bytes_held() is the sum of the entries' sizes (bookkeeping and strings), kept as entries
//     change, and live_count() the entries not closed.
#pragma once

#include <peerkit/datachannel/endpoint.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace peerkit {

struct channel_entry {
    channel_id id{};
    std::string label, protocol;
    data_channel_init init{};                    // until the endpoint has the channel
    std::optional<datachannel::channel> handle;  // the endpoint's channel, once it has a stream
    std::size_t low_threshold = 0;
    bool closed = false;
    std::size_t counted = 0;  // what bytes_held() counts for this entry
};

class channel_table {
public:
    // Bookkeeping of one entry besides its strings: the map node (three pointers, colour, key)
    // and the stream -> id node.
    static constexpr std::size_t entry_overhead = sizeof(channel_entry) + 4 * sizeof(void*) + sizeof(std::uint32_t) +
                                                  (4 * sizeof(void*) + 2 * sizeof(std::uint32_t));

    // A channel the user creates: no stream yet (until the endpoint allocates one).
    channel_entry& add(std::string_view label, const data_channel_init& init)
    {
        channel_entry e;
        e.label.assign(label);
        e.protocol = init.protocol;
        e.init = init;
        return insert(std::move(e));
    }
    // A channel the peer opened on `handle`'s stream (a DCEP OPEN, RFC 8832 5.1).
    channel_entry& add_remote(const datachannel::channel& handle)
    {
        channel_entry e;
        e.label.assign(handle.label());
        e.protocol.assign(handle.protocol());
        channel_entry& entry = insert(std::move(e));
        bind(entry, handle);
        return entry;
    }
    // The endpoint has the channel on a stream: the stream finds it from now on. The endpoint
    // keeps the init's protocol; the entry's own copy (`protocol`) stays.
    void bind(channel_entry& e, const datachannel::channel& handle)
    {
        ++work_;
        e.handle = handle;
        std::string().swap(e.init.protocol);
        streams_[handle.id()] = e.id.value;
        recount(e);
    }
    // The channel is closed: it no longer counts as live and its stream may be reused.
    void mark_closed(channel_entry& e)
    {
        ++work_;
        if (e.closed) return;
        e.closed = true;
        --live_;
        if (e.handle)
            if (const auto it = streams_.find(e.handle->id()); it != streams_.end() && it->second == e.id.value)
                streams_.erase(it);
    }
    // Every channel closed at once (the peer connection closed; webrtc-pc 4.4.1.6).
    void close_all()
    {
        for (auto& [key, e] : entries_) {
            ++work_;
            e.closed = true;
        }
        live_ = 0;
        streams_.clear();
    }
    // The entry goes with its strings (a closed one whose close the user has seen, or one whose
    // creation failed).
    void forget(channel_id id)
    {
        ++work_;
        const auto it = entries_.find(id.value);
        if (it == entries_.end()) return;
        if (!it->second.closed) mark_closed(it->second);
        bytes_ -= it->second.counted;
        entries_.erase(it);
    }

    [[nodiscard]] channel_entry* find(channel_id id) noexcept
    {
        ++work_;
        const auto it = entries_.find(id.value);
        return it == entries_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] const channel_entry* find(channel_id id) const noexcept
    {
        ++work_;
        const auto it = entries_.find(id.value);
        return it == entries_.end() ? nullptr : &it->second;
    }
    // The open (or opening) channel on a stream.
    [[nodiscard]] channel_entry* by_stream(std::uint16_t stream) noexcept
    {
        ++work_;
        const auto it = streams_.find(stream);
        return it == streams_.end() ? nullptr : find(channel_id{it->second});
    }

    // In creation order; f may change an entry through bind or mark_closed, not add or forget.
    template <class F>
    void for_each(F&& f)
    {
        for (auto& [key, e] : entries_) {
            ++work_;
            f(e);
        }
    }

    [[nodiscard]] std::size_t live_count() const noexcept { return live_; }
    [[nodiscard]] std::size_t entry_count() const noexcept { return entries_.size(); }
    [[nodiscard]] std::size_t bytes_held() const noexcept { return bytes_; }
    // Entries visited and lookups made so far: a debug counter for tests that bound the work.
    [[nodiscard]] std::uint64_t work() const noexcept { return work_; }

private:
    channel_entry& insert(channel_entry e)
    {
        ++work_;
        e.id = channel_id{next_id_++};
        const std::uint32_t key = e.id.value;
        channel_entry& entry = entries_.emplace(key, std::move(e)).first->second;
        ++live_;
        recount(entry);
        return entry;
    }
    void recount(channel_entry& e) noexcept
    {
        bytes_ -= e.counted;
        e.counted = entry_overhead + e.label.capacity() + e.protocol.capacity() + e.init.protocol.capacity();
        bytes_ += e.counted;
    }

    // By id: creation order, and entries keep their address while they exist.
    std::map<std::uint32_t, channel_entry> entries_;
    std::map<std::uint16_t, std::uint32_t> streams_;  // SCTP stream -> open channel
    std::uint32_t next_id_ = 1;
    std::size_t live_ = 0;
    std::size_t bytes_ = 0;
    mutable std::uint64_t work_ = 0;
};

}  // namespace peerkit
