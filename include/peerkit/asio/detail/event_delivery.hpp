// The queue of events from the driver's strand to the user's executor, for
// peerkit::peer_connection (asio/peer_connection.hpp): per-event and catch-all handlers, events
// held for want of a handler, the wait for a call's completion, backpressure towards the
// driver (peer_connection_options::max_queued_*) and the delivery gate that close() shuts.
// Boost-dependent only through the executor it posts to; it knows nothing of the core.
#pragma once

#include <peerkit/asio/peer_connection_options.hpp>
#include <peerkit/peer_connection/types.hpp>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace peerkit::asio::detail {

// A handler as the delivery sees it; the per-event setters wrap the typed function.
using any_event_handler = std::shared_ptr<const std::function<void(peerkit::peer_connection_event&)>>;
inline constexpr std::size_t event_kinds = std::variant_size_v<peerkit::peer_connection_event>;
template <class T, class... Ts>
constexpr std::size_t index_in(const std::variant<Ts...>*)
{
    std::size_t i = 0;
    const bool found = ((std::is_same_v<T, Ts> || (++i, false)) || ...);
    return found ? i : sizeof...(Ts);
}
// The index of an event type in peerkit::peer_connection_event: the slot of its handler.
template <class T>
inline constexpr std::size_t event_kind_of = index_in<T>(static_cast<const peerkit::peer_connection_event*>(nullptr));
static_assert(event_kind_of<peerkit::channel_error_event> < event_kinds);

// What one queued event counts against max_queued_bytes besides a message's payload.
inline constexpr std::size_t queued_event_overhead = sizeof(peerkit::peer_connection_event);

// Events go to the user's executor in order, one at a time: `deliver` (driver strand) queues
// them in `incoming` and one `pump` at a time runs on the user's executor, delivering up to
// events_per_pump events per post, and only one when a call's completion was posted while
// its handler ran (so that completion runs before the next event): a post per event is a
// trip through the executor's queue (and a reactor poll) per received message.
//
// While a call is in flight, its events wait (`waiting_for_call`) until its completion has
// run, so the user sees (and can send) a description before the icecandidate events
// it caused, as in browsers (webrtc-pc 4.4.1.5).
//
// An event no handler takes when its turn comes goes to `held`, in order, with the events it
// holds back (same kind, and for a channel event: same channel; a held data_channel event
// holds back all of its channel's events). Setting a handler rescans `held` from the oldest.
// Everything queued (waiting_for_call, incoming, held, and the event a handler is running
// for) is counted in queued_events / queued_bytes. deliver() answers whether there is room
// for another event; after a "no" the driver asks may_take_event() before it takes the next
// event from the core: at either limit the answer is no again and the driver is marked stalled; maybe_wake() (after a handler has run) posts a wake to the driver's
// strand once the queue has room again. Nothing is dropped, unless drop_unhandled (the
// browser's behaviour, counted in `dropped`). Handlers are called without the lock held, so
// a handler may set handlers, call the peer connection, close or shut it down.
template <class Executor>
struct event_delivery : std::enable_shared_from_this<event_delivery<Executor>> {
    using event_handler = std::function<void(peerkit::peer_connection_event)>;
    event_delivery(const Executor& ex, std::size_t max_events, std::size_t max_bytes, bool drop)
        : user(ex), max_queued_events(std::max<std::size_t>(1, max_events)),
          max_queued_bytes(std::max<std::size_t>(1, max_bytes)), drop_unhandled(drop)
    {
    }
    Executor user;
    // Completions of calls posted so far (invoke() counts them on the driver's strand).
    std::atomic<std::uint64_t> completions{0};
    static constexpr std::size_t events_per_pump = 64;
    const std::size_t max_queued_events;
    const std::size_t max_queued_bytes;
    const bool drop_unhandled;
    mutable std::mutex mutex;
    // Backpressure (see above), under the lock.
    std::size_t queued_events = 0, queued_bytes = 0;
    std::size_t max_queued_events_seen = 0, max_queued_bytes_seen = 0;
    bool stalled = false;  // the driver was refused an event and waits for a wake
    std::uint64_t stalls = 0, wakes = 0;
    std::function<bool()> wake_driver;  // set once by create(), under the lock
    std::size_t calls_in_flight = 0;
    std::vector<peerkit::peer_connection_event> waiting_for_call;
    std::deque<peerkit::peer_connection_event> incoming;  // released, not yet looked at by the pump
    std::uint64_t enqueued = 0, taken = 0;  // events pushed to / popped from `incoming` so far
    std::deque<peerkit::peer_connection_event> held;      // looked at, waiting for a handler (oldest first)
    std::map<std::pair<std::size_t, std::uint32_t>, std::size_t> held_keys;  // (kind, channel) -> count
    std::uint64_t dropped = 0;
    bool rescan = false;   // a handler was set or a held event dropped since the last scan
    bool pumping = false;  // a pump is posted or running
    bool stopped = false;
    std::array<any_event_handler, event_kinds> handlers{};
    any_event_handler catch_all;
    // on_mdns_error (mdns_candidates.hpp reports through the same gate as events).
    using mdns_error_function = std::shared_ptr<const std::function<void(const std::string&, const std::string&)>>;
    mdns_error_function mdns_error_handler;
    void set_mdns_error_handler(mdns_error_function h)
    {
        std::lock_guard lock(mutex);
        if (stopped) return;
        mdns_error_handler.swap(h);
    }
    // On the driver's strand (counted by mdns_candidates), reported on the user's executor
    // through the delivery gate (the handler is looked up when it runs, so close() in between
    // wins).
    void mdns_error(std::string candidate, std::string reason)
    {
        {
            std::lock_guard lock(mutex);
            if (stopped) return;
        }
        boost::asio::post(user, [self = this->shared_from_this(), candidate = std::move(candidate), reason = std::move(reason)] {
            delivery<mdns_error_function> d(*self);
            {
                std::lock_guard lock(self->mutex);
                if (self->stopped || !self->mdns_error_handler) return;
                d.enter(self->mdns_error_handler);
            }
            (*d.handler)(candidate, reason);
        });
    }

