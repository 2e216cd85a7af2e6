// An SCTP peer built on usrsctp (Debian libusrsctp-dev), speaking SCTP over UDP (RFC 6951)
// on 127.0.0.1, for tests/interop/sctp_usrsctp.sh. It sends a greeting on stream 3 when the
// association comes up, echoes every message back on its stream with its PPID (unordered
// stays unordered), answers an incoming stream reset by resetting its own outgoing stream
// (as WebRTC stacks do when a data channel closes), and logs what happens, one line each:
//   COMM_UP / DATA <stream> <ppid> <length> <u|o> / INCOMING_RESET <stream>... /
//   OUTGOING_RESET <stream>... / SHUTDOWN / CLOSED
//
//   interop_usrsctp_peer --local-udp L --remote-udp R --role server|client [--sctp-port 5000]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#include <usrsctp.h>
#pragma GCC diagnostic pop

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

void log_line(const std::string& line)
{
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

bool reset_outgoing(struct socket* sock, const std::vector<std::uint16_t>& streams)
{
    std::vector<std::byte> buffer(sizeof(sctp_reset_streams) + streams.size() * sizeof(std::uint16_t));
    auto* request = reinterpret_cast<sctp_reset_streams*>(buffer.data());
    request->srs_assoc_id = SCTP_ALL_ASSOC;
    request->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    request->srs_number_streams = static_cast<std::uint16_t>(streams.size());
    std::memcpy(buffer.data() + sizeof(sctp_reset_streams), streams.data(), streams.size() * sizeof(std::uint16_t));
    return usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, buffer.data(),
                              static_cast<socklen_t>(buffer.size())) == 0;
}

bool send_message(struct socket* sock, std::uint16_t stream, std::uint32_t ppid, bool unordered, const void* data,
                  std::size_t size)
{
    sctp_sndinfo info{};
    info.snd_sid = stream;
    info.snd_ppid = htonl(ppid);
    info.snd_flags = unordered ? SCTP_UNORDERED : 0;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const ssize_t n = usrsctp_sendv(sock, data, size, nullptr, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0);
        if (n >= 0) return true;
        if (errno != EAGAIN && errno != EWOULDBLOCK) break;
    }
    log_line("SEND_FAILED " + std::to_string(errno));
    return false;
}

}  // namespace

