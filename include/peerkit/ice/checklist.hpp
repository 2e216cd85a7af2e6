// peerkit::ice::checklist: the candidate pairs of one ICE session and the order they are
// checked in (RFC 8445 6.1.2 and 6.1.4).
//
// Owns: the pairs (their state, priority, validity and nomination flags), the triggered-check
// queue (RFC 8445 7.3.1.4), and the choices the RFC makes from them:
//   initial_state      6.1.2.6 with RFC 8838 10: a new pair is Waiting when nothing of its
//                      foundation is Waiting or In-Progress, or when its foundation succeeded
//   lowest_prunable    6.1.2.5: the pair that may make room when the list is full
//   next_ordinary      6.1.4.2: the best Waiting pair, else unfreeze the best Frozen one whose
//                      foundation is idle, else the best Frozen one
//   next_triggered     6.1.4.2: the triggered queue comes first
// Pairs are named by index; remove() shifts the later ones down and says so by fixing the
// indices it holds (valid_pair, the triggered queue); the agent fixes its own. Candidates
// live in the agent: a pair holds indices into its local and remote lists.
#pragma once

#include <peerkit/ice/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace peerkit::ice {

// RFC 8445 7.2.5.2: the ways a check fails.
enum class pair_failure : std::uint8_t { none, timeout, error_response, non_symmetric };

struct candidate_pair {
    std::size_t local = 0;            // index of the agent's local candidate
    std::size_t remote = 0;           // index of the agent's remote candidate
    std::uint64_t priority = 0;       // RFC 8445 6.1.2.3
    pair_state state = pair_state::frozen;
    bool valid = false;               // RFC 8445 7.2.5.3.2: in the valid list
    bool nominated = false;
    bool nominate_on_success = false; // RFC 8445 7.3.1.5: USE-CANDIDATE before our check won
    bool use_candidate = false;       // controlling: our next check nominates (8.1.1)
    bool triggered = false;           // in the triggered-check queue
    pair_failure failure = pair_failure::none;  // why it is Failed, for logs and the failure reason
    std::optional<std::size_t> valid_pair;  // the valid pair this pair's check produced
    time_point last_sent{};
    std::string foundation;           // local foundation + ':' + remote foundation
};

class checklist {
public:
    using iterator = std::vector<candidate_pair>::iterator;
    using const_iterator = std::vector<candidate_pair>::const_iterator;

    [[nodiscard]] std::size_t size() const noexcept { return pairs_.size(); }
    [[nodiscard]] bool empty() const noexcept { return pairs_.empty(); }
    [[nodiscard]] candidate_pair& operator[](std::size_t i) noexcept { return pairs_[i]; }
    [[nodiscard]] const candidate_pair& operator[](std::size_t i) const noexcept { return pairs_[i]; }
    [[nodiscard]] candidate_pair& back() noexcept { return pairs_.back(); }
    iterator begin() noexcept { return pairs_.begin(); }
    iterator end() noexcept { return pairs_.end(); }
    const_iterator begin() const noexcept { return pairs_.begin(); }
    const_iterator end() const noexcept { return pairs_.end(); }

    std::size_t add(candidate_pair p)
    {
        pairs_.push_back(std::move(p));
        return pairs_.size() - 1;
    }

    void clear() noexcept
    {
        pairs_.clear();
        triggered_.clear();
    }

