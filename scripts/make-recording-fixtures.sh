#!/usr/bin/env bash
# Rebuilds the pitch-recording fixtures in tests/fixtures/recordings/ (not run by CI; the files
# are committed). Needs Debian's `chromium`, node with npm, and python3; it installs
# playwright-core and PyAV into a scratch directory, never into the project.
#
# - Chromium's own MediaRecorder (fake camera and microphone) makes the WebM files, as a
#   seller's Chrome or Edge would, and its fragmented MP4 (the shape Safari uploads as well).
# - PyAV (FFmpeg) makes the shapes no headless browser here records (files named `ffmpeg-*`):
#   H.264/AAC fragmented MP4 and M4A with an empty `moov`, the shape Safari uploads; a
#   progressive (moov-first) M4A; Ogg Opus, as Firefox may upload; and a WebM with known
#   sizes, Cues and a Duration, as a desktop tool writes it.
# - Each file's true duration is then measured with FFmpeg from its packets and printed; the
#   figures go into the `FIXTURES` table of src/domain/recording.rs.
#
# Usage: bash scripts/make-recording-fixtures.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/tests/fixtures/recordings"
work="${TMPDIR:-/tmp}/reprise-recording-fixtures"
mkdir -p "$out" "$work"

if [ ! -d "$work/node_modules/playwright-core" ]; then
  (cd "$work" && npm init -y >/dev/null && npm i --silent playwright-core)
fi
if [ ! -x "$work/venv/bin/python" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet av numpy
fi

cat > "$work/record.mjs" <<'EOF'
// Records a few seconds from Chromium's fake devices with MediaRecorder, as the web app does.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';

const out = process.argv[2];
const takes = [
  { file: 'chromium-vp8-opus.webm', mime: 'video/webm;codecs=vp8,opus', video: true },
  { file: 'chromium-vp9-opus.webm', mime: 'video/webm;codecs=vp9,opus', video: true },
  { file: 'chromium-opus.webm', mime: 'audio/webm;codecs=opus', video: false },
  { file: 'chromium-fragmented.mp4', mime: 'video/mp4', video: true },
];
// getUserMedia needs a secure context: a page served from loopback is one.
const server = http.createServer((_, res) => {
  res.setHeader('content-type', 'text/html');
  res.end('<!doctype html><title>fixtures</title>');
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
});
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
for (const take of takes) {
  const b64 = await page.evaluate(async ({ mime, video }) => {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: video ? { width: 160, height: 120, frameRate: 15 } : false,
    });
    const rec = new MediaRecorder(stream, {
      mimeType: mime, videoBitsPerSecond: 80_000, audioBitsPerSecond: 24_000,
    });
    const parts = [];
    rec.ondataavailable = (e) => parts.push(e.data);
    const stopped = new Promise((ok) => { rec.onstop = ok; });
    rec.start(1000); // one chunk a second, as the app uploads them
    await new Promise((ok) => setTimeout(ok, 3000));
    rec.stop();
    await stopped;
    stream.getTracks().forEach((t) => t.stop());
    const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }, take);
  fs.writeFileSync(`${out}/${take.file}`, Buffer.from(b64, 'base64'));
}
await browser.close();
server.close();
EOF

cat > "$work/encode.py" <<'EOF'
"""Encodes the fixtures Chromium cannot record, then measures every fixture's duration."""
import fractions
import math
import pathlib
import sys

import av
import numpy as np

out = pathlib.Path(sys.argv[1])
SECONDS = 3
RATE = 48_000


def tone(seconds, rate):
    """A 440 Hz tone in 1024-sample frames."""
    n = 1024
    for i in range(0, seconds * rate, n):
        t = (np.arange(i, i + n) / rate).astype(np.float32)
        samples = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = i
        frame.time_base = fractions.Fraction(1, rate)
        yield frame


def write(name, fmt, audio_codec, video_codec=None, options=None, audio_rate=RATE, seconds=SECONDS):
    with av.open(str(out / name), "w", format=fmt, options=options or {}) as box:
        a = box.add_stream(audio_codec, rate=audio_rate, layout="mono")
        a.bit_rate = 24_000
        if video_codec:
            v = box.add_stream(video_codec, rate=15)
            v.width, v.height, v.pix_fmt = 160, 120, "yuv420p"
            v.bit_rate = 60_000
            for i in range(seconds * 15):
                img = np.zeros((120, 160, 3), dtype=np.uint8)
                img[:, (i * 4) % 160 :] = (40, 120, 200)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                box.mux(v.encode(frame))
            box.mux(v.encode())
        for frame in tone(seconds, audio_rate):
            box.mux(a.encode(frame))
        box.mux(a.encode())


fragmented = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
write("ffmpeg-fragmented-h264-aac.mp4", "mp4", "aac", "libx264", fragmented, 44_100)
write("ffmpeg-fragmented-aac.m4a", "mp4", "aac", None, fragmented, 44_100)
write("ffmpeg-progressive-aac.m4a", "mp4", "aac", None, {"movflags": "faststart"}, 44_100)
write("ffmpeg-opus.ogg", "ogg", "libopus")
# Longer than a 10-second pitch allows (11 s with its margin): the API refuses it as too long.
write("ffmpeg-opus-12s.ogg", "ogg", "libopus", seconds=12)
# A WebM written to a seekable file: known-size clusters, Cues and a Duration, unlike a browser's.
write("ffmpeg-vp8-opus.webm", "webm", "libopus", "libvpx")


def duration(path):
    """End of the last packet minus start of the first, over all streams, from the packets."""
    with av.open(str(path)) as box:
        start, end = None, 0.0
        for packet in box.demux():
            if packet.pts is None:
                continue
            s = float(packet.pts * packet.time_base)
            e = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            start = s if start is None else min(start, s)
            end = max(end, e)
        return end - max(start or 0.0, 0.0)


for path in sorted(out.iterdir()):
    print(f"{path.name}\t{path.stat().st_size} bytes\t{duration(path):.3f} s")
EOF

node "$work/record.mjs" "$out"
"$work/venv/bin/python" "$work/encode.py" "$out"
