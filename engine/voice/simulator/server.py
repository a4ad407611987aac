"""A Realtime server that speaks the GA protocol over a real WebSocket.

Tests drive it through `RealtimeSimulator` / `SimulatedSession` methods and read
what clients sent from `received`; `opendeep serve` runs it as the "simulated"
voice model (see `engine.voice.factory`). Contract: openai-realtime.md §8.

Each connection has one writer task draining `_outbox`; responses stream from
one task at a time, as fast as the loop allows (faster than real time).
"""

from __future__ import annotations

import http
import logging

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from engine.voice.simulator.serving import SimulatorServer
from engine.voice.simulator.session import SimulatedSession

log = logging.getLogger(__name__)


class RealtimeSimulator(SimulatorServer):
    sessions: list[SimulatedSession]

    def _session_ready(self, session: SimulatedSession) -> bool:
        return session.configured

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if (refused := self._rejected(connection)) is not None:
            return refused
        if not request.path.split("?")[0].endswith("/realtime"):
            return connection.respond(http.HTTPStatus.NOT_FOUND, "no such endpoint\n")
        return None

    async def _handle(self, websocket: ServerConnection) -> None:
        session = SimulatedSession(self, websocket, len(self.sessions))
        self.sessions.append(session)
        await session.run()
