#!/usr/bin/python3
"""Writes tests/rtp_payload/aiortc_vectors.hpp: real VP8 and H.264 frames (a key frame and a
delta frame each, 160x120, encoded by PyAV's libvpx and libx264) and the RTP payloads aiortc
1.4 (Debian python3-aiortc) packetizes them into, at aiortc's own 1300-byte limit and at 300
bytes (its PACKET_MAX patched) for more fragments. test_rtp_payload depacketizes aiortc's
payloads to exactly the frame and checks key-frame detection and the picture size.

    /usr/bin/python3 make_aiortc_vectors.py            # regenerate the header
    /usr/bin/python3 make_aiortc_vectors.py --check F  # depacketize our payloads in F with aiortc
    /usr/bin/python3 make_aiortc_vectors.py --opus     # write opus_vectors.hpp (libopus packets)

The encoders are not bit-exact from run to run (threads, rate control): regenerating changes
the bytes, not what the tests check. --opus writes real libopus packets (PyAV, every frame
duration from 2.5 to 120 ms, mono and stereo) with the duration libopus gave each, for the TOC
parser; aiortc sends Opus as it comes from the encoder, one packet per payload.

F is written by test_rtp_payload when PEERKIT_PAYLOADS_OUT names a file: lines
"codec frame_hex payload_hex payload_hex ...". --check depacketizes each line's payloads with
aiortc (vp8_depayload, H264PayloadDescriptor.parse) and compares with the frame (for H.264 the
frame with every start code made 4 bytes, which is what aiortc writes).
"""
import fractions
import pathlib
import sys

import av
from aiortc.codecs import h264 as aiortc_h264
from aiortc.codecs import vpx as aiortc_vpx

OUT = pathlib.Path(__file__).with_name("aiortc_vectors.hpp")
WIDTH, HEIGHT = 160, 120


def picture(index):
    """A moving gradient so that the delta frame differs from the key frame."""
    frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
    for plane_index, plane in enumerate(frame.planes):
        w, h = plane.width, plane.height
        rows = bytearray()
        for y in range(h):
            row = bytes(((x * 3 + y * 2 + index * 7 + plane_index * 50) & 0xFF) for x in range(w))
            rows += row + bytes(plane.line_size - w)
        plane.update(bytes(rows))
    frame.pts = index
    frame.time_base = fractions.Fraction(1, 30)
    return frame


def encode(codec_name, options):
    ctx = av.CodecContext.create(codec_name, "w")
    ctx.width, ctx.height = WIDTH, HEIGHT
    ctx.pix_fmt = "yuv420p"
    ctx.bit_rate = 300000
    ctx.framerate = fractions.Fraction(30, 1)
    ctx.time_base = fractions.Fraction(1, 30)
    ctx.options = options
    ctx.open()
    frames = []
    for i in range(2):
        for packet in ctx.encode(picture(i)):
            frames.append(bytes(packet))
    for packet in ctx.encode(None):
        frames.append(bytes(packet))
    return frames[:2]


def split_nals(frame):
    return list(aiortc_h264.H264Encoder._split_bitstream(frame))


def annexb4(frame):
    return b"".join(b"\x00\x00\x00\x01" + nal for nal in split_nals(frame))


def vp8_payloads(frame, limit, picture_id):
    aiortc_vpx.PACKET_MAX = limit
    return aiortc_vpx.Vp8Encoder._packetize(frame, picture_id)


def h264_payloads(frame, limit):
    aiortc_h264.PACKET_MAX = limit
    return aiortc_h264.H264Encoder._packetize(iter(split_nals(frame)))


def aiortc_depacketize(codec, payloads):
    if codec == "vp8":
        return b"".join(aiortc_vpx.vp8_depayload(p) for p in payloads)
    return b"".join(aiortc_h264.H264PayloadDescriptor.parse(p)[1] for p in payloads)


def check(path):
    failures = 0
    lines = [line.split() for line in pathlib.Path(path).read_text().splitlines() if line.strip()]
    for n, (codec, frame_hex, *payload_hex) in enumerate(lines):
        frame = bytes.fromhex(frame_hex)
        want = frame if codec == "vp8" else annexb4(frame)
        got = aiortc_depacketize(codec, [bytes.fromhex(p) for p in payload_hex])
        if got != want:
            failures += 1
            print(f"line {n + 1} ({codec}, {len(payload_hex)} payloads): aiortc depacketized "
                  f"{len(got)} bytes, the frame is {len(want)}")
    print(f"{len(lines) - failures} of {len(lines)} frames depacketized by aiortc to the frame")
    return 1 if failures else 0


