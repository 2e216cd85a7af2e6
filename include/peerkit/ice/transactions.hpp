// peerkit::ice::transaction_table: the agent's outstanding STUN transactions (connectivity
// checks, consent checks and Binding requests to STUN servers) and their retransmissions.
//
// Owns: each request's bytes, where it went, when it goes again, and how many times it went.
// RFC 8489 6.2.1: over UDP a request is retransmitted after RTO, then after an RTO doubled each
// time, until a limit; the agent caps the RTO (RFC 8445 14.3 lets ICE pace checks faster than
// plain STUN, agent_config::check_rto_max) so that no pair waits a second. A transaction that
// used all its transmissions and waited one more RTO has timed out. It does not build or send
// messages: run() says which ones go again and which timed out, and the agent acts.
// Responses are matched by transaction id (RFC 8489 6.3.3) with find() and take().
#pragma once

#include <peerkit/ice/detail/stun_glue.hpp>
#include <peerkit/ice/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

namespace peerkit::ice {

enum class transaction_kind : std::uint8_t { check, consent, gather };

struct transaction {
    detail::transaction_id id{};
    transaction_kind kind = transaction_kind::check;
    std::size_t pair = 0;       // check/consent: index into the checklist
    socket_id socket = 0;       // gather
    endpoint server{};          // gather
    std::vector<std::byte> request;
    std::size_t local = 0;      // check/consent: the local candidate it was sent from
    endpoint destination{};
    time_point next{};          // when it goes again (or times out)
    duration rto{};
    unsigned sent = 0;          // transmissions so far
    bool cancelled = false;     // RFC 8445 7.3.1.4: no more retransmits, still listened for
    bool use_candidate = false;
    ice::role sent_role = role::controlling;
    std::uint32_t priority = 0; // the PRIORITY attribute sent (for a local prflx, 7.2.5.3.1)

    [[nodiscard]] bool on_pair() const noexcept { return kind != transaction_kind::gather; }
};

// How one transaction is retransmitted (RFC 8489 6.2.1: Rc transmissions, RTO doubling).
struct retransmission_limits {
    unsigned max_transmits = 7;
    duration rto_cap = std::chrono::milliseconds(400);
};

// RFC 8489 6.2.1: the wait doubles after each transmission, up to the cap.
[[nodiscard]] constexpr duration next_rto(duration rto, duration cap) noexcept { return std::min(rto * 2, cap); }

class transaction_table {
public:
    // A request just sent for the first time: it goes again at now + rto.
    void start(time_point now, duration rto, transaction tx)
    {
        tx.rto = rto;
        tx.sent = 1;
        tx.next = now + rto;
        items_.push_back(std::move(tx));
    }

    // Every transaction due at `now` either goes again (`retransmit(const transaction&)`, after
    // its count and schedule moved on) or, when it used its transmissions or was cancelled,
    // leaves the table and is handed to `timed_out(transaction&&)`. `limits_for(const
    // transaction&)` gives each its retransmission_limits. The callbacks must not touch the table.
    template <class LimitsFor, class Retransmit, class TimedOut>
    void run(time_point now, LimitsFor&& limits_for, Retransmit&& retransmit, TimedOut&& timed_out)
    {
        for (std::size_t i = 0; i < items_.size();) {
            transaction& tx = items_[i];
            if (tx.next > now) {
                ++i;
                continue;
            }
            const retransmission_limits limits = limits_for(std::as_const(tx));
            if (!tx.cancelled && tx.sent < limits.max_transmits) {
                ++tx.sent;
                tx.rto = next_rto(tx.rto, limits.rto_cap);
                tx.next = now + tx.rto;
                retransmit(std::as_const(tx));
                ++i;
                continue;
            }
            transaction dead = std::move(tx);
            items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
            timed_out(std::move(dead));
        }
    }

    // The earliest time run() has something to do.
    [[nodiscard]] std::optional<time_point> next_deadline() const noexcept
    {
        std::optional<time_point> t;
        for (const transaction& tx : items_)
            if (!t || tx.next < *t) t = tx.next;
        return t;
    }

    [[nodiscard]] transaction* find(const detail::transaction_id& id) noexcept
    {
        auto it = std::find_if(items_.begin(), items_.end(), [&id](const transaction& t) { return t.id == id; });
        return it == items_.end() ? nullptr : &*it;
    }

    // Removes a transaction found with find() and returns it (its answer came).
    transaction take(transaction* tx)
    {
        const auto index = static_cast<std::ptrdiff_t>(tx - items_.data());
        transaction out = std::move(*tx);
        items_.erase(items_.begin() + index);
        return out;
    }

    // RFC 8445 7.3.1.4: a newer check on the pair supersedes the ones in flight: they are not
    // retransmitted and their timeouts fail nothing, but an answer to them still counts.
    void cancel_checks_on(std::size_t pair) noexcept
    {
        for (transaction& tx : items_)
            if (tx.kind == transaction_kind::check && tx.pair == pair) tx.cancelled = true;
    }
    void drop_cancelled_checks_on(std::size_t pair)
    {
        std::erase_if(items_, [pair](const transaction& t) {
            return t.kind == transaction_kind::check && t.pair == pair && t.cancelled;
        });
    }

    // The checklist removed pair `index`: its transactions go, later indices shift down.
    void forget_pair(std::size_t index)
    {
        std::erase_if(items_, [index](const transaction& t) { return t.on_pair() && t.pair == index; });
        for (transaction& t : items_)
            if (t.on_pair() && t.pair > index) --t.pair;
    }

    void erase_kind(transaction_kind kind)
    {
        std::erase_if(items_, [kind](const transaction& t) { return t.kind == kind; });
    }
    void erase_on_pairs()
    {
        std::erase_if(items_, [](const transaction& t) { return t.on_pair(); });
    }

    [[nodiscard]] std::size_t count(transaction_kind kind) const noexcept
    {
        return static_cast<std::size_t>(
            std::count_if(items_.begin(), items_.end(), [kind](const transaction& t) { return t.kind == kind; }));
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
    void clear() noexcept { items_.clear(); }

private:
    std::vector<transaction> items_;
};

}  // namespace peerkit::ice
