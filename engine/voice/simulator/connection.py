"""One client's WebSocket on a model simulator (the Realtime or the GPT-Live one).

What the client sends is kept (`received`) and handled in order: the test's hook for that event
type first, then the session's own `_dispatch`. What the session sends goes through one writer
task, in order. When the client goes, the session's own tasks are cancelled, the writer drains,
and `closed` turns True; the simulator is notified after every event and at the end.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from engine.voice.simulator.controls import SimulatorControls


class SimulatorConnection:
    WRITER_NAME = "sim-writer"  # its task is named WRITER_NAME-<index>

    def __init__(self, sim: SimulatorControls, websocket: ServerConnection, index: int) -> None:
        self.sim = sim
        self.index = index
        self.websocket = websocket
        self.request_path = websocket.request.path if websocket.request else ""
        self.headers = dict(websocket.request.headers) if websocket.request else {}
        self.closed = False  # the client's connection has ended
        self.received: list[dict[str, Any]] = []
        self._outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._sent_waiters: dict[str, list[asyncio.Future[None]]] = {}

    def send(self, event: dict[str, Any]) -> None:
        self._outbox.put_nowait({"event_id": self.sim.next_id("event"), **event})
        for waiter in self._sent_waiters.pop(event.get("type", ""), []):
            if not waiter.done():
                waiter.set_result(None)

    async def next_sent(self, event_type: str) -> None:
        """Wait until the session next sends an event of that type. A test's hook orders the service's
        events with it (say, a response.created before the refusal of a create) on any event loop,
        where yielding a turn of the loop would depend on how that loop schedules tasks."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sent_waiters.setdefault(event_type, []).append(waiter)
        await waiter

    async def run(self) -> None:
        writer = asyncio.create_task(self._write_loop(), name=f"{self.WRITER_NAME}-{self.index}")
        self._opened()
        try:
            async for message in self.websocket:
                event = json.loads(message)
                self.received.append(event)
                hook = self.sim.hooks.get(event.get("type", ""))
                if hook is not None:
                    await hook(self, event)
                await self._dispatch(event)
                await self.sim.notify()
        except ConnectionClosed:
            pass
        finally:
            for task in self._own_tasks():
                if task is not None:
                    task.cancel()
            self._outbox.put_nowait(None)
            await asyncio.gather(writer, return_exceptions=True)
            self.closed = True
            await self.sim.notify()

    # --- for the session -------------------------------------------------------------------------

    def _opened(self) -> None:
        """Send what the service sends as the connection opens (nothing by default)."""

    def _own_tasks(self) -> tuple[asyncio.Task[None] | None, ...]:
        """The session's tasks that end with the connection."""
        return ()

    async def _dispatch(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _write_loop(self) -> None:
        try:
            while (event := await self._outbox.get()) is not None:
                await self.websocket.send(json.dumps(event))
        except ConnectionClosed:
            pass