    // The delivery gate. Every handler call goes through one: under the lock, with the gate
    // open (not stopped), the calling thread is entered into `delivering` and takes its own
    // reference to the handler; after the call, the reference is dropped first, then the
    // thread leaves (also when the handler throws). stop() closes the gate and waits until
    // no other thread is inside a handler, so after it returns no handler runs and none is
    // left for a thread of ours to destroy.
    template <class Handler>
    struct delivery {
        explicit delivery(event_delivery& s) : state(s) {}
        delivery(const delivery&) = delete;
        delivery& operator=(const delivery&) = delete;
        ~delivery()
        {
            if (!entered) return;
            handler = nullptr;  // outside the lock: a handler's captures may call back into us
            std::lock_guard lock(state.mutex);
            const auto it = std::find(state.delivering.begin(), state.delivering.end(), std::this_thread::get_id());
            if (it != state.delivering.end()) state.delivering.erase(it);
            state.left_handler.notify_all();
        }
        // Under the lock, gate open.
        void enter(Handler h)
        {
            handler = std::move(h);
            entered = true;
            state.delivering.push_back(std::this_thread::get_id());
        }
        event_delivery& state;
        Handler handler{};
        bool entered = false;
    };
    std::vector<std::thread::id> delivering;  // threads inside a handler now (one per call)
    std::condition_variable left_handler;

    // On the driver's strand, before it takes an event from the core after deliver() said the
    // queue was full.
    bool may_take_event()
    {
        std::lock_guard lock(mutex);
        if (stopped || !full()) return true;
        if (!stalled) {
            stalled = true;
            ++stalls;
        }
        return false;
    }
    void set_wake_driver(std::function<bool()> f)
    {
        std::lock_guard lock(mutex);
        wake_driver = std::move(f);
        maybe_wake();  // a stall before create() got here
    }

    // Queues an event (on the driver's strand) and answers, under the same lock, whether the
    // queue has room for the next one: the driver asks may_take_event() (a second lock) only
    // after a "no", so an event costs one lock in the common case.
    [[nodiscard]] bool deliver(peerkit::peer_connection_event&& e)
    {
        std::lock_guard lock(mutex);
        if (stopped) return true;
        ++queued_events;
        queued_bytes += cost_of(e);
        max_queued_events_seen = std::max(max_queued_events_seen, queued_events);
        max_queued_bytes_seen = std::max(max_queued_bytes_seen, queued_bytes);
        // Only what gathering produces waits; state changes keep the browser's order
        // (signalingstatechange before the call completes).
        const bool gathering = std::holds_alternative<peerkit::ice_candidate_event>(e) ||
                               std::holds_alternative<peerkit::ice_gathering_state_change_event>(e);
        if (calls_in_flight > 0 && (gathering || !waiting_for_call.empty())) {
            waiting_for_call.push_back(std::move(e));
            return !full();
        }
        push(std::move(e));
        schedule();
        return !full();
    }
    void begin_call()
    {
        std::lock_guard lock(mutex);
        ++calls_in_flight;
    }
    void end_call()
    {
        std::lock_guard lock(mutex);
        if (--calls_in_flight > 0 || waiting_for_call.empty()) return;
        if (!stopped)
            for (auto& e : waiting_for_call) push(std::move(e));
        waiting_for_call.clear();
        schedule();
    }

