"""The one ARI events WebSocket of this node: connect, read, reconnect.

The reader only parses and hands each event to a synchronous `on_event`
callback (which puts it on a per-call queue), so it never blocks: Asterisk
drops a slow consumer. After every (re)connection `on_connected` runs in its
own task (reconciliation) while events keep flowing. Backoff is capped and
jittered. If another connection takes our application over
(`ApplicationReplaced`), we stop: two nodes share an app name, which is a
configuration error that reconnecting would only turn into a tug of war.

A socket can be open and deaf: when it re-registers an app name that Asterisk
is still tearing down, Asterisk may destroy the app under the new socket. So
while up, a liveness probe sends itself a user event (`POST /events/user/...`)
right away and then every `probe_interval_s`; if the REST call fails (404: the
app is gone) or the `ChannelUserevent` does not come back within
`probe_timeout_s`, the socket is declared dead, closed and reconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from engine.clock import SYSTEM_CLOCK, Clock

from .wire_events import ApplicationReplaced, AriEvent, ChannelUserevent, parse_event

log = logging.getLogger(__name__)
PROBE_EVENT = "opendeep-liveness"
Probe = Callable[[str, str, dict[str, str]], Awaitable[None]]  # (event name, app, variables): POST /events/user


class SocketState(enum.StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    REPLACED = "replaced"
    CLOSED = "closed"


@dataclass(frozen=True)
class SocketTimings:
    heartbeat_s: float = 10.0
    backoff_min_s: float = 0.1  # the reconnection backoff's first wait ...
    backoff_max_s: float = 10.0  # ... and its cap
    probe_interval_s: float = 15.0  # how often the liveness probe runs while up
    probe_timeout_s: float = 5.0  # how long its user event may take to come back


class EventsSocket:
    def __init__(
        self,
        base_url: str,
        app: str,
        auth_headers: dict[str, str],
        session: aiohttp.ClientSession,
        on_event: Callable[[dict[str, Any], AriEvent], None],
        on_connected: Callable[[], Awaitable[None]],
        on_disconnected: Callable[[str], None],
        *,
        timings: SocketTimings = SocketTimings(),
        clock: Clock = SYSTEM_CLOCK,
        probe: Probe | None = None,
    ) -> None:
        ws_base = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self._url = f"{ws_base}/events"
        self._app = app
        self._headers = auth_headers
        self._session = session
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._heartbeat = timings.heartbeat_s
        self._backoff = (timings.backoff_min_s, timings.backoff_max_s)
        self._clock = clock
        self.state = SocketState.DOWN
        self.connections = 0  # how many times the socket came up
        self.last_error = "not connected yet"
        self._up = asyncio.Event()
        self._state_changed = asyncio.Event()  # set and replaced on every change
        self._task: asyncio.Task[None] | None = None
        self._reconcile_task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._probe = probe
        self._probe_every = (timings.probe_interval_s, timings.probe_timeout_s)
        self._probe_task: asyncio.Task[None] | None = None
        self._probe_replies: dict[str, asyncio.Future[None]] = {}
        self._probes_sent = 0
        self.deaf_detected = 0  # how many times the probe found the socket open but deaf
        self.probes_answered = 0

    @property
    def is_up(self) -> bool:
        return self.state is SocketState.UP

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"ari-events-{self._app}")

    async def wait_up(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), timeout)
        return self.is_up

    async def wait_for_state(self, *states: SocketState, timeout: float) -> None:
        await self.wait_until(lambda: self.state in states, timeout)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        """Wait until predicate() holds, re-checking on every state change and answered probe."""

        async def _wait() -> None:
            while not predicate():
                await self._state_changed.wait()

        await asyncio.wait_for(_wait(), timeout)

    async def close(self) -> None:
        """Close the socket with a full close handshake before returning.

        Asterisk unregisters a closed socket's apps by name, asynchronously. A successor with
        the same app name (the next adapter or process) that registers while that is still
        under way can be deactivated and left deaf (seen on 23.4.1: "Replacing Stasis app",
        then "Deactivating" and "Destroying" it). Closing cleanly, rather than dropping the
        connection when the task is cancelled, keeps that window short.
        """
        self._set_state(SocketState.CLOSED)
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                await asyncio.wait_for(ws.close(), 5)
        for task in (self._probe_task, self._reconcile_task, self._task):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _set_state(self, state: SocketState, reason: str = "") -> None:
        if state is self.state:
            return
        log.info("ARI events socket %s -> %s%s", self.state, state, f" ({reason})" if reason else "")
        self.state = state
        if state is SocketState.UP:
            self._up.set()
        else:
            self._up.clear()
        self._notify_change()

    def _notify_change(self) -> None:
        self._state_changed.set()
        self._state_changed = asyncio.Event()

    async def _supervise(self) -> None:
        failures = 0
        while self.state not in (SocketState.CLOSED, SocketState.REPLACED):
            self._set_state(SocketState.CONNECTING)
            try:
                await self._run_once()
                failures = 0
            except aiohttp.WSServerHandshakeError as exc:
                self.last_error = (
                    "ARI credentials rejected" if exc.status == 401 else f"events socket refused: HTTP {exc.status}"
                )
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                self.last_error = f"events socket unreachable: {type(exc).__name__}"
            if self.state in (SocketState.CLOSED, SocketState.REPLACED):
                break
            self._set_state(SocketState.DOWN, self.last_error)
            self._on_disconnected(self.last_error)
            failures += 1
            await self._clock.sleep(self._next_delay(failures))

    def _next_delay(self, failures: int) -> float:
        low, high = self._backoff
        capped = min(high, low * 2 ** (failures - 1))
        return capped * random.uniform(0.5, 1.0)

    async def _run_once(self) -> None:
        params = {"app": self._app, "subscribeAll": "false"}
        async with self._session.ws_connect(
            self._url, params=params, headers=self._headers, heartbeat=self._heartbeat
        ) as ws:
            self._ws = ws
            self.connections += 1
            self._set_state(SocketState.UP)
            self._reconcile_task = asyncio.create_task(self._on_connected(), name=f"ari-reconcile-{self._app}")
            if self._probe is not None:
                self._probe_task = asyncio.create_task(self._probe_while_up(ws), name=f"ari-liveness-{self._app}")
            try:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        self._dispatch(msg.data)
                    if msg.type is aiohttp.WSMsgType.ERROR or self.state is SocketState.REPLACED:
                        break
                if self.state is SocketState.UP:
                    self.last_error = f"events socket closed (code {ws.close_code})"
            finally:
                self._ws = None
                self._reconcile_task.cancel()
                if self._probe_task is not None:
                    self._probe_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._probe_task
                    self._probe_task = None

    async def _probe_while_up(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send ourselves a user event now and every interval; a socket that misses one is closed."""
        interval, bound = self._probe_every
        while self.state is SocketState.UP:
            failure = await self._probe_once(bound)
            if failure:
                self.deaf_detected += 1
                self.last_error = f"events socket deaf: {failure}; reconnecting"
                log.error("ARI %s", self.last_error)
                self._set_state(SocketState.DOWN, self.last_error)
                await ws.close()  # the reader ends and the supervisor reconnects with backoff
                return
            await self._clock.sleep(interval)

    async def _probe_once(self, bound: float) -> str:
        """'' when our user event came back on the socket within `bound`, else what went wrong."""
        assert self._probe is not None
        self._probes_sent += 1
        token = f"{self.connections}.{self._probes_sent}"
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._probe_replies[token] = reply
        timer = asyncio.create_task(self._clock.sleep(bound), name=f"ari-liveness-timer-{self._app}")
        try:
            try:
                await self._probe(PROBE_EVENT, self._app, {"probe": token})
            except Exception as exc:  # 404 "Application not found" is the deaf case; any failure counts
                return f"liveness probe refused ({exc})"
            await asyncio.wait({reply, timer}, return_when=asyncio.FIRST_COMPLETED)
            return "" if reply.done() else f"liveness probe not answered within {bound:g} s"
        finally:
            del self._probe_replies[token]
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer

    def _dispatch(self, data: str) -> None:
        parsed = parse_event(data)
        if parsed is None:
            return
        raw, event = parsed
        if isinstance(event, ChannelUserevent) and event.eventname == PROBE_EVENT:
            reply = self._probe_replies.get(str(event.userevent.get("probe", "")))
            if reply is not None and not reply.done():
                reply.set_result(None)
                self.probes_answered += 1
                self._notify_change()
            return  # our own probe: not a call's business
        if isinstance(event, ApplicationReplaced):
            self.last_error = f"ARI application '{self._app}' was taken over by another connection"
            log.error("%s; not reconnecting (does another node use the same app name?)", self.last_error)
            self._set_state(SocketState.REPLACED, self.last_error)
            self._on_disconnected(self.last_error)
            return
        try:
            self._on_event(raw, event)
        except Exception:  # a bug in one handler must not kill the reader
            log.exception("ARI event handler failed for %s", event.type)
