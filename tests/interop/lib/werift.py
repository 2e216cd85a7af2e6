"""werift (npm package `werift`, a WebRTC stack written from scratch in TypeScript) for the
interop tests: its pinned install and the node programs in tests/interop/werift/.

The version is pinned by tests/interop/werift/package.json and package-lock.json. The first
test that needs it copies those two files to $PEERKIT_BUILD_DIR/tests/interop/werift/ and runs
`npm ci` there (the npm registry is the only download); later runs reuse the install while the
lock file is unchanged. Nothing is installed in the source tree. The programs stay in the
source tree and load werift from that directory (PEERKIT_WERIFT_DIR, see peer.mjs).

An install that fails raises RuntimeError: the test fails loudly, it never skips.
"""
import filecmp
import os
import shutil
import subprocess

SOURCE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "werift")
PINNED_FILES = ("package.json", "package-lock.json")
NPM_TIMEOUT = 300  # seconds for `npm ci`; about 10 s with a warm cache, 28 MB of modules


def install_dir():
    build = os.environ.get("PEERKIT_BUILD_DIR")
    if not build:
        raise RuntimeError("PEERKIT_BUILD_DIR is not set (run the test through ctest)")
    return os.path.join(build, "tests", "interop", "werift")


def _installed(target):
    return (os.path.isfile(os.path.join(target, "node_modules", "werift", "package.json"))
            and all(os.path.isfile(os.path.join(target, f))
                    and filecmp.cmp(os.path.join(SOURCE_DIR, f), os.path.join(target, f), shallow=False)
                    for f in PINNED_FILES))


def ensure_installed(log=print):
    """Installs the pinned werift into the build directory unless it is there already; returns
    that directory."""
    for tool, package in (("node", "nodejs"), ("npm", "npm")):
        if shutil.which(tool) is None:
            raise RuntimeError(f"'{tool}' not found: install the Debian package '{package}' "
                               f"(scripts/test.sh installs it)")
    target = install_dir()
    if _installed(target):
        return target
    os.makedirs(target, exist_ok=True)
    for f in PINNED_FILES:
        shutil.copyfile(os.path.join(SOURCE_DIR, f), os.path.join(target, f))
    log(f"installing werift with npm ci into {target}", flush=True)
    try:
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=target, capture_output=True, text=True, timeout=NPM_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"npm ci in {target} did not finish within {NPM_TIMEOUT} s")
    if done.returncode != 0 or not _installed(target):
        raise RuntimeError(f"npm ci in {target} failed (exit {done.returncode}):\n"
                           f"{done.stdout}{done.stderr}")
    return target


def node_command(program, modules_dir):
    """The command line that runs tests/interop/werift/<program> with werift from modules_dir."""
    return ["env", f"PEERKIT_WERIFT_DIR={modules_dir}", "node",
            os.path.join(SOURCE_DIR, program)]

