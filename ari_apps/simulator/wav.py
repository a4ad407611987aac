"""A minimal PCM16 mono WAV writer for the simulator's recordings."""

from __future__ import annotations

import struct


def wav_bytes(pcm: bytes, rate: int, *, sizes_known: bool = True) -> bytes:
    """A WAV file of `pcm`; without `sizes_known`, the header of a file still being written (format_wav's
    write_header puts zero in both sizes and fills them in when it closes the file)."""
    riff_size, data_size = (36 + len(pcm), len(pcm)) if sizes_known else (0, 0)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", riff_size, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data", data_size,
    )
    return header + pcm
