"""The Live simulator validates what it receives the way the service documents (openai-live.md §9.1),
driven through the openai SDK's `client.live` connection with raw events."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from openai import AsyncOpenAI
from websockets.exceptions import ConnectionClosed

from engine.voice.codecs import tone_pcm16
from engine.voice.live_simulator.server import LiveSimulator
from engine.voice.simulator.script import Reply, ScriptedReplies

START = {"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcm", "rate": 24000}}}


async def next_of(conn: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        async for event in conn:
            if event.type == kind:
                return event.model_dump()
        raise AssertionError(f"closed before {kind}")

    return await asyncio.wait_for(find(), timeout)


@pytest.fixture
async def live():
    async with LiveSimulator(ScriptedReplies([Reply("Hello there.", audio_ms=300)])) as sim:
        client = AsyncOpenAI(api_key="test", websocket_base_url=sim.base_url, max_retries=0)
        yield sim, client
        await client.close()


async def test_a_command_before_start_and_an_invalid_start_are_refused(live) -> None:
    sim, client = live
    async with client.live.connect(max_retries=0) as conn:
        await conn.send({"type": "session.input_audio.append", "audio": ""})
        error = await next_of(conn, "error")
        assert error["error"]["code"] == "session_not_started"
        await conn.send({"type": "session.start", "session": {**START, "turn_detection": {"type": "server_vad"}}})
        error = await next_of(conn, "error")
        assert (error["error"]["code"], error["error"]["param"]) == ("unknown_parameter", "session.turn_detection")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(conn.recv(), 5)
    assert sim.sessions[0].websocket.close_code == 1008 and not sim.sessions[0].started


async def test_pcmu_needs_its_rate(live) -> None:
    sim, client = live
    async with client.live.connect(max_retries=0) as conn:
        await conn.session.start(session={"model": "gpt-live-1", "audio": {"format": {"type": "audio/pcmu"}}})
        error = await next_of(conn, "error")
        assert (error["error"]["code"], error["error"]["param"]) == (
            "missing_required_parameter",
            "session.audio.format.rate",
        )


async def test_appends_audio_updates_and_tool_outputs_are_checked(live) -> None:
    sim, client = live
    async with client.live.connect(max_retries=0) as conn:
        await conn.session.start(session={**START, "delegation": {"type": "responses", "responses": {"model": "m"}}})
        started = await next_of(conn, "session.started")
        assert started["session"]["id"].startswith("live_") and started["session"]["status"] == "active"

        await conn.send({"type": "session.input_audio.append", "audio": base64.b64encode(b"\x00" * 3).decode()})
        assert (await next_of(conn, "error"))["error"]["code"] == "invalid_audio"  # odd-length PCM16
        await conn.send({"type": "session.thinking.append", "content": "Quiet note."})
        assert (await next_of(conn, "error"))["error"]["param"] == "delegation_id"  # the key is required
        await conn.session.thinking.append(content="Quiet note.", delegation_id="del_1")
        assert (await next_of(conn, "error"))["error"]["code"] == "invalid_value"  # non-null with Responses
        await conn.session.thinking.append(content="Quiet note.", delegation_id=None, event_id="t-1")
        assert (await next_of(conn, "session.thinking.appended"))["client_event_id"] == "t-1"
        await conn.send({"type": "session.update", "session": {"instructions": "new"}})
        assert (await next_of(conn, "error"))["error"]["code"] == "immutable_field_update"
        await conn.send({"type": "session.update", "session": {"delegation": {"type": "client"}}})
        assert (await next_of(conn, "error"))["error"]["code"] == "immutable_field_update"
        await conn.response.create()
        assert (await next_of(conn, "error"))["error"]["code"] == "missing_function_call_output"

        await conn.session.close(event_id="bye")
        closed = await next_of(conn, "session.closed")
        assert closed["reason"] == "close_requested" and closed["client_event_id"] == "bye"


async def test_the_model_speaks_without_ids_and_yields_when_talked_over(live) -> None:
    sim, client = live
    sim.responder = ScriptedReplies([Reply("One two three four five six.", audio_ms=2000, hold_after_ms=500)])
    async with client.live.connect(max_retries=0) as conn:
        await conn.session.start(session=START)
        await next_of(conn, "session.started")
        await conn.session.instructions.append(content="Count.", delegation_id=None)
        delta = await next_of(conn, "session.output_audio.delta")
        assert delta.get("start_ms") is None and "response_id" not in delta  # no ids, no timestamps
        fragment = await next_of(conn, "session.output_transcript.delta")
        assert fragment["start_ms"] <= fragment["end_ms"]
        await sim.sessions[0].callee_starts_speaking()
        await sim.sessions[0].finished_speaking()
        assert sim.sessions[0].spoken[0] != "One two three four five six."  # it stopped by itself
        assert sim.sessions[0].clock_ms < 2000


async def test_a_fixture_is_validated_then_played_with_input_dropped(live) -> None:
    sim, client = live
    async with client.live.connect(max_retries=0) as conn:
        await conn.session.start(session=START)
        await next_of(conn, "session.started")
        await conn.session.output_audio.fixture.play(audio=base64.b64encode(b"\x01").decode())
        assert (await next_of(conn, "error"))["error"]["code"] == "invalid_audio"
        clip = tone_pcm16(200, 24000)
        await conn.session.output_audio.fixture.play(audio=base64.b64encode(clip).decode(), event_id="fx")
        assert (await next_of(conn, "session.output_audio.fixture.playing"))["client_event_id"] == "fx"
        played = await next_of(conn, "session.output_audio.fixture.played")
        assert played["client_event_id"] == "fx"
