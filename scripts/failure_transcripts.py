#!/usr/bin/python3
"""Reproduces the transcripts of docs/troubleshooting.md: two `peer` examples in a network
namespace of their own (lo only, made and removed here; run as root), their signaling relayed
line by line, and one failure on the way. The offerer logs with PEERKIT_LOG.

    /usr/bin/python3 scripts/failure_transcripts.py firewall [PEERKIT_LOG spec]
    /usr/bin/python3 scripts/failure_transcripts.py mitm [PEERKIT_LOG spec]

firewall: nftables drops every UDP datagram arriving in the namespace (a firewall that blocks
          WebRTC's UDP); mitm: the relay changes one hex digit of the answer's a=fingerprint (a
          man in the middle on the signaling path). The offerer's stderr is printed."""
import os
import re
import subprocess
import sys
import threading

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
peer = os.path.join(os.environ.get("PEERKIT_BUILD_DIR", os.path.join(root, "build")), "examples", "peer")
scenario = sys.argv[1] if len(sys.argv) > 1 else "firewall"
spec = sys.argv[2] if len(sys.argv) > 2 else ("ice:debug,pc:info" if scenario == "firewall" else "ice:info,dtls:debug,pc:info")
ns = f"pk-transcript-{os.getpid()}"


def ip(*args):
    subprocess.run(["ip", *args], check=True)


def tamper(line):
    return re.sub(rb"(a=fingerprint:sha-256 )([0-9A-F])",
                  lambda m: m.group(1) + (b"1" if m.group(2) == b"0" else b"0"), line, count=1)


ip("netns", "add", ns)
try:
    ip("-n", ns, "link", "set", "lo", "up")
    if scenario == "firewall":
        rules = "table inet fw {\n chain input {\n  type filter hook input priority 0; policy accept;\n  meta l4proto udp drop\n }\n}\n"
        subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules.encode(), check=True)
    run = ["ip", "netns", "exec", ns, peer, "--timeout", "45"]
    offerer = subprocess.Popen(run + ["--offer", "--send", "10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=dict(os.environ, PEERKIT_LOG=spec))
    answerer = subprocess.Popen(run + ["--expect", "10"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)

    def relay(src, dst, change):
        for line in src.stdout:
            try:
                dst.stdin.write(change(line))
                dst.stdin.flush()
            except BrokenPipeError:
                return

    threading.Thread(target=relay, args=(offerer, answerer, lambda x: x), daemon=True).start()
    threading.Thread(target=relay, args=(answerer, offerer, tamper if scenario == "mitm" else (lambda x: x)),
                     daemon=True).start()
    err = offerer.stderr.read().decode()
    code = offerer.wait()
    answerer.wait()
    print(err, end="")
    print(f"(offerer exit status {code})")
finally:
    subprocess.run(["ip", "netns", "del", ns])
