#!/usr/bin/python3
"""Interop: our VP8 and H.264 payloads depacketized by aiortc 1.4 (Debian python3-aiortc).
test_rtp_payload packetizes the real frames of tests/rtp_payload/aiortc_vectors.hpp at 1200,
200 and 60 bytes and writes the payloads (PEERKIT_PAYLOADS_OUT); aiortc's vp8_depayload and
H264PayloadDescriptor.parse must rebuild every frame from them
(tests/rtp_payload/make_aiortc_vectors.py --check). The other direction, aiortc's payloads
through our depacketizers, is inside test_rtp_payload. Fails loudly when aiortc is missing."""
import os
import subprocess
import sys
import tempfile

build = os.environ.get("PEERKIT_BUILD_DIR")
source = os.environ.get("PEERKIT_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
if not build:
    sys.exit("PEERKIT_BUILD_DIR is not set")
test = os.path.join(build, "tests", "test_rtp_payload")
if not os.access(test, os.X_OK):
    sys.exit(f"{test} is not built")
checker = os.path.join(source, "tests", "rtp_payload", "make_aiortc_vectors.py")

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "our_payloads.txt")
    run = subprocess.run([test, "aiortc: our payloads of its frames depacketize to the frame"],
                         env={**os.environ, "PEERKIT_PAYLOADS_OUT": out}, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"FAIL: test_rtp_payload failed:\n{run.stdout}{run.stderr}")
    lines = sum(1 for _ in open(out)) if os.path.exists(out) else 0
    if lines == 0:
        sys.exit("FAIL: test_rtp_payload wrote no payloads")
    check = subprocess.run(["/usr/bin/python3", checker, "--check", out], capture_output=True, text=True)
    print(check.stdout.strip())
    if check.returncode != 0:
        sys.exit(f"FAIL: aiortc did not rebuild every frame from our payloads\n{check.stderr}")
print("ok  aiortc depacketized our VP8 and H.264 payloads")
