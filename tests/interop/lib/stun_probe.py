#!/usr/bin/python3
"""Probes a STUN Binding server with well-formed, odd and malformed datagrams and checks what
comes back, with its own small STUN encoder (independent of peerkit's codec):

  * the amplification rule of examples/stun-server.cpp holds for every response:
    size <= min(MAX_RESPONSE, FACTOR * request size), and nothing the request chose is
    reflected except the transaction id and (in a 420) a few attribute types;
  * RFC 8489 requests get XOR-MAPPED-ADDRESS (= our address) and a valid FINGERPRINT;
  * classic RFC 3489 requests get MAPPED-ADDRESS, the 16-byte id echoed, no FINGERPRINT;
  * unknown comprehension-required attributes get 420 + UNKNOWN-ATTRIBUTES;
  * malformed datagrams, indications, responses and other methods get nothing at all.

usage: stun_probe.py HOST PORT [MAX_RESPONSE FACTOR]    (exit 0: all checks passed)
"""
import ipaddress
import os
import socket
import struct
import sys
import zlib

COOKIE = 0x2112A442
BINDING_REQUEST, BINDING_INDICATION = 0x0001, 0x0011
BINDING_SUCCESS, BINDING_ERROR = 0x0101, 0x0111
ALLOCATE_REQUEST = 0x0003
MAPPED_ADDRESS, CHANGE_REQUEST, USERNAME, MESSAGE_INTEGRITY = 0x0001, 0x0003, 0x0006, 0x0008
ERROR_CODE, UNKNOWN_ATTRIBUTES, XOR_MAPPED_ADDRESS = 0x0009, 0x000A, 0x0020
SOFTWARE, FINGERPRINT = 0x8022, 0x8028

host, port = sys.argv[1], int(sys.argv[2])
max_response = int(sys.argv[3]) if len(sys.argv) > 3 else 96
factor = int(sys.argv[4]) if len(sys.argv) > 4 else 3
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.connect((host, port))
sock.settimeout(2.0)
me = sock.getsockname()
my_ip, my_port = ipaddress.ip_address(me[0]), me[1]
failures = 0
largest = (0, 0)  # (response size, request size) with the highest ratio


def fail(text):
    global failures
    failures += 1
    print(f"FAIL: {text}")


def attr(kind, value, pad=b"\0"):
    padding = pad * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + value + padding


def message(kind, attrs=b"", tid=None, cookie=COOKIE, fingerprint=False, length=None):
    tid = tid if tid is not None else os.urandom(12)
    head_id = struct.pack("!I", cookie) + tid if cookie is not None else tid  # classic: 16-byte tid
    body = attrs
    if fingerprint:
        size = len(body) + 8
        crc = zlib.crc32(struct.pack("!HH", kind, size) + head_id + body) ^ 0x5354554E
        body += attr(FINGERPRINT, struct.pack("!I", crc & 0xFFFFFFFF))
    return struct.pack("!HH", kind, len(body) if length is None else length) + head_id + body


def parse(data):
    kind, length = struct.unpack("!HH", data[:4])
    attrs, pos = [], 20
    while pos + 4 <= len(data):
        t, n = struct.unpack("!HH", data[pos:pos + 4])
        attrs.append((t, data[pos + 4:pos + 4 + n], pos))
        pos += 4 + n + (-n % 4)
    if pos != len(data) or length != len(data) - 20:
        raise ValueError(f"bad framing: length {length}, {len(data)} bytes")
    return kind, attrs


def address(value, xor_key=None):
    fam, p = value[1], struct.unpack("!H", value[2:4])[0]
    raw = value[4:8] if fam == 1 else value[4:20]
    if xor_key is not None:
        p ^= COOKIE >> 16
        raw = bytes(a ^ b for a, b in zip(raw, xor_key))
    return ipaddress.ip_address(raw), p