    [[nodiscard]] std::optional<std::size_t> find(std::size_t local, std::size_t remote) const noexcept
    {
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].local == local && pairs_[i].remote == remote) return i;
        return std::nullopt;
    }

    // The highest-priority pair in state `s`.
    [[nodiscard]] std::optional<std::size_t> best_in(pair_state s) const noexcept
    {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].state == s && (!best || pairs_[i].priority > pairs_[*best].priority)) best = i;
        return best;
    }

    [[nodiscard]] std::optional<std::size_t> best_valid() const noexcept
    {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].valid && (!best || pairs_[i].priority > pairs_[*best].priority)) best = i;
        return best;
    }

    // RFC 8445 8.1.1 / 12.1: the highest-priority nominated valid pair.
    [[nodiscard]] std::optional<std::size_t> best_nominated() const noexcept
    {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < pairs_.size(); ++i)
            if (pairs_[i].nominated && pairs_[i].valid && (!best || pairs_[i].priority > pairs_[*best].priority))
                best = i;
        return best;
    }

    [[nodiscard]] bool any_nominated() const noexcept
    {
        return std::any_of(pairs_.begin(), pairs_.end(), [](const candidate_pair& p) { return p.nominated; });
    }

    // A pair of this foundation is Waiting or In-Progress.
    [[nodiscard]] bool foundation_active(const std::string& foundation) const noexcept
    {
        for (const candidate_pair& p : pairs_)
            if (p.foundation == foundation &&
                (p.state == pair_state::waiting || p.state == pair_state::in_progress))
                return true;
        return false;
    }

    // RFC 8445 6.1.2.6 with RFC 8838 10, for a pair about to be added.
    [[nodiscard]] pair_state initial_state(const std::string& foundation) const noexcept
    {
        bool busy = false, succeeded = false;
        for (const candidate_pair& q : pairs_) {
            if (q.foundation != foundation) continue;
            if (q.state == pair_state::waiting || q.state == pair_state::in_progress) busy = true;
            if (q.state == pair_state::succeeded) succeeded = true;
        }
        return (!busy || succeeded) ? pair_state::waiting : pair_state::frozen;
    }

    // RFC 8445 6.1.2.5: when the list is full, only a Frozen or Waiting pair that nothing
    // depends on (not triggered, not valid, not selected) can make room: the lowest of them.
    [[nodiscard]] std::optional<std::size_t> lowest_prunable(std::optional<std::size_t> selected) const noexcept
    {
        std::optional<std::size_t> lowest;
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            const candidate_pair& q = pairs_[i];
            if ((q.state != pair_state::frozen && q.state != pair_state::waiting) || q.triggered || q.valid ||
                selected == i)
                continue;
            if (!lowest || q.priority < pairs_[*lowest].priority) lowest = i;
        }
        return lowest;
    }

    // RFC 8445 6.1.4.2, an ordinary check: the best Waiting pair, else the best Frozen pair
    // whose foundation has nothing Waiting or In-Progress, else the best Frozen pair.
    [[nodiscard]] std::optional<std::size_t> next_ordinary() const
    {
        if (auto waiting = best_in(pair_state::waiting)) return waiting;
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            if (pairs_[i].state != pair_state::frozen) continue;
            if (foundation_active(pairs_[i].foundation)) continue;
            if (!best || pairs_[i].priority > pairs_[*best].priority) best = i;
        }
        return best ? best : best_in(pair_state::frozen);
    }

    // Removes pair `index`; later indices shift down by one.
    void remove(std::size_t index)
    {
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(index));
        for (candidate_pair& p : pairs_)
            if (p.valid_pair) {
                if (*p.valid_pair == index) p.valid_pair.reset();
                else if (*p.valid_pair > index) --*p.valid_pair;
            }
        triggered_.erase(std::remove(triggered_.begin(), triggered_.end(), index), triggered_.end());
        for (std::size_t& t : triggered_)
            if (t > index) --t;
    }

    // ---- the triggered-check queue (RFC 8445 7.3.1.4) ----------------------------------------
    // Queues a pair once; false when `max` are queued already.
    bool enqueue_triggered(std::size_t index, std::size_t max)
    {
        candidate_pair& p = pairs_[index];
        if (p.triggered) return true;
        if (triggered_.size() >= max) return false;
        p.triggered = true;
        triggered_.push_back(index);
        return true;
    }

    // The next queued pair that is still Waiting (one answered meanwhile is skipped).
    std::optional<std::size_t> next_triggered()
    {
        while (!triggered_.empty()) {
            const std::size_t i = triggered_.front();
            triggered_.pop_front();
            pairs_[i].triggered = false;
            if (pairs_[i].state == pair_state::waiting) return i;
        }
        return std::nullopt;
    }

    [[nodiscard]] bool has_triggered() const noexcept { return !triggered_.empty(); }

    void clear_triggered() noexcept
    {
        triggered_.clear();
        for (candidate_pair& p : pairs_) p.triggered = false;
    }

private:
    std::vector<candidate_pair> pairs_;
    std::deque<std::size_t> triggered_;
};

}  // namespace peerkit::ice
