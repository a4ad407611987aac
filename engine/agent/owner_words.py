"""The owner's own words on a live call, as a third speaker (`owner`) of the transcript.

The agent's model hears the call's mix (callee and owner together), so the owner's microphone is
transcribed on its own: while the owner holds the call, a second model session, told never to
answer, gets only the owner's frames (`OwnerAudio`), and each of its input transcripts becomes an
`owner` turn. It is opened when the owner takes over and closed a moment after hand back, so the
last words are transcribed too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from engine.ports.agent import TranscriptTurn
from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import CalleeTranscript, ResponseStarted, VoiceSession

log = logging.getLogger(__name__)

LISTEN_ONLY = "You only transcribe. Never say anything and never call a tool."
TRAILING_SILENCE_FRAMES = 40  # 800 ms, longer than any turn detection's silence
ULAW_SILENCE = b"\xff" * 160
DRAIN_S = 3.0  # after hand back: how long the last words may take to be transcribed


class OwnerWords:
    def __init__(self, call: Any) -> None:
        self._call = call
        self._session: VoiceSession | None = None
        self._done: asyncio.Event = asyncio.Event()
        self._pending = 0

    async def open(self) -> None:
        link = self._call.link
        # The owner's leg is always μ-law, whatever the call's format.
        config = dataclasses.replace(link._config, instructions=LISTEN_ONLY, tools=(), media_format=AudioFormat.ULAW)
        if not config.transcription_model:
            return  # no transcription configured: nothing to write
        try:
            self._session = await link._model.open(config)
        except Exception:  # noqa: BLE001 - the owner's words are a nicety; the call goes on without them
            log.warning("call %s: no transcription of the owner's words", self._call.call.call_id, exc_info=True)
            return
        self._call.tasks.spawn(self._read(self._session), "owner-words")

    async def push(self, audio: bytes) -> None:
        if self._session is not None:
            await self._session.push_audio(audio)

    async def close(self) -> None:
        """After hand back: let the last turn be transcribed (bounded), then close the session."""
        session, self._session = self._session, None
        if session is None:
            return
        self._done.clear()
        for _ in range(TRAILING_SILENCE_FRAMES):  # the owner may hand back mid-word: end their turn
            await session.push_audio(ULAW_SILENCE)
        self._call.tasks.spawn(self._drain_and_close(session), "owner-words-close")

    async def _drain_and_close(self, session: VoiceSession) -> None:
        try:
            await asyncio.wait_for(self._done.wait(), DRAIN_S)
        except TimeoutError:
            pass
        finally:
            await session.close()

    async def _read(self, session: VoiceSession) -> None:
        call = self._call
        async for event in session.events():
            if isinstance(event, ResponseStarted):
                await session.cancel_response()
            elif isinstance(event, CalleeTranscript) and event.text.strip():
                now = call.clock.now()
                turn = TranscriptTurn("owner", event.text, now, now)
                call.transcript.turns.append(turn)  # in the call's report too: the analysis reads it
                await call.recorder.transcript_turn(call.call.call_id, turn)
                self._done.set()
