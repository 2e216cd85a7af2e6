#!/usr/bin/python3
"""Interop: the `browser-echo` example with a real, browser-like Chromium.

In a network namespace of its own with a veth pair and a default route (tests/interop/lib/
netns.py), `browser-echo --once --port 0` serves its page and WebSocket signaling on
127.0.0.1; headless Chromium opens /?selftest=N *with its WebRTC defaults*, as a person's
browser would be: host addresses hidden behind mDNS names (.local, which peerkit resolves by
mDNS on the namespace's veth interfaces, asio/mdns_resolver.hpp) and no loopback candidates.
The page sends N text and N binary messages (up to 64 KiB), checks every echo, and reports to
the server. Asserted:
  - browser-echo exits 0, which it does only when the page reported pass;
  - its output shows the page's report (messages=2N) and the session's echo count (2N);
  - the connection reached connected and the data channel opened on the C++ side;
  - Chromium's host candidates were .local names, at least one was resolved and added, none
    failed, and the selected pair's remote candidate is that host candidate (typ host, an IP
    address), not only the peer-reflexive one Chromium's checks would give.
A peer that cannot start fails the test (exit 1).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from netns import run_in_namespace  # noqa: E402

SELFTEST = 100
TIMEOUT = 40.0


def browser_echo_path():
    build = os.environ.get("PEERKIT_BUILD_DIR")
    if not build:
        raise RuntimeError("PEERKIT_BUILD_DIR is not set (the CTest registration sets it)")
    path = os.path.join(build, "examples", "browser-echo")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{path} is not built")
    return path


def main():
    from sdp_peers import BROWSER_DEFAULT_WEBRTC_FLAGS, start_chromium, stop_process_group
    started = time.monotonic()
    try:
        server = subprocess.Popen([browser_echo_path(), "--once", "--port", "0", "--timeout", str(TIMEOUT)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except (RuntimeError, OSError) as e:
        print(f"FAIL: cannot start browser-echo: {e}", file=sys.stderr)
        return 1
    lines, url_found = [], threading.Event()

    def read():
        for line in server.stdout:
            lines.append(line.rstrip("\n"))
            print("  " + lines[-1], flush=True)
            if " open http://" in line:
                url_found.set()
    threading.Thread(target=read, daemon=True).start()
    if not url_found.wait(10):
        server.kill()
        print("FAIL: browser-echo did not print its address", file=sys.stderr)
        return 1
    url = re.search(r"open (http://\S+/)", "\n".join(lines)).group(1)

    tmp = tempfile.mkdtemp(prefix="peerkit-browser-echo-")
    chromium = None
    try:
        try:
            chromium, log = start_chromium(f"{url}?selftest={SELFTEST}", tmp,
                                           drop_flags=BROWSER_DEFAULT_WEBRTC_FLAGS)
        except (RuntimeError, OSError) as e:
            print(f"FAIL: cannot start Chromium: {e}", file=sys.stderr)
            return 1
        try:
            code = server.wait(TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            server.kill()
            code = "killed (no exit)"
        time.sleep(0.2)  # the reader thread prints the last lines
        out = "\n".join(lines)
        problems = []
        if code != 0:
            problems.append(f"browser-echo exited {code} (0 only when the page reports pass)")
        report = re.search(r"page reports (\S+) messages=(\d+) bytes=(\d+) ms=(\d+)", out)
        if not report:
            problems.append("no report from the page")
        elif report.group(1) != "pass" or int(report.group(2)) != 2 * SELFTEST:
            problems.append(f"the page reported {report.group(0)!r}")
        if "connectionstatechange connected" not in out:
            problems.append("the C++ side never reached connected")
        if "datachannel open" not in out:
            problems.append("the data channel never opened on the C++ side")
        remote_names = re.findall(r"remote candidate:\S+ \d+ \S+ \d+ (\S+\.local) ", out)
        if not remote_names:
            problems.append("Chromium's host candidates were not .local names (its defaults hide them)")
        pair = re.search(r"selected pair: local (.*) / remote (.*)", out)
        mdns = re.search(r"mdns: (\d+) candidates resolved and added, (\d+) failed, (\d+) queries sent", out)
        if not pair:
            problems.append("browser-echo did not print the selected pair")
        elif " typ host" not in pair.group(2) or ".local" in pair.group(2):
            problems.append(f"the selected pair's remote is not the resolved host candidate: {pair.group(2)!r}")
        if not mdns:
            problems.append("browser-echo did not print its mDNS counters")
        elif int(mdns.group(1)) < 1 or int(mdns.group(2)) != 0:
            problems.append(f"mDNS resolution: {mdns.group(0)!r}")
        echoed = re.search(r"session over: echoed (\d+) messages", out)
        if echoed and int(echoed.group(1)) != 2 * SELFTEST:
            problems.append(f"the C++ side echoed {echoed.group(1)} messages, want {2 * SELFTEST}")
        if problems:
            with open(os.path.join(tmp, "chromium.log"), errors="replace") as f:
                print("  chromium log (tail):\n    " + "\n    ".join(f.read().splitlines()[-20:]))
            print("FAIL: " + "; ".join(problems), file=sys.stderr)
            return 1
        print(f"ok  Chromium's self-test passed through browser-echo: {report.group(2)} messages, "
              f"{report.group(3)} bytes echoed in {report.group(4)} ms; Chromium's host candidate "
              f"{remote_names[0]} resolved by mDNS; selected remote {pair.group(2)}; test took "
              f"{time.monotonic() - started:.1f} s", flush=True)
        return 0
    finally:
        if server.poll() is None:
            server.kill()
        if chromium is not None:
            stop_process_group(chromium)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_in_namespace(main, veth=True)
