// A batched UDP socket for the runtime: recvmmsg/sendmmsg, UDP GSO (UDP_SEGMENT) when the
// kernel has it with a clean fallback when it refuses, optional UDP GRO, and receive that
// knows the local address each datagram was sent to (IP_PKTINFO / IPV6_RECVPKTINFO).
//
//   auto s = peerkit::asio::udp_socket::bind(ex, {address_v4::loopback(), 0});
//   s->send(to, bytes);                       // queued; many may be outstanding
//   s->async_send(to, bytes, token);          // same, completes when the kernel took it
//   s->async_receive(token);                  // void(error_code, span<const received_datagram>)
//
// Queued sends go to the kernel together once the current handler returns (or at flush()),
// so a burst of send() calls becomes a few sendmmsg calls, and runs of equal-sized datagrams to
// one destination become GSO super-datagrams. Completion handlers run on their associated
// executor (by default the socket's), never inside the initiating call.
//
// Like an Asio socket, one socket is used from one thread at a time: give it a strand when
// the executor is multi-threaded.
#pragma once

#include <peerkit/asio/detail/completion.hpp>
#include <peerkit/asio/detail/shutdown_registry.hpp>
#include <peerkit/bytes.hpp>
#include <peerkit/error.hpp>
#include <peerkit/log.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/basic_datagram_socket.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace peerkit::asio {

struct udp_socket_config {
    std::size_t batch_size = 32;          // messages per recvmmsg / sendmmsg call
    std::size_t max_datagram_size = 2048; // receive slot size without GRO; longer datagrams are dropped (counted)
    std::size_t max_send_queue = 8192;    // datagrams queued and not yet taken by the kernel
    bool enable_gso = true;               // coalesce equal-sized datagrams to one peer (UDP_SEGMENT) if supported
    std::size_t max_gso_segments = 64;    // datagrams per GSO super-datagram (kernel limit 64 or 128)
    bool enable_gro = false;              // let the kernel coalesce received datagrams (UDP_GRO); slots become 64 KiB
    int receive_buffer_size = 0;          // SO_RCVBUF when non-zero
    int send_buffer_size = 0;             // SO_SNDBUF when non-zero
    bool v6_only = true;                  // IPV6_V6ONLY for IPv6 sockets
    // Component `runtime`: the buffer sizes the kernel granted (info), send errors with the
    // destination and truncated datagrams (debug). Off by default.
    log::logger logger{};
};

// One datagram of a received batch. `payload` points into the socket's receive buffers and is
// valid until the next async_receive on that socket (or its close).
struct received_datagram {
    boost::asio::ip::udp::endpoint source;  // the sender
    boost::asio::ip::udp::endpoint local;   // the address it was sent to (IP_PKTINFO) and our port
    unsigned interface_index = 0;           // the interface it arrived on, 0 if unknown
    bytes_view payload;
};

struct udp_socket_stats {
    std::uint64_t datagrams_sent = 0, bytes_sent = 0, send_calls = 0, gso_super_datagrams = 0;
    std::uint64_t gso_fallbacks = 0, send_errors = 0, would_block = 0;
    std::uint64_t datagrams_received = 0, bytes_received = 0, receive_calls = 0, truncated = 0;
    std::uint64_t gro_super_datagrams = 0;  // received buffers that held several coalesced datagrams
};

