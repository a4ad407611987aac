"""A recorded call, end to end: the PBX records the bridge, the engine fetches the file over ARI after the call,
keeps it under the data directory per user, deletes it on the PBX, and the web app streams it to its owner
(with byte ranges, which is how a browser's <audio> element reads it)."""

from __future__ import annotations

import uuid
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest

from db import calls, events
from db.models import Call, Task, User
from engine import accounts
from engine.planner.chat import RulePlanner
from engine.voice.simulator.script import ScriptedReplies
from tests.e2e.harness import TALKER, RunningNode
from tests.e2e.test_call import ASK, GOODBYE, GREETING
from tests.web.conftest import PASSWORD, Browserless, serving
from web.app import create_app


async def account(running: RunningNode, name: str = "Ada") -> User:
    """A user who can sign in to the web app."""
    return await accounts.create_account(running.pool, email=f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.test",
                                         password=PASSWORD, display_name=name, time_zone="UTC")


async def recorded_call(running: RunningNode, user: User | None = None) -> tuple[Task, Call]:
    """One answered call with recording on, and its row once the recording step is over."""
    running.script(ScriptedReplies([GREETING, ASK, GOODBYE]))
    user = user or await running.user()
    task = await running.schedule(user, TALKER, "Move Ada's cleaning to a Tuesday afternoon")
    done = await running.wait_for_task(task)
    assert done.status == "succeeded", done

    async def stored() -> Call | None:
        [call] = await running.calls_of(done)
        kinds = {e.kind for e in await events.list_call_events(running.pool, user.id, call.id)}
        return call if kinds & {"recording_stored", "recording_not_stored"} else None

    return done, await running.tap.until(stored, 15, "the recording step of the call")


async def pbx_recordings(running: RunningNode) -> list[dict[str, Any]]:
    """What the PBX still keeps, asked over ARI like an operator would."""
    sim = running.pbx
    async with httpx.AsyncClient(auth=(sim.user, sim.password)) as client:
        response = await client.get(f"{sim.ari_url}/recordings/stored")
    response.raise_for_status()
    return response.json()


@pytest.fixture
async def web_for() -> AsyncIterator:
    """`await web_for(running, user)` -> a client of the node's own web app (default recordings), signed in as user."""
    opened: list[Any] = []

    async def make(running: RunningNode, user: User) -> Browserless:
        if not opened:
            server = serving(create_app(running.node, planner=RulePlanner()))
            opened.append((server, await server.__aenter__()))
        client = httpx.AsyncClient(base_url=opened[0][1], timeout=20)
        opened.append((None, client))
        web = Browserless(client)
        assert (await web.login(user)).status_code == 303
        return web

    yield make
    for server, client in reversed(opened):
        if server is None:
            await client.aclose()
        else:
            await server.__aexit__(None, None, None)


async def test_the_engine_keeps_the_recording_of_the_bridge_and_the_pbx_forgets_it(make_node):
    running = await make_node(record_calls=True)
    task, call = await recorded_call(running)

    path = running.node.settings.data_dir / "recordings" / str(task.user_id) / f"{call.id}.wav"
    assert call.recording == f"{task.user_id}/{call.id}.wav"
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        pcm = wav.readframes(wav.getnframes())
    samples = np.frombuffer(pcm, "<i2").astype(np.float64)
    # Both sides were bridged for several seconds (the greeting alone is 2 s of agent audio).
    assert samples.size / 8000 > 3.0
    assert np.sqrt(np.mean(samples**2)) > 100
    assert await pbx_recordings(running) == []  # stored here, so deleted on the PBX
    kinds = [e.kind for e in await events.list_call_events(running.pool, task.user_id, call.id)]
    assert "recording_stored" in kinds


async def test_the_pbx_keeps_its_copy_when_told_to(make_node):
    running = await make_node(record_calls=True, keep_pbx_recordings=True)
    _, call = await recorded_call(running)
    assert call.recording
    assert await pbx_recordings(running) == [{"name": f"calls/{call.id}", "format": "wav"}]


