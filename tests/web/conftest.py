"""Web fixtures: the real app on the test database, signed-in clients, and a world of rows."""

from __future__ import annotations

import asyncio
import re
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar

from db import calls, events, hitl, tasks, transcripts
from db.database import Database
from db.models import Call, HitlRequest, Task, User
from db.tasks import TaskDraft
from engine import accounts
from engine.app.node import Node
from engine.planner.chat import Planner, RulePlanner
from engine.settings import Settings
from web.app import create_app

PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def node(database_url: str, pool: Any, tmp_path_factory: pytest.TempPathFactory) -> Node:
    settings = Settings(database_url=database_url, data_dir=tmp_path_factory.mktemp("data"), openai_api_key=None)
    return Node(settings=settings, database=Database(url=database_url, pool=pool, embedded=False))


@pytest.fixture
def make_app(node: Node):
    def make(planner: Planner | None = None) -> Litestar:
        return create_app(node, planner=planner or RulePlanner())

    return make


@pytest.fixture
async def app(make_app) -> Litestar:
    return make_app()


@pytest.fixture
async def make_account(pool: Any):
    async def make(role: str = "user", time_zone: str = "UTC") -> User:
        email = f"w{uuid.uuid4().hex[:12]}@example.test"
        return await accounts.create_account(pool, email=email, password=PASSWORD, role=role, time_zone=time_zone)

    return make


@asynccontextmanager
async def serving(app: Litestar, **uvicorn_options: Any) -> AsyncIterator[str]:
    """Run the app under uvicorn on a real socket in this event loop; yields its base URL.

    The socket is listening before the server task starts, so requests simply
    queue until uvicorn accepts them: no waiting for start-up.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    options: dict[str, Any] = {"lifespan": "on", "log_level": "warning", "timeout_graceful_shutdown": 1}
    config = uvicorn.Config(app, **(options | uvicorn_options))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="test-http-server")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Browserless:
    """A signed-in HTTP client that fills in the CSRF field like the pages do."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def csrf(self, path: str = "/login") -> str:
        page = await self.client.get(path)
        return CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]

    async def login(self, user: User, password: str = PASSWORD) -> Any:
        token = await self.csrf("/login")
        return await self.client.post("/login", data={"email": user.email, "password": password, "_csrf_token": token})

    async def post_form(self, path: str, data: dict[str, str] | None = None, *, csrf_from: str = "/") -> Any:
        token = await self.csrf(csrf_from)
        return await self.client.post(path, data={**(data or {}), "_csrf_token": token})


@pytest.fixture
async def base_url(app: Litestar) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


@pytest.fixture
async def client_factory(base_url: str) -> AsyncIterator:
    opened: list[httpx.AsyncClient] = []

    async def make() -> Browserless:
        client = httpx.AsyncClient(base_url=base_url, timeout=20)
        opened.append(client)
        return Browserless(client)

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
async def signed_in(client_factory, make_account):
    """(client, user) for a fresh signed-in user."""

    async def make(role: str = "user") -> tuple[Browserless, User]:
        user = await make_account(role)
        web = await client_factory()
        response = await web.login(user)
        assert response.status_code == 303, response.text
        return web, user

    return make


@dataclass
class World:
    task: Task
    call: Call
    question: HitlRequest


NOW = datetime.now(UTC)


async def make_world(pool: Any, user: User, *, callee: str = "Smile Dental", recording: str | None = None) -> World:
    """One task with a finished call, a transcript, ARI events and an open question."""
    task = await tasks.create_task(
        pool, user.id, TaskDraft(phone_number="+14155550123", callee_name=callee, objective="Move the cleaning to Tuesday"),
        schedule_at=NOW,
    )
    call = await calls.create_call(pool, user.id, task.id, attempt=1, node_id="n1", destination=task.phone_number)
    start = datetime.now(UTC)
    await calls.mark_answered(pool, user.id, call.id, start + timedelta(seconds=2))
    await transcripts.add_turn(pool, user.id, call.id, speaker="agent", text="Hello, I am calling for Ada.",
                               started_at=start + timedelta(seconds=2.5), ended_at=start + timedelta(seconds=4))
    await transcripts.add_turn(pool, user.id, call.id, speaker="callee", text="Sure, Tuesday at 3 works.",
                               started_at=start + timedelta(seconds=5), ended_at=start + timedelta(seconds=7))
    await events.add_call_event(pool, user.id, call.id, kind="dtmf", message="sent 1")
    await events.add_ari_events(pool, user.id, call.id, [
        (start, "ChannelCreated", str(call.id), {"type": "ChannelCreated", "channel": {"id": str(call.id), "state": "Down"}}),
        (start + timedelta(seconds=2), "StasisStart", str(call.id), {"type": "StasisStart", "channel": {"id": str(call.id)}}),
        (start + timedelta(seconds=8), "ChannelDestroyed", f"{call.id}-media", {"type": "ChannelDestroyed", "cause": 16}),
    ])
    await calls.finish_call(pool, user.id, call.id, outcome="answered", ended_at=start + timedelta(seconds=9), q850_cause=16,
                            hangup_by="agent", recording=recording)
    await calls.set_call_metrics(pool, user.id, call.id, {"time_to_first_audio_ms": 480, "turn_latency_ms": 620})
    question = await hitl.create_request(pool, user.id, task.id, call_id=call.id, question="Is Thursday 3pm fine?",
                                         deadline=datetime.now(UTC) + timedelta(minutes=10))
    return World(task=task, call=call, question=question)
