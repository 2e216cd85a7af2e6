#!/usr/bin/env python3
"""Fails when a peerkit header includes a peerkit header of a higher layer.

The layers (docs/architecture.md, "Layers and CMake targets"), lowest first:

  codecs    wire formats and the shared basics: bytes, errors, logging, addresses, STUN,
            SDP, SCTP packets and chunks, DCEP, RTP/RTCP, the crypto concept. Standard C++ only.
  machines  sans-IO state machines built on codecs and on each other: ICE, TURN, the SCTP
            association, the data-channel endpoint, the DTLS concept, the peer connection core.
  adapters  what fills a machine's concept with a third-party library (OpenSSL).
  runtime   Asio and signalling: sockets, clocks, threads. Anything below.
  umbrella  peerkit.hpp: everything.

A header may include headers of its own layer or a lower one, never a higher one. Also, no
example under examples/ includes a detail/ header (detail/ is for the library itself), and a
header must match a row of the table: a new file forces a decision about its layer.
This complements tests/headers/check_layering.sh, which looks at third-party includes (Boost,
OpenSSL, OS headers) of the core headers.

Usage: scripts/check_layers.py [repository root]   (exit 1 on a violation)
"""
import fnmatch
import pathlib
import re
import sys

LAYERS = ["codecs", "machines", "adapters", "runtime", "umbrella"]

# (pattern relative to include/peerkit/, layer). The first matching row wins, so the
# specific rows come before the folder-wide ones.
TABLE = [
    # adapters: anything named openssl, in any folder
    ("*/openssl.hpp", "adapters"),
    ("*/openssl/*", "adapters"),
    # runtime
    ("asio.hpp", "runtime"),
    ("asio/*", "runtime"),
    ("signaling.hpp", "runtime"),
    ("signaling/*", "runtime"),
    ("peerkit.hpp", "umbrella"),
    # codecs: the basics every layer uses
    ("bytes.hpp", "codecs"),
    ("error.hpp", "codecs"),
    ("time.hpp", "codecs"),
    ("log.hpp", "codecs"),
    ("log/*", "codecs"),
    ("detail/*", "codecs"),
    ("net/*", "codecs"),
    ("crypto/concepts.hpp", "codecs"),
    ("stun.hpp", "codecs"),
    ("stun/*", "codecs"),
    ("sdp.hpp", "codecs"),
    ("sdp/*", "codecs"),
    ("sctp/chunks.hpp", "codecs"),
    ("sctp/packet.hpp", "codecs"),
    ("sctp/wire.hpp", "codecs"),
    ("sctp/error.hpp", "codecs"),
    ("datachannel/dcep.hpp", "codecs"),
    ("datachannel/error.hpp", "codecs"),
    ("dtls/error.hpp", "codecs"),
    ("dtls/alert.hpp", "codecs"),
    ("dtls/fingerprint.hpp", "codecs"),
    ("dtls/srtp.hpp", "codecs"),
    ("dtls/record_protection.hpp", "codecs"),  # DTLS 1.2 records and their AES-GCM protection
    ("media_file/*", "codecs"),      # IVF and Ogg Opus readers (docs/media_file.md)
    ("rtp.hpp", "codecs"),
    ("rtp/payload.hpp", "codecs"),    # payload formats: Opus, VP8, H.264 (docs/rtp.md)
    ("rtp/payload/*", "codecs"),
    ("rtp/stream.hpp", "machines"),   # RTP streams: sans-IO send/receive machines (docs/rtp.md, "Streams")
    ("rtp/stream/*", "machines"),
    ("rtp/*", "codecs"),             # RTP/RTCP views and builders (docs/rtp.md)
    ("srtp.hpp", "codecs"),
    ("srtp/*", "codecs"),            # SRTP/SRTCP over the crypto concept (docs/srtp.md)
    # machines
    ("sctp.hpp", "machines"),
    ("sctp/*", "machines"),          # the association and its rx/ tx/ detail/ parts
    ("datachannel.hpp", "machines"),
    ("datachannel/*", "machines"),   # the endpoint
    ("dtls.hpp", "machines"),
    ("dtls/*", "machines"),          # the session concept
    ("ice.hpp", "machines"),
    ("ice/*", "machines"),
    ("turn.hpp", "machines"),
    ("turn/*", "machines"),
    ("peer_connection.hpp", "machines"),
    ("peer_connection/*", "machines"),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]peerkit/([^>"]+)[>"]', re.M)


def layer_of(rel):
    for pattern, layer in TABLE:
        if fnmatch.fnmatchcase(rel, pattern):
            return layer
    return None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    base = root / "include" / "peerkit"
    problems = []
    headers = sorted(p for p in base.rglob("*.hpp"))
    for path in headers:
        rel = path.relative_to(base).as_posix()
        mine = layer_of(rel)
        if mine is None:
            problems.append(f"{rel}: matches no row of the layer table in scripts/check_layers.py")
            continue
        for target in INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
            theirs = layer_of(target)
            if theirs is None:
                problems.append(f"{rel}: includes peerkit/{target}, which matches no row of the layer table")
            elif LAYERS.index(theirs) > LAYERS.index(mine):
                problems.append(f"{rel} ({mine}) includes peerkit/{target} ({theirs}): a lower layer "
                                "must not include a higher one")
    examples = root / "examples"
    example_files = sorted(p for p in examples.rglob("*") if p.suffix in (".cpp", ".hpp", ".h")) if examples.is_dir() else []
    for path in example_files:
        for target in INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace")):
            if "/detail/" in f"/{target}":
                problems.append(f"{path.relative_to(root).as_posix()}: includes peerkit/{target}; examples "
                                "use the public headers, not detail/")
    if problems:
        print("layering check failed:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"layers ok: {len(headers)} headers, {len(example_files)} example files checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
