"""The one ARI events WebSocket of this node: connect, read, reconnect.

The reader only parses and hands each event to a synchronous `on_event`
callback (which puts it on a per-call queue), so it never blocks: Asterisk
drops a slow consumer. After every (re)connection `on_connected` runs in its
own task (reconciliation) while events keep flowing. Backoff is capped and
jittered. If another connection takes our application over
(`ApplicationReplaced`), we stop: two nodes share an app name, which is a
configuration error that reconnecting would only turn into a tug of war.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from .clock import SYSTEM_CLOCK, Clock
from .wire_events import AriEvent, ApplicationReplaced, parse_event

log = logging.getLogger(__name__)


class SocketState(enum.StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    REPLACED = "replaced"
    CLOSED = "closed"


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
        heartbeat_s: float = 10.0,
        backoff_min_s: float = 0.1,
        backoff_max_s: float = 10.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        ws_base = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self._url = f"{ws_base}/events"
        self._app = app
        self._headers = auth_headers
        self._session = session
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._heartbeat = heartbeat_s
        self._backoff = (backoff_min_s, backoff_max_s)
        self._clock = clock
        self.state = SocketState.DOWN
        self.connections = 0  # how many times the socket came up
        self.last_error = "not connected yet"
        self._up = asyncio.Event()
        self._state_changed = asyncio.Event()  # set and replaced on every change
        self._task: asyncio.Task[None] | None = None
        self._reconcile_task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

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
        """Wait until predicate() holds, re-checking on every state change."""

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
        for task in (self._reconcile_task, self._task):
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

    def _dispatch(self, data: str) -> None:
        parsed = parse_event(data)
        if parsed is None:
            return
        raw, event = parsed
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
