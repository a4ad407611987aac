"""One simulated GPT-Live connection: the session, its commands, the model's turns, delegated tools.

The model owns turn-taking, like the service: it speaks when the callee has finished (a scripted
`callee_says`, or its energy VAD on the audio it receives), when it is given instructions or
commentary, and when a delegated tool call is continued; it stops by itself (yields) as soon as
the callee talks over it. Output is audio deltas in the session format with no ids, and
transcripts as fragments on the session timeline (ms); nothing marks the end of a turn. A turn
with tool calls delegates as it starts (Responses delegation); the backend's calls come once its
speech ends, even when the callee cut it short (the backend runs on).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

from engine.voice.live_simulator.speech import finish_delegation, hear, open_delegation, start_fixture, stream
from engine.voice.live_simulator.start import (
    StartError,
    apply_update,
    rate_of,
    tool_names,
    validate_append,
    validate_start,
)
from engine.voice.simulator.connection import SimulatorConnection
from engine.voice.simulator.controls import SimulatorControls
from engine.voice.simulator.line import decode
from engine.voice.simulator.script import Reply, Turn
from engine.voice.simulator.vad import EnergyVad

APPENDS = ("session.instructions.append", "session.thinking.append", "session.commentary.append")
CALLEE_PAUSE_MS = 200  # a callee who was not talked over starts this long after the model stopped
CALLEE_WORD_MS = 300  # scripted callee speech, per word


class LiveSession(SimulatorConnection):
    WRITER_NAME = "live-sim-writer"

    def __init__(self, sim: SimulatorControls, websocket: ServerConnection, index: int) -> None:
        super().__init__(sim, websocket, index)
        self.session: dict[str, Any] = {}
        self.started = False
        self.closed_reason: str | None = None
        self.input_ms = 0  # caller audio received
        self.output_ms = 0.0  # model audio sent
        self.clock_ms = 0.0  # the session timeline: audio heard, spoken and scripted speech
        self._callee_start_ms = 0.0
        self.spoken: list[str] = []  # what the model said (its output transcripts), one entry per turn
        self.heard: list[str] = []  # the callee's turns as the model transcribed them
        self._notes: list[dict[str, Any]] = []  # context since the model last spoke
        self._outputs: dict[str, str] = {}  # call id -> output, for the pending delegation
        self.pending_calls: list[str] = []
        self.speaking_task: asyncio.Task[None] | None = None
        self.yield_floor = asyncio.Event()  # the callee took the floor: stop talking
        self.released = asyncio.Event()
        self._queued: list[Turn] = []  # turns asked for while the model was speaking
        self.fixture_playing = False
        self._idle: asyncio.Task[None] | None = None
        self.vad = EnergyVad()
        self.carry = b""
        self.callee_talking = False

    # --- scripted callee and faults (public) -------------------------------------------------

    async def callee_starts_speaking(self) -> None:
        """The callee talks: the model yields the floor if it is speaking."""
        self.callee_talking = True
        self._cancel_idle()
        if self.speaking:  # talked over: the model yields where it is
            self._callee_start_ms = self.clock_ms
            self.yield_floor.set()
            self.released.set()
        else:
            self._callee_start_ms = self.clock_ms + CALLEE_PAUSE_MS

    async def callee_stops_speaking(self, transcript: str = "", speech_ms: int | None = None) -> None:
        """The callee is done: the transcript arrives as fragments, then the model answers."""
        if not self.callee_talking:
            self._callee_start_ms = self.clock_ms + CALLEE_PAUSE_MS
        self.callee_talking = False
        at = self._callee_start_ms
        words = transcript.split(" ") if transcript else []
        for i, word in enumerate(words):
            fragment = word if i == 0 else " " + word
            end = at + CALLEE_WORD_MS
            self.send(
                {"type": "session.input_transcript.delta", "delta": fragment, "start_ms": int(at), "end_ms": int(end)}
            )
            at = end
        self.clock_ms = max(self.clock_ms, at)
        self.heard.append(transcript)
        await self.finished_speaking()
        self._start_turn("speech", callee_text=transcript, callee_ms=speech_ms)

    async def callee_says(self, transcript: str) -> None:
        await self.callee_starts_speaking()
        await self.callee_stops_speaking(transcript)

    def release(self) -> None:
        """Let a reply held by `Reply.hold_after_ms` speak the rest."""
        self.released.set()

    def send_error(
        self, code: str, message: str = "", client_event_id: str | None = None, param: str | None = None
    ) -> None:
        error = {
            "type": "rate_limit_error" if "rate_limit" in code else "invalid_request_error",
            "code": code,
            "message": message or code,
            "param": param,
            "client_event_id": client_event_id,
        }
        self.send({"type": "error", "error": error})

    async def end(self, reason: str = "expired", code: int = 1000) -> None:
        """The service ends the session (`expired` at the cap, `content`, `connection_lost`)."""
        self.closed_reason = reason
        self.send({"type": "session.closed", "reason": reason, "session": self.session, "usage": self._usage()})
        await self._drain()
        await self.websocket.close(code, reason)

    async def drop(self, code: int = 1011) -> None:
        """The connection breaks without `session.closed`."""
        await self.websocket.close(code, "internal error")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """The socket closes with `code` and no `session.closed` (as the Realtime simulator's `close`):
        1000/1001 is a clean close, anything else a broken connection."""
        await self.websocket.close(code, reason)

    @property
    def speaking(self) -> bool:
        return self.speaking_task is not None and not self.speaking_task.done()

    async def finished_speaking(self) -> None:
        if self.speaking_task is not None:
            await asyncio.wait({self.speaking_task})

    # --- connection -------------------------------------------------------------------------------

    async def _drain(self) -> None:
        while not self._outbox.empty():
            await asyncio.sleep(0)

    def _own_tasks(self) -> tuple[asyncio.Task[None] | None, ...]:
        return (self.speaking_task, self._idle)

    async def _dispatch(self, event: dict[str, Any]) -> None:
        kind, event_id = event.get("type", ""), event.get("event_id")
        if self.closed_reason is not None:
            self.send_error("session_closed", "The session is closed and rejects further commands.", event_id)
            return
        if not self.started and kind != "session.start":
            self.send_error("session_not_started", "Send session.start first.", event_id)
            return
        handler = _COMMANDS.get(kind)
        if handler is None:
            self.send_error("unknown_event_type", f"Unknown event type {kind!r}.", event_id, "type")
            return
        await handler(self, event)

    # --- commands ------------------------------------------------------------------------------------

    async def _on_start(self, event: dict[str, Any]) -> None:
        if self.started:
            self.send_error("session_already_started", "session.start was already sent.", event.get("event_id"))
            return
        try:
            self.session = validate_start(event.get("session"), self.sim.next_id("live"))
        except StartError as refused:  # a startup error: no session.started, the connection closes
            self.send_error(refused.code, refused.message, event.get("event_id"), refused.param)
            await self._drain()
            await self.websocket.close(1008, refused.code)
            return
        self.started = True
        self.send({"type": "session.started", "client_event_id": event.get("event_id"), "session": self.session})

    async def _on_update(self, event: dict[str, Any]) -> None:
        try:
            apply_update(self.session, event.get("session"))
        except StartError as refused:
            self.send_error(refused.code, refused.message, event.get("event_id"), refused.param)
            return
        self.send({"type": "session.updated", "client_event_id": event.get("event_id"), "session": self.session})

    async def _on_close(self, event: dict[str, Any]) -> None:
        self.closed_reason = "close_requested"
        if self.speaking_task is not None:
            self.speaking_task.cancel()
        closed = {"type": "session.closed", "reason": "close_requested", "session": self.session}
        self.send({**closed, "client_event_id": event.get("event_id"), "usage": self._usage()})
        await self._drain()
        await self.websocket.close(1000, "")

    async def _on_append_audio(self, event: dict[str, Any]) -> None:
        try:
            audio = base64.b64decode(event.get("audio", ""), validate=True)
        except (binascii.Error, ValueError):
            self.send_error("invalid_audio", "Audio is not valid base64.", event.get("event_id"), "audio")
            return
        fmt = self.session["audio"]["format"]
        if fmt["type"] == "audio/pcm" and len(audio) % 2:
            self.send_error(
                "invalid_audio", "PCM16 audio needs an even number of bytes.", event.get("event_id"), "audio"
            )
            return
        if self.fixture_playing:
            return  # caller audio is dropped while a fixture plays
        await hear(self, decode(audio, fmt["type"]), rate_of(fmt))

    async def _on_mute(self, event: dict[str, Any]) -> None:
        muted = event["type"].endswith(".mute")
        self.send(
            {"type": f"session.input_audio.{'muted' if muted else 'unmuted'}", "client_event_id": event.get("event_id")}
        )

    async def _on_append_text(self, event: dict[str, Any]) -> None:
        event_id, kind, content = event.get("event_id"), event["type"], event.get("content")
        try:
            validate_append(self.session, event)
        except StartError as refused:
            self.send_error(refused.code, refused.message, event_id, refused.param)
            return
        if self.fixture_playing:
            self.send_error("fixture_active", "Appends are rejected while a fixture plays.", event_id)
            return
        if kind == "session.instructions.append" and self.sim.failing_creates:  # a scripted refusal (tests)
            code = self.sim.failing_creates.pop(0)
            self.send_error(code, f"simulated failure: {code}", event_id)
            return
        at = int(self.clock_ms)
        self.send(
            {"type": kind.replace(".append", ".appended"), "client_event_id": event_id, "start_ms": at, "end_ms": at}
        )
        if kind == "session.thinking.append":
            self._notes.append(
                {"type": "message", "role": "system", "content": [{"type": "input_text", "text": content}]}
            )
            return
        if kind == "session.instructions.append" and self.speaking:
            self.yield_floor.set()  # instructions can interrupt speech in progress
            self.released.set()
        self._start_turn("response.create", instructions=content)

    async def _on_item_create(self, event: dict[str, Any]) -> None:
        item = event.get("item") or {}
        if item.get("type") != "function_call_output":
            self._notes.append(copy.deepcopy(item))
            return
        call_id = item.get("call_id")
        if call_id not in self.pending_calls:
            self.send_error(
                "invalid_value", f"No pending function call {call_id!r}.", event.get("event_id"), "item.call_id"
            )
            return
        self._outputs[call_id] = str(item.get("output", ""))

    async def _on_response_create(self, event: dict[str, Any]) -> None:
        missing = [c for c in self.pending_calls if c not in self._outputs]
        if not self.pending_calls or missing:
            self.send_error(
                "missing_function_call_output",
                f"Every pending function call needs an output first (missing: {', '.join(missing) or 'all'}).",
                event.get("event_id"),
            )
            return
        outputs = [
            {"type": "function_call_output", "call_id": c, "output": self._outputs[c]} for c in self.pending_calls
        ]
        self.pending_calls, self._outputs = [], {}
        self._notes = outputs + self._notes
        self._start_turn("response.create")

    async def _on_fixture(self, event: dict[str, Any]) -> None:
        await start_fixture(self, event)

    # --- the model's turns ---------------------------------------------------------------------------

    def _start_turn(
        self,
        trigger: str,
        *,
        instructions: str | None = None,
        callee_text: str | None = None,
        callee_ms: int | None = None,
    ) -> None:
        self._cancel_idle()
        turn = Turn(
            connection=self.index,
            trigger=trigger,
            session_instructions=self.session.get("instructions") or "",
            response_instructions=instructions,
            callee_text=callee_text,
            callee_ms=callee_ms,
            tool_names=tool_names(self.session),
        )
        if self.speaking:
            self._queued.append(turn)  # said once the model has finished its current turn
            return
        self._speak(turn)

    def _speak(self, turn: Turn) -> None:
        turn.new_items, self._notes = self._notes, []
        reply = self.sim.responder.reply(turn)
        self.yield_floor = asyncio.Event()
        self.released = asyncio.Event()
        self.speaking_task = asyncio.create_task(self._say(reply), name=f"live-sim-turn-{self.index}")

    async def _say(self, reply: Reply) -> None:
        delegation = open_delegation(self) if reply.tool_calls else None
        spoken_ms, yielded = await stream(self, reply)
        if delegation is not None:
            finish_delegation(self, delegation, reply.tool_calls)
        self.send({"type": "session.usage.updated", "usage": self._usage()})
        if self._queued and not self.callee_talking:
            self._speak(self._queued.pop(0))
        elif not yielded:
            self._arm_idle(spoken_ms)
        await self.sim.notify()  # a finished turn is something tests wait for

    def _usage(self) -> dict[str, Any]:
        return {"seconds": round(self.clock_ms / 1000, 3)}

    # --- serve mode: speak up after silence ---------------------------------------------------------

    def _arm_idle(self, spoken_ms: float) -> None:
        if self.sim.idle_timeout_s is not None and not self.callee_talking:
            delay = self.sim.idle_timeout_s + spoken_ms / 1000
            self._idle = asyncio.create_task(self._idle_prompt(delay), name=f"live-sim-idle-{self.index}")

    async def _idle_prompt(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self.speaking and not self.callee_talking:
            self._idle = None
            self._start_turn("idle")

    def _cancel_idle(self) -> None:
        if self._idle is not None and self._idle is not asyncio.current_task():
            self._idle.cancel()
        self._idle = None


_S = LiveSession
_COMMANDS: dict[str, Callable[[LiveSession, dict[str, Any]], Awaitable[None]]] = {
    "session.start": _S._on_start,
    "session.update": _S._on_update,
    "session.close": _S._on_close,
    "session.input_audio.append": _S._on_append_audio,
    "session.input_audio.mute": _S._on_mute,
    "session.input_audio.unmute": _S._on_mute,
    **dict.fromkeys(APPENDS, _S._on_append_text),
    "response.item.create": _S._on_item_create,
    "response.create": _S._on_response_create,
    "session.output_audio.fixture.play": _S._on_fixture,
}