int main(int argc, char** argv)
{
    int local_udp = 0, remote_udp = 0, sctp_port = 5000;
    std::string role = "server";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--local-udp") local_udp = std::atoi(argv[i + 1]);
        else if (key == "--remote-udp") remote_udp = std::atoi(argv[i + 1]);
        else if (key == "--role") role = argv[i + 1];
        else if (key == "--sctp-port") sctp_port = std::atoi(argv[i + 1]);
    }
    if (local_udp == 0 || remote_udp == 0) {
        std::fprintf(stderr, "usage: %s --local-udp L --remote-udp R --role server|client\n", argv[0]);
        return 2;
    }
    // RFC 6951: usrsctp sends and receives SCTP packets as UDP payloads on this port.
    usrsctp_init(static_cast<std::uint16_t>(local_udp), nullptr, nullptr);
    usrsctp_sysctl_set_sctp_blackhole(2);

    struct socket* sock = usrsctp_socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
    if (sock == nullptr) {
        std::perror("usrsctp_socket");
        return 1;
    }
    sctp_assoc_value reset_enable{};
    reset_enable.assoc_id = SCTP_FUTURE_ASSOC;
    reset_enable.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset_enable, sizeof reset_enable);
    const int on = 1;
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on);
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    for (const int type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SHUTDOWN_EVENT}) {
        sctp_event event{};
        event.se_assoc_id = SCTP_FUTURE_ASSOC;
        event.se_type = static_cast<std::uint16_t>(type);
        event.se_on = 1;
        usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_EVENT, &event, sizeof event);
    }
    sctp_udpencaps encaps{};
    encaps.sue_address.ss_family = AF_INET;
    encaps.sue_port = htons(static_cast<std::uint16_t>(remote_udp));
    usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps, sizeof encaps);

    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(sctp_port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct socket* conn = sock;
    if (role == "server") {
        if (usrsctp_bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            usrsctp_listen(sock, 1) != 0) {
            std::perror("usrsctp_bind/listen");
            return 1;
        }
        log_line("LISTENING");
        conn = usrsctp_accept(sock, nullptr, nullptr);
        if (conn == nullptr) {
            std::perror("usrsctp_accept");
            return 1;
        }
        usrsctp_setsockopt(conn, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps, sizeof encaps);
    } else {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_port = htons(static_cast<std::uint16_t>(sctp_port));
        local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        usrsctp_bind(sock, reinterpret_cast<sockaddr*>(&local), sizeof local);
        if (usrsctp_connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            std::perror("usrsctp_connect");
            return 1;
        }
    }

    std::vector<char> buffer(1 << 20);
    std::vector<char> message;
    bool greeted = false;
    for (;;) {
        sctp_rcvinfo info{};
        socklen_t info_length = sizeof info;
        unsigned int info_type = 0;
        int flags = 0;
        sockaddr_in from{};
        socklen_t from_length = sizeof from;
        const ssize_t n = usrsctp_recvv(conn, buffer.data(), buffer.size(), reinterpret_cast<sockaddr*>(&from),
                                        &from_length, &info, &info_length, &info_type, &flags);
        if (n <= 0) break;
        if ((flags & MSG_NOTIFICATION) != 0) {
            const auto* notification = reinterpret_cast<const sctp_notification*>(buffer.data());
            switch (notification->sn_header.sn_type) {
            case SCTP_ASSOC_CHANGE:
                if (notification->sn_assoc_change.sac_state == SCTP_COMM_UP) {
                    log_line("COMM_UP");
                    if (!greeted) {
                        greeted = true;
                        const char greeting[] = "hello from usrsctp";
                        send_message(conn, 3, 51, false, greeting, sizeof greeting - 1);
                    }
                } else {
                    log_line("ASSOC_CHANGE " + std::to_string(notification->sn_assoc_change.sac_state));
                }
                break;
            case SCTP_SHUTDOWN_EVENT: log_line("SHUTDOWN"); break;
            case SCTP_STREAM_RESET_EVENT: {
                const auto& e = notification->sn_strreset_event;
                const std::size_t count = (e.strreset_length - sizeof(sctp_stream_reset_event)) / sizeof(std::uint16_t);
                std::vector<std::uint16_t> streams(e.strreset_stream_list, e.strreset_stream_list + count);
                std::string line;
                if ((e.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) != 0) line = "RESET_FAILED";
                else if ((e.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) != 0) line = "INCOMING_RESET";
                else line = "OUTGOING_RESET";
                for (auto s : streams) line += " " + std::to_string(s);
                log_line(line);
                if (line.rfind("INCOMING_RESET", 0) == 0 && !streams.empty()) reset_outgoing(conn, streams);
                break;
            }
            default: break;
            }
            continue;
        }
        // Large messages may come in pieces (partial delivery); MSG_EOR marks the last one.
        message.insert(message.end(), buffer.data(), buffer.data() + n);
        if ((flags & MSG_EOR) == 0) continue;
        const bool unordered = (info.rcv_flags & SCTP_UNORDERED) != 0;
        const std::uint32_t ppid = ntohl(info.rcv_ppid);
        log_line("DATA " + std::to_string(info.rcv_sid) + " " + std::to_string(ppid) + " " +
                 std::to_string(message.size()) + " " + (unordered ? "u" : "o"));
        send_message(conn, info.rcv_sid, ppid, unordered, message.data(), message.size());
        message.clear();
    }
    log_line("CLOSED");
    usrsctp_close(conn);
    if (conn != sock) usrsctp_close(sock);
    for (int i = 0; i < 100 && usrsctp_finish() != 0; ++i) {
    }
    return 0;
}
