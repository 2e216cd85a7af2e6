// peerkit::sdp: a lossless RFC 8866 parser and serializer (zero-copy views and an owning,
// editable model), typed WebRTC attributes, the ICE candidate codec, and JSEP offer/answer.
// See docs/sdp.md.
#pragma once

#include <peerkit/sdp/attributes.hpp>
#include <peerkit/sdp/candidate.hpp>
#include <peerkit/sdp/description.hpp>
#include <peerkit/sdp/error.hpp>
#include <peerkit/sdp/fields.hpp>
#include <peerkit/sdp/grammar.hpp>
#include <peerkit/sdp/jsep.hpp>
#include <peerkit/sdp/section.hpp>
#include <peerkit/sdp/summary.hpp>
#include <peerkit/sdp/view.hpp>
