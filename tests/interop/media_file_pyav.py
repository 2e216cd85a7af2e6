#!/usr/bin/python3
"""Interop: files real encoders write, read by peerkit's media file readers (media_file/).
PyAV (Debian python3-av, ffmpeg with libvpx and libopus) encodes VP8 into IVF and Opus into Ogg
at test time, in several shapes (sizes, frame rates, mono and stereo, bit rates up to Opus's
largest packets); tests/interop/programs/media_file_dump.cpp must find the same frames and
packets, byte counts and timestamps, as ffmpeg's demuxer. ffmpeg's Ogg muxer starts a new page
rather than split a packet, so packets that span pages are tested in tests/media_file (built by
hand). Fails loudly when PyAV is missing."""
import os
import subprocess
import sys
import tempfile

try:
    import av
    import numpy as np
except ImportError as e:
    sys.exit(f"FAIL: PyAV is needed (apt install python3-av): {e}")

build = os.environ.get("PEERKIT_BUILD_DIR")
if not build:
    sys.exit("PEERKIT_BUILD_DIR is not set")
dump = os.path.join(build, "tests", "interop", "interop_media_file_dump")
if not os.access(dump, os.X_OK):
    sys.exit(f"FAIL: {dump} is not built")


def write_vp8(path, width, height, fps, frames):
    out = av.open(path, "w", format="ivf")
    s = out.add_stream("libvpx", rate=fps)
    s.width, s.height, s.pix_fmt = width, height, "yuv420p"
    rng = np.random.default_rng(width * height + frames)
    for i in range(frames):
        img = rng.integers(0, 255, (height, width, 3), dtype=np.uint8) if i % 7 == 0 else \
            np.full((height, width, 3), (i * 9) % 255, dtype=np.uint8)
        for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()


def write_opus(path, channels, seconds, bitrate):
    out = av.open(path, "w", format="ogg")
    s = out.add_stream("libopus", rate=48000)
    s.layout = "stereo" if channels == 2 else "mono"
    s.bit_rate = bitrate
    t = 0
    rng = np.random.default_rng(channels * 1000 + bitrate)
    for _ in range(int(seconds * 50)):
        n = 960
        x = (rng.standard_normal(n) * 8000).astype(np.int16)
        arr = np.stack([x] * channels, axis=0).T.reshape(1, -1)
        f = av.AudioFrame.from_ndarray(arr, format="s16", layout=s.layout.name)
        f.sample_rate = 48000
        f.pts = t
        t += n
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()


def ffmpeg_packets(path):
    with av.open(path) as c:
        st = c.streams[0]
        pk = [p for p in c.demux(st) if p.size > 0]
        return st, [(p.size, p.pts) for p in pk]


def ours(path):
    run = subprocess.run([dump, path], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"FAIL: media_file_dump {os.path.basename(path)}: {run.stderr.strip()}")
    return [line.split() for line in run.stdout.splitlines()]


failures = []
with tempfile.TemporaryDirectory() as tmp:
    for (w, h, fps, n) in [(64, 48, 30, 10), (320, 240, 25, 60), (1280, 720, 30, 12)]:
        path = os.path.join(tmp, f"vp8_{w}x{h}.ivf")
        write_vp8(path, w, h, fps, n)
        st, theirs = ffmpeg_packets(path)
        lines = ours(path)
        header, frames = lines[0], [(int(l[1]), int(l[2])) for l in lines[1:]]
        if header[:5] != ["HEADER", "ivf", "VP80", str(w), str(h)]:
            failures.append(f"{path}: header {header}")
        if frames != theirs:
            failures.append(f"{os.path.basename(path)}: ours {frames[:5]}... ({len(frames)}) ffmpeg {theirs[:5]}... ({len(theirs)})")
        else:
            print(f"ok  VP8 {w}x{h}: {len(frames)} frames, {sum(s for s, _ in frames)} bytes, sizes and timestamps as ffmpeg's")
    for (channels, seconds, bitrate) in [(1, 1.0, 32000), (2, 3.0, 128000), (2, 2.0, 510000)]:
        path = os.path.join(tmp, f"opus_{channels}ch_{bitrate}.ogg")
        write_opus(path, channels, seconds, bitrate)
        st, theirs = ffmpeg_packets(path)
        lines = ours(path)
        header, packets = lines[0], [(int(l[1]), int(l[2])) for l in lines[1:]]
        spanning = sum(int(l[3]) for l in lines[1:])
        if header[:3] != ["HEADER", "opus", str(channels)]:
            failures.append(f"{path}: header {header}")
        sizes = [s for s, _ in packets]
        if sizes != [s for s, _ in theirs]:
            failures.append(f"{os.path.basename(path)}: ours {sizes[:5]} ({len(sizes)}) ffmpeg {[s for s, _ in theirs][:5]} ({len(theirs)})")
            continue
        # The last packet of the stream carries the final granule position (RFC 7845 4): the
        # samples of the whole stream plus the pre-skip, which ffmpeg's last pts + duration is.
        granules = [g for _, g in packets if g >= 0]
        if not granules or granules != sorted(granules):
            failures.append(f"{os.path.basename(path)}: granule positions not increasing: {granules[:8]}")
            continue
        expected_end = int(header[3]) + int(seconds * 48000)  # pre-skip + the samples encoded
        if granules[-1] != expected_end:
            failures.append(f"{os.path.basename(path)}: final granule {granules[-1]}, expected {expected_end}")
            continue
        print(f"ok  Opus {channels} ch at {bitrate} b/s: {len(packets)} packets, {sum(sizes)} bytes as ffmpeg's, "
              f"{len(granules)} pages, {spanning} packets across pages, final granule {granules[-1]}")

if failures:
    sys.exit("FAIL:\n  " + "\n  ".join(failures))
print("media_file_pyav: passed")
