"""VoiceModel adapter for OpenAI GPT-Live (`/v1/live/sessions`) through the `openai` SDK (`client.live`).

GPT-Live is full duplex and owns turn-taking: there is no response lifecycle, no cancel and no
truncate, and the server marks neither the end of a spoken turn nor the start of the callee's.
`LiveTurns` (engine.voice.live_turns) rebuilds the port's turn events from what the wire
carries; this module owns the connection, the commands and the rest:

* tools: Responses delegation (engine.voice.live_delegation): calls arrive nested in `response.event`,
  placed in the model's turn they were delegated in; results go back as `response.item.create`,
  then one `response.create` once every call of that backend response has its output;
* `create_response(text)` appends a directive (`instructions.append`), `add_context` a silent
  note (`thinking.append`); a bare `create_response()` asks it to react to new notes;
* usage: cumulative `session.usage.updated` seconds; each ResponseDone carries what is new.

One writer drains `_outbox`, one reader dispatches through `_HANDLERS`; no SDK auto-reconnect (no session.start).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from openai import AsyncOpenAI, OpenAIError
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidHandshake

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.event_queue import events_until
from engine.ports.voice_model import (
    SessionClosed,
    SessionReady,
    Usage,
    VoiceCapabilities,
    VoiceError,
    VoiceEvent,
    VoiceModelUnavailable,
    VoiceSessionConfig,
)
from engine.voice.live_delegation import LiveDelegations
from engine.voice.live_turns import CALLEE_GAP_S, SEGMENT_GAP_S, LiveTurns
from engine.voice.live_wire import (
    DEFAULT_BACKEND_MODEL,
    IGNORED_EVENTS,
    audio_format,
    b64,
    backend_usage,
    bytes_per_ms,
    clip,
    function_call,
    session_start,
)

log = logging.getLogger(__name__)

LIVE_CAPABILITIES = VoiceCapabilities(
    client_truncates=False, supports_response_create=False, model_yields_on_barge_in=True, billed_per_second=True
)
REACT = "React now, briefly, to what you were just told, if it calls for a reply."
_FATAL_ERRORS = {"invalid_api_key", "insufficient_quota", "session_expired"}
_FATAL_CLOSE = {"expired", "content", "connection_lost"}


class OpenAILiveSession:
    """One GPT-Live WebSocket as a `VoiceSession`; made and started by `OpenAILiveModel.open`."""

    capabilities = LIVE_CAPABILITIES

    def __init__(
        self,
        connection: Any,
        config: VoiceSessionConfig,
        *,
        model: str,
        backend_model: str = DEFAULT_BACKEND_MODEL,
        label: str = "",
        clock: Clock = SYSTEM_CLOCK,
        segment_gap_s: float = SEGMENT_GAP_S,
        callee_gap_s: float = CALLEE_GAP_S,
    ) -> None:
        self.config = config
        self._conn = connection
        self._model = model
        self._backend_model = backend_model
        self._label = label
        self._format = audio_format(config.media_format)
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._events: asyncio.Queue[VoiceEvent] = asyncio.Queue()
        self._ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._start_error: str | None = None
        self.session_id = ""
        self.close_reason = ""
        self._ids = itertools.count(1)
        self._turns = LiveTurns(
            clock,
            config.media_format,
            bytes_per_ms(self._format),
            self._emit,
            self._take_usage,
            self._agent_speaks,
            segment_gap_s=segment_gap_s,
            callee_gap_s=callee_gap_s,
            on_agent_quiet=self._agent_quiet,
        )
        self._delegations = LiveDelegations(self._turns.turn_at, self._turns.talked_over)
        self._notes_unanswered = False  # a silent note came since the model last spoke
        self._react_after_turn = False  # a bare reaction asked for while the model spoke
        self._seconds = 0.0  # cumulative billed seconds, as the service last reported them
        self._seconds_reported = 0.0
        self._tokens = Usage()
        self._reader = asyncio.create_task(self._read_loop(), name=f"live-reader{label}")
        self._writer = asyncio.create_task(self._write_loop(), name=f"live-writer{label}")

    # --- port API -------------------------------------------------------------

    async def start(self, timeout_s: float = 10.0) -> None:
        """Send `session.start` and wait for `session.started` (an `error` instead means it failed)."""
        self._send({"type": "session.start", "session": session_start(self.config, self._model, self._backend_model)})
        waiter = asyncio.create_task(self._ready.wait(), name=f"live-ready{self._label}")
        closer = asyncio.create_task(self._closed.wait(), name=f"live-closed{self._label}")
        done, pending = await asyncio.wait({waiter, closer}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if waiter not in done:
            await self.close()
            why = self._start_error or "no session.started"
            raise VoiceModelUnavailable(f"the live session did not start ({why})")

    def events(self) -> AsyncIterator[VoiceEvent]:
        return events_until(self._events, SessionClosed)

    async def push_audio(self, audio: bytes) -> None:
        """Caller audio streams continuously, silence included (no commit exists)."""
        if audio:
            self._send({"type": "session.input_audio.append", "audio": b64(audio)})
            self._turns.hear(audio)

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        """No-op: the model's context keeps what it generated; the agent keeps the played share."""

    async def cancel_response(self, response_id: str) -> None:
        """No-op: the model stops by itself when the callee takes the floor."""

    async def send_tool_result(self, call_id: str, output: str) -> None:
        self._send(
            {
                "type": "response.item.create",
                "event_id": self._event_id("out"),
                "item": {"type": "function_call_output", "call_id": call_id, "output": output},
            }
        )
        self._continue_backend(self._delegations.output_sent(call_id))

    async def add_context(self, text: str) -> None:
        self._notes_unanswered = True
        self._append("session.thinking.append", text)

    async def create_response(self, instructions: str | None = None) -> None:
        if instructions:
            self._append("session.instructions.append", instructions)
        elif self._notes_unanswered and self._turns.agent_speaking:
            # An instructions append interrupts speech in progress: a reaction to new notes waits
            # for the end of the model's turn (as a Realtime create waits for the response under way).
            self._react_after_turn = True
        elif self._notes_unanswered:
            self._append("session.instructions.append", REACT)
        self._notes_unanswered = False

    async def close(self) -> None:
        """`session.close`, then wait briefly for `session.closed` (its usage is the final figure)."""
        if not self._closing:
            self._closing = True
            if self._ready.is_set() and not self._closed.is_set():
                self._send({"type": "session.close", "event_id": self._event_id("close")}, closing=True)
            self._outbox.put_nowait(None)
        self._turns.cancel_timers()
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), timeout=2.0)
        except (TimeoutError, Exception):  # noqa: BLE001 - closing anyway
            self._writer.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(self._closed.wait()), timeout=2.0)
        except TimeoutError:
            log.info("live%s: no session.closed; finalization unconfirmed", self._label)
        try:
            await self._conn.close()
        except Exception:  # noqa: BLE001
            log.debug("live close raised", exc_info=True)
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout=2.0)
        except (TimeoutError, Exception):  # noqa: BLE001
            self._reader.cancel()

    # --- writer ------------------------------------------------------------------

    def _event_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}"

    def _append(self, kind: str, text: str) -> None:
        # Responses delegation: appends carry `delegation_id: null` (the key is required).
        self._send({"type": kind, "event_id": self._event_id("append"), "content": clip(text), "delegation_id": None})

    def _send(self, event: dict[str, Any], *, closing: bool = False) -> None:
        if (closing or not self._closing) and not self._closed.is_set():
            self._outbox.put_nowait(event)

    async def _write_loop(self) -> None:
        while (event := await self._outbox.get()) is not None:
            try:
                await self._conn.send_raw(json.dumps(event))
            except (ConnectionClosed, OpenAIError, OSError) as exc:
                log.info("live%s: send failed (%s); the reader reports the close", self._label, exc)
                return

    # --- reader -----------------------------------------------------------------

    async def _read_loop(self) -> None:
        closed = SessionClosed(expected=True)
        try:
            while not self._closed.is_set():
                raw = await self._conn.recv_bytes()
                try:
                    event = json.loads(raw)
                except ValueError:
                    log.warning("live%s: a frame that is not JSON was skipped", self._label)
                    continue
                handler = _HANDLERS.get(event.get("type", ""))
                if handler is None:
                    log.debug("live%s: event %r skipped", self._label, event.get("type"))
                    continue
                handler(self, event)
            expected = self._closing or self.close_reason not in _FATAL_CLOSE
            closed = SessionClosed(expected=expected, reason=self.close_reason)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            reason = exc.rcvd.reason if exc.rcvd else "connection lost"
            if not self._closing:
                log.warning("live%s: closed by the server (%s %s)", self._label, code, reason)
            kind = "normal" if isinstance(exc, ConnectionClosedOK) else "error"
            closed = SessionClosed(expected=self._closing, reason=self.close_reason or reason or kind, code=code)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure ends the session
            log.exception("live%s: reader failed", self._label)
            closed = SessionClosed(expected=self._closing, reason=str(exc))
        finally:
            self._turns.cancel_timers()
            self._closed.set()
            self._outbox.put_nowait(None)
            self._events.put_nowait(closed)

    def _emit(self, event: VoiceEvent) -> None:
        self._events.put_nowait(event)

    def _agent_quiet(self) -> None:
        for held in self._delegations.turn_ended():
            self._emit(held)
        if self._react_after_turn:
            self._react_after_turn = False
            self._append("session.instructions.append", REACT)

    def _agent_speaks(self) -> None:
        self._notes_unanswered = False  # the model speaks: it has taken what it was told into account

    # --- delegated tools ----------------------------------------------------------------------

    def _on_delegation_created(self, event: dict[str, Any]) -> None:
        self._delegations.created(event)

    def _on_response_event(self, event: dict[str, Any]) -> None:
        inner = event.get("event") or {}
        kind = inner.get("type", "")
        delegation = str(event.get("delegation_id") or "")  # names the backend response of nested events
        call = function_call(inner)
        if call is not None and (tool_call := self._delegations.function_call(delegation, call)) is not None:
            self._emit(tool_call)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self._tokens = self._tokens + backend_usage(inner.get("response") or {})
            self._continue_backend(self._delegations.completed(delegation))

    def _continue_backend(self, count: int) -> None:
        for _ in range(count):
            self._send({"type": "response.create", "event_id": self._event_id("continue")})

    # --- session, usage, errors ----------------------------------------------------------------------

    def _on_session_started(self, event: dict[str, Any]) -> None:
        session = event.get("session") or {}
        self.session_id = str(session.get("id") or "")
        if not self._ready.is_set():
            self._ready.set()
            self._emit(SessionReady(session))

    def _on_usage(self, event: dict[str, Any]) -> None:
        seconds = float((event.get("usage") or {}).get("seconds") or 0.0)
        self._seconds = max(self._seconds, seconds)  # cumulative: never summed

    def _on_session_closed(self, event: dict[str, Any]) -> None:
        self._on_usage(event)
        self.close_reason = str(event.get("reason") or "")
        self._closed.set()

    def _take_usage(self) -> Usage:
        usage = self._tokens + Usage(active_seconds=round(self._seconds - self._seconds_reported, 3))
        self._seconds_reported, self._tokens = self._seconds, Usage()
        return usage

    def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error") or {}
        code = str(error.get("code") or error.get("type") or "unknown")
        message = str(error.get("message") or "")
        if not self._ready.is_set():
            self._start_error = f"{code}: {message}"
        log.warning("live%s: error %s: %s (%s)", self._label, code, message, error.get("client_event_id"))
        self._emit(VoiceError(code, message, fatal=code in _FATAL_ERRORS))