namespace detail {

// "address:port" ("[v6]:port") for log lines; only built when the line is enabled.
inline std::string endpoint_text(const boost::asio::ip::udp::endpoint& e)
{
    const auto a = e.address().to_string();
    return (e.address().is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(e.port());
}

// Kernel facts, probed once per socket: does this socket take UDP_SEGMENT?
inline bool probe_gso(int fd) noexcept
{
#ifdef UDP_SEGMENT
    int value = 0;
    socklen_t size = sizeof value;
    return ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &size) == 0;
#else
    (void)fd;
    return false;
#endif
}

// The GSO errors after which the socket stops trying GSO and resends the datagrams singly:
// EIO (no checksum offload), EINVAL (SO_NO_CHECK, segment larger than the route MTU), and the
// kernel not knowing the option at all.
inline bool is_gso_refusal(int error) noexcept
{
    return error == EIO || error == EINVAL || error == ENOPROTOOPT || error == EOPNOTSUPP || error == ENOTSUP;
}

template <class Executor>
class udp_socket_impl final : public std::enable_shared_from_this<udp_socket_impl<Executor>>,
                              public context_shutdown_participant {
public:
    using socket_type = boost::asio::basic_datagram_socket<boost::asio::ip::udp, Executor>;
    using udp = boost::asio::ip::udp;
    using receive_completion = posted_completion<boost::system::error_code, std::span<const received_datagram>>;
    using send_completion = posted_completion<boost::system::error_code>;

    udp_socket_impl(const Executor& ex, const udp_socket_config& config) : executor_(ex), socket_(ex), config_(config)
    {
        config_.batch_size = std::clamp<std::size_t>(config_.batch_size, 1, 1024);
        config_.max_gso_segments = std::clamp<std::size_t>(config_.max_gso_segments, 1, 64);
    }

    result<void> open(const udp::endpoint& local)
    {
        boost::system::error_code ec;
        socket_.open(local.protocol(), ec);
        if (ec) return make_error(std::error_code(ec), "udp socket: open: ", ec.message());
        const int fd = socket_.native_handle();
        const int on = 1;
        if (local.address().is_v6()) {
            const int v6only = config_.v6_only ? 1 : 0;
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
            if (!config_.v6_only) ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
        } else {
            ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
        }
        if (config_.receive_buffer_size > 0)
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &config_.receive_buffer_size, sizeof(int));
        if (config_.send_buffer_size > 0)
            ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &config_.send_buffer_size, sizeof(int));
        gso_ = config_.enable_gso && probe_gso(fd);
#ifdef UDP_GRO
        gro_ = config_.enable_gro && ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
#endif
        socket_.non_blocking(true, ec);
        if (!ec) socket_.bind(local, ec);
        if (ec) {
            const auto text = local.address().to_string();
            auto e = make_error(std::error_code(ec), "udp socket: bind ", text, ":", local.port(), ": ", ec.message());
            socket_.close(ec);
            return e;
        }
        local_ = socket_.local_endpoint(ec);
        log_buffer_sizes(fd);
        setup_receive_buffers();
        register_for_context_shutdown(executor_, this->weak_from_this());
        return {};
    }

    [[nodiscard]] const Executor& get_executor() const noexcept { return executor_; }
    [[nodiscard]] const udp::endpoint& local_endpoint() const noexcept { return local_; }
    [[nodiscard]] bool gso_enabled() const noexcept { return gso_; }
    [[nodiscard]] bool gro_enabled() const noexcept { return gro_; }
    [[nodiscard]] const udp_socket_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t queued_sends() const noexcept { return queue_.size(); }
    [[nodiscard]] int native_handle() { return socket_.native_handle(); }
    [[nodiscard]] bool is_open() const noexcept { return !closed_; }

    // Queues a copy; `handler` is taken only on success.
    result<void> enqueue(const udp::endpoint& to, bytes_view payload, const std::optional<boost::asio::ip::address>& from,
                         send_completion&& handler)
    {
        if (auto room = check_room(); !room) return room;
        pending_send p;
        p.to = to;
        p.from = from;
        if (!pool_.empty()) {
            p.data = std::move(pool_.back());
            pool_.pop_back();
        }
        p.data.assign(payload.begin(), payload.end());
        p.pooled = true;
        p.handler = std::move(handler);
        queue_.push_back(std::move(p));
        schedule_flush();
        return {};
    }
    // Queues `payload` itself (no copy: a datagram the machine built in a buffer of its own,
    // issue 15). The buffer is freed once sent rather than kept in the pool, which only holds
    // buffers that copies reuse.
    result<void> enqueue(const udp::endpoint& to, std::vector<std::byte>&& payload,
                         const std::optional<boost::asio::ip::address>& from, send_completion&& handler)
    {
        if (auto room = check_room(); !room) return room;
        pending_send p;
        p.to = to;
        p.from = from;
        p.data = std::move(payload);
        p.handler = std::move(handler);
        queue_.push_back(std::move(p));
        schedule_flush();
        return {};
    }
    result<void> check_room() const
    {
        if (closed_) return make_error(std::error_code(boost::system::error_code(boost::asio::error::bad_descriptor)), "udp socket: send on a closed socket");
        if (queue_.size() >= config_.max_send_queue)
            return make_error(std::error_code(boost::system::error_code(boost::asio::error::no_buffer_space)), "udp socket: max_send_queue (",
                              config_.max_send_queue, ") datagrams are already queued");
        return {};
    }

    // Hands queued datagrams to the kernel until the queue is empty or the kernel says "later".
    void flush()
    {
        flush_scheduled_ = false;
        if (closed_ || waiting_writable_) return;
        while (!queue_.empty()) {
            const std::size_t messages = build_send_batch();
            const int sent = ::sendmmsg(socket_.native_handle(), send_msgs_.data(), static_cast<unsigned>(messages), MSG_DONTWAIT);
            ++stats_.send_calls;
            if (sent < 0) {
                const int e = errno;
                if (e == EINTR) continue;
                if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
                    ++stats_.would_block;
                    wait_writable();
                    return;
                }
                if (msg_datagrams_[0] > 1 && is_gso_refusal(e)) {
                    // RFC-free kernel fact: GSO needs checksum offload and no SO_NO_CHECK; when the
                    // kernel refuses, send the same datagrams one by one from now on.
                    gso_ = false;
                    ++stats_.gso_fallbacks;
                    continue;
                }
                ++stats_.send_errors;
                // EMSGSIZE, ENETUNREACH, EHOSTUNREACH, EPERM (a firewall), ...: the datagram(s)
                // of this message are dropped; the queue goes on.
                PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "udp socket ",
                               endpoint_text(local_), ": send to ", endpoint_text(queue_.front().to), " failed (",
                               std::error_code(e, std::system_category()), "), ", msg_datagrams_[0], " datagram(s) dropped");
                finish_front(msg_datagrams_[0], boost::system::error_code(e, boost::system::system_category()));
                continue;
            }
            std::size_t datagrams = 0;
            for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i) {
                datagrams += msg_datagrams_[i];
                if (msg_datagrams_[i] > 1) ++stats_.gso_super_datagrams;
            }
            finish_front(datagrams, {});
        }
    }

    void start_receive(receive_completion handler)
    {
        if (receive_) {
            handler.post(boost::asio::error::in_progress, {});
            return;
        }
        if (closed_) {
            handler.post(boost::asio::error::bad_descriptor, {});
            return;
        }
        receive_ = std::move(handler);
        auto slot = receive_.cancellation_slot();
        if (slot.is_connected()) {
            slot.assign([weak = this->weak_from_this()](boost::asio::cancellation_type) {
                if (auto self = weak.lock()) self->cancel_receive();
            });
        }
        try_receive();
    }

    // The context is going away: destroy the stored handlers unrun, as Asio does with its own
    // pending operations (see shutdown_registry.hpp).
    void on_context_shutdown() noexcept override
    {
        closed_ = true;
        receive_ = receive_completion();
        queue_.clear();
    }

    void close()
    {
        if (closed_) return;
        closed_ = true;
        boost::system::error_code ignored;
        socket_.close(ignored);  // aborts the waits; their handlers finish the operations
        while (!queue_.empty()) finish_front(1, boost::asio::error::operation_aborted);
        if (receive_ && !waiting_readable_) receive_.post(boost::asio::error::operation_aborted, {});
    }

