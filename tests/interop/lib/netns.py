"""Run an interop test inside a network namespace of its own.

    from netns import run_in_namespace
    run_in_namespace(main)          # never returns

The first call (outside) creates a namespace `pk-<pid>` with only `lo` up (or, with
veth=True, a veth pair 198.18.0.1/24 <-> 198.18.0.2/24 and a default route via 198.18.0.2:
RFC 2544's benchmarking range, nothing routes out of the namespace), re-executes the script
inside it with `ip netns exec`, and deletes the namespace afterwards, whatever happened,
after killing any process still left in it (all of them are this test's own). Inside, `main`
runs and its return value (or SystemExit) is the exit status.

A namespace that cannot be created (not root, no `ip`) fails the test with a message, unless
PEERKIT_SKIP_INTEROP=1: then the reason is printed and the test exits 0.
"""
import os
import signal
import subprocess
import sys
import time

INSIDE = "PEERKIT_NETNS"


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _create(name, veth):
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")
    if veth:
        _ip("-n", name, "link", "add", "pk0", "type", "veth", "peer", "name", "pk1")
        _ip("-n", name, "addr", "add", "198.18.0.1/24", "dev", "pk0")
        _ip("-n", name, "addr", "add", "198.18.0.2/24", "dev", "pk1")
        _ip("-n", name, "link", "set", "pk0", "up")
        _ip("-n", name, "link", "set", "pk1", "up")
        _ip("-n", name, "route", "add", "default", "via", "198.18.0.2")


def _delete(name):
    # Whatever is still running in the namespace was started by this test.
    for _ in range(3):
        pids = _ip("netns", "pids", name, check=False).stdout.split()
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        time.sleep(0.2)
    _ip("netns", "delete", name, check=False)


def run_in_namespace(main, veth=False, timeout=240):
    if os.environ.get(INSIDE):
        try:
            code = main()
        except SystemExit as e:
            code = e.code
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))

    name = f"pk-{os.getpid()}"
    try:
        _create(name, veth)
    except (OSError, subprocess.CalledProcessError) as e:
        detail = e.stderr.strip() if isinstance(e, subprocess.CalledProcessError) else str(e)
        _delete(name)
        why = f"cannot create network namespace {name} (needs root and iproute2): {detail}"
        if os.environ.get("PEERKIT_SKIP_INTEROP") == "1":
            print(f"SKIP (PEERKIT_SKIP_INTEROP=1): {why}")
            sys.exit(0)
        print(f"FAIL: {why}", file=sys.stderr)
        sys.exit(1)
    proc = None
    try:
        env = dict(os.environ, **{INSIDE: name})
        proc = subprocess.Popen(["ip", "netns", "exec", name, sys.executable,
                                 os.path.abspath(sys.argv[0]), *sys.argv[1:]],
                                env=env, start_new_session=True)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"FAIL: the test did not finish within {timeout} s", file=sys.stderr)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = 1
    except KeyboardInterrupt:
        if proc:
            os.killpg(proc.pid, signal.SIGKILL)
        code = 1
    finally:
        _delete(name)
    sys.exit(code)