_Handler = Callable[[OpenAILiveSession, dict[str, Any]], None]


def _ignore(session: OpenAILiveSession, event: dict[str, Any]) -> None: ...


_S = OpenAILiveSession
_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(IGNORED_EVENTS, _ignore),
    "session.started": _S._on_session_started,
    "session.delegation.created": _S._on_delegation_created,
    "session.output_audio.delta": lambda s, e: s._turns.output_audio(e),
    "session.output_transcript.delta": lambda s, e: s._turns.output_transcript(e),
    "session.input_transcript.delta": lambda s, e: s._turns.input_transcript(e),
    "response.event": _S._on_response_event,
    "session.usage.updated": _S._on_usage,
    "session.closed": _S._on_session_closed,
    "error": _S._on_error,
}


class OpenAILiveModel:
    """Opens GPT-Live sessions. `websocket_base_url` points it at the simulator or a proxy."""

    provider = "live"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        backend_model: str = DEFAULT_BACKEND_MODEL,
        voice: str = "",
        base_url: str | None = None,
        websocket_base_url: str | None = None,
        name: str = "openai",
        connect_timeout_s: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
        segment_gap_s: float = SEGMENT_GAP_S,
    ) -> None:
        self.name = name
        self.model = model
        self.backend_model = backend_model
        self.voice = voice  # overrides the session config's voice when set (Live's voices differ)
        self._client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, websocket_base_url=websocket_base_url, max_retries=0
        )
        self._connect_timeout_s = connect_timeout_s
        self._clock = clock  # the adapter's time: when the model has gone quiet
        self._segment_gap_s = segment_gap_s
        self._sessions = itertools.count(1)

    async def open(self, config: VoiceSessionConfig) -> OpenAILiveSession:
        label = f"#{next(self._sessions)}"
        manager = self._client.live.connect(
            websocket_connection_options={"open_timeout": self._connect_timeout_s}, max_retries=0
        )
        try:
            connection = await manager.enter()
        except (TimeoutError, InvalidHandshake, OSError, OpenAIError) as exc:
            raise VoiceModelUnavailable(f"cannot connect to the live model: {exc}") from exc
        config = dataclasses.replace(config, voice=self.voice) if self.voice else config
        session = OpenAILiveSession(
            connection, config, model=self.model, backend_model=self.backend_model, label=label, clock=self._clock,
            segment_gap_s=self._segment_gap_s,
        )
        try:
            await session.start(self._connect_timeout_s)
        except BaseException:
            await asyncio.shield(session.close())
            raise
        return session

    async def aclose(self) -> None:
        await self._client.close()
