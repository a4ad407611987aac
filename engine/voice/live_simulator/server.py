"""A GPT-Live server over a real WebSocket: `GET <base>/live/sessions` with no query string.

Tests drive it through `LiveSimulator` / `LiveSession` methods and read what clients sent from
`received`; `opendeep serve` runs it as the "simulated" voice model when
OPENDEEP_VOICE_PROVIDER=live and no key is set (see `engine.voice.factory`). Output streams
faster than real time unless `paced` is set.
"""

from __future__ import annotations

import http

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from engine.voice.live_simulator.session import LiveSession
from engine.voice.simulator.script import Responder
from engine.voice.simulator.serving import SimulatorServer


class LiveSimulator(SimulatorServer):
    sessions: list[LiveSession]

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
        super().__init__(responder, host=host, port=port, energy_vad=energy_vad, idle_timeout_s=idle_timeout_s,
                         chunk_ms=chunk_ms)
        self.paced = paced  # stream output at playback pace instead of in bursts

    def _session_ready(self, session: LiveSession) -> bool:
        return session.started

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if (refused := self._rejected(connection)) is not None:
            return refused
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
