"""What both model simulators (Realtime and GPT-Live) do as WebSocket servers on a loopback port:
start and stop, refuse the next upgrades on request, and let tests wait on what clients sent.
Each protocol's server subclasses it with its own connection handler, endpoint check and
"session is ready" test.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Response

from engine.voice.simulator.controls import SimulatorControls
from engine.voice.simulator.script import Responder


class SimulatorServer(SimulatorControls):
    def __init__(
        self,
        responder: Responder | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        energy_vad: bool = False,
        idle_timeout_s: float | None = None,
        chunk_ms: int = 100,
    ) -> None:
        super().__init__(responder, energy_vad=energy_vad, idle_timeout_s=idle_timeout_s, chunk_ms=chunk_ms)
        self.sessions: list[Any] = []
        self._host, self._port = host, port
        self._server: Server | None = None
        self._rejections: list[int] = []

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> Self:
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

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Give this to `AsyncOpenAI(websocket_base_url=...)`."""
        return f"ws://{self._host}:{self._port}/v1"

    # --- scripting and assertions ----------------------------------------------------------------

    def reject_upgrades(self, status: int = 401, count: int = 1) -> None:
        self._rejections.extend([status] * count)

    def open_sessions(self) -> list[Any]:
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

    async def wait_for_session(self, index: int = 0, timeout: float = 5.0) -> Any:
        await self.wait_for(lambda: len(self.sessions) > index and self._session_ready(self.sessions[index]), timeout)
        return self.sessions[index]

    # --- what each protocol's server defines ----------------------------------------------------

    def _session_ready(self, session: Any) -> bool:
        raise NotImplementedError

    async def _handle(self, connection: ServerConnection) -> None:
        raise NotImplementedError

    def _process_request(self, connection: ServerConnection, request: Any) -> Response | None:
        raise NotImplementedError

    def _rejected(self, connection: ServerConnection) -> Response | None:
        """The upgrade refused as the service refuses a bad key, when a test asked for it."""
        if not self._rejections:
            return None
        body = json.dumps({"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}})
        return connection.respond(http.HTTPStatus(self._rejections.pop(0)), body + "\n")
