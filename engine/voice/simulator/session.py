"""One simulated Realtime connection: session state, conversation, recorded traffic, scripted callee."""

from __future__ import annotations

import asyncio
import base64
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection

from engine.voice.codecs import tone_pcm16
from engine.voice.simulator.connection import SimulatorConnection
from engine.voice.simulator.controls import SimulatorControls
from engine.voice.simulator.hearing import Hearing
from engine.voice.simulator.line import encode
from engine.voice.simulator.script import Reply, Turn
from engine.voice.simulator.session_config import PCM_RATE, UpdateError, apply_update, default_session
from engine.voice.simulator.stream import stream_reply


class SimulatedSession(SimulatorConnection):
    """One client connection: its session state, conversation and recorded traffic."""

    def __init__(self, sim: SimulatorControls, websocket: ServerConnection, index: int) -> None:
        super().__init__(sim, websocket, index)
        self.session = default_session()
        self.configured = False
        self.items: list[dict[str, Any]] = []
        self.audio_ms_sent: dict[str, float] = {}  # assistant item id -> audio streamed
        self.input_ms = 0  # appended input audio, on the input timeline
        self._new_items: list[dict[str, Any]] = []
        self._response: asyncio.Task[None] | None = None
        self._response_id: str | None = None  # the id of the latest response (the active one while it streams)
        self._cancel_reason: str | None = None
        self._release = asyncio.Event()
        self._idle: asyncio.Task[None] | None = None
        self.hearing = Hearing(self)

    # --- scripted callee and failures (public) ----------------------------------------

    async def callee_starts_speaking(self) -> None:
        await self.hearing.speech_started()

    async def callee_stops_speaking(self, transcript: str = "") -> None:
        await self.hearing.speech_stopped(transcript)

    async def callee_says(self, transcript: str) -> None:
        await self.callee_starts_speaking()
        await self.callee_stops_speaking(transcript)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.websocket.close(code, reason)

    def send_error(
        self,
        code: str,
        message: str = "",
        event_id: str | None = None,
        type_: str = "invalid_request_error",
        param: str | None = None,
    ) -> None:
        error = {"type": type_, "code": code, "message": message or code, "param": param, "event_id": event_id}
        self.send({"type": "error", "error": error})

    def send_rate_limits(
        self, requests_remaining: int, tokens_remaining: int = 50000, reset_seconds: float = 1.0
    ) -> None:
        self.send(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {
                        "name": "requests",
                        "limit": 1000,
                        "remaining": requests_remaining,
                        "reset_seconds": reset_seconds,
                    },
                    {"name": "tokens", "limit": 50000, "remaining": tokens_remaining, "reset_seconds": reset_seconds},
                ],
            }
        )

    def release(self) -> None:
        """Let a response held by `Reply.hold_after_ms` stream the rest."""
        self._release.set()

    @property
    def response_active(self) -> bool:
        return self._response is not None and not self._response.done()

    # --- connection -----------------------------------------------------------------------

    def _opened(self) -> None:
        self.send({"type": "session.created", "session": copy.deepcopy(self.session)})

    def _own_tasks(self) -> tuple[asyncio.Task[None] | None, ...]:
        return (self._response, self._idle)

    async def _dispatch(self, event: dict[str, Any]) -> None:
        handler = _CLIENT_HANDLERS.get(event.get("type", ""))
        if handler is None:
            self.send_error("invalid_type", f"Invalid event type {event.get('type')!r}", event.get("event_id"))
            return
        await handler(self, event)

    # --- client event handlers ----------------------------------------------------------------

    async def _on_session_update(self, event: dict[str, Any]) -> None:
        try:
            apply_update(self.session, event.get("session"))
        except UpdateError as refused:
            self.send_error(refused.code, refused.message, event.get("event_id"), param=refused.param)
            return
        self.configured = True
        self.send({"type": "session.updated", "session": self._reported_session()})

    def _reported_session(self) -> dict[str, Any]:
        """The effective session, with the formats misreported when a test asks for it."""
        reported = copy.deepcopy(self.session)
        for direction in ("input", "output"):
            fmt = reported["audio"][direction]["format"]
            if self.sim.format_echo == "add_rate" and "rate" not in fmt:
                fmt["rate"] = 8000
            elif self.sim.format_echo == "drop_rate":
                fmt.pop("rate", None)
        return reported

    async def _on_append(self, event: dict[str, Any]) -> None:
        await self.hearing.append(base64.b64decode(event.get("audio", "")))

    async def _on_commit(self, event: dict[str, Any]) -> None:
        if not self.hearing.commit_by_client():
            self.send_error(
                "input_audio_buffer_commit_empty",
                "buffer too small. Expected at least 100ms of audio",
                event.get("event_id"),
            )

    async def _on_clear(self, event: dict[str, Any]) -> None:
        self.hearing.clear()
        self.send({"type": "input_audio_buffer.cleared"})

    async def _on_item_create(self, event: dict[str, Any]) -> None:
        item = dict(event.get("item") or {})
        item.setdefault("id", self.sim.next_id("item"))
        item["status"] = "completed"
        previous = self.items[-1]["id"] if self.items else None
        self.items.append(item)
        self._new_items.append(item)
        self.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        self.send({"type": "conversation.item.done", "item": item, "previous_item_id": previous})

    async def _on_truncate(self, event: dict[str, Any]) -> None:
        item_id, end_ms = event.get("item_id"), int(event.get("audio_end_ms", 0))
        sent = self.audio_ms_sent.get(item_id or "")
        if sent is None:
            self.send_error("item_not_found", f"Item {item_id} not found", event.get("event_id"))
        elif end_ms > sent:
            self.send_error(
                "invalid_value",
                f"Audio content of {sent:.0f}ms is already shorter than {end_ms}ms",
                event.get("event_id"),
            )
        else:
            self.send(
                {
                    "type": "conversation.item.truncated",
                    "item_id": item_id,
                    "content_index": event.get("content_index", 0),
                    "audio_end_ms": end_ms,
                }
            )

    async def _on_response_create(self, event: dict[str, Any]) -> None:
        if self.response_active:
            self.send_error(
                "conversation_already_has_active_response",
                "Conversation already has an active response in progress",
                event.get("event_id"),
            )
            return
        if self.sim.failing_creates:
            code = self.sim.failing_creates.pop(0)
            self.send_error(code, f"simulated failure: {code}", event.get("event_id"), type_="rate_limit_error")
            return
        options = event.get("response") or {}
        self.start_response("response.create", instructions=options.get("instructions"))

    async def _on_response_cancel(self, event: dict[str, Any]) -> None:
        """A cancel naming a response stops only that one: one that is done (another may be active by
        now) is answered like a cancel with nothing active. A bare cancel stops whichever is active."""
        wanted = event.get("response_id")
        if not self.response_active:
            self.send_error(
                "response_cancel_not_active", "Cancellation failed: no active response found", event.get("event_id")
            )
            return
        if wanted and wanted != self._response_id:
            self.send_error(
                "response_cancel_not_active",
                f"Cancellation failed: response {wanted} is not active",
                event.get("event_id"),
            )
            return
        self.cancel_response("client_cancelled")

    # --- responses -----------------------------------------------------------------------------

    def start_response(
        self,
        trigger: str,
        *,
        instructions: str | None = None,
        callee_text: str | None = None,
        callee_ms: int | None = None,
    ) -> None:
        self.cancel_idle()
        turn = Turn(
            connection=self.index,
            trigger=trigger,
            session_instructions=self.session.get("instructions", ""),
            response_instructions=instructions,
            callee_text=callee_text,
            callee_ms=callee_ms,
            new_items=self._new_items,
            tool_names=[t.get("name", "") for t in self.session.get("tools") or []],
        )
        self._new_items = []
        reply = self.sim.responder.reply(turn)
        self._cancel_reason = None
        self._release = asyncio.Event()
        self._response_id = self.sim.next_id("resp")
        self._response = asyncio.create_task(
            self._stream(reply, self._response_id), name=f"sim-response-{self.index}"
        )

    def cancel_response(self, reason: str) -> None:
        self._cancel_reason = reason
        self._release.set()
        self.hearing.agent_audio_stopped()

    async def response_finished(self) -> None:
        if self._response is not None:
            await asyncio.wait({self._response})

    async def _stream(self, reply: Reply, response_id: str) -> None:
        spoken_ms = await stream_reply(self, reply, response_id)
        self.hearing.response_done(spoken_ms)
        self._maybe_start_idle(spoken_ms)

    @property
    def cancel_reason(self) -> str | None:
        return self._cancel_reason

    async def wait_release(self) -> None:
        await self._release.wait()

    def output_audio(self, duration_ms: float, phase_ms: float) -> bytes:
        fmt_type = self.session["audio"]["output"]["format"]["type"]
        rate = PCM_RATE if fmt_type == "audio/pcm" else 8000
        pcm = tone_pcm16(int(duration_ms), rate, phase_ms=phase_ms)
        self.hearing.agent_audio(pcm, rate)
        return encode(pcm, fmt_type)

    # --- serve mode: speak up after silence -------------------------------------------------

    def _maybe_start_idle(self, spoken_ms: float) -> None:
        # Like the real idle_timeout_ms: counted from the end of playback, not of streaming.
        if self.sim.idle_timeout_s is not None and self.hearing.speech_item is None:
            delay = self.sim.idle_timeout_s + spoken_ms / 1000
            self._idle = asyncio.create_task(self._idle_prompt(delay), name=f"sim-idle-{self.index}")

    async def _idle_prompt(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self.response_active and self.hearing.speech_item is None:
            self.start_response("idle")

    def cancel_idle(self) -> None:
        if self._idle is not None and self._idle is not asyncio.current_task():
            self._idle.cancel()
        self._idle = None


_S = SimulatedSession
_CLIENT_HANDLERS: dict[str, Callable[[SimulatedSession, dict[str, Any]], Awaitable[None]]] = {
    "session.update": _S._on_session_update,
    "input_audio_buffer.append": _S._on_append,
    "input_audio_buffer.commit": _S._on_commit,
    "input_audio_buffer.clear": _S._on_clear,
    "conversation.item.create": _S._on_item_create,
    "conversation.item.truncate": _S._on_truncate,
    "response.create": _S._on_response_create,
    "response.cancel": _S._on_response_cancel,
}
