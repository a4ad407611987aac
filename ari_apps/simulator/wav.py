"""A minimal PCM16 mono WAV writer for the simulator's recordings."""

from __future__ import annotations

import struct


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data", len(pcm),
    )
    return header + pcm
