#include "dtls_harness.hpp"

#include <cstdio>

using namespace dtls_test;

TEST_CASE("debug handshake")
{
    auto p = pair::make();
    simulated_link link;
    bool ok = p.handshake(link, 5000ms);
    INFO("a failure: " << (p.log_a.failure ? p.log_a.failure->message() : "none"));
    INFO("b failure: " << (p.log_b.failure ? p.log_b.failure->message() : "none"));
    INFO("a state " << int(p.a.state()) << " b state " << int(p.b.state()) << " dgrams " << p.log_a.datagrams << "/" << p.log_b.datagrams);
    CHECK(ok);
}
