"""What the simulated GPT-Live model hears (caller audio, with `EnergyVad`) and sends when it speaks: audio deltas in the session format
(no ids, no end marker) with transcript fragments on the session timeline, a fixture played
through the same path, and a Responses delegation's nested event stream (openai-live.md §2.3,
§3.3, §4.2)."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any, Protocol

from engine.voice.codecs import tone_pcm16
from engine.voice.live_simulator.start import rate_of
from engine.voice.simulator.line import encode
from engine.voice.simulator.script import Reply, SimToolCall
from engine.voice.simulator.vad import FRAME_MS, EnergyVad, VadSettings

FIXTURE_RATE = 24000
FIXTURE_MAX_MS = 30_000


class LiveSession(Protocol):
    """The connection that speaks and hears: one `engine.voice.live_simulator.session.LiveSession`."""

    sim: Any  # LiveSimulator: its responder, switches and ids
    index: int
    session: dict[str, Any]
    clock_ms: float
    output_ms: float
    input_ms: int
    spoken: list[str]
    pending_calls: list[str]
    yield_floor: asyncio.Event
    released: asyncio.Event
    callee_talking: bool
    fixture_playing: bool
    speaking_task: asyncio.Task[None] | None
    vad: EnergyVad
    carry: bytes

    def send(self, event: dict[str, Any]) -> None: ...

    def send_error(
        self, code: str, message: str = "", client_event_id: str | None = None, param: str | None = None
    ) -> None: ...

    async def callee_starts_speaking(self) -> None: ...

    async def callee_stops_speaking(self, transcript: str = "", speech_ms: int | None = None) -> None: ...


async def stream(self: LiveSession, reply: Reply) -> tuple[float, bool]:
    """Audio deltas (no ids) with transcript fragments in proportion; stops when the callee talks."""
    fmt = self.session["audio"]["format"]
    total, words = reply.duration_ms, reply.text.split(" ") if reply.text else []
    sent, said = 0.0, 0
    chunk = getattr(self.sim, "chunk_ms", 100)
    paced = getattr(self.sim, "paced", False)
    while sent < total:
        if self.yield_floor.is_set() or self.callee_talking:
            break
        if reply.hold_after_ms is not None and sent >= reply.hold_after_ms and not self.released.is_set():
            await self.released.wait()
            continue
        ms = min(chunk, total - sent)
        pcm = tone_pcm16(int(ms), rate_of(fmt), phase_ms=sent)
        start = self.clock_ms
        self.clock_ms += ms
        self.output_ms += ms
        sent += ms
        self.send({"type": "session.output_audio.delta", "delta": base64.b64encode(encode(pcm, fmt["type"])).decode()})
        due = round(len(words) * sent / total) if total else len(words)
        if due > said:
            fragment = " ".join(words[said:due])
            self.send(
                {
                    "type": "session.output_transcript.delta",
                    "delta": fragment if said == 0 and not self.spoken else " " + fragment,
                    "start_ms": int(start),
                    "end_ms": int(self.clock_ms),
                }
            )
            said = due
        await asyncio.sleep(ms / 1000 if paced else 0)
    if total == 0 and words:
        self.send(
            {
                "type": "session.output_transcript.delta",
                "delta": reply.text,
                "start_ms": int(self.clock_ms),
                "end_ms": int(self.clock_ms),
            }
        )
        said = len(words)
    yielded = sent < total
    if said:
        self.spoken.append(" ".join(words[:said]))
    return sent, yielded


def open_delegation(self: LiveSession) -> tuple[str, str]:
    """The model delegates as it takes the floor (then speaks its acknowledgement): Responses delegation's
    `session.delegation.created` at this point of the session timeline, and the backend's response starts."""
    delegation_id, response_id = self.sim.next_id("del"), self.sim.next_id("resp")
    self.send(
        {
            "type": "session.delegation.created",
            "offset_ms": int(self.clock_ms),
            "delegation": {
                "id": delegation_id,
                "type": "delegation",
                "target": "responses",
                "response_id": response_id,
            },
        }
    )
    _nested(self, delegation_id, {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}})
    return delegation_id, response_id


def finish_delegation(self: LiveSession, delegation: tuple[str, str], calls: tuple[SimToolCall, ...]) -> None:
    """The backend's function calls, then its completion, nested in `response.event` events. It runs on
    whether or not the model was interrupted meanwhile ("interrupting the spoken conversation leaves
    backend work running")."""
    delegation_id, response_id = delegation
    for index, call in enumerate(calls):
        call_id = self.sim.next_id("call")
        self.pending_calls.append(call_id)
        item = {
            "id": self.sim.next_id("fc"),
            "type": "function_call",
            "status": "completed",
            "call_id": call_id,
            "name": call.name,
            "arguments": call.arguments_json,
        }
        _nested(self, delegation_id, {"type": "response.output_item.done", "output_index": index, "item": item})
    usage = {"input_tokens": 120 * len(calls), "output_tokens": 20 * len(calls), "total_tokens": 140 * len(calls)}
    completed = {"id": response_id, "status": "completed", "usage": usage}
    _nested(self, delegation_id, {"type": "response.completed", "response": completed})


def _nested(self: LiveSession, delegation_id: str, inner: dict[str, Any]) -> None:
    self.send({"type": "response.event", "delegation_id": delegation_id, "event": inner})


async def play_fixture(self: LiveSession, ms: int, event_id: str | None) -> None:
    try:
        await stream(self, Reply("", audio_ms=ms))
        self.send({"type": "session.output_audio.fixture.played", "client_event_id": event_id})
    finally:
        self.fixture_playing = False


async def start_fixture(self: LiveSession, event: dict[str, Any]) -> None:
    """`session.output_audio.fixture.play`: validated whole, then it interrupts the model and mutes input."""
    event_id = event.get("event_id")
    if self.fixture_playing:
        self.send_error("fixture_active", "Another fixture is playing.", event_id)
        return
    try:
        pcm = base64.b64decode(event.get("audio", ""), validate=True)
    except (binascii.Error, ValueError):
        self.send_error("invalid_audio", "Fixture audio is not valid base64.", event_id, "audio")
        return
    ms = len(pcm) * 1000 // (FIXTURE_RATE * 2)
    if not pcm or len(pcm) % 2 or ms > FIXTURE_MAX_MS:
        self.send_error("invalid_audio", "A fixture is PCM16 24 kHz, even length, at most 30 s.", event_id, "audio")
        return
    if self.speaking_task is not None:
        self.speaking_task.cancel()
    self.fixture_playing = True
    self.send({"type": "session.output_audio.fixture.playing", "client_event_id": event_id})
    self.speaking_task = asyncio.create_task(play_fixture(self, ms, event_id), name=f"live-sim-fixture-{self.index}")


async def hear(self: LiveSession, pcm16: bytes, rate: int) -> None:
    """Caller audio on the session timeline; with `energy_vad`, the callee's turns from it."""
    data = self.carry + pcm16
    frame = rate * FRAME_MS // 1000 * 2
    offset = 0
    while offset + frame <= len(data):
        self.input_ms += FRAME_MS
        self.clock_ms = max(self.clock_ms, self.input_ms)
        if self.sim.energy_vad:
            change = self.vad.frame(data[offset : offset + frame], self.input_ms, VadSettings())
            if change is not None and change.kind == "started":
                await self.callee_starts_speaking()
            elif change is not None:
                text = self.sim.words_of_turn(change.speech_ms)
                await self.callee_stops_speaking(text or f"(callee speech, {change.speech_ms} ms)", change.speech_ms)
        offset += frame
    self.carry = data[offset:]