def exchange(name, request, expect_reply=True):
    """Sends one request; returns the parsed reply (or None) after the size check."""
    global largest
    sock.send(request)
    try:
        reply = sock.recv(4096)
    except socket.timeout:
        if expect_reply:
            fail(f"{name}: no response")
        return None
    allowed = min(max_response, factor * len(request))
    if len(reply) > allowed:
        fail(f"{name}: {len(reply)}-byte response to a {len(request)}-byte request (allowed {allowed})")
    if len(reply) / len(request) > largest[0] / max(largest[1], 1):
        largest = (len(reply), len(request))
    if reply[4:20] != request[4:20]:
        fail(f"{name}: the response does not echo the transaction id")
    return reply


def check_success(name, request, classic=False):
    reply = exchange(name, request)
    if reply is None:
        return
    kind, attrs = parse(reply)
    types = [t for t, _, _ in attrs]
    if kind != BINDING_SUCCESS:
        fail(f"{name}: type 0x{kind:04x}, expected a Binding success response")
        return
    if classic:
        if types != [MAPPED_ADDRESS]:
            fail(f"{name}: attributes {types}, expected only MAPPED-ADDRESS")
            return
        got = address(attrs[0][1])
    else:
        if types != [XOR_MAPPED_ADDRESS, FINGERPRINT]:
            fail(f"{name}: attributes {types}, expected XOR-MAPPED-ADDRESS, FINGERPRINT")
            return
        got = address(attrs[0][1], reply[4:20])
        fp_at = attrs[1][2]
        crc = (zlib.crc32(reply[:fp_at]) ^ 0x5354554E) & 0xFFFFFFFF
        if struct.pack("!I", crc) != attrs[1][1]:
            fail(f"{name}: FINGERPRINT does not verify")
    if got != (my_ip, my_port):
        fail(f"{name}: mapped address {got}, expected {(my_ip, my_port)}")
    else:
        print(f"ok: {name}: {len(reply)}-byte success for a {len(request)}-byte request, address {got[0]}:{got[1]}")


def check_420(name, request, expect_types, classic=False):
    reply = exchange(name, request)
    if reply is None:
        return
    kind, attrs = parse(reply)
    values = {t: v for t, v, _ in attrs}
    if kind != BINDING_ERROR or ERROR_CODE not in values or UNKNOWN_ATTRIBUTES not in values:
        fail(f"{name}: type 0x{kind:04x} attributes {[t for t, _, _ in attrs]}, expected 420 + UNKNOWN-ATTRIBUTES")
        return
    code = values[ERROR_CODE][2] * 100 + values[ERROR_CODE][3]
    listed = [struct.unpack("!H", values[UNKNOWN_ATTRIBUTES][i:i + 2])[0]
              for i in range(0, len(values[UNKNOWN_ATTRIBUTES]), 2)]
    if code != 420 or listed != expect_types:
        fail(f"{name}: {code} listing {[hex(t) for t in listed]}, expected 420 listing {[hex(t) for t in expect_types]}")
        return
    if classic and (FINGERPRINT in values or len(values[UNKNOWN_ATTRIBUTES]) % 4 != 0):
        fail(f"{name}: a classic client needs a 4-byte aligned UNKNOWN-ATTRIBUTES and no FINGERPRINT")
        return
    if not classic and FINGERPRINT not in values:
        fail(f"{name}: no FINGERPRINT on an RFC 8489 error response")
        return
    print(f"ok: {name}: {len(reply)}-byte 420 listing {[hex(t) for t in listed]} for a {len(request)}-byte request")


# --- Answered -------------------------------------------------------------------------------
check_success("minimal RFC 8489 Binding (20 bytes)", message(BINDING_REQUEST))
check_success("Binding with FINGERPRINT", message(BINDING_REQUEST, fingerprint=True))
check_success("classic RFC 3489 Binding (no cookie)", message(BINDING_REQUEST, tid=os.urandom(16), cookie=None),
              classic=True)
check_success("classic Binding with CHANGE-REQUEST 0 (what Debian's stun sends)",
              message(BINDING_REQUEST, attr(CHANGE_REQUEST, b"\0\0\0\0"), tid=os.urandom(16), cookie=None),
              classic=True)
