"""Pion (github.com/pion/webrtc/v3, a WebRTC stack in Go) for the interop tests: builds
tests/interop/pion/peer.go with Debian's Go toolchain and Debian's Go sources, offline.

Debian 12's golang-github-pion-webrtc.v3-dev (3.1.56) and its dependencies install their sources
under /usr/share/gocode/src. The build runs in GOPATH mode (GO111MODULE=off, GOPROXY=off: no
download) in $PEERKIT_BUILD_DIR/tests/interop/pion/, whose own GOPATH entry maps the module path
github.com/pion/webrtc/v3 to Debian's github.com/pion/webrtc (the other Pion modules are
installed under their /vN paths already). About 30 s the first time, with a Go build cache in
the same directory.

A build that fails raises RuntimeError: the test fails loudly, it never skips.
"""
import os
import shutil
import subprocess

SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pion", "peer.go")
DEBIAN_GOPATH = "/usr/share/gocode"
WEBRTC_SOURCES = os.path.join(DEBIAN_GOPATH, "src", "github.com", "pion", "webrtc")
BUILD_TIMEOUT = 600  # seconds for `go build`; about 30 s cold on 2 busy cores, 3 s warm


def build_dir():
    build = os.environ.get("PEERKIT_BUILD_DIR")
    if not build:
        raise RuntimeError("PEERKIT_BUILD_DIR is not set (run the test through ctest)")
    return os.path.join(build, "tests", "interop", "pion")


def ensure_built(log=print):
    """Builds the Pion peer unless it is newer than its source; returns the program's path."""
    if shutil.which("go") is None:
        raise RuntimeError("'go' not found: install the Debian package 'golang-go' "
                           "(scripts/test.sh installs it)")
    if not os.path.isfile(os.path.join(WEBRTC_SOURCES, "go.mod")):
        raise RuntimeError(f"{WEBRTC_SOURCES} is missing: install the Debian package "
                           f"'golang-github-pion-webrtc.v3-dev' (scripts/test.sh installs it)")
    top = build_dir()
    program = os.path.join(top, "peer")
    if os.path.isfile(program) and os.path.getmtime(program) >= os.path.getmtime(SOURCE):
        return program
    gopath = os.path.join(top, "gopath")
    alias = os.path.join(gopath, "src", "github.com", "pion", "webrtc", "v3")
    package = os.path.join(gopath, "src", "peerkit-interop", "pionpeer")
    os.makedirs(os.path.dirname(alias), exist_ok=True)
    os.makedirs(package, exist_ok=True)
    if not os.path.islink(alias):
        os.symlink(WEBRTC_SOURCES, alias)
    shutil.copyfile(SOURCE, os.path.join(package, "peer.go"))
    env = dict(os.environ, GOPATH=f"{gopath}:{DEBIAN_GOPATH}", GO111MODULE="off", GOPROXY="off",
               GOFLAGS="", GOCACHE=os.path.join(top, "gocache"), CGO_ENABLED="0")
    log(f"building the Pion peer with Debian's Go sources into {top}", flush=True)
    try:
        done = subprocess.run(["go", "build", "-o", program, "."], cwd=package, env=env,
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"go build of {SOURCE} did not finish within {BUILD_TIMEOUT} s")
    if done.returncode != 0:
        raise RuntimeError(f"go build of {SOURCE} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
    return program
