"""VoiceModel adapter for the OpenAI Realtime API (GA protocol) through the `openai` SDK.

One session = one WebSocket with a single writer (a `FrameWriter`: our events as frames
written straight to the socket, those of one loop iteration in one write) and a single
reader task that turns wire events into port events through `_HANDLERS` (the stateless
translations and the session object's shape are in `realtime_wire`).
We never enable the SDK's auto-reconnect: a reconnect opens a blank server
session, so the agent runtime decides what to re-send.

The SDK opens and authenticates the socket and its `websockets` connection reads it
(and answers pings); our events do not go through either's send path (the SDK's
reconnect queue and anyio task lookups, then the library's send context, each cost
about as much CPU as the rest of the media path). Callee audio goes
out in `input_audio_buffer.append` events of `append_ms` (20 ms frames gathered;
anything else sent first flushes what is gathered, so the order is kept).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
from openai import AsyncOpenAI, OpenAIError
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidHandshake
from websockets.protocol import State

from engine.ports.event_queue import events_until
from engine.ports.voice_model import (
    REALTIME_CAPABILITIES,
    AudioDelta,
    AudioDone,
    ResponseDone,
    ResponseStarted,
    SessionClosed,
    SessionReady,
    VoiceError,
    VoiceEvent,
    VoiceModelUnavailable,
    VoiceSessionConfig,
)
from engine.voice.audio_bridge import AudioBridge
from engine.voice.realtime_wire import IGNORED, TRANSLATIONS, parse_usage, same_format, session_payload
from engine.websocket_writer import FrameWriter

log = logging.getLogger(__name__)

ACTIVE_RESPONSE = "conversation_already_has_active_response"
CANCEL_NOT_ACTIVE = "response_cancel_not_active"
_FATAL_ERRORS = {"invalid_api_key", "session_expired", "insufficient_quota"}
_decode_event = msgspec.json.Decoder().decode  # about 2.5x faster than json.loads on audio deltas


class OpenAIRealtimeSession:
    """One Realtime WebSocket as a `VoiceSession`; made and started by `OpenAIRealtimeModel.open`."""

    capabilities = REALTIME_CAPABILITIES

    def __init__(self, connection: Any, config: VoiceSessionConfig, label: str = "", append_ms: int = 20) -> None:
        self.config = config
        self._conn = connection
        self._ws = connection._connection  # the `websockets` connection under the SDK's
        self._frames = FrameWriter(self._ws.transport, masked=True, is_open=self._socket_open)
        self._label = label
        self._bridge = AudioBridge(config.media_format)
        self._append_bytes = max(1, append_ms) * self._bridge.model_bytes_per_ms
        self._audio: list[bytes] = []
        self._audio_bytes = 0
        self._events: asyncio.Queue[VoiceEvent] = asyncio.Queue()
        self._sink: Callable[[VoiceEvent], None] | None = None  # set by deliver_to: no queue, no reader
        self._ready = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._effective_session: dict[str, Any] = {}
        self._response_active = False
        self._pending_create: dict[str, Any] | None = None
        self._last_create: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read_loop(), name=f"realtime-reader{label}")

    # --- port API -------------------------------------------------------------

    async def start(self, timeout_s: float = 10.0) -> None:
        """Send the configuration and wait until the server confirms it."""
        self._send({"type": "session.update", "session": session_payload(self.config, self._bridge)})
        waiter = asyncio.create_task(self._ready.wait(), name=f"realtime-ready{self._label}")
        closer = asyncio.create_task(self._closed.wait(), name=f"realtime-closed{self._label}")
        done, pending = await asyncio.wait({waiter, closer}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if waiter not in done:
            await self.close()
            raise VoiceModelUnavailable("the realtime session was not confirmed (no session.updated)")
        wanted = self._bridge.model_format
        got = self._effective_session.get("audio", {})
        formats = (got.get("input", {}).get("format"), got.get("output", {}).get("format"))
        if not all(same_format(wanted, f) for f in formats):
            await self.close()
            raise VoiceModelUnavailable(f"the model negotiated audio formats {formats}, expected {wanted}")

    def deliver_to(self, sink: Callable[[VoiceEvent], None]) -> None:
        """Hand every event to `sink` as it is parsed instead of queueing it for `events()` (the
        ones queued so far first, in order): one queue hop and one task wake-up fewer per event."""
        while not self._events.empty():
            sink(self._events.get_nowait())
        self._sink = sink

    def events(self) -> AsyncIterator[VoiceEvent]:
        return events_until(self._events, SessionClosed)

    async def push_audio(self, audio: bytes) -> None:
        model_audio = self._bridge.to_model(audio)
        if model_audio:
            self._audio.append(model_audio)
            self._audio_bytes += len(model_audio)
            if self._audio_bytes >= self._append_bytes:
                self._flush_audio()

    async def truncate(self, item_id: str, audio_end_ms: int) -> None:
        self._bridge.drop_output()
        self._send(
            {"type": "conversation.item.truncate", "item_id": item_id, "content_index": 0, "audio_end_ms": audio_end_ms}
        )

    async def cancel_response(self, response_id: str) -> None:
        """A cancel naming the response: a bare one would stop whichever is active when the service reads
        it, maybe the answer to the callee's next turn. If that one is done, the service answers
        response_cancel_not_active (harmless, see `_on_error`)."""
        self._pending_create = None
        if self._response_active:
            self._send({"type": "response.cancel", "response_id": response_id})

    async def send_tool_result(self, call_id: str, output: str) -> None:
        self._send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call_id, "output": output},
            }
        )

    async def add_context(self, text: str) -> None:
        item = {"type": "message", "role": "system", "content": [{"type": "input_text", "text": text}]}
        self._send({"type": "conversation.item.create", "item": item})

    async def create_response(self, instructions: str | None = None) -> None:
        event: dict[str, Any] = {"type": "response.create"}
        if instructions:
            event["response"] = {"instructions": instructions}
        if self._response_active:
            self._pending_create = event  # sent once the active response is done
            return
        self._send_create(event)

    async def close(self) -> None:
        if not self._closing:
            self._flush_audio()
            self._closing = True
        self._frames.flush()  # everything sent so far goes out before the close frame
        self._frames.close()
        try:
            await self._conn.close()
        except Exception:  # noqa: BLE001
            log.debug("realtime close raised", exc_info=True)
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout=2.0)
        except (TimeoutError, Exception):  # noqa: BLE001
            self._reader.cancel()

    # --- writer ------------------------------------------------------------------

    def _send(self, event: dict[str, Any]) -> None:
        if self._audio:
            self._flush_audio()
        self._write(json.dumps(event))

    def _flush_audio(self) -> None:
        """Gathered callee audio as one append, written as text straight away (no JSON encoder)."""
        if not self._audio:
            return
        data = self._audio[0] if len(self._audio) == 1 else b"".join(self._audio)
        self._audio.clear()
        self._audio_bytes = 0
        self._write(b'{"type":"input_audio_buffer.append","audio":"' + base64.b64encode(data) + b'"}')

    def _send_create(self, event: dict[str, Any]) -> None:
        event = {**event, "event_id": f"evt_create_{next(self._ids)}"}
        self._response_active = True
        self._last_create = event
        self._send(event)

    def _write(self, text: str | bytes) -> None:
        """One event (already in wire shape) to the writer; nothing once the socket is closing: a
        failed write closes the transport, and the reader reports the close."""
        if not self._closing and not self._closed.is_set():
            self._frames.text(text)

    def _socket_open(self) -> bool:
        return self._ws.protocol.state is State.OPEN

    # --- reader -----------------------------------------------------------------

    async def _read_loop(self) -> None:
        closed = SessionClosed(expected=True)
        try:
            while True:
                raw = await self._conn.recv_bytes()
                try:
                    event = _decode_event(raw)
                except msgspec.DecodeError:
                    log.warning("realtime%s: a frame that is not JSON was skipped", self._label)
                    continue
                handler = _HANDLERS.get(event.get("type", ""))
                if handler is None:
                    log.debug("realtime%s: unknown event %r skipped", self._label, event.get("type"))
                    continue
                handler(self, event)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            reason = exc.rcvd.reason if exc.rcvd else "connection lost"
            expected = self._closing
            if not expected:
                log.warning("realtime%s: closed by the server (%s %s)", self._label, code, reason)
            kind = "normal" if isinstance(exc, ConnectionClosedOK) else "error"
            closed = SessionClosed(expected=expected, reason=reason or kind, code=code)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure ends the session
            log.exception("realtime%s: reader failed", self._label)
            closed = SessionClosed(expected=self._closing, reason=str(exc))
        finally:
            self._closed.set()
            self._frames.close()
            self._emit(closed)

    def _emit(self, event: VoiceEvent) -> None:
        if self._sink is not None:
            self._sink(event)
        else:
            self._events.put_nowait(event)

    # --- wire event handlers (see _HANDLERS) ------------------------------------------

    def _on_session_updated(self, event: dict[str, Any]) -> None:
        self._effective_session = event.get("session") or {}
        if not self._ready.is_set():
            self._ready.set()
            self._emit(SessionReady(self._effective_session))

    def _on_response_created(self, event: dict[str, Any]) -> None:
        self._response_active = True
        self._emit(ResponseStarted((event.get("response") or {}).get("id", "")))

    def _on_audio_delta(self, event: dict[str, Any]) -> None:
        model_audio = base64.b64decode(event.get("delta", ""))
        media_audio = self._bridge.from_model(model_audio)
        model_ms = len(model_audio) / self._bridge.model_bytes_per_ms
        self._emit(AudioDelta(event.get("response_id", ""), event.get("item_id", ""), media_audio, model_ms))

    def _on_audio_done(self, event: dict[str, Any]) -> None:
        response_id, item_id = event.get("response_id", ""), event.get("item_id", "")
        tail = self._bridge.end_of_output()
        if tail:
            self._emit(AudioDelta(response_id, item_id, tail, 0.0))
        self._emit(AudioDone(response_id, item_id))

    def _on_response_done(self, event: dict[str, Any]) -> None:
        response = event.get("response") or {}
        details = response.get("status_details") or {}
        reason = details.get("reason") or (details.get("error") or {}).get("code") or ""
        status = response.get("status", "completed")
        if status != "completed":
            self._bridge.drop_output()
        self._response_active = False
        self._emit(ResponseDone(response.get("id", ""), status, reason, parse_usage(response.get("usage"))))
        if self._pending_create is not None:
            pending, self._pending_create = self._pending_create, None
            self._send_create(pending)

    def _on_error(self, event: dict[str, Any]) -> None:
        error = event.get("error") or {}
        code = str(error.get("code") or error.get("type") or "unknown")
        message = str(error.get("message") or "")
        about_create = self._last_create is not None and error.get("event_id") == self._last_create.get("event_id")
        if code == ACTIVE_RESPONSE:
            # A server-side (VAD) response won the race: ours goes out after it is done.
            self._response_active = True
            if self._pending_create is None and self._last_create is not None:
                self._pending_create = {k: v for k, v in self._last_create.items() if k != "event_id"}
        elif about_create:
            self._response_active = False
        if code == CANCEL_NOT_ACTIVE:
            log.debug("realtime%s: cancel had nothing to cancel", self._label)
            return
        log.warning("realtime%s: error %s: %s", self._label, code, message)
        self._emit(VoiceError(code, message, fatal=code in _FATAL_ERRORS))


_Handler = Callable[[OpenAIRealtimeSession, dict[str, Any]], None]


def _emitting(translate: Callable[[dict[str, Any]], VoiceEvent]) -> _Handler:
    return lambda session, event: session._emit(translate(event))


def _ignore(session: OpenAIRealtimeSession, event: dict[str, Any]) -> None:
    pass


_S = OpenAIRealtimeSession
_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(IGNORED, _ignore),
    **{kind: _emitting(translate) for kind, translate in TRANSLATIONS.items()},
    "session.updated": _S._on_session_updated,
    "response.created": _S._on_response_created,
    "response.output_audio.delta": _S._on_audio_delta,
    "response.output_audio.done": _S._on_audio_done,
    "response.done": _S._on_response_done,
    "error": _S._on_error,
}


class OpenAIRealtimeModel:
    """Opens OpenAI Realtime sessions. `websocket_base_url` points it at a fake or proxy."""

    provider = "realtime"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        websocket_base_url: str | None = None,
        name: str = "openai",
        connect_timeout_s: float = 10.0,
        append_ms: int = 20,
    ) -> None:
        self.name = name
        self.append_ms = append_ms
        self.model = model
        self._client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, websocket_base_url=websocket_base_url, max_retries=0
        )
        self._connect_timeout_s = connect_timeout_s
        self._sessions = itertools.count(1)

    async def open(self, config: VoiceSessionConfig) -> OpenAIRealtimeSession:
        label = f"#{next(self._sessions)}"
        manager = self._client.realtime.connect(
            model=self.model, websocket_connection_options={"open_timeout": self._connect_timeout_s}
        )
        try:
            connection = await manager.enter()
        except (TimeoutError, InvalidHandshake, OSError, OpenAIError) as exc:
            raise VoiceModelUnavailable(f"cannot connect to the realtime model: {exc}") from exc
        session = OpenAIRealtimeSession(connection, config, label, self.append_ms)
        try:
            await session.start(self._connect_timeout_s)
        except BaseException:
            await asyncio.shield(session.close())  # also when the caller gave up waiting (cancelled)
            raise
        return session

    async def aclose(self) -> None:
        await self._client.close()
