// Raw loopback UDP throughput of 1200-byte datagrams (the size a WebRTC data channel uses),
// sender in the benchmark thread, receiver in its own thread:
//   plain    sendto / recv, one system call per datagram
//   mmsg     sendmmsg / recvmmsg, 32 datagrams per call
//   gso      sendmsg with UDP_SEGMENT (64 segments per call) / recvmmsg with UDP_GRO
//   peerkit  peerkit::asio::udp_socket (queue + sendmmsg + GSO) / recvmmsg with UDP_GRO
// Counters: sent and received bytes per second; UDP may drop at the receiver, so "recv" is the
// number that matters. Results go into docs/performance.md (## UDP runtime).
// GCC 12 reports -Wnull-dereference inside Boost.Asio (io_context executors, shared_ptr) after
// inlining: false positives in system headers, silenced for this translation unit only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <peerkit/asio/udp_socket.hpp>

#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t datagram = 1200;

int udp_socket_fd(int rcvbuf, bool gro)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (gro) {
        const int on = 1;
        ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
    }
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

sockaddr_in address_of(int fd)
{
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    return a;
}

// Receives until told to stop; counts bytes (with GRO a buffer holds many datagrams).
struct receiver {
    int fd;
    bool batched;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> bytes{0};
    std::thread thread;

    receiver(int socket_fd, bool use_recvmmsg) : fd(socket_fd), batched(use_recvmmsg)
    {
        thread = std::thread([this] { run(); });
    }
    ~receiver()
    {
        stop = true;
        thread.join();
        ::close(fd);
    }
    void run()
    {
        constexpr std::size_t slots = 32, slot = 65536;
        std::vector<char> storage(slots * slot);
        std::array<mmsghdr, slots> msgs{};
        std::array<iovec, slots> iovs{};
        while (!stop.load(std::memory_order_relaxed)) {
            if (!batched) {
                const auto n = ::recv(fd, storage.data(), slot, 0);
                if (n > 0) bytes.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
                continue;
            }
            for (std::size_t i = 0; i < slots; ++i) {
                iovs[i] = {storage.data() + i * slot, slot};
                msgs[i].msg_hdr = msghdr{};
                msgs[i].msg_hdr.msg_iov = &iovs[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            const int n = ::recvmmsg(fd, msgs.data(), slots, MSG_WAITFORONE, nullptr);
            std::uint64_t total = 0;
            for (int i = 0; i < n; ++i) total += msgs[static_cast<std::size_t>(i)].msg_len;
            bytes.fetch_add(total, std::memory_order_relaxed);
        }
    }
};

void report(benchmark::State& state, std::uint64_t sent, std::uint64_t received)
{
    state.counters["sent_MBps"] = benchmark::Counter(static_cast<double>(sent) / 1e6, benchmark::Counter::kIsRate);
    state.counters["recv_MBps"] = benchmark::Counter(static_cast<double>(received) / 1e6, benchmark::Counter::kIsRate);
    state.counters["loss_pct"] = sent == 0 ? 0.0 : 100.0 * (1.0 - static_cast<double>(received) / static_cast<double>(sent));
}

void BM_plain_sendto_recv(benchmark::State& state)
{
    receiver rx(udp_socket_fd(4 << 20, false), false);
    const sockaddr_in to = address_of(rx.fd);
    const int tx = udp_socket_fd(0, false);
    std::vector<char> payload(datagram, 'x');
    std::uint64_t sent = 0;
    for (auto _ : state) {
        for (int i = 0; i < 64; ++i)
            if (::sendto(tx, payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) > 0)
                sent += datagram;
    }
    const auto received = rx.bytes.load();
    ::close(tx);
    report(state, sent, received);
}

void BM_sendmmsg_recvmmsg(benchmark::State& state)
{
    receiver rx(udp_socket_fd(4 << 20, false), true);
    sockaddr_in to = address_of(rx.fd);
    const int tx = udp_socket_fd(0, false);
    std::vector<char> payload(datagram, 'x');
    std::array<mmsghdr, 32> msgs{};
    std::array<iovec, 32> iovs{};
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        iovs[i] = {payload.data(), payload.size()};
        msgs[i].msg_hdr.msg_name = &to;
        msgs[i].msg_hdr.msg_namelen = sizeof to;
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    std::uint64_t sent = 0;
    for (auto _ : state) {
        for (int k = 0; k < 2; ++k) {
            const int n = ::sendmmsg(tx, msgs.data(), static_cast<unsigned>(msgs.size()), 0);
            if (n > 0) sent += static_cast<std::uint64_t>(n) * datagram;
        }
    }
    const auto received = rx.bytes.load();
    ::close(tx);
    report(state, sent, received);
}

void BM_gso_sendmsg_gro(benchmark::State& state)
{
    receiver rx(udp_socket_fd(4 << 20, true), true);
    sockaddr_in to = address_of(rx.fd);
    const int tx = udp_socket_fd(0, false);
    constexpr std::size_t segments = 32;  // 38,400 bytes per super-datagram
    std::vector<char> payload(datagram * segments, 'x');
    iovec iov{payload.data(), payload.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
    msghdr msg{};
    msg.msg_name = &to;
    msg.msg_namelen = sizeof to;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const std::uint16_t seg = datagram;
    std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
    std::uint64_t sent = 0;
    for (auto _ : state) {
        for (int k = 0; k < 2; ++k)
            if (::sendmsg(tx, &msg, 0) > 0) sent += payload.size();
    }
    const auto received = rx.bytes.load();
    ::close(tx);
    report(state, sent, received);
}

void peerkit_socket(benchmark::State& state, bool gso)
{
    receiver rx(udp_socket_fd(4 << 20, true), true);
    const sockaddr_in to_raw = address_of(rx.fd);
    const boost::asio::ip::udp::endpoint to(boost::asio::ip::address_v4::loopback(), ntohs(to_raw.sin_port));
    boost::asio::io_context io;
    peerkit::asio::udp_socket_config config;
    config.enable_gso = gso;
    auto tx = peerkit::asio::basic_udp_socket<boost::asio::io_context::executor_type>::bind(
        io.get_executor(), {boost::asio::ip::address_v4::loopback(), 0}, config);
    if (!tx) {
        state.SkipWithError("bind failed");
        return;
    }
    std::vector<std::byte> payload(datagram, std::byte{'x'});
    for (auto _ : state) {
        for (int i = 0; i < 64; ++i) (void)tx->send(to, payload);
        tx->flush();
        io.poll();  // waits for writability if the kernel pushed back
        io.restart();
    }
    const auto received = rx.bytes.load();
    report(state, tx->stats().bytes_sent, received);
    state.counters["syscalls_per_datagram"] =
        static_cast<double>(tx->stats().send_calls) / static_cast<double>(std::max<std::uint64_t>(1, tx->stats().datagrams_sent));
}

void BM_peerkit_udp_socket_gso(benchmark::State& state) { peerkit_socket(state, true); }
void BM_peerkit_udp_socket_no_gso(benchmark::State& state) { peerkit_socket(state, false); }

}  // namespace

BENCHMARK(BM_plain_sendto_recv)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_sendmmsg_recvmmsg)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_gso_sendmsg_gro)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_peerkit_udp_socket_no_gso)->UseRealTime()->MinTime(1.0);
BENCHMARK(BM_peerkit_udp_socket_gso)->UseRealTime()->MinTime(1.0);

BENCHMARK_MAIN();
