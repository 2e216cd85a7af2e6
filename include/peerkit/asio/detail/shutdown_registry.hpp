// Asio's rule for pending operations, applied to the handlers peerkit stores itself.
//
// An Asio I/O object never owns its pending operations: the execution context's services do,
// and when the context shuts down (io_context or thread_pool destroyed, possibly without ever
// running the handlers again) the services destroy every pending operation without invoking
// it. That is what lets a handler capture shared_ptr<self>, or a coroutine frame hold the
// object that will resume it, without a reference cycle outliving the context.
//
// peerkit's runtime objects (signaling transports, the WebSocket server, the batched UDP
// socket, the driver) keep waiting handlers in their own members, so they must take part in
// that rule explicitly: each registers with this service of its executor's context, and the
// service's shutdown() calls on_context_shutdown(), which destroys the stored handlers (never
// invokes them). Without it, `io.stop()` followed by destroying the io_context leaks every
// object whose stored handler refers back to it (LeakSanitizer found exactly that).
#pragma once

#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace peerkit::asio::detail {

// What a registered object implements. Called once, on the thread destroying the context,
// when no thread runs the context any more (Asio's precondition for shutdown): the object may
// touch its strand-only state.
class context_shutdown_participant {
public:
    virtual void on_context_shutdown() noexcept = 0;

protected:
    ~context_shutdown_participant() = default;
};

class shutdown_registry final : public boost::asio::execution_context::service {
public:
    using key_type = shutdown_registry;
    static inline boost::asio::execution_context::id id;

    explicit shutdown_registry(boost::asio::execution_context& context) : boost::asio::execution_context::service(context) {}

    void add(std::weak_ptr<context_shutdown_participant> participant)
    {
        std::lock_guard lock(mutex_);
        if (shut_down_) return;  // too late: the caller's handlers die with the context anyway
        // Expired entries are pruned when the list has doubled since the last pruning, so it
        // stays proportional to the live objects (amortised O(1) per add).
        if (participants_.size() >= 2 * live_after_prune_ + 16) {
            std::erase_if(participants_, [](const auto& w) { return w.expired(); });
            live_after_prune_ = participants_.size();
        }
        participants_.push_back(std::move(participant));
    }

private:
    void shutdown() override
    {
        // Destroying stored handlers can destroy objects, whose destructors may register or
        // post: nothing is called under the lock, and the loop takes what arrives meanwhile.
        for (;;) {
            std::vector<std::weak_ptr<context_shutdown_participant>> batch;
            {
                std::lock_guard lock(mutex_);
                if (participants_.empty()) {
                    shut_down_ = true;
                    return;
                }
                batch.swap(participants_);
                live_after_prune_ = 0;
            }
            std::vector<std::shared_ptr<context_shutdown_participant>> alive;
            alive.reserve(batch.size());
            for (auto& w : batch)
                if (auto p = w.lock()) alive.push_back(std::move(p));
            batch.clear();
            for (auto& p : alive) p->on_context_shutdown();
            alive.clear();  // may run destructors
        }
    }

    std::mutex mutex_;
    std::vector<std::weak_ptr<context_shutdown_participant>> participants_;
    std::size_t live_after_prune_ = 0;
    bool shut_down_ = false;
};

// Registers `participant` with the shutdown_registry of the context behind `ex`.
template <class Executor>
void register_for_context_shutdown(const Executor& ex, std::weak_ptr<context_shutdown_participant> participant)
{
    boost::asio::execution_context& context = boost::asio::query(ex, boost::asio::execution::context);
    boost::asio::use_service<shutdown_registry>(context).add(std::move(participant));
}

}  // namespace peerkit::asio::detail
