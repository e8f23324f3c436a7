"""Schemathesis hooks for scripts/api-fuzz.sh: request bodies of the binary media types the API
takes and Schemathesis cannot generate by itself (loaded through SCHEMATHESIS_HOOKS).

A pitch upload (`video/webm`, as the spec names it) gets either random bytes or a real
MediaRecorder recording from tests/fixtures/recordings, so both the refusal paths and the
checks of a real recording run under the fuzzer.
"""

import pathlib

import schemathesis
from hypothesis import strategies as st

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECORDING = (ROOT / "tests/fixtures/recordings/chromium-vp8-opus.webm").read_bytes()

schemathesis.openapi.media_type(
    "video/webm",
    st.one_of(st.binary(max_size=4096), st.just(RECORDING)),
)
