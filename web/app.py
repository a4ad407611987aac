"""The Litestar application: HTML pages and the JSON API on one app."""

from __future__ import annotations

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.response import Response

from engine.node import Node


@get("/health")
async def health(state: State) -> Response[dict]:
    """Database, PBX and voice-model status; 503 when any of them is not ok."""
    node: Node = state.node
    report = await node.health()
    ok = all(part["ok"] for part in report.values())
    return Response({"ok": ok, "node": node.node_id, **report}, status_code=200 if ok else 503)


def create_app(node: Node) -> Litestar:
    return Litestar(route_handlers=[health], state=State({"node": node}))
