"""The owner's own words on a live call, as a third speaker (`owner`) of the transcript.

While the owner holds the call the agent's model does not hear them (engine.agent.owner gives it
silence while the owner speaks), so the owner's microphone is transcribed on its own: a second model
session, told never to answer, gets only the owner's frames (`OwnerAudio`), and each of its input
transcripts becomes an `owner` turn and a line in the agent's context ("your user said ...").
It is opened when the owner takes over and finished on hand back: the owner may have stopped
mid-sentence, so it hears some silence and the last words are transcribed (bounded) before it closes.
"""

from __future__ import annotations

import asyncio
import logging

from engine.agent.live_call import LiveCall
from engine.ports.agent import TranscriptTurn
from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import (
    CalleeTranscript,
    CalleeTranscriptFailed,
    ResponseStarted,
    SpeechStarted,
    VoiceSession,
)

log = logging.getLogger(__name__)

LISTEN_ONLY = "You only transcribe. Never say anything and never call a tool."
TRAILING_SILENCE_FRAMES = 40  # 800 ms, longer than any turn detection's silence
ULAW_SILENCE = b"\xff" * 160
DRAIN_S = 3.0  # after hand back: how long the last words may take to be transcribed


OWNER_SAID = 'Your user (the person you are calling for) said to the callee: "{text}"'


class OwnerWords:
    def __init__(self, call: LiveCall) -> None:
        self._call = call
        self._session: VoiceSession | None = None
        self._unfinished: set[str] = set()  # turns the session heard start and has not transcribed yet
        self._settled = asyncio.Event()  # no turn unfinished
        self._settled.set()

    async def open(self) -> None:
        try:  # the owner's leg is always μ-law, whatever the call's format
            self._session = await self._call.link.open_transcriber(LISTEN_ONLY, AudioFormat.ULAW)
        except Exception:  # noqa: BLE001 - the owner's words are a nicety; the call goes on without them
            log.warning("call %s: no transcription of the owner's words", self._call.call.call_id, exc_info=True)
            return
        if self._session is not None:  # None: no transcription configured, nothing to write
            self._call.tasks.spawn(self._read(self._session), "owner-words")

    async def push(self, audio: bytes) -> None:
        if self._session is not None:
            await self._session.push_audio(audio)

    async def finish(self) -> None:
        """After hand back: the last words transcribed (waiting at most DRAIN_S), then the session closed."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            for _ in range(TRAILING_SILENCE_FRAMES):  # the owner may hand back mid-word: end their turn
                await session.push_audio(ULAW_SILENCE)
            await asyncio.wait_for(self._settled.wait(), DRAIN_S)
        except TimeoutError:
            log.info("call %s: the owner's last words were not transcribed in time", self._call.call.call_id)
        finally:
            await session.close()

    async def _read(self, session: VoiceSession) -> None:
        try:
            async for event in session.events():
                if isinstance(event, ResponseStarted):
                    await session.cancel_response(event.response_id)
                elif isinstance(event, SpeechStarted):
                    self._unfinished.add(event.item_id)
                    self._settled.clear()
                elif isinstance(event, CalleeTranscript | CalleeTranscriptFailed):
                    if isinstance(event, CalleeTranscript) and event.text.strip():
                        await self._said(event.text)
                    self._unfinished.discard(event.item_id)
                    if not self._unfinished:
                        self._settled.set()
        finally:
            if self._session is session:  # the call ended while the owner held it: no hand back closes it
                self._session = None
                await session.close()

    async def _said(self, text: str) -> None:
        call = self._call
        now = call.clock.now()
        turn = TranscriptTurn("owner", text, now, now)
        call.transcript.turns.append(turn)  # in the call's report too: the analysis reads it
        await call.record_turn(turn)
        await call.link.add_context(OWNER_SAID.format(text=text))  # the agent did not hear the owner
