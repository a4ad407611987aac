"""A GPT-Live server over a real WebSocket: `GET <base>/live/sessions` with no query string.

Tests drive it through `LiveSimulator` / `LiveSession` methods and read what clients sent from
`received`; `opendeep serve` runs it as the "simulated" voice model when
OPENDEEP_VOICE_PROVIDER=live and no key is set (see `engine.voice.factory`). Output streams
faster than real time unless `paced` is set.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from engine.voice.live_simulator.session import LiveSession
from engine.voice.simulator.controls import SimulatorControls
from engine.voice.simulator.script import Responder


class LiveSimulator(SimulatorControls):
    def __init__(
        self,
        responder: Responder | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        energy_vad: bool = False,
        idle_timeout_s: float | None = None,
        chunk_ms: int = 100,
        paced: bool = False,
    ) -> None:
        super().__init__(responder, energy_vad=energy_vad, idle_timeout_s=idle_timeout_s, chunk_ms=chunk_ms)
        self.paced = paced  # stream output at playback pace instead of in bursts
        self.sessions: list[LiveSession] = []
        self._host, self._port = host, port
        self._server: Server | None = None
        self._rejections: list[int] = []

    async def start(self) -> LiveSimulator:
        self._server = await serve(
            self._handle, self._host, self._port, process_request=self._process_request, max_size=None, compression=None
        )
        self._port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LiveSimulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Give this to `AsyncOpenAI(websocket_base_url=...)`."""
        return f"ws://{self._host}:{self._port}/v1"

    # --- scripting and assertions ------------------------------------------------------------

    def reject_upgrades(self, status: int = 401, count: int = 1) -> None:
        self._rejections.extend([status] * count)

    def open_sessions(self) -> list[LiveSession]:
        """The connections a client still holds open."""
        return [s for s in self.sessions if not s.closed]

    async def wait_until_all_closed(self, timeout: float = 5.0) -> None:
        await self.wait_for(lambda: not self.open_sessions(), timeout)

    def received(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return [e for s in self.sessions for e in s.received if event_type is None or e.get("type") == event_type]

    async def wait_for_event(
        self,
        event_type: str,
        where: Callable[[dict[str, Any]], bool] = lambda e: True,
        count: int = 1,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        def found() -> list[dict[str, Any]] | None:
            hits = [e for e in self.received(event_type) if where(e)]
            return hits if len(hits) >= count else None

        return (await self.wait_for(found, timeout))[count - 1]

    async def wait_for_session(self, index: int = 0, timeout: float = 5.0) -> LiveSession:
        await self.wait_for(lambda: len(self.sessions) > index and self.sessions[index].started, timeout)
        return self.sessions[index]

    # --- transport --------------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self._rejections:
            status = self._rejections.pop(0)
            body = json.dumps({"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}})
            return connection.respond(http.HTTPStatus(status), body + "\n")
        path, _, query = request.path.partition("?")
        if not path.endswith("/live/sessions"):
            return connection.respond(http.HTTPStatus.NOT_FOUND, "no such endpoint\n")
        if query:  # the model goes in session.start, never in the URL
            return connection.respond(http.HTTPStatus.BAD_REQUEST, "unexpected query string\n")
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "missing bearer token\n")
        return None

    async def _handle(self, websocket: ServerConnection) -> None:
        session = LiveSession(self, websocket, len(self.sessions))
        self.sessions.append(session)
        await session.run()