private:
    struct pending_send {
        udp::endpoint to;
        std::optional<boost::asio::ip::address> from;
        std::vector<std::byte> data;
        bool pooled = false;  // taken from pool_ (a copy was made into it): goes back there
        send_completion handler;
    };
    struct alignas(cmsghdr) control_buffer {
        unsigned char bytes[128];
    };

    void schedule_flush()
    {
        if (flush_scheduled_ || waiting_writable_) return;
        flush_scheduled_ = true;
        boost::asio::post(executor_, [self = this->shared_from_this()] { self->flush(); });
    }

    void wait_writable()
    {
        waiting_writable_ = true;
        socket_.async_wait(socket_type::wait_write, [self = this->shared_from_this()](const boost::system::error_code& ec) {
            self->waiting_writable_ = false;
            if (self->closed_) return;
            (void)ec;  // a cancelled wait (receive cancellation) just tries again
            self->flush();
        });
    }

    void finish_front(std::size_t count, const boost::system::error_code& ec)
    {
        for (std::size_t i = 0; i < count && !queue_.empty(); ++i) {
            pending_send& p = queue_.front();
            if (!ec) {
                ++stats_.datagrams_sent;
                stats_.bytes_sent += p.data.size();
            }
            if (p.handler) p.handler.post(ec);
            if (p.pooled && pool_.size() < 256) {
                p.data.clear();
                pool_.push_back(std::move(p.data));
            }
            queue_.pop_front();
        }
    }

    static void put_sockaddr(const udp::endpoint& ep, sockaddr_storage& out, socklen_t& size) noexcept
    {
        std::memset(&out, 0, sizeof out);
        std::memcpy(&out, ep.data(), ep.size());
        size = static_cast<socklen_t>(ep.size());
    }

    // Fills send_msgs_ from the queue front; returns the number of messages.
    std::size_t build_send_batch()
    {
        const std::size_t max_msgs = config_.batch_size;
        std::size_t msgs = 0;
        std::size_t index = 0;
        std::size_t iov_used = 0;
        while (msgs < max_msgs && index < queue_.size()) {
            const pending_send& first = queue_[index];
            const std::size_t segment = first.data.size();
            std::size_t count = 1;
            std::size_t total = segment;
            if (gso_ && segment > 0) {
                // RFC-free kernel rule (udp_send_skb): every segment has gso_size bytes except a
                // shorter last one; the whole must fit one IP datagram.
                while (index + count < queue_.size() && count < config_.max_gso_segments) {
                    const pending_send& next = queue_[index + count];
                    if (next.to != first.to || next.from != first.from || next.data.size() > segment ||
                        next.data.empty() || total + next.data.size() > 65000)
                        break;
                    total += next.data.size();
                    ++count;
                    if (next.data.size() < segment) break;
                }
            }
            mmsghdr& m = send_msgs_[msgs];
            std::memset(&m, 0, sizeof m);
            put_sockaddr(first.to, send_names_[msgs], m.msg_hdr.msg_namelen);
            m.msg_hdr.msg_name = &send_names_[msgs];
            for (std::size_t k = 0; k < count; ++k) {
                auto& d = queue_[index + k].data;
                send_iovs_[iov_used + k].iov_base = d.data();
                send_iovs_[iov_used + k].iov_len = d.size();
            }
            m.msg_hdr.msg_iov = &send_iovs_[iov_used];
            m.msg_hdr.msg_iovlen = count;
            std::size_t control = 0;
            unsigned char* cbuf = send_control_[msgs].bytes;
            if (count > 1) {
#ifdef UDP_SEGMENT
                control += add_cmsg(cbuf + control, SOL_UDP, UDP_SEGMENT, static_cast<std::uint16_t>(segment));
#endif
            }
            if (first.from) {
                if (first.from->is_v4()) {
                    in_pktinfo info{};
                    const auto bytes = first.from->to_v4().to_bytes();
                    std::memcpy(&info.ipi_spec_dst, bytes.data(), bytes.size());
                    control += add_cmsg(cbuf + control, IPPROTO_IP, IP_PKTINFO, info);
                } else {
                    in6_pktinfo info{};
                    const auto v6 = first.from->to_v6();
                    const auto bytes = v6.to_bytes();
                    std::memcpy(&info.ipi6_addr, bytes.data(), bytes.size());
                    info.ipi6_ifindex = static_cast<unsigned>(v6.scope_id());
                    control += add_cmsg(cbuf + control, IPPROTO_IPV6, IPV6_PKTINFO, info);
                }
            }
            if (control != 0) {
                m.msg_hdr.msg_control = cbuf;
                m.msg_hdr.msg_controllen = control;
            }
            msg_datagrams_[msgs] = count;
            iov_used += count;
            index += count;
            ++msgs;
        }
        return msgs;
    }

    // Writes one control message at `at` (aligned); returns the space it takes.
    template <class T>
    static std::size_t add_cmsg(unsigned char* at, int level, int type, const T& value) noexcept
    {
        cmsghdr header{};
        header.cmsg_level = level;
        header.cmsg_type = type;
        header.cmsg_len = CMSG_LEN(sizeof(T));
        std::memcpy(at, &header, sizeof header);
        std::memcpy(at + (CMSG_LEN(0)), &value, sizeof(T));
        return CMSG_SPACE(sizeof(T));
    }

    // What the kernel granted: it caps SO_RCVBUF / SO_SNDBUF at net.core.rmem_max / wmem_max
    // without an error, and reports twice the usable size (socket(7): the doubling is its
    // bookkeeping overhead).
    void log_buffer_sizes(int fd) const
    {
        if (!config_.logger.enabled(log::component::runtime, log::level::info)) return;
        int receive = 0, send = 0;
        socklen_t size = sizeof receive;
        ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive, &size);
        size = sizeof send;
        ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send, &size);
        PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::info, "udp socket ", endpoint_text(local_),
                       ": SO_RCVBUF ", receive, " (asked ", config_.receive_buffer_size, "), SO_SNDBUF ", send, " (asked ",
                       config_.send_buffer_size, "; 0: the kernel's default)");
    }

    void setup_receive_buffers()
    {
        const std::size_t slots = config_.batch_size;
        slot_size_ = gro_ ? 65536 : std::max<std::size_t>(config_.max_datagram_size, 64);
        recv_storage_.assign(slots * slot_size_, std::byte{0});
        recv_msgs_.assign(slots, mmsghdr{});
        recv_iovs_.assign(slots, iovec{});
        recv_names_.assign(slots, sockaddr_storage{});
        recv_control_.assign(slots, control_buffer{});
        send_msgs_.assign(config_.batch_size, mmsghdr{});
        send_names_.assign(config_.batch_size, sockaddr_storage{});
        send_control_.assign(config_.batch_size, control_buffer{});
        send_iovs_.assign(config_.batch_size * config_.max_gso_segments, iovec{});
        msg_datagrams_.assign(config_.batch_size, 0);
        datagrams_.reserve(slots);
    }

    void prepare_receive_msgs()
    {
        for (std::size_t i = 0; i < recv_msgs_.size(); ++i) {
            recv_iovs_[i].iov_base = recv_storage_.data() + i * slot_size_;
            recv_iovs_[i].iov_len = slot_size_;
            msghdr& h = recv_msgs_[i].msg_hdr;
            h = msghdr{};
            h.msg_name = &recv_names_[i];
            h.msg_namelen = sizeof(sockaddr_storage);
            h.msg_iov = &recv_iovs_[i];
            h.msg_iovlen = 1;
            h.msg_control = recv_control_[i].bytes;
            h.msg_controllen = sizeof(control_buffer);
            recv_msgs_[i].msg_len = 0;
        }
    }

    void try_receive()
    {
        for (;;) {
            prepare_receive_msgs();
            const int got = ::recvmmsg(socket_.native_handle(), recv_msgs_.data(), static_cast<unsigned>(recv_msgs_.size()),
                                       MSG_DONTWAIT, nullptr);
            ++stats_.receive_calls;
            if (got < 0) {
                const int e = errno;
                if (e == EINTR) continue;
                if (e == EAGAIN || e == EWOULDBLOCK) {
                    wait_readable();
                    return;
                }
                receive_.post(boost::system::error_code(e, boost::system::system_category()), {});
                return;
            }
            collect(static_cast<std::size_t>(got));
            if (datagrams_.empty()) continue;  // only truncated datagrams: read on
            receive_.post({}, std::span<const received_datagram>(datagrams_));
            return;
        }
    }

    void wait_readable()
    {
        waiting_readable_ = true;
        socket_.async_wait(socket_type::wait_read, [self = this->shared_from_this()](const boost::system::error_code& ec) {
            self->waiting_readable_ = false;
            if (!self->receive_) return;
            if (ec || self->closed_) {
                self->receive_.post(ec ? ec : boost::asio::error::operation_aborted, {});
                return;
            }
            if (self->cancel_requested_) {
                self->cancel_requested_ = false;
                self->receive_.post(boost::asio::error::operation_aborted, {});
                return;
            }
            self->try_receive();
        });
    }

    void cancel_receive()
    {
        if (!receive_ || !waiting_readable_) return;
        cancel_requested_ = true;
        boost::system::error_code ignored;
        socket_.cancel(ignored);  // a write wait, if any, simply retries
    }

    void collect(std::size_t count)
    {
        datagrams_.clear();
        for (std::size_t i = 0; i < count; ++i) {
            const mmsghdr& m = recv_msgs_[i];
            if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
                ++stats_.truncated;
                PEERKIT_LOG_AT(config_.logger, log::component::runtime, log::level::debug, "udp socket ", endpoint_text(local_),
                               ": dropped a datagram from ", endpoint_text(to_endpoint(recv_names_[i])),
                               " longer than max_datagram_size ", slot_size_);
                continue;
            }
            received_datagram d;
            d.source = to_endpoint(recv_names_[i]);
            d.local = local_;
            std::size_t segment = 0;
            for (cmsghdr* c = CMSG_FIRSTHDR(&recv_msgs_[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&recv_msgs_[i].msg_hdr, c)) {
                const unsigned char* data = CMSG_DATA(c);
                if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                    in_pktinfo info;
                    std::memcpy(&info, data, sizeof info);
                    boost::asio::ip::address_v4::bytes_type b;
                    std::memcpy(b.data(), &info.ipi_addr, b.size());
                    const boost::asio::ip::address_v4 v4(b);
                    d.local.address(local_.address().is_v6() ? boost::asio::ip::address(boost::asio::ip::make_address_v6(
                                                                    boost::asio::ip::v4_mapped, v4))
                                                              : boost::asio::ip::address(v4));
                    d.interface_index = static_cast<unsigned>(info.ipi_ifindex);
                } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                    in6_pktinfo info;
                    std::memcpy(&info, data, sizeof info);
                    boost::asio::ip::address_v6::bytes_type b;
                    std::memcpy(b.data(), &info.ipi6_addr, b.size());
                    d.local.address(boost::asio::ip::address_v6(b, info.ipi6_ifindex));
                    d.interface_index = info.ipi6_ifindex;
                }
#ifdef UDP_GRO
                else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                    int size = 0;
                    std::memcpy(&size, data, sizeof size);
                    segment = size > 0 ? static_cast<std::size_t>(size) : 0;
                }