    void set_handler(std::size_t kind, any_event_handler h)
    {
        std::lock_guard lock(mutex);
        if (stopped) return;
        handlers[kind].swap(h);
        rescan = true;
        schedule();
        // The old handler is destroyed after the lock is released (h's destructor runs last).
    }
    void set_catch_all(event_handler f)
    {
        any_event_handler h;
        if (f) h = std::make_shared<const std::function<void(peerkit::peer_connection_event&)>>([f = std::move(f)](peerkit::peer_connection_event& e) { f(std::move(e)); });
        std::lock_guard lock(mutex);
        if (stopped) return;
        catch_all.swap(h);
        rescan = true;
        schedule();
    }
    // Closes the delivery gate (see delivery): queued and held events are dropped, the
    // handlers released after the wait, outside the lock (their destructors may call us).
    void stop()
    {
        std::array<any_event_handler, event_kinds> old;
        any_event_handler old_catch_all;
        mdns_error_function old_mdns;
        std::unique_lock lock(mutex);
        stopped = true;
        old.swap(handlers);
        old_catch_all.swap(catch_all);
        old_mdns.swap(mdns_error_handler);
        waiting_for_call.clear();
        taken += incoming.size();
        incoming.clear();
        held.clear();
        held_keys.clear();
        queued_events = 0;
        queued_bytes = 0;
        // A handler on this thread is the caller (close from inside a handler): not waited for.
        const auto self = std::this_thread::get_id();
        left_handler.wait(lock, [&] {
            return std::all_of(delivering.begin(), delivering.end(), [&](std::thread::id t) { return t == self; });
        });
        lock.unlock();
    }
    [[nodiscard]] std::size_t held_count() const
    {
        std::lock_guard lock(mutex);
        return held.size();
    }
    [[nodiscard]] std::uint64_t dropped_count() const
    {
        std::lock_guard lock(mutex);
        return dropped;
    }
    [[nodiscard]] peer_connection_delivery_stats delivery_statistics() const
    {
        std::lock_guard lock(mutex);
        peer_connection_delivery_stats out;
        out.queued_events = queued_events;
        out.queued_bytes = queued_bytes;
        out.held_events = held.size();
        out.max_queued_bytes_seen = max_queued_bytes_seen;
        out.max_queued_events_seen = max_queued_events_seen;
        out.stalls = stalls;
        out.wakes = wakes;
        out.dropped_events = dropped;
        return out;
    }
    // What one queued event counts against max_queued_bytes: its slot, and a message's payload.
    static std::size_t cost_of(const peerkit::peer_connection_event& e)
    {
        const auto* m = std::get_if<peerkit::channel_message_event>(&e);
        return queued_event_overhead + (m ? m->data.capacity() : 0);
    }

private:
    static std::optional<std::uint32_t> channel_of(const peerkit::peer_connection_event& e)
    {
        return std::visit(
            [](const auto& x) -> std::optional<std::uint32_t> {
                if constexpr (requires { x.channel.value; }) return x.channel.value;
                else return std::nullopt;
            },
            e);
    }
    static std::pair<std::size_t, std::uint32_t> key_of(const peerkit::peer_connection_event& e)
    {
        return {e.index(), channel_of(e).value_or(0)};
    }
    [[nodiscard]] bool full() const
    {
        return queued_events >= max_queued_events || queued_bytes >= max_queued_bytes;
    }
    // Under the lock, after an event left the queue. Half of both limits (or nothing left
    // that could be delivered without a new handler) before the wake: one wake lets the
    // driver take a batch, not one event per handler call.
    void maybe_wake()
    {
        if (!stalled || stopped || full() || !wake_driver) return;
        const bool half = queued_events <= max_queued_events / 2 && queued_bytes <= max_queued_bytes / 2;
        if (!half && !(incoming.empty() && waiting_for_call.empty())) return;
        stalled = false;
        ++wakes;
        (void)wake_driver();  // false: the driver is closed, nothing to wake
    }
    void left_queue(std::size_t cost)
    {
        --queued_events;
        queued_bytes -= cost;
        maybe_wake();
    }
    // Would a held event with one of `keys` have to be delivered before `e`?
    template <class Contains>
    static bool held_back(const peerkit::peer_connection_event& e, Contains contains)
    {
        if (contains(key_of(e))) return true;
        const auto ch = channel_of(e);
        return ch && contains({event_kind_of<peerkit::data_channel_event>, *ch});
    }
    [[nodiscard]] const any_event_handler& taker(const peerkit::peer_connection_event& e) const
    {
        const auto& h = handlers[e.index()];
        return h ? h : catch_all;
    }
    void push(peerkit::peer_connection_event&& e)
    {
        incoming.push_back(std::move(e));
        ++enqueued;
    }
    // A pump sees the incoming events queued before it was posted, and no later ones: a
    // call's completion posted meanwhile runs before the events released after it.
    void schedule()
    {
        if (pumping || stopped) return;
        if (incoming.empty() && !(rescan && !held.empty())) return;
        pumping = true;
        boost::asio::post(user, [self = this->shared_from_this(), visible = enqueued] { self->pump(visible); });
    }
    void hold(peerkit::peer_connection_event&& e)
    {
        if (drop_unhandled) {
            ++dropped;
            left_queue(cost_of(e));
            return;
        }
        ++held_keys[key_of(e)];
        held.push_back(std::move(e));
    }
    void forget(const peerkit::peer_connection_event& e)
    {
        const auto k = held_keys.find(key_of(e));
        if (--k->second == 0) held_keys.erase(k);
    }
    // The next event to deliver and its handler, or nullopt; under the lock.
    std::optional<peerkit::peer_connection_event> next(any_event_handler& h, std::uint64_t visible)
    {
        if (rescan) {
            std::set<std::pair<std::size_t, std::uint32_t>> skipped;
            const auto contains = [&](const std::pair<std::size_t, std::uint32_t>& k) { return skipped.count(k) > 0; };
            for (auto it = held.begin(); it != held.end(); ++it) {
                if (!held_back(*it, contains) && taker(*it)) {
                    h = taker(*it);
                    forget(*it);
                    peerkit::peer_connection_event e = std::move(*it);
                    held.erase(it);
                    return e;  // rescan stays set: the next pump looks again
                }
                skipped.insert(key_of(*it));
            }
            rescan = false;
        }
        const auto contains = [&](const std::pair<std::size_t, std::uint32_t>& k) { return held_keys.count(k) > 0; };
        while (!incoming.empty() && taken < visible) {
            peerkit::peer_connection_event e = std::move(incoming.front());
            incoming.pop_front();
            ++taken;
            if (!held_back(e, contains) && taker(e)) {
                h = taker(e);
                return e;
            }
            hold(std::move(e));
        }
        return std::nullopt;
    }
    void pump(std::uint64_t visible)
    {
        const std::uint64_t completions_before = completions.load(std::memory_order_acquire);
        for (std::size_t delivered = 1;; ++delivered) {
            {
                delivery<any_event_handler> d(*this);
                std::optional<peerkit::peer_connection_event> e;
                std::size_t cost = 0;
                {
                    std::lock_guard lock(mutex);
                    any_event_handler h;
                    if (!stopped) e = next(h, visible);
                    if (!e) {
                        pumping = false;
                        schedule();  // events queued after this pump was posted
                        return;
                    }
                    cost = cost_of(*e);
                    d.enter(std::move(h));  // checked and entered under the lock stop() takes
                }
                (*d.handler)(*e);
                // The event counts until its handler has returned ("the user's handlers have
                // run"); stop() may have emptied the queue meanwhile.
                std::lock_guard lock(mutex);
                if (!stopped) left_queue(cost);
            }
            if (delivered == events_per_pump || completions.load(std::memory_order_acquire) != completions_before) break;
        }
        std::lock_guard lock(mutex);
        pumping = false;
        schedule();  // the rest in a later post: other handlers (completions) run in between
    }
};

}  // namespace peerkit::asio::detail
