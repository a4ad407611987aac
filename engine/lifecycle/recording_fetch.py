"""After a recorded call: the recording from the PBX to the node's store, then off the PBX.

The PBX recorded the call's bridge under its own name (`TelephonyResult.recording`).
`RecordingKeeper.keep` fetches it through the Telephony port, saves it with the
`RecordingStore`, notes its name on the call row, and deletes the PBX's copy (unless
`keep_on_pbx`: an operator who archives the PBX's spool keeps it there). Every failed
fetch is logged and shown as a call event; it is retried `len(backoff_s)` times, on the
injected clock, and then given up (the PBX keeps its copy). Nothing here fails the attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

import asyncpg

from db import calls, events
from engine.clock import Clock
from engine.lifecycle.recording_store import RecordingStore
from engine.ports.telephony import RecordingUnavailable, Telephony

log = logging.getLogger(__name__)
BACKOFF_S = (1.0, 2.0, 4.0)  # waits before each retry: four tries in about 7 s


class RecordingKeeper:
    def __init__(
        self,
        pool: asyncpg.Pool,
        telephony: Telephony,
        store: RecordingStore,
        clock: Clock,
        *,
        keep_on_pbx: bool = False,
        backoff_s: Sequence[float] = BACKOFF_S,
    ) -> None:
        self.pool = pool
        self.telephony = telephony
        self.store = store
        self.clock = clock
        self.keep_on_pbx = keep_on_pbx
        self.backoff_s = tuple(backoff_s)

    async def keep(self, user_id: int, call_id: UUID, pbx_name: str) -> str | None:
        """Fetch, store and note the call's recording; its name in the store, or None if it could not be had."""
        try:
            data = await self._fetch(user_id, call_id, pbx_name)
            if data is None:
                return None
            name = self.store.save(user_id, call_id, data)
            await calls.set_recording(self.pool, user_id, call_id, name)
            await self._event(user_id, call_id, "recording_stored", f"Recording stored ({len(data) // 1024} KiB)",
                              {"pbx_name": pbx_name, "bytes": len(data)})
        except Exception as exc:  # a full disk or a database hiccup must not fail the attempt either
            log.exception("call %s: storing the recording %s failed", call_id, pbx_name)
            await self._event(user_id, call_id, "recording_not_stored",
                              f"The recording could not be stored: {type(exc).__name__}: {exc}", {"pbx_name": pbx_name})
            return None
        if not self.keep_on_pbx:
            await self._delete_on_pbx(user_id, call_id, pbx_name)
        return name

    async def _fetch(self, user_id: int, call_id: UUID, pbx_name: str) -> bytes | None:
        tries = len(self.backoff_s) + 1
        for attempt in range(1, tries + 1):
            try:
                return await self.telephony.fetch_recording(pbx_name)
            except RecordingUnavailable as exc:
                reason = str(exc)
            log.warning("call %s: fetching recording %s failed (try %d of %d): %s",
                        call_id, pbx_name, attempt, tries, reason)
            await self._event(user_id, call_id, "recording_fetch_failed",
                              f"Fetching the recording from the phone system failed (try {attempt} of {tries}): {reason}",
                              {"pbx_name": pbx_name, "try": attempt})
            if attempt < tries:
                await self.clock.sleep(self.backoff_s[attempt - 1])
        await self._event(user_id, call_id, "recording_not_stored",
                          f"The recording was not stored after {tries} tries ({reason}); the phone system keeps it "
                          f"as {pbx_name}", {"pbx_name": pbx_name})
        return None

    async def _delete_on_pbx(self, user_id: int, call_id: UUID, pbx_name: str) -> None:
        try:
            await self.telephony.delete_recording(pbx_name)
        except RecordingUnavailable as exc:
            log.warning("call %s: deleting recording %s on the PBX failed: %s", call_id, pbx_name, exc)
            await self._event(user_id, call_id, "recording_left_on_pbx",
                              f"The phone system's copy could not be deleted: {exc}", {"pbx_name": pbx_name})

    async def _event(self, user_id: int, call_id: UUID, kind: str, message: str, data: dict) -> None:
        try:
            await events.add_call_event(self.pool, user_id, call_id, kind=kind, message=message, data=data)
        except Exception:
            log.exception("call %s: could not record the call event %s", call_id, kind)
