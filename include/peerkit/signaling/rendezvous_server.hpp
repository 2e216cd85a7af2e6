// A WebSocket rendezvous server: clients connect to ws://host:port/<room>; the first two in a
// room are paired and every frame one sends is relayed, unchanged, to the other. Frames sent
// before the other peer has joined are held (bounded) and delivered when it joins, so an
// offerer may send its offer at once. A third client in a full room, a bad room name, or a
// server at its limits is refused with a WebSocket close code and reason (RFC 6455 7.4.1).
#pragma once

#include <peerkit/error.hpp>
#include <peerkit/signaling/websocket.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace peerkit::signaling {

struct rendezvous_config {
    websocket_server_config server{};
    std::size_t max_rooms = 1024;            // rooms with at least one client
    std::size_t max_clients = 2048;          // connected clients in all rooms
    std::size_t max_room_name = 64;          // bytes; names use [A-Za-z0-9._~-]
    std::size_t max_pending_messages = 64;   // frames held for a peer that has not joined yet
};

struct rendezvous_stats {
    std::size_t rooms = 0, clients = 0;
    std::uint64_t relayed = 0, refused = 0;
};

namespace detail {

inline bool valid_room_name(std::string_view name, std::size_t max) noexcept
{
    if (name.empty() || name.size() > max) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '~' || c == '-';
        if (!ok) return false;
    }
    return true;
}

template <class Executor>
class rendezvous_impl : public std::enable_shared_from_this<rendezvous_impl<Executor>> {
public:
    using server_type = basic_websocket_server<Executor>;
    using transport_type = basic_websocket_transport<Executor>;

    rendezvous_impl(const Executor& ex, rendezvous_config config)
        : strand_(boost::asio::make_strand(ex)), config_(std::move(config))
    {
    }

    result<void> listen(const Executor& ex, const boost::asio::ip::tcp::endpoint& local)
    {
        auto s = server_type::listen(ex, local, config_.server);
        if (!s) return s.error();
        server_.emplace(std::move(*s));
        boost::asio::post(strand_, [self = this->shared_from_this()] { self->accept(); });
        return {};
    }

    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const { return server_->local_endpoint(); }
    [[nodiscard]] const boost::asio::strand<Executor>& strand() const noexcept { return strand_; }
    [[nodiscard]] rendezvous_stats stats() const noexcept
    {
        rendezvous_stats s = stats_;
        s.rooms = rooms_.size();
        s.clients = clients_;
        return s;
    }

    void close()
    {
        boost::asio::post(strand_, [self = this->shared_from_this()] {
            if (self->closed_) return;
            self->closed_ = true;
            if (self->server_) self->server_->close();
            for (auto& [name, room] : self->rooms_)
                for (auto& c : room.peers)
                    if (c) c->transport.close(1001, "server going away");
        });
    }

private:
    struct client {
        explicit client(transport_type t) : transport(std::move(t)) {}
        transport_type transport;
        std::string room;
        std::size_t slot = 0;
    };
    struct room_state {
        std::array<std::shared_ptr<client>, 2> peers;
        std::deque<std::string> held;  // frames for the slot that is still empty
    };

    void accept()
    {
        if (closed_) return;
        server_->async_accept(boost::asio::bind_executor(strand_, [self = this->shared_from_this()](result<transport_type> t) {
            if (!t) return;  // server closed
            self->admit(std::move(*t));
            self->accept();
        }));
    }

    void refuse(transport_type& t, std::uint16_t code, std::string reason)
    {
        ++stats_.refused;
        t.close(code, std::move(reason));
    }

    void admit(transport_type t)
    {
        std::string_view target = t.target();
        if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
        if (target.starts_with('/')) target.remove_prefix(1);
        if (!valid_room_name(target, config_.max_room_name)) return refuse(t, 1008, "invalid room name");
        if (clients_ >= config_.max_clients) return refuse(t, 1013, "too many clients");
        auto it = rooms_.find(target);
        if (it == rooms_.end()) {
            if (rooms_.size() >= config_.max_rooms) return refuse(t, 1013, "too many rooms");
            it = rooms_.emplace(std::string(target), room_state{}).first;
        }
        room_state& room = it->second;
        const std::size_t slot = !room.peers[0] ? 0 : !room.peers[1] ? 1 : 2;
        if (slot == 2) return refuse(t, 1008, "room full");

        auto c = std::make_shared<client>(std::move(t));
        c->room = it->first;
        c->slot = slot;
        room.peers[slot] = c;
        ++clients_;
        // Frames the other peer sent while this slot was empty.
        while (!room.held.empty()) {
            (void)c->transport.send_text(std::move(room.held.front()));
            room.held.pop_front();
        }
        relay(c);
    }

