"""A call's recording for its owner: the file the engine stored, whole or by byte range, and its deletion.

After a recorded call the engine keeps the file under the node's data directory
(`engine.lifecycle.recording_store`); `call.recording` names it. The route has already
checked that the call belongs to the signed-in user (`db.calls.get_call` is tenant-scoped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
import asyncpg

from db import calls, events
from db.models import Call, User
from engine.lifecycle.recording_store import RecordingStore

CHUNK = 64 * 1024
_MEDIA_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".gsm": "audio/x-gsm"}


@dataclass(frozen=True, slots=True)
class Recording:
    """An open recording: its media type, its size, and its bytes from any offset."""

    path: Path
    media_type: str
    size: int

    async def chunks(self, first: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        left = self.size - first if length is None else length
        async with await anyio.open_file(self.path, "rb") as f:
            await f.seek(first)
            while left > 0 and (chunk := await f.read(min(CHUNK, left))):
                left -= len(chunk)
                yield chunk


class RecordingSource(Protocol):
    async def open_recording(self, call: Call) -> Recording | None:
        """The recording of this call, or None."""

    async def remove_recording(self, call: Call) -> bool:
        """Delete the call's recording file; False if there was none."""


class StoredRecordings:
    """The recordings the engine stored under one root (`<data_dir>/recordings`)."""

    def __init__(self, store: RecordingStore) -> None:
        self.store = store

    async def open_recording(self, call: Call) -> Recording | None:
        path = self.store.path_of(call.recording)
        if path is None or not path.is_file():
            return None
        return Recording(path, _MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"), path.stat().st_size)

    async def remove_recording(self, call: Call) -> bool:
        return self.store.remove(call.recording)


async def delete_recording(pool: asyncpg.Pool, source: RecordingSource, user: User, call: Call) -> None:
    """The owner deletes a call's recording: the file, its name on the call, and a line in the call's events."""
    removed = await source.remove_recording(call)
    if call.recording is not None:
        await calls.set_recording(pool, user.id, call.id, None)
    if removed or call.recording is not None:
        await events.add_call_event(pool, user.id, call.id, kind="recording_deleted",
                                    message=f"Recording deleted by {user.display_name or user.email}")
