"""Fetching a call's recording for the player.

The telephony adapter knows where recordings live (Asterisk stores them and
serves them over ARI); it provides a `RecordingSource`. Until one is wired,
`FileRecordings` serves files stored under the node's data directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

from db.models import Call

CHUNK = 64 * 1024


class Recording:
    """An open recording: its media type and an iterator over its bytes."""

    def __init__(self, media_type: str, chunks: AsyncIterator[bytes], size: int | None = None) -> None:
        self.media_type = media_type
        self.chunks = chunks
        self.size = size


class RecordingSource(Protocol):
    async def open_recording(self, call: Call) -> Recording | None:
        """The recording of this call (already checked to belong to the caller), or None."""


_MEDIA_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".gsm": "audio/x-gsm"}


class FileRecordings:
    """Recordings as files under one directory; `call.recording` is a name relative to it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

    async def open_recording(self, call: Call) -> Recording | None:
        if not call.recording:
            return None
        path = (self.directory / call.recording).resolve()
        if not path.is_relative_to(self.directory) or not path.is_file():
            return None
        media_type = _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return Recording(media_type, _read(path), path.stat().st_size)


async def _read(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as f:
        while chunk := await f.read(CHUNK):
            yield chunk
