"""`AriTelephony`: the engine's Telephony port on Asterisk ARI (or the PBX simulator).

It owns one HTTP session, the node's events socket, the id -> call routing table
and the call tasks. Events are routed by the channel/bridge ids they carry (all
derived from our call ids). After every (re)connection it reconciles: channels
and bridges of ours that no live call owns are hung up or destroyed, and live
calls whose leg vanished while the socket was down are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

from engine.clock import SYSTEM_CLOCK, Clock
from engine.ports.telephony import (
    ComponentStatus,
    DialRequest,
    OutboundCall,
    RecordingUnavailable,
    TelephonyEventSink,
    TelephonyUnavailable,
)

from .config import AriConfig
from .events_socket import EventsSocket
from .media_connectors import start_media_connector
from .outbound_call import AriCall, CallContext, CallStop, MediaConnector
from .owner_leg import AriOwnerLeg, join_owner_leg
from .pbx_checks import CheckReport, check_pbx
from .rest_client import AriError, AriRestClient, AriUnreachable
from .wire_events import AriEvent, StasisStart

log = logging.getLogger(__name__)
CLOSE_CALLS_TIMEOUT_S = 10.0  # how long close() lets live calls tear down before it goes on


class AriTelephony:
    """Configured by an `AriConfig` (see `ari_apps.factory.build_telephony`); tells `sink` what calls do."""

    def __init__(self, config: AriConfig, sink: TelephonyEventSink, clock: Clock = SYSTEM_CLOCK) -> None:
        self.config = config
        self.ari_url = config.ari_url
        self.app = config.app
        self.mode = config.mode
        self._sink = sink
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._rest: AriRestClient | None = None
        self._socket: EventsSocket | None = None
        self._media: MediaConnector | None = None
        self._calls: dict[str, AriCall] = {}
        self._routes: dict[str, AriCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- Telephony ---------------------------------------------------------------

    async def start(self) -> None:
        # No pool limit: every live call holds one media WebSocket on this session.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        config = self.config
        self._rest = AriRestClient(self.ari_url, config.user, config.password, self._session)
        self._media = await start_media_connector(config.media, self.ari_url, self._session, self._clock)
        self._socket = EventsSocket(
            self.ari_url,
            self.app,
            self._rest.auth_headers,
            self._session,
            self._route,
            self._reconcile,
            self._socket_lost,
            timings=config.socket,
            clock=self._clock,
            probe=self._rest.user_event,
        )
        self._socket.start()
        if not await self._socket.wait_up(config.connect_timeout_s):
            log.error("ARI not reachable at start-up (%s); retrying in the background", self._socket.last_error)
            return
        report = await self._check_pbx()
        for warning in report.warnings:
            log.warning("PBX check: %s", warning)
        for problem in report.problems:
            log.error("PBX check: %s", problem)
        if report.ok:
            log.info("PBX check: ready to dial %s", config.dial_endpoint)

    async def close(self) -> None:
        """Hang up every live call, then close the socket, media and session, whatever happens."""
        for call in list(self._calls.values()):
            call.stop(CallStop("telephony adapter closing", "system", "normal"))
        calls = [c.finished() for c in self._calls.values()]
        if calls:
            try:
                await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), CLOSE_CALLS_TIMEOUT_S)
            except TimeoutError:  # their tasks are cancelled below; closing must go on
                log.error("%d call(s) had not ended %.0f s after closing began", len(self._calls), CLOSE_CALLS_TIMEOUT_S)
        if self._socket is not None:
            await self._socket.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._media is not None and hasattr(self._media, "close"):
            await self._media.close()
        if self._session is not None:
            await self._session.close()

    async def originate(self, request: DialRequest) -> OutboundCall:
        if self._socket is None or self._rest is None or self._media is None:
            raise TelephonyUnavailable("telephony adapter not started")
        if not self._socket.is_up:
            raise TelephonyUnavailable(f"ARI events socket is down: {self._socket.last_error}")
        if request.call_id in self._calls:
            raise ValueError(f"call {request.call_id} is already live")
        endpoint = self._endpoint_for(request.destination)
        socket = self._socket
        ctx = CallContext(self._rest, self.app, self._sink, self._media, self.config.record_calls, lambda: socket.is_up)
        call = AriCall(ctx, request, endpoint)
        call.epoch = self._socket.connections
        self._register(call)
        try:
            await self._rest.originate(
                endpoint,
                self.app,
                call.ids.call,
                app_args=["outbound", call.call_id],
                other_channel_id=call.ids.callee if endpoint.startswith("Local/") else None,
                caller_id=request.caller_id or self.config.caller_id or None,
                timeout_s=request.ring_timeout_s,
            )
        except AriUnreachable as exc:
            self._unregister(call)
            raise TelephonyUnavailable(f"ARI unreachable: {exc.message}") from None
        except AriError as exc:
            self._unregister(call)
            call.fail_before_dialling(exc)
            return call
        log.info("call %s: dialling %s", call.call_id, endpoint)
        self._spawn(self._run_call(call), f"call-{call.call_id}")
        return call

    async def status(self) -> ComponentStatus:
        socket = self._socket
        ok = socket is not None and socket.is_up
        reason = "" if ok else (socket.last_error if socket else "not started")
        details: dict[str, Any] = {"app": self.app, "ari_url": self.ari_url, "live_calls": len(self._calls)}
        if socket is not None:
            details["events_socket"] = str(socket.state)
            details["deaf_sockets_replaced"] = socket.deaf_detected
        if ok:
            report = await self._check_pbx()
            if report.warnings:
                details["warnings"] = report.warnings
            if report.problems:
                ok, reason = False, "; ".join(report.problems)
        return ComponentStatus(ok=ok, mode=self.mode, reason=reason, details=details)

    async def _check_pbx(self) -> CheckReport:
        """The start-up checks of `pbx_checks` (dial technology loaded, trunk online, Asterisk version)."""
        if self._rest is None:
            return CheckReport(["not started"])
        try:
            return await check_pbx(self._rest, self.config.dial_endpoint)
        except AriError as exc:
            return CheckReport([f"the PBX checks could not run: {exc}"])

    async def live_call_ids(self) -> set[str]:
        return set(self._calls)

    async def fetch_recording(self, name: str) -> bytes:
        """`GET /recordings/stored/{name}/file`: the bytes of a recording named in `TelephonyResult.recording`."""
        if self._rest is None:
            raise RecordingUnavailable("telephony adapter not started")
        try:
            return await self._rest.download_recording(name)
        except AriError as exc:
            raise RecordingUnavailable(_why(exc)) from None

    async def delete_recording(self, name: str) -> None:
        """`DELETE /recordings/stored/{name}`."""
        if self._rest is None:
            raise RecordingUnavailable("telephony adapter not started")
        try:
            await self._rest.delete_stored_recording(name)
        except AriError as exc:
            raise RecordingUnavailable(_why(exc)) from None

    async def join_owner(self, call_id: str) -> AriOwnerLeg:
        """`OwnerLegs`: the owner's browser joins live call `call_id`, listening (ari_apps.owner_leg)."""
        return await join_owner_leg(self._calls.get(call_id), self._session, self.ari_url)

    # --- internals -----------------------------------------------------------------

    def _endpoint_for(self, destination: str) -> str:
        if "/" in destination:  # already a dial string (Local/..., PJSIP/...)
            return destination
        return self.config.dial_endpoint.format(number=destination)

    def _register(self, call: AriCall) -> None:
        self._calls[call.call_id] = call
        for channel_id in (call.ids.call, call.ids.callee, call.ids.media, call.ids.bridge, f"{call.call_id}-owner"):
            self._routes[channel_id] = call

    def _unregister(self, call: AriCall) -> None:
        self._calls.pop(call.call_id, None)
        for channel_id in (call.ids.call, call.ids.callee, call.ids.media, call.ids.bridge, f"{call.call_id}-owner"):
            if self._routes.get(channel_id) is call:
                del self._routes[channel_id]

    async def _run_call(self, call: AriCall) -> None:
        try:
            await call.run()
        except Exception:
            log.exception("call %s: call task failed", call.call_id)
        finally:
            self._unregister(call)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _route(self, raw: dict[str, Any], event: AriEvent) -> None:
        for channel_id in event.channel_ids():
            call = self._routes.get(channel_id)
            if call is not None:
                call.deliver(raw, event)
                return
        if isinstance(event, StasisStart) and event.channel is not None:
            # In our app but no call of ours: a leftover of an earlier run. No orphans.
            log.warning("hanging up channel %s: in our app but owned by no live call", event.channel.id)
            self._spawn(self._hang_up_orphan(event.channel.id), f"ari-orphan-{event.channel.id}")

    async def _hang_up_orphan(self, channel_id: str) -> None:
        assert self._rest is not None
        with contextlib.suppress(AriError):
            await self._rest.hangup(channel_id)

    def _socket_lost(self, reason: str) -> None:
        if self._calls:
            log.warning("ARI events socket lost (%s); %d live call(s) keep running", reason, len(self._calls))

    async def _reconcile(self) -> None:
        """Adopt what we still own, close what vanished, hang up what nobody owns."""
        assert self._rest is not None and self._socket is not None
        epoch = self._socket.connections
        try:
            channels = await self._rest.list_channels()
            bridges = await self._rest.list_bridges()
        except AriError as exc:
            log.warning("reconciliation skipped: %s", exc)
            return
        present = {ch["id"] for ch in channels}
        for call in list(self._calls.values()):
            # Only calls older than this connection can have lost events.
            if call.epoch < epoch and call.ids.call not in present and not call.done:
                log.warning("call %s: its channel ended while the events socket was down", call.call_id)
                call.stop(CallStop("ended while the events socket was down", "system", failed=not call.answered_at))
        for ch in channels:
            if ch["id"] not in self._routes and self._is_ours(ch):
                log.warning("hanging up leftover channel %s", ch["id"])
                await self._hang_up_orphan(ch["id"])
        for bridge in bridges:
            if bridge.get("name") == self.app and bridge["id"] not in self._routes:
                log.warning("destroying leftover bridge %s", bridge["id"])
                with contextlib.suppress(AriError):
                    await self._rest.destroy_bridge(bridge["id"])

    def _is_ours(self, channel: dict[str, Any]) -> bool:
        dialplan = channel.get("dialplan") or {}
        return dialplan.get("app_name") == "Stasis" and str(dialplan.get("app_data", "")).startswith(f"{self.app},")


def _why(error: AriError) -> str:
    if isinstance(error, AriUnreachable):
        return f"PBX unreachable ({error.message})"
    return f"PBX answered {error.status} {error.message}"
