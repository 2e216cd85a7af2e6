#!/usr/bin/python3
"""Interop: stun-client's short-term credentials (RFC 8489 9.1) against aioice's STUN codec
(python3-aioice, the STUN/ICE library under aiortc), in the role of an ICE agent answering a
connectivity check on 127.0.0.1.

The responder verifies the request's MESSAGE-INTEGRITY and FINGERPRINT with aioice and answers
with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT - or, depending on the USERNAME the
client sends, misbehaves so that the client's checks of responses are exercised:
  good   a correct signed response                  -> exit 0, xor-mapped-address = our address
  forge  signed with another key (a forged answer)  -> dropped, exit 1 after --timeout
  nomi   no MESSAGE-INTEGRITY at all                -> dropped, exit 1
  badfp  correct MAC, corrupted FINGERPRINT         -> dropped, exit 1
  err400 an unsigned 400 Bad Request                -> accepted (400 may be unsigned), exit 1
  err487 a signed 487 Role Conflict                 -> code and reason printed, exit 1
and a client with the wrong password gets 401 unsigned (aioice rejects its MAC), which the
client must not accept either (RFC 8489 9.1.4).
"""
import os
import socket
import subprocess
import sys
import threading

try:
    from aioice import stun
except ImportError:
    sys.exit("FAIL: python3-aioice is not installed (Debian package python3-aioice)")

PASSWORD = "aioice-short-term-pwd"
build_dir = os.environ.get("PEERKIT_BUILD_DIR")
if not build_dir:
    sys.exit("FAIL: PEERKIT_BUILD_DIR is not set (run through ctest)")
client = os.path.join(build_dir, "examples", "stun-client")
if not os.access(client, os.X_OK):
    sys.exit(f"FAIL: {client} is not built (target example_stun-client)")

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
seen = []  # (username, verdict) per request, for the assertions


def respond():
    while True:
        try:
            data, peer = sock.recvfrom(2048)
        except OSError:
            return
        try:
            answer(data, peer)
        except Exception as e:  # a responder bug must show, not kill the thread silently
            seen.append(("?", f"responder error: {e!r}"))
            print(f"responder error: {e!r}")


def answer(data, peer):
    if True:
        try:
            request = stun.parse_message(data, integrity_key=PASSWORD.encode())
        except ValueError as e:  # wrong MAC or FINGERPRINT: RFC 8489 9.1.3 says 401, unsigned
            seen.append(("?", f"rejected: {e}"))
            try:
                bare = stun.parse_message(data)
            except ValueError:
                return
            reply = stun.Message(stun.Method.BINDING, stun.Class.ERROR, bare.transaction_id)
            reply.attributes["ERROR-CODE"] = (401, "Unauthenticated")
            sock.sendto(bytes(reply), peer)
            return
        if "MESSAGE-INTEGRITY" not in request.attributes or "FINGERPRINT" not in request.attributes:
            seen.append(("?", "request lacks MESSAGE-INTEGRITY or FINGERPRINT"))
            return
        user = request.attributes.get("USERNAME", "")
        seen.append((user, "verified"))
        if user in ("err400", "err487"):
            # 400 may come unsigned (RFC 8489 14.8); any other error must be signed.
            reply = stun.Message(stun.Method.BINDING, stun.Class.ERROR, request.transaction_id)
            reply.attributes["ERROR-CODE"] = (400, "Bad Request") if user == "err400" else (487, "Role Conflict")
            if user == "err487":
                reply.add_message_integrity(PASSWORD.encode())
            sock.sendto(bytes(reply), peer)
            return
        reply = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, request.transaction_id)
        reply.attributes["XOR-MAPPED-ADDRESS"] = peer
        if user == "nomi":
            reply.attributes["FINGERPRINT"] = stun.message_fingerprint(bytes(reply))
            out = bytes(reply)
        else:
            reply.add_message_integrity(b"not-the-password" if user == "forge" else PASSWORD.encode())
            out = bytearray(bytes(reply))
            if user == "badfp":
                out[-1] ^= 0xFF
        sock.sendto(bytes(out), peer)


threading.Thread(target=respond, daemon=True).start()
failures = 0


def run(username, password, timeout="2"):
    cmd = [client, f"127.0.0.1:{port}", "--username", username, "--password", password, "--timeout", timeout]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    print(f"--- stun-client --username {username} (exit {p.returncode})")
    for line in p.stdout.splitlines():
        print(f"    out: {line}")
    for line in p.stderr.splitlines():
        print(f"    err: {line}")
    return p


def check(ok, text):
    global failures
    print(("ok: " if ok else "FAIL: ") + text)
    failures += 0 if ok else 1


def field(p, name):
    for line in p.stdout.splitlines():
        if line.startswith(name + " "):
            return line.split(" ", 1)[1]
    return None


p = run("good", PASSWORD)
check(p.returncode == 0 and field(p, "xor-mapped-address") == field(p, "local-address") is not None,
      "signed Binding: aioice verified our MESSAGE-INTEGRITY, we verified its response")
check(("good", "verified") in seen, "aioice verified the request's MESSAGE-INTEGRITY and FINGERPRINT")

for user, why in [("forge", "does not match"), ("nomi", "neither MESSAGE-INTEGRITY"),
                  ("badfp", "FINGERPRINT")]:
    p = run(user, PASSWORD)
    check(p.returncode == 1 and "response(s) dropped" in p.stderr and why in p.stderr
          and field(p, "xor-mapped-address") is None,
          f"response '{user}' was dropped ({why}) and the client timed out with exit 1")

for user, shown in [("err400", "error 400 Bad Request"), ("err487", "error 487 Role Conflict")]:
    p = run(user, PASSWORD)
    check(p.returncode == 1 and shown in p.stderr and "timed out" not in p.stderr,
          f"error response '{shown}' printed with its code and reason, exit 1")

seen.clear()
p = run("good", "wrong-password")
check(p.returncode == 1 and any(v.startswith("rejected") for _, v in seen) and "dropped: error 401" in p.stderr,
      "wrong password: aioice rejected the MAC, its unsigned 401 was reported but not accepted, exit 1")

sock.close()
print("all checks passed" if failures == 0 else f"{failures} check(s) failed")
sys.exit(1 if failures else 0)
