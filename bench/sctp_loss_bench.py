#!/usr/bin/python3
"""Data-channel throughput under random packet loss (issue 14, "Loss recovery that does not
wait for the timer"): peerkit's `peer` to `peer`, and aiortc to aiortc for comparison.

    sudo python3 bench/sctp_loss_bench.py --build build [--loss 0,5,20] [--mb 8]
         [--pairs peerkit-peerkit,aiortc-aiortc] [--timeout 120]

In a network namespace of its own with only `lo` (tests/interop/lib/netns.py), an nftables
rule drops each UDP datagram with the given probability (`numgen random mod 100 < N drop` in
the output hook: every datagram on `lo` passes it once, so both directions lose, ICE, DTLS and
SCTP alike). Each case moves --mb MiB in 16 KiB messages over an ordered, reliable channel,
sender offering, receiver answering; the cases and their processes are bench/
datachannel_bench.py's (the same stdio contract, the same RESULT line).

Printed per case: MB/s at the receiver (first to last message, 1 MB = 10^6 bytes). It is a
benchmark: nothing is asserted on speed. A transfer that does not complete within --timeout
(every message and byte) is printed as FAIL, and the exit status is 1.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))

TABLE = "pkloss"


def set_loss(percent):
    """Replaces the drop rule: percent of UDP datagrams leaving any socket are dropped."""
    subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True)
    if percent <= 0:
        return
    rules = (f"table inet {TABLE} {{\n chain out {{\n  type filter hook output priority 0;\n"
             f"  meta l4proto udp numgen random mod 100 < {int(percent)} drop\n }}\n}}\n")
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True, capture_output=True)


def main():
    import datachannel_bench as dcb
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build")
    p.add_argument("--loss", default="0,5,20", help="loss percentages, comma-separated")
    p.add_argument("--mb", type=float, default=8, help="MiB of 16 KiB messages per case")
    p.add_argument("--pairs", default="peerkit-peerkit,aiortc-aiortc")
    p.add_argument("--timeout", type=float, default=120, help="seconds per case")
    p.add_argument("--stats", action="store_true",
                   help="print each peerkit end's SCTP counters (peer's 'peer: sctp' line)")
    a = p.parse_args()
    ends = []
    if a.stats:
        # Keep the ends run_case makes, to read their logs after the case.
        make_end = dcb.make_end
        dcb.make_end = lambda *args, **kw: ends.append(make_end(*args, **kw)) or ends[-1]
    os.environ["PEERKIT_BUILD_DIR"] = os.path.abspath(a.build)
    size = 16384
    count = max(1, round(a.mb * 1024 * 1024 / size))
    pairs = [tuple(x.split("-")) for x in a.pairs.split(",")]
    rows = []
    failures = 0
    for loss in [float(x) for x in a.loss.split(",")]:
        for s_stack, r_stack in pairs:
            name = f"{s_stack}->{r_stack}"
            set_loss(loss)
            started = time.monotonic()
            try:
                mbps, _, _, _ = dcb.run_case(s_stack, r_stack, count, size, [], a.timeout)
                rows.append((loss, name, f"{mbps:8.2f}"))
                print(f"ok   {loss:4.0f}% {name:18s} {count} x {size} B: {mbps:8.2f} MB/s "
                      f"(case {time.monotonic() - started:.1f} s)", flush=True)
            except (RuntimeError, OSError) as e:
                failures += 1
                rows.append((loss, name, "FAIL"))
                print(f"FAIL {loss:4.0f}% {name:18s}: {e}", flush=True)
            finally:
                set_loss(0)
                for e in ends:
                    for line in getattr(getattr(e, "peer", None), "log", []):
                        if line.startswith("peer: sctp"):
                            print(f"     {e.peer.name} {line}", flush=True)
                ends.clear()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"\nload average at the end: {load}")
    print(f"{'loss':>5} {'sender->receiver':18s} {'MB/s':>8}")
    for loss, name, value in rows:
        print(f"{loss:4.0f}% {name:18s} {value:>8}")
    return 1 if failures else 0


if __name__ == "__main__":
    from netns import run_in_namespace
    run_in_namespace(main, timeout=3600)