async def test_a_failed_fetch_is_retried_a_few_times_then_shown_and_the_attempt_still_concludes(make_node):
    running = await make_node(record_calls=True)
    for _ in range(10):  # more failures than the engine's retries
        running.pbx.fail_next("GET", "/file", 500, "Internal Server Error")
    task, call = await recorded_call(running)
    assert task.status == "succeeded" and call.recording is None
    found = await events.list_call_events(running.pool, task.user_id, call.id)
    failures = [e for e in found if e.kind == "recording_fetch_failed"]
    assert 1 < len(failures) < 10  # retried, and within a bound
    [given_up] = [e for e in found if e.kind == "recording_not_stored"]
    assert "500" in given_up.message
    assert await pbx_recordings(running) == [{"name": f"calls/{call.id}", "format": "wav"}]  # nothing lost


async def test_one_failed_fetch_then_the_retry_stores_it(make_node):
    running = await make_node(record_calls=True)
    running.pbx.fail_next("GET", "/file", 503, "Service Unavailable")
    task, call = await recorded_call(running)
    assert call.recording == f"{task.user_id}/{call.id}.wav"
    kinds = [e.kind for e in await events.list_call_events(running.pool, task.user_id, call.id)]
    assert kinds.count("recording_fetch_failed") == 1 and "recording_stored" in kinds


async def test_the_owner_streams_it_with_byte_ranges_and_nobody_else_can(make_node, web_for):
    running = await make_node(record_calls=True)
    ada, bob = await account(running, "Ada"), await account(running, "Bob")
    _, call = await recorded_call(running, ada)
    stored = (running.node.settings.data_dir / "recordings" / call.recording).read_bytes()
    web, other = await web_for(running, ada), await web_for(running, bob)
    url = f"/calls/{call.id}/recording"

    whole = await web.client.get(url)
    assert whole.status_code == 200 and whole.content == stored
    assert whole.headers["content-type"] == "audio/wav" and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(len(stored))

    size = len(stored)
    for asked, first, last in (("bytes=0-43", 0, 43), ("bytes=100-", 100, size - 1), ("bytes=-500", size - 500, size - 1),
                               (f"bytes=1000-{size + 99}", 1000, size - 1)):
        part = await web.client.get(url, headers={"Range": asked})
        assert part.status_code == 206, asked
        assert part.content == stored[first : last + 1], asked
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}", asked
        assert part.headers["content-length"] == str(last - first + 1), asked
    for bad in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        refused = await web.client.get(url, headers={"Range": bad})
        assert refused.status_code == 416, bad
        assert refused.headers["content-range"] == f"bytes */{size}", bad

    page = await web.client.get(f"/calls/{call.id}")
    assert f'src="/calls/{call.id}/recording"' in page.text
    assert (await other.client.get(url)).status_code == 404
    assert (await other.client.get(url, headers={"Range": "bytes=0-10"})).status_code == 404


async def test_the_owner_deletes_the_recording_and_it_is_gone_everywhere(make_node, web_for):
    running = await make_node(record_calls=True)
    ada, bob = await account(running, "Ada"), await account(running, "Bob")
    _, call = await recorded_call(running, ada)
    path = running.node.settings.data_dir / "recordings" / call.recording
    web, other = await web_for(running, ada), await web_for(running, bob)

    assert (await other.post_form(f"/calls/{call.id}/recording/delete")).status_code == 404
    assert path.is_file()
    response = await web.post_form(f"/calls/{call.id}/recording/delete")
    assert response.status_code == 303 and response.headers["location"] == f"/calls/{call.id}"
    assert not path.exists()
    assert (await calls.get_call(running.pool, ada.id, call.id)).recording is None
    assert (await web.client.get(f"/calls/{call.id}/recording")).status_code == 404
    page = await web.client.get(f"/calls/{call.id}")
    assert "No recording for this call." in page.text and "Recording deleted" in page.text
