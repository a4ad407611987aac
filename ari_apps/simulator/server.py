"""The simulator's HTTP face: ARI REST under /ari, /ari/events, /media/<id>.

`PbxSimulator` is an async context manager (and `start_simulator()` a plain
coroutine) that listens on a real socket and returns a handle for tests and for
`opendeep serve`: its `ari_url`, credentials, and methods to inspect the calls
and inject faults.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from ..ari_spec import AriSpec, SpecViolation
from .callee import CalleeSession
from .media import WebSocketLink, run_ticker
from .pbx import Pbx, SimError, SimulatorConfig
from .rest import HANDLERS, AfterReply

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InjectedFault:
    method: str
    path_suffix: str
    status: int
    message: str


class _EventsConnection:
    """One client on /ari/events: a queue drained by its single writer task."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()

    def send(self, event: dict[str, Any]) -> None:
        self.queue.put_nowait(json.dumps(event))

    async def write_all(self) -> None:
        while (text := await self.queue.get()) is not None:
            await self.ws.send_str(text)


class PbxSimulator:
    def __init__(self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SimulatorConfig(users={"opendeep": secrets.token_urlsafe(24)})  # a login per process
        self.pbx = Pbx(self.config)
        self.spec = AriSpec.shipped()
        self.host, self.port = host, port
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._faults: list[InjectedFault] = []
        self.refuse_events = False  # while True, /ari/events answers 503 (a PBX restarting)
        self._connections: dict[str, _EventsConnection] = {}
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------

    async def start(self) -> PbxSimulator:
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        app.router.add_get("/media/{connection_id}", self._media)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._ticker = asyncio.create_task(run_ticker(self.pbx), name="sim-media-ticker")
        log.info("PBX simulator listening on %s", self.ari_url)
        return self

    async def close(self) -> None:
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.pbx.close()
        for conn in list(self._connections.values()):
            await conn.ws.close(code=1001)
        for link in list(self.pbx.media_links.values()):
            await link.close(1001)
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> PbxSimulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the handle ---------------------------------------------------------------

    @property
    def ari_url(self) -> str:
        return f"http://{self.host}:{self.port}/ari"

    @property
    def user(self) -> str:
        return next(iter(self.config.users))

    @property
    def password(self) -> str:
        return self.config.users[self.user]

    def leftovers(self) -> dict[str, list[str]]:
        return self.pbx.leftovers()

    def callee(self, call_id: str) -> CalleeSession:
        return self.pbx.sessions[call_id]

    def events_connected(self, app: str) -> bool:
        return app in self.pbx.senders

    async def wait_until(self, predicate: Any, timeout: float = 5.0) -> None:
        """Wait (on state changes, not by polling time) until predicate() is true."""

        async def _wait() -> None:
            async with self.pbx.changed:
                await self.pbx.changed.wait_for(predicate)

        await asyncio.wait_for(_wait(), timeout)

    async def deafen_events_socket(self, app: str, *, keep_app: bool = False) -> None:
        """The app's events socket stays open but hears nothing more.

        As on Asterisk 23.4.1 after a same-name re-registration raced the teardown of the
        old one ("Replacing", then "Deactivating" and "Destroying" the app): the app is gone,
        so `POST /events/user` answers 404. With `keep_app` the app stays registered and its
        events are simply lost, so only a missing reply can tell.
        """
        conn = self._connections.pop(app, None)
        if conn is None:
            return
        conn.queue.put_nowait(None)  # its writer stops; the connection stays open
        if keep_app:
            self.pbx.senders[app] = lambda _event: None
        else:
            del self.pbx.senders[app]
        await self.pbx.notify()

    async def drop_events_socket(self, app: str) -> None:
        """Close the app's events socket from the PBX side, as a network failure would."""
        conn = self._connections.get(app)
        if conn is not None:
            await conn.ws.close(code=1001)

    def inject_event_text(self, app: str, text: str) -> None:
        conn = self._connections[app]
        conn.queue.put_nowait(text)

    def fail_next(self, method: str, path_suffix: str, status: int, message: str) -> None:
        """Make the next matching REST request fail with this status and message."""
        self._faults.append(InjectedFault(method, path_suffix, status, message))

    async def close_media(self, channel_id: str, code: int = 1011) -> None:
        link = self.pbx.media_links.get(channel_id)
        if link is not None:
            await link.close(code)

    async def callee_hangup(self, call_id: str, cause: int = 16) -> None:
        await self.pbx.callee_hangup(call_id, cause)

    # --- HTTP -----------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
        else:
            user, _, password = request.query.get("api_key", "").partition(":")
        return bool(user) and self.config.users.get(user) == password

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response({"message": "Authentication required"}, status=401)
        raw_path = request.raw_path.partition("?")[0].removeprefix("/ari/")
        segments = [unquote(s) for s in raw_path.split("/")]
        query = {k: v for k, v in request.query.items()}
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"message": "Error parsing request body"}, status=400)
        path = "/" + "/".join(segments)
        self.requests.append((request.method, path, query))
        try:
            matched = self.spec.validate(request.method, segments, query, body)
            fault = self._take_fault(request.method, path)
            if fault is not None:
                raise SimError(fault.status, fault.message)
            handler = HANDLERS.get((segments[0], matched.operation.name))
            if handler is None:
                raise SimError(501, f"{matched.operation.name} is not implemented by the PBX simulator")
            status, reply = await handler(self.pbx, matched)
        except SpecViolation as exc:
            log.warning("simulator refused %s %s: %s", request.method, path, exc.message)
            return web.json_response({"message": exc.message}, status=exc.status)
        except SimError as exc:
            return web.json_response({exc.key: exc.message}, status=exc.status)
        if isinstance(reply, AfterReply):
            response = web.Response(status=status)
            await response.prepare(request)
            await response.write_eof()
            self.pbx.wire.append(("rest", request.method, path, status))
            await reply.work()
            return response
        self.pbx.wire.append(("rest", request.method, path, status))
        if isinstance(reply, bytes):
            return web.Response(body=reply, status=status, content_type="audio/wav")
        if reply is None:
            return web.Response(status=status)
        return web.json_response(reply, status=status)

    def _take_fault(self, method: str, path: str) -> InjectedFault | None:
        for fault in self._faults:
            if fault.method == method and path.endswith(fault.path_suffix):
                self._faults.remove(fault)
                return fault
        return None

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return web.json_response({"message": "Authentication required"}, status=401)
        if self.refuse_events:
            return web.json_response({"message": "Service Unavailable"}, status=503)
        app = request.query.get("app", "")
        if not app:
            return web.json_response({"message": "'app' must be specified"}, status=400)
        ws = web.WebSocketResponse(protocols=("ari",))
        await ws.prepare(request)
        conn = _EventsConnection(ws)
        previous = self._connections.get(app)
        if previous is not None:
            previous.send({"type": "ApplicationReplaced", "application": app, "timestamp": ""})
            previous.queue.put_nowait(None)  # it hears nothing more
        self._connections[app] = conn
        self.pbx.senders[app] = conn.send
        writer = asyncio.create_task(conn.write_all(), name=f"sim-events-writer-{app}")
        await self.pbx.notify()
        try:
            async for _ in ws:
                pass  # clients do not talk on this socket
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
            if self._connections.get(app) is conn:
                del self._connections[app]
                del self.pbx.senders[app]  # the app is deactivated
            await self.pbx.notify()
        return ws

    async def _media(self, request: web.Request) -> web.StreamResponse:
        connection_id = request.match_info["connection_id"]
        link = next(
            (m for m in self.pbx.media_links.values() if getattr(m, "connection_id", None) == connection_id), None
        )
        if not isinstance(link, WebSocketLink):
            return web.Response(status=404)
        if link.ws is not None:
            return web.Response(status=409)
        ws = web.WebSocketResponse(protocols=("media",), max_msg_size=65535)
        await ws.prepare(request)
        await link.serve(ws)
        return ws


async def start_simulator(
    host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None
) -> PbxSimulator:
    """Start a simulator listening on host:port (0: any free port); close it with `await sim.close()`."""
    return await PbxSimulator(config, host, port).start()