#endif
            }
            const auto* base = recv_storage_.data() + i * slot_size_;
            const std::size_t length = m.msg_len;
            if (segment == 0 || segment >= length) {
                d.payload = bytes_view(base, length);
                datagrams_.push_back(d);
            } else {
                // UDP GRO: one buffer holds consecutive datagrams of `segment` bytes each.
                ++stats_.gro_super_datagrams;
                for (std::size_t at = 0; at < length; at += segment) {
                    d.payload = bytes_view(base + at, std::min(segment, length - at));
                    datagrams_.push_back(d);
                }
            }
        }
        for (const auto& d : datagrams_) {
            ++stats_.datagrams_received;
            stats_.bytes_received += d.payload.size();
        }
    }

    static udp::endpoint to_endpoint(const sockaddr_storage& s)
    {
        udp::endpoint ep;
        const std::size_t size = s.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
        std::memcpy(ep.data(), &s, size);
        return ep;
    }

    Executor executor_;
    socket_type socket_;
    udp_socket_config config_;
    udp::endpoint local_;
    udp_socket_stats stats_;
    bool closed_ = false;
    bool gso_ = false;
    bool gro_ = false;
    // send side
    std::deque<pending_send> queue_;
    std::vector<std::vector<std::byte>> pool_;
    bool flush_scheduled_ = false;
    bool waiting_writable_ = false;
    std::vector<mmsghdr> send_msgs_;
    std::vector<sockaddr_storage> send_names_;
    std::vector<control_buffer> send_control_;
    std::vector<iovec> send_iovs_;
    std::vector<std::size_t> msg_datagrams_;
    // receive side
    receive_completion receive_;
    bool waiting_readable_ = false;
    bool cancel_requested_ = false;
    std::size_t slot_size_ = 0;
    std::vector<std::byte> recv_storage_;
    std::vector<mmsghdr> recv_msgs_;
    std::vector<iovec> recv_iovs_;
    std::vector<sockaddr_storage> recv_names_;
    std::vector<control_buffer> recv_control_;
    std::vector<received_datagram> datagrams_;
};

}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_udp_socket {
public:
    using executor_type = Executor;
    using endpoint_type = boost::asio::ip::udp::endpoint;

    template <class OtherExecutor>
    struct rebind_executor {
        using other = basic_udp_socket<OtherExecutor>;
    };

    // Opens and binds a socket (port 0: the kernel picks a free port).
    static result<basic_udp_socket> bind(const Executor& ex, const endpoint_type& local, const udp_socket_config& config = {})
    {
        auto impl = std::make_shared<detail::udp_socket_impl<Executor>>(ex, config);
        if (auto r = impl->open(local); !r) return r.error();
        return basic_udp_socket(std::move(impl));
    }

    basic_udp_socket(basic_udp_socket&&) noexcept = default;
    basic_udp_socket& operator=(basic_udp_socket&& other) noexcept
    {
        if (this != &other) {
            close();
            impl_ = std::move(other.impl_);
        }
        return *this;
    }
    ~basic_udp_socket() { close(); }

    [[nodiscard]] executor_type get_executor() const { return impl_->get_executor(); }
    [[nodiscard]] endpoint_type local_endpoint() const { return impl_->local_endpoint(); }
    [[nodiscard]] bool gso_enabled() const noexcept { return impl_->gso_enabled(); }
    [[nodiscard]] bool gro_enabled() const noexcept { return impl_->gro_enabled(); }
    [[nodiscard]] const udp_socket_stats& stats() const noexcept { return impl_->stats(); }
    [[nodiscard]] std::size_t queued_sends() const noexcept { return impl_->queued_sends(); }
    [[nodiscard]] bool is_open() const noexcept { return impl_ && impl_->is_open(); }
    [[nodiscard]] int native_handle() { return impl_->native_handle(); }

    // Queues a copy of `payload` for `to`, optionally from a given local address (IP_PKTINFO),
    // and returns at once. Fails when the socket is closed or max_send_queue is reached.
    result<void> send(const endpoint_type& to, bytes_view payload,
                      const std::optional<boost::asio::ip::address>& from = std::nullopt)
    {
        return impl_->enqueue(to, payload, from, detail::posted_completion<boost::system::error_code>());
    }

    // Queues `payload` itself for `to`, without a copy (the buffer is freed once sent).
    result<void> send(const endpoint_type& to, std::vector<std::byte>&& payload,
                      const std::optional<boost::asio::ip::address>& from = std::nullopt)
    {
        return impl_->enqueue(to, std::move(payload), from, detail::posted_completion<boost::system::error_code>());
    }

    // Like send(), and completes with void(error_code) once the kernel took the datagram (or
    // refused it). Any number may be outstanding.
    template <class CompletionToken>
    auto async_send(const endpoint_type& to, bytes_view payload, CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
            [](auto handler, const std::shared_ptr<detail::udp_socket_impl<Executor>>& impl, const endpoint_type& dest,
               bytes_view data) {
                auto completion = detail::posted_completion<boost::system::error_code>(std::move(handler), impl->get_executor());
                auto r = impl->enqueue(dest, data, std::nullopt, std::move(completion));
                if (!r) completion.post(boost::system::error_code(r.error().code()));  // not taken on failure
            },
            token, impl_, to, payload);
    }

    // Hands the queued datagrams to the kernel now instead of after the current handler.
    void flush() { impl_->flush(); }

    // The next batch: void(error_code, std::span<const received_datagram>). The span and the
    // payloads stay valid until the next async_receive. One receive at a time.
    template <class CompletionToken>
    auto async_receive(CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken,
                                           void(boost::system::error_code, std::span<const received_datagram>)>(
            [](auto handler, const std::shared_ptr<detail::udp_socket_impl<Executor>>& impl) {
                impl->start_receive(typename detail::udp_socket_impl<Executor>::receive_completion(std::move(handler),
                                                                                                   impl->get_executor()));
            },
            token, impl_);
    }

    // Closes the socket: a waiting receive and queued sends complete with operation_aborted.
    void close()
    {
        if (impl_) impl_->close();
    }

private:
    explicit basic_udp_socket(std::shared_ptr<detail::udp_socket_impl<Executor>> impl) noexcept : impl_(std::move(impl)) {}
    std::shared_ptr<detail::udp_socket_impl<Executor>> impl_;
};

using udp_socket = basic_udp_socket<>;

}  // namespace peerkit::asio