    void relay(const std::shared_ptr<client>& c)
    {
        c->transport.async_receive_text(
            boost::asio::bind_executor(strand_, [self = this->shared_from_this(), c](result<std::string> frame) {
                if (!frame) {
                    if (frame.error() == errc::cancelled) return;
                    self->leave(c);
                    return;
                }
                self->forward(c, std::move(*frame));
                self->relay(c);
            }));
    }

    void forward(const std::shared_ptr<client>& from, std::string frame)
    {
        auto it = rooms_.find(from->room);
        if (it == rooms_.end()) return;
        room_state& room = it->second;
        const auto& to = room.peers[1 - from->slot];
        if (to) {
            if (auto r = to->transport.send_text(std::move(frame)); !r) {
                // The other peer does not keep up (its send queue is full): drop it, not the
                // message silently.
                to->transport.close(1008, "not reading fast enough");
                return;
            }
            ++stats_.relayed;
            return;
        }
        if (room.held.size() >= config_.max_pending_messages) {
            from->transport.close(1008, "too many messages before the other peer joined");
            return;
        }
        room.held.push_back(std::move(frame));
    }

    void leave(const std::shared_ptr<client>& c)
    {
        auto it = rooms_.find(c->room);
        if (it == rooms_.end()) return;
        room_state& room = it->second;
        if (room.peers[c->slot] != c) return;
        room.peers[c->slot].reset();
        --clients_;
        c->transport.close();
        if (!room.peers[0] && !room.peers[1]) rooms_.erase(it);
    }

    boost::asio::strand<Executor> strand_;
    rendezvous_config config_;
    std::optional<server_type> server_;
    std::map<std::string, room_state, std::less<>> rooms_;
    std::size_t clients_ = 0;
    rendezvous_stats stats_;
    bool closed_ = false;
};

}  // namespace detail

template <class Executor = boost::asio::any_io_executor>
class basic_rendezvous_server {
    using impl_type = detail::rendezvous_impl<Executor>;

public:
    static result<basic_rendezvous_server> listen(const Executor& ex, const boost::asio::ip::tcp::endpoint& local,
                                                  rendezvous_config config = {})
    {
        auto impl = std::make_shared<impl_type>(ex, std::move(config));
        if (auto r = impl->listen(ex, local); !r) return r.error();
        return basic_rendezvous_server(std::move(impl));
    }

    basic_rendezvous_server(basic_rendezvous_server&&) noexcept = default;
    basic_rendezvous_server& operator=(basic_rendezvous_server&&) = delete;
    ~basic_rendezvous_server() { close(); }

    [[nodiscard]] boost::asio::ip::tcp::endpoint local_endpoint() const { return impl_->local_endpoint(); }

    // The counters, read on the server's strand: void(rendezvous_stats).
    template <class CompletionToken>
    auto async_stats(CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, void(rendezvous_stats)>(
            [](auto handler, const std::shared_ptr<impl_type>& impl) {
                peerkit::asio::detail::posted_completion<rendezvous_stats> done(std::move(handler), impl->strand());
                boost::asio::post(impl->strand(), [impl, done = std::move(done)]() mutable { done.post(impl->stats()); });
            },
            token, impl_);
    }

    // Stops accepting and closes every client (1001 going away). Any thread, returns at once.
    void close()
    {
        if (impl_) impl_->close();
    }

private:
    explicit basic_rendezvous_server(std::shared_ptr<impl_type> impl) noexcept : impl_(std::move(impl)) {}
    std::shared_ptr<impl_type> impl_;
};

using rendezvous_server = basic_rendezvous_server<>;

}  // namespace peerkit::signaling
