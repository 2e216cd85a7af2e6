// A type-erased, move-only completion handler, completed later from another
// context. Unlike asio::any_completion_handler it remembers the handler's own associated
// executor with its concrete type, so it can keep that executor's work count up while the
// operation waits and then *post* the handler to it: completion is never inline, always on
// the handler's executor (by default the I/O object's, i.e. the user's).
#pragma once

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace peerkit::asio::detail {

template <class... Args>
class posted_completion {
public:
    posted_completion() = default;

    template <class Handler, class DefaultExecutor>
    posted_completion(Handler&& handler, const DefaultExecutor& fallback)
        : impl_(std::make_unique<impl<std::decay_t<Handler>, DefaultExecutor>>(std::forward<Handler>(handler), fallback))
    {
    }

    explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

    // The handler's cancellation slot (unconnected when it has none).
    [[nodiscard]] boost::asio::cancellation_slot cancellation_slot() const noexcept
    {
        return impl_ ? impl_->slot() : boost::asio::cancellation_slot();
    }

    // Posts the handler with `values` to its executor; this object becomes empty.
    void post(Args... values)
    {
        auto p = std::move(impl_);
        p->slot().clear();
        p->post(std::tuple<Args...>(std::move(values)...));
    }

private:
    struct base {
        virtual ~base() = default;
        virtual void post(std::tuple<Args...> values) = 0;
        virtual boost::asio::cancellation_slot slot() const noexcept = 0;
    };

    template <class Handler, class DefaultExecutor>
    struct impl final : base {
        using executor = boost::asio::associated_executor_t<Handler, DefaultExecutor>;
        using work_executor = std::decay_t<decltype(boost::asio::prefer(
            std::declval<const executor&>(), boost::asio::execution::outstanding_work.tracked))>;

        impl(Handler&& h, const DefaultExecutor& fallback)
            : handler(std::move(h)),
              work(boost::asio::prefer(boost::asio::get_associated_executor(handler, fallback),
                                       boost::asio::execution::outstanding_work.tracked))
        {
        }
        void post(std::tuple<Args...> values) override
        {
            auto ex = std::move(work);
            boost::asio::post(ex, [h = std::move(handler), v = std::move(values)]() mutable {
                std::apply([&h](auto&&... a) { std::move(h)(std::move(a)...); }, std::move(v));
            });
        }
        boost::asio::cancellation_slot slot() const noexcept override
        {
            return boost::asio::get_associated_cancellation_slot(handler);
        }

        Handler handler;
        work_executor work;
    };

    std::unique_ptr<base> impl_;
};

}  // namespace peerkit::asio::detail
