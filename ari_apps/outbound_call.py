"""One outbound call through ARI, from originate to the last leg gone.

Every id is ours: the call id is our channel, `<id>-callee` the Local ;2 half,
`<id>-media` the media channel, `<id>-bridge` the bridge. One task (`run`)
consumes the call's event queue and owns the state; media set-up runs in a
second task it owns and cancels. Whatever ends the call, `_teardown` deletes the
media channel, the bridge and our leg, so nothing outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from engine.ports.telephony import CallOutcome, DialRequest, MediaStream, TelephonyEventSink, TelephonyResult

from .outcome import DialObservations, classify
from .rest_client import AriError, AriRestClient
from .wire_events import AriEvent, ChannelDestroyed, Dial, RecordingFailed, RecordingFinished, StasisStart

log = logging.getLogger(__name__)

HANGUP_REASONS = {
    "normal", "busy", "congestion", "no_answer", "timeout", "rejected", "unallocated",
    "normal_unspecified", "number_incomplete", "codec_mismatch", "interworking", "failure", "answered_elsewhere",
}  # fmt: skip
MEDIA_SETUP_TIMEOUT_S = 10.0
LEG_GONE_TIMEOUT_S = 2.0  # how long teardown waits for our leg's ChannelDestroyed
RECORDING_CLOSE_TIMEOUT_S = 10.0  # ... and for RecordingFinished of the call's recording (the file complete)


class CallState(enum.StrEnum):
    DIALING = "dialing"
    CONNECTING_MEDIA = "connecting_media"
    LIVE = "live"
    ENDING = "ending"
    ENDED = "ended"


_ALLOWED = {
    CallState.DIALING: {CallState.CONNECTING_MEDIA, CallState.ENDING},
    CallState.CONNECTING_MEDIA: {CallState.LIVE, CallState.ENDING},
    CallState.LIVE: {CallState.ENDING},
    CallState.ENDING: {CallState.ENDED},
    CallState.ENDED: set(),
}


class AriMediaStream(MediaStream, Protocol):
    def tell(self, event: Any) -> None:
        """Queue an event that did not come from the media channel (the owner's moves) with its events."""


class MediaConnector(Protocol):
    """Creates the media channel of a call and returns the stream once Asterisk has it."""

    async def open(self, call: AriCall) -> AriMediaStream: ...


@dataclass
class CallContext:
    rest: AriRestClient
    app: str
    sink: TelephonyEventSink
    media: MediaConnector
    record: bool = False
    events_up: Callable[[], bool] = lambda: True


@dataclass
class CallStop:
    """An internal reason to end the call, put on the event queue."""

    detail: str
    hangup_by: str
    reason: str = "normal"
    failed: bool = False


@dataclass
class CallIds:
    call: str
    callee: str = ""
    media: str = ""
    bridge: str = ""
    secrets: set[str] = field(default_factory=set)  # media connection ids: never logged or stored

    @classmethod
    def for_call(cls, call_id: str) -> CallIds:
        return cls(call_id, f"{call_id}-callee", f"{call_id}-media", f"{call_id}-bridge")


class AriCall:
    def __init__(self, ctx: CallContext, request: DialRequest, endpoint: str) -> None:
        self.ctx = ctx
        self.request = request
        self.endpoint = endpoint
        self.call_id = request.call_id
        self.ids = CallIds.for_call(request.call_id)
        self.state = CallState.DIALING
        self.queue: asyncio.Queue[tuple[dict[str, Any], AriEvent] | CallStop] = asyncio.Queue()
        self.seen = DialObservations(self.ids.call, self.ids.callee)
        self.media_in_stasis = asyncio.Event()
        self._media: AriMediaStream | None = None
        self._setup: asyncio.Task[None] | None = None
        self._answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._finished: asyncio.Future[TelephonyResult] = asyncio.get_running_loop().create_future()
        self._stop: CallStop | None = None
        self._answered_at: datetime | None = None
        self._bridge_created = False
        self._media_created = False
        self._our_leg_gone = False
        self._media_gone = False
        self.recording: str | None = None
        self._recording_closed = False  # RecordingFinished/Failed seen: the PBX has written the whole file
        self.owner_leg: Any = None  # owner_leg.AriOwnerLeg while the owner is on the call
        self.epoch = 0  # the events-socket connection this call was placed under

    # --- OutboundCall -------------------------------------------------------------

    @property
    def media(self) -> MediaStream:
        if self._media is None:
            raise RuntimeError(f"call {self.call_id} has no media (not answered)")
        return self._media

    async def answered(self) -> bool:
        return await asyncio.shield(self._answered)

    async def finished(self) -> TelephonyResult:
        return await asyncio.shield(self._finished)

    async def send_dtmf(self, digits: str) -> None:
        await self.ctx.rest.send_dtmf(self.ids.call, digits)
        await self.step("dtmf_sent", f"sent DTMF {digits}", {"digits": digits})

    async def hangup(self, reason: str = "normal") -> None:
        if self.state not in (CallState.ENDING, CallState.ENDED):
            reason = reason if reason in HANGUP_REASONS else "normal"
            self.stop(CallStop(f"hung up by the agent ({reason})", "agent", reason))
        await self.finished()

    # --- fed by the adapter -----------------------------------------------------------

    def deliver(self, raw: dict[str, Any], event: AriEvent) -> None:
        self.queue.put_nowait((raw, event))

    def stop(self, why: CallStop) -> None:
        self.queue.put_nowait(why)

    @property
    def answered_at(self) -> datetime | None:
        return self._answered_at

    @property
    def done(self) -> bool:
        return self._finished.done()

    def fail_before_dialling(self, error: AriError) -> None:
        detail = f"originate refused: {error.status} {error.message}"
        log.warning("call %s: %s", self.call_id, detail)
        self._finish(TelephonyResult(CallOutcome.FAILED, ended_at=_now(), hangup_by="system", detail=detail))

    async def run(self) -> None:
        """Consume this call's events until it has ended, then tear everything down."""
        try:
            while self._stop is None:
                item = await self.queue.get()
                if isinstance(item, CallStop):
                    self._stop = item
                    break
                await self._handle(*item)
        finally:
            if self._setup is not None:
                self._setup.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._setup
            await self._teardown()

    # --- internals -----------------------------------------------------------------

    def _set_state(self, new: CallState) -> None:
        if new not in _ALLOWED[self.state]:
            log.error("call %s: illegal transition %s -> %s ignored", self.call_id, self.state, new)
            return
        log.info("call %s: %s -> %s", self.call_id, self.state, new)
        self.state = new

    async def _handle(self, raw: dict[str, Any], event: AriEvent) -> None:
        await self._safe_sink(self.ctx.sink.raw_event(self.call_id, self.scrub(raw)))
        self.seen.observe(event)
        if self.owner_leg is not None:
            self.owner_leg.on_event(event)
        handler = _EVENT_HANDLERS.get(type(event))
        if handler is not None:
            await handler(self, event)

    # --- ARI event handlers (see _EVENT_HANDLERS) ------------------------------------

    async def _on_dial(self, event: Dial) -> None:
        if event.dialstatus == "RINGING" and event.peer and event.peer.id == self.ids.call:
            await self.step("ringing", "the callee's phone is ringing")

    async def _on_stasis_start(self, event: StasisStart) -> None:
        ch = event.channel
        if ch and ch.id == self.ids.call and self.state is CallState.DIALING:
            self._answered_at = _now()
            self._set_state(CallState.CONNECTING_MEDIA)
            await self.step("answered", "the callee answered")
            self._setup = asyncio.create_task(self._connect_media(), name=f"call-media-setup-{self.call_id}")
        elif ch and ch.id == self.ids.media:
            self.media_in_stasis.set()

    async def _on_channel_destroyed(self, event: ChannelDestroyed) -> None:
        ch = event.channel
        if ch and ch.id == self.ids.call:
            self._our_leg_gone = True
            by = "callee" if self.state is not CallState.DIALING else "system"
            self._stop = CallStop(f"our leg ended (cause {event.cause} {event.cause_txt})", by)
        elif ch and ch.id == self.ids.media:
            self._media_gone = True
            if self.state in (CallState.CONNECTING_MEDIA, CallState.LIVE):
                self._stop = CallStop("the media channel ended", "system", failed=self.state is not CallState.LIVE)

    async def _on_recording_closed(self, event: RecordingFinished | RecordingFailed) -> None:
        if event.recording and event.recording.name == self.recording:
            self._recording_closed = True

    async def _connect_media(self) -> None:
        rest, ids = self.ctx.rest, self.ids
        try:
            await rest.create_bridge(ids.bridge, name=self.ctx.app)
            self._bridge_created = True
            self._media_created = True
            self._media = await asyncio.wait_for(self.ctx.media.open(self), MEDIA_SETUP_TIMEOUT_S)
            await asyncio.wait_for(self.media_in_stasis.wait(), MEDIA_SETUP_TIMEOUT_S)
            await rest.add_channels(ids.bridge, [ids.call, ids.media])
            if self.ctx.record or self.request.record:
                name = f"calls/{self.call_id}"
                await rest.record_bridge(ids.bridge, name)
                self.recording = name
            self._set_state(CallState.LIVE)
            await self.step("media_connected", "audio connected", {"format": str(self.media.format)})
            self._answered.set_result(True)
        except (AriError, TimeoutError, OSError, aiohttp.ClientError) as exc:
            detail = f"media set-up failed: {exc if isinstance(exc, AriError) else type(exc).__name__}"
            log.warning("call %s: %s", self.call_id, detail)
            self.stop(CallStop(detail, "system", "failure", failed=True))

    def tell_agent(self, event: Any) -> None:
        """Hand the agent session an event of this call that no media channel carries (the owner's
        moves and microphone), in order with the media events; dropped before the media is up."""
        if self._media is not None:
            self._media.tell(event)

    def owner_leg_closed(self, leg: Any) -> None:
        if self.owner_leg is leg:
            self.owner_leg = None

    def media_closed(self, reason: str) -> None:
        """The media transport went away (socket closed, hang-up message)."""
        if self.state is CallState.LIVE:
            log.warning("call %s: media connection lost: %s", self.call_id, reason)
            self.stop(CallStop(f"media connection lost ({reason})", "system"))

    async def _teardown(self) -> None:
        stop = self._stop or CallStop("call task ended", "system", "failure")
        if self.state is not CallState.ENDING:
            self._set_state(CallState.ENDING)
        await self.step("ending", stop.detail)
        rest, ids = self.ctx.rest, self.ids
        if self.owner_leg is not None:
            with contextlib.suppress(Exception):
                await self.owner_leg.close()
        if self._media is not None:
            with contextlib.suppress(Exception):
                await self._media.close("call ended")  # type: ignore[attr-defined]
        if self._media_created and not self._media_gone:
            await self._quietly(rest.hangup(ids.media))
        if self._bridge_created:
            await self._quietly(rest.destroy_bridge(ids.bridge))
        if not self._our_leg_gone and await self._quietly(rest.hangup(ids.call, reason=stop.reason)) == 404:
            self._our_leg_gone = True
        wait_s = RECORDING_CLOSE_TIMEOUT_S if self.recording else LEG_GONE_TIMEOUT_S
        await self._drain_events(wait_s if self.ctx.events_up() else 0.0)
        if self.recording and not self._recording_closed:
            log.warning("call %s: the PBX did not close recording %s in %.0f s; its file may be incomplete",
                        self.call_id, self.recording, wait_s)
        self._set_state(CallState.ENDED)
        result = self._result(stop)
        await self.step("ended", f"{result.outcome.value}: {result.detail}", {"outcome": result.outcome.value})
        self._finish(result)

    def _result(self, stop: CallStop) -> TelephonyResult:
        verdict = classify(self.seen)
        if self._answered_at is None:
            outcome = CallOutcome.FAILED if stop.failed else verdict.outcome
            detail = verdict.detail if self._our_leg_gone else stop.detail
        else:
            outcome = CallOutcome.FAILED if stop.failed else CallOutcome.ANSWERED
            detail = stop.detail
        return TelephonyResult(
            outcome=outcome,
            q850_cause=verdict.q850_cause,
            sip_code=verdict.sip_code,
            answered_at=self._answered_at,
            ended_at=_now(),
            hangup_by=stop.hangup_by,
            recording=self.recording,
            detail=detail,
        )

    async def _drain_events(self, wait_s: float) -> None:
        """Store and observe the events our teardown caused, waiting a little for our leg's end and for the
        recording's file to be closed (Asterisk sends RecordingFinished after the leg is destroyed)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            all_gone = self._our_leg_gone and (self.recording is None or self._recording_closed)
            if self.queue.empty() and (all_gone or loop.time() >= deadline):
                return
            try:
                item = await asyncio.wait_for(self.queue.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return
            if not isinstance(item, CallStop):
                raw, event = item
                await self._safe_sink(self.ctx.sink.raw_event(self.call_id, self.scrub(raw)))
                self.seen.observe(event)
                if isinstance(event, ChannelDestroyed) and event.channel and event.channel.id == self.ids.call:
                    self._our_leg_gone = True
                elif isinstance(event, RecordingFinished | RecordingFailed):
                    await self._on_recording_closed(event)

    def _finish(self, result: TelephonyResult) -> None:
        if not self._answered.done():
            self._answered.set_result(False)
        if not self._finished.done():
            self._finished.set_result(result)

    async def _quietly(self, call: Any) -> int:
        """Run one teardown step; returns the error status (0 if it worked)."""
        try:
            await call
        except AriError as exc:
            if exc.status != 404:  # 404: already gone, which is what we wanted
                log.warning("call %s: teardown step failed: %s", self.call_id, exc)
            return exc.status
        return 0

    async def step(self, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
        """One step in the call's timeline (the audit trail); never raises."""
        await self._safe_sink(self.ctx.sink.call_event(self.call_id, kind, message, data))

    async def _safe_sink(self, coro: Any) -> None:
        try:
            await coro
        except Exception:  # the audit trail must never take a call down
            log.exception("call %s: event sink failed", self.call_id)

    def scrub(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The event without media connection ids (they are credentials)."""
        if not self.ids.secrets:
            return raw
        text = json.dumps(raw)
        if not any(secret in text for secret in self.ids.secrets):
            return raw
        for secret in self.ids.secrets:
            text = text.replace(secret, "[redacted]")
        return json.loads(text)


_EVENT_HANDLERS: dict[type[AriEvent], Callable[[AriCall, Any], Awaitable[None]]] = {
    Dial: AriCall._on_dial,
    StasisStart: AriCall._on_stasis_start,
    ChannelDestroyed: AriCall._on_channel_destroyed,
    RecordingFinished: AriCall._on_recording_closed,
    RecordingFailed: AriCall._on_recording_closed,
}  # the other events are only observed (`DialObservations`) and passed on raw


def _now() -> datetime:
    return datetime.now(UTC)
