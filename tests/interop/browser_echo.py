#!/usr/bin/python3
"""Interop: the `browser-echo` example with a real, browser-like Chromium.

In a network namespace of its own with a veth pair and a default route (tests/interop/lib/
netns.py), `browser-echo --once --port 0` serves its page and WebSocket signaling on
127.0.0.1; headless Chromium opens /?selftest=N *with its WebRTC defaults*, as a person's
browser would be: host addresses hidden behind mDNS names (.local, which peerkit does not
resolve: the connection must form from Chromium's checks, as peer-reflexive candidates) and no
loopback candidates. The page sends N text and N binary messages (up to 64 KiB), checks every
echo, and reports to the server. Asserted:
  - browser-echo exits 0, which it does only when the page reported pass;
  - its output shows the page's report (messages=2N) and the session's echo count (2N);
  - the connection reached connected and the data channel opened on the C++ side.
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
        echoed = re.search(r"session over: echoed (\d+) messages", out)
        if echoed and int(echoed.group(1)) != 2 * SELFTEST:
            problems.append(f"the C++ side echoed {echoed.group(1)} messages, want {2 * SELFTEST}")
        if problems:
            with open(os.path.join(tmp, "chromium.log"), errors="replace") as f:
                print("  chromium log (tail):\n    " + "\n    ".join(f.read().splitlines()[-20:]))
            print("FAIL: " + "; ".join(problems), file=sys.stderr)
            return 1
        mdns = ".local" in out
        print(f"ok  Chromium's self-test passed through browser-echo: {report.group(2)} messages, "
              f"{report.group(3)} bytes echoed in {report.group(4)} ms; Chromium's host candidates "
              f"{'were mDNS names (connected through peer-reflexive ones)' if mdns else 'were IP addresses'}; test took "
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