def opus_vectors():
    import array
    import math
    entries = []
    for duration in ("2.5", "5", "10", "20", "40", "60", "120"):
        for layout, channels in (("mono", 1), ("stereo", 2)):
            ctx = av.CodecContext.create("libopus", "w")
            ctx.sample_rate = 48000
            ctx.layout = layout
            ctx.format = "s16"
            ctx.bit_rate = 24000
            ctx.options = {"frame_duration": duration}
            ctx.open()
            n = ctx.frame_size
            frame = av.AudioFrame(format="s16", layout=layout, samples=n)
            frame.sample_rate = 48000
            frame.planes[0].update(array.array("h", [int(8000 * math.sin(i / 10)) for i in range(channels * n)]).tobytes())
            frame.pts = 0
            packet = next(iter(ctx.encode(frame)))
            assert packet.time_base == fractions.Fraction(1, 48000)
            entries.append(f'    {{"{duration} ms {layout}", {packet.duration}, "{bytes(packet).hex()}"}},')
    text = f"""// Generated by tests/rtp_payload/make_aiortc_vectors.py --opus: do not edit.
// Real Opus packets from libopus (PyAV {av.__version__}, 24 kbit/s, a sine), one per frame duration and
// channel layout, with the duration in 48 kHz samples libopus reported for each.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace opus_vectors {{

struct packet {{
    std::string_view name;
    std::uint32_t samples;
    std::string_view hex;
}};

inline const std::vector<packet> packets = {{
{chr(10).join(entries)}
}};

}}  // namespace opus_vectors
"""
    path = OUT.with_name("opus_vectors.hpp")
    path.write_text(text)
    print(f"wrote {path} ({len(entries)} packets)")
    return 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        return check(sys.argv[2])
    if len(sys.argv) == 2 and sys.argv[1] == "--opus":
        return opus_vectors()
    vp8 = encode("libvpx", {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"})
    h264 = encode("libx264", {"profile": "baseline", "level": "31", "tune": "zerolatency",
                              "x264-params": "keyint=60"})
    entries = []
    for codec, frames in (("vp8", vp8), ("h264", h264)):
        for index, frame in enumerate(frames):
            key = index == 0
            for limit in (1300, 300):
                if codec == "vp8":
                    payloads = vp8_payloads(frame, limit, 1000 + index)
                    expected = frame
                else:
                    payloads = h264_payloads(frame, limit)
                    expected = annexb4(frame)
                # aiortc must agree with itself before it is an oracle for us
                assert aiortc_depacketize(codec, payloads) == expected
                name = f"{codec} {'key' if key else 'delta'} frame, limit {limit}"
                plist = ",\n        ".join('"%s"' % p.hex() for p in payloads)
                entries.append(
                    f'    {{"{name}", codec::{codec}, {str(key).lower()}, {WIDTH if key else 0}, '
                    f'{HEIGHT if key else 0}, {limit},\n     "{frame.hex()}",\n     "{expected.hex()}",\n'
                    f"     {{{plist}}}}},"
                )
    text = f"""// Generated by tests/rtp_payload/make_aiortc_vectors.py: do not edit.
// Real frames (PyAV {av.__version__}: libvpx and libx264, {WIDTH}x{HEIGHT}) and the RTP payloads aiortc 1.4
// (Debian python3-aiortc) packetized them into. `expected_hex` is what a depacketizer must
// output: the frame itself for VP8; for H.264 the frame with every start code 4 bytes long.
// Width and height are given for key frames (0 for delta frames: they carry none).
#pragma once

#include <string_view>
#include <vector>

namespace aiortc_payload_vectors {{

enum class codec {{ vp8, h264 }};
struct frame_vector {{
    std::string_view name;
    codec format;
    bool key;
    int width, height;
    int limit;  // aiortc's PACKET_MAX when it packetized
    std::string_view frame_hex, expected_hex;
    std::vector<std::string_view> payloads_hex;
}};

inline const std::vector<frame_vector> frames = {{
{chr(10).join(entries)}
}};

}}  // namespace aiortc_payload_vectors
"""
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(entries)} vectors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
