#pragma once
// Shared by the tests of this directory (they compile as one unit: one definition).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace peerkit::test {

// An io_context run by one thread of its own, stopped and joined at the end of the scope.
struct io_thread {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::thread t{[this] { io.run(); }};
    io_thread() = default;
    io_thread(const io_thread&) = delete;
    io_thread& operator=(const io_thread&) = delete;
    ~io_thread()
    {
        guard.reset();
        io.stop();
        t.join();
    }
};

}  // namespace peerkit::test
