#include <peerkit/sdp.hpp>
#include <catch2/catch.hpp>
TEST_CASE("smoke") { CHECK(true); }