check_success("Binding with an unknown comprehension-optional attribute",
              message(BINDING_REQUEST, attr(0xC0DE, b"x" * 40), fingerprint=True))
check_success("Binding with USERNAME and MESSAGE-INTEGRITY (not authenticated, answered the same)",
              message(BINDING_REQUEST, attr(USERNAME, b"someone") + attr(MESSAGE_INTEGRITY, b"\0" * 20)))
# A long SOFTWARE must not make the response any longer: nothing is echoed.
check_success("1,000-byte Binding (long SOFTWARE)", message(BINDING_REQUEST, attr(SOFTWARE, b"s" * 976)))

check_420("one unknown comprehension-required attribute",
          message(BINDING_REQUEST, attr(0x7777, b"abcd"), fingerprint=True), [0x7777])
check_420("CHANGE-REQUEST asking for another port", message(BINDING_REQUEST, attr(CHANGE_REQUEST, b"\0\0\0\2")),
          [CHANGE_REQUEST])
check_420("30 unknown attributes (the list is capped)",
          message(BINDING_REQUEST, b"".join(attr(0x7000 + i, b"") for i in range(30))),
          [0x7000, 0x7001, 0x7002, 0x7003])
check_420("classic request with one unknown attribute (list padded by repetition)",
          message(BINDING_REQUEST, attr(0x7777, b""), tid=os.urandom(16), cookie=None), [0x7777, 0x7777],
          classic=True)
check_420("unknown attribute with a 0-byte value (smallest 420 trigger, 24 bytes)",
          message(BINDING_REQUEST, attr(0x0030, b"")), [0x0030])

# --- Dropped --------------------------------------------------------------------------------
# Sent back to back, then one valid probe: on loopback the datagrams stay in order, so the first
# reply must be the probe's (any earlier reply would be an answer to something to be dropped).
drops = {
    "19-byte datagram": message(BINDING_REQUEST)[:19],
    "empty datagram": b"",
    "first two bits set": b"\xc0" + message(BINDING_REQUEST)[1:],
    "length field too long": message(BINDING_REQUEST, attr(SOFTWARE, b"abcd"), length=12),
    "length not a multiple of 4": message(BINDING_REQUEST) + b"\0\0",
    "attribute past the end": message(BINDING_REQUEST, struct.pack("!HH", SOFTWARE, 40) + b"abcd"),
    "wrong FINGERPRINT": message(BINDING_REQUEST, attr(FINGERPRINT, b"\0\0\0\0")),
    "Binding indication": message(BINDING_INDICATION),
    "Binding success response (reflection loop)": message(BINDING_SUCCESS),
    "Binding error response": message(BINDING_ERROR),
    "Allocate request (not a TURN server)": message(ALLOCATE_REQUEST),
    "DTLS-looking datagram": b"\x16\xfe\xfd" + os.urandom(40),
    "random 548 bytes": b"\x80" + os.urandom(547),
}
for name, datagram in drops.items():
    sock.send(datagram)
probe = message(BINDING_REQUEST)
sock.send(probe)
try:
    first = sock.recv(4096)
    if first[4:20] != probe[4:20]:
        fail(f"a datagram that should be dropped was answered ({len(first)} bytes, type {first[:2].hex()})")
    else:
        print(f"ok: {len(drops)} malformed or non-request datagrams dropped silently")
    sock.settimeout(0.3)
    try:
        extra = sock.recv(4096)
        fail(f"unexpected extra response of {len(extra)} bytes")
    except socket.timeout:
        pass
except socket.timeout:
    fail("no response to the final probe")

ratio = largest[0] / max(largest[1], 1)
print(f"largest amplification seen: {largest[0]} bytes for {largest[1]} ({ratio:.2f}x; "
      f"rule: <= {max_response} bytes and <= {factor}x)")
sys.exit(1 if failures else 0)
