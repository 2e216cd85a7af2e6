// The library's one notion of time. Every sans-IO machine (ICE, TURN, DTLS, SCTP, data
// channels, the peer-connection core) takes `now` as an input and answers "wake me at" with
// this time_point; none of them reads a clock. The runtime reads `clock::now()` and feeds it
// in. Each machine's namespace re-exports these names (ice::time_point, sctp::time_point...)
// so that code written against them keeps compiling; they are all the same type.
#pragma once

#include <chrono>

namespace peerkit {

// Monotonic: timers (RFC 9260 RTO, RFC 8445 pacing, RFC 7675 consent) measure intervals, and
// a wall clock stepped by NTP would fire them early or late.
using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

}  // namespace peerkit
