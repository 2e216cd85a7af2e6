// Moved to <peerkit/sctp/association_types.hpp> (the association's public vocabulary is not a
// detail: datachannel/ and the peer-connection core use it). Kept so older includes build.
#pragma once

#include <peerkit/sctp/association_types.hpp>
