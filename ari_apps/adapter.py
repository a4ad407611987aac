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

from engine.ports.telephony import (
    AudioFormat,
    ComponentStatus,
    DialRequest,
    OutboundCall,
    TelephonyEventSink,
    TelephonyUnavailable,
)

from .events_socket import EventsSocket
from .media_connectors import WebSocketMediaConnector
from .media_websocket import MediaTimings
from .outbound_call import AriCall, CallContext, CallStop, MediaConnector
from .rest_client import AriError, AriRestClient, AriUnreachable
from .wire_events import AriEvent, StasisStart

log = logging.getLogger(__name__)
CLOSE_CALLS_TIMEOUT_S = 10.0  # how long close() lets live calls tear down before it goes on


class AriTelephony:
    def __init__(
        self,
        *,
        ari_url: str,
        user: str,
        password: str,
        app: str,
        sink: TelephonyEventSink,
        dial_endpoint: str = "PJSIP/{number}@trunk",
        caller_id: str = "",
        media_format: AudioFormat = AudioFormat.ULAW,
        media_transport: str = "websocket",
        audiosocket_bind: str = "127.0.0.1:0",
        audiosocket_advertise_host: str = "",
        record_calls: bool = False,
        mode: str = "asterisk",
        connect_timeout_s: float = 5.0,
        reconnect_max_s: float = 10.0,
        timings: MediaTimings | None = None,
        liveness_interval_s: float = 15.0,
        liveness_timeout_s: float = 5.0,
    ) -> None:
        self.ari_url = ari_url.rstrip("/")
        self.app = app
        self.mode = mode
        self._user, self._password = user, password
        self._sink = sink
        self._dial_endpoint = dial_endpoint
        self._caller_id = caller_id
        self._format = AudioFormat(media_format)
        self._transport = str(media_transport)
        self._audiosocket_bind = audiosocket_bind
        self._audiosocket_host = audiosocket_advertise_host
        self._record = record_calls
        self._connect_timeout = connect_timeout_s
        self._reconnect_max = reconnect_max_s
        self._timings = timings
        self._liveness = (liveness_interval_s, liveness_timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._rest: AriRestClient | None = None
        self._socket: EventsSocket | None = None
        self._media: MediaConnector | None = None
        self._calls: dict[str, AriCall] = {}
        self._routes: dict[str, AriCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_settings(cls, settings: Any, sink: TelephonyEventSink, *, mode: str = "asterisk", **overrides: Any):
        options = dict(
            ari_url=settings.ari_url,
            user=settings.ari_user,
            password=settings.ari_password.get_secret_value(),
            app=settings.ari_app,
            sink=sink,
            dial_endpoint=settings.dial_endpoint,
            caller_id=settings.caller_id,
            media_format=AudioFormat(str(settings.media_format)),
            media_transport=str(settings.media_transport),
            audiosocket_bind=settings.audiosocket_bind,
            audiosocket_advertise_host=settings.audiosocket_advertise_host,
            record_calls=settings.record_calls,
            mode=mode,
        )
        options.update(overrides)
        return cls(**options)

    # --- Telephony ---------------------------------------------------------------

    async def start(self) -> None:
        # No pool limit: every live call holds one media WebSocket on this session.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self._rest = AriRestClient(self.ari_url, self._user, self._password, self._session)
        self._media = await self._make_media_connector()
        self._socket = EventsSocket(
            self.ari_url,
            self.app,
            self._rest.auth_headers,
            self._session,
            self._route,
            self._reconcile,
            self._socket_lost,
            backoff_max_s=self._reconnect_max,
            probe=self._rest.user_event,
            probe_interval_s=self._liveness[0],
            probe_timeout_s=self._liveness[1],
        )
        self._socket.start()
        if not await self._socket.wait_up(self._connect_timeout):
            log.error("ARI not reachable at start-up (%s); retrying in the background", self._socket.last_error)

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
        ctx = CallContext(self._rest, self.app, self._sink, self._media, self._record, lambda: socket.is_up)
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
                caller_id=request.caller_id or self._caller_id or None,
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
        details = {"app": self.app, "ari_url": self.ari_url, "live_calls": len(self._calls)}
        if socket is not None:
            details["events_socket"] = str(socket.state)
            details["deaf_sockets_replaced"] = socket.deaf_detected
        return ComponentStatus(ok=ok, mode=self.mode, reason=reason, details=details)

    async def live_call_ids(self) -> set[str]:
        return set(self._calls)

    async def download_recording(self, name: str) -> bytes:
        """The bytes of a stored recording named in `TelephonyResult.recording`."""
        if self._rest is None:
            raise TelephonyUnavailable("telephony adapter not started")
        return await self._rest.download_recording(name)

    # --- internals -----------------------------------------------------------------

    async def _make_media_connector(self) -> MediaConnector:
        assert self._session is not None
        if self._transport == "audiosocket":
            from .audiosocket import AudioSocketConnector

            connector = AudioSocketConnector(self._audiosocket_bind, self._audiosocket_host, self._format)
            await connector.start()
            return connector
        return WebSocketMediaConnector(self.ari_url, self._session, self._format, self._timings)

    def _endpoint_for(self, destination: str) -> str:
        if "/" in destination:  # already a dial string (Local/..., PJSIP/...)
            return destination
        return self._dial_endpoint.format(number=destination)

    def _register(self, call: AriCall) -> None:
        self._calls[call.call_id] = call
        for channel_id in (call.ids.call, call.ids.callee, call.ids.media, call.ids.bridge):
            self._routes[channel_id] = call

    def _unregister(self, call: AriCall) -> None:
        self._calls.pop(call.call_id, None)
        for channel_id in (call.ids.call, call.ids.callee, call.ids.media, call.ids.bridge):
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
