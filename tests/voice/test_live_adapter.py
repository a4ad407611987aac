"""The GPT-Live adapter against the Live simulator over a real WebSocket, through the openai SDK."""

from __future__ import annotations

import asyncio

import pytest

from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import (
    AudioDelta,
    ResponseDone,
    SessionClosed,
    ToolCall,
    ToolSpec,
    VoiceEvent,
    VoiceModelUnavailable,
    VoiceSessionConfig,
)
from engine.voice.live_simulator.server import LiveSimulator
from engine.voice.openai_live import OpenAILiveModel
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall

TOOL = ToolSpec("end_call", "End the call.", {"type": "object", "properties": {"reason": {"type": "string"}}})


def config(fmt: AudioFormat = AudioFormat.ULAW) -> VoiceSessionConfig:
    return VoiceSessionConfig(instructions="Be brief.", media_format=fmt, tools=(TOOL,), voice="cedar")


async def collect(session, until: type, count: int = 1, timeout: float = 5.0) -> list[VoiceEvent]:
    seen: list[VoiceEvent] = []

    async def run() -> None:
        hits = 0
        async for event in session.events():
            seen.append(event)
            hits += isinstance(event, until)
            if hits >= count or isinstance(event, SessionClosed):
                return

    await asyncio.wait_for(run(), timeout)
    return seen


async def test_session_start_is_what_the_service_documents() -> None:
    async with LiveSimulator(ScriptedReplies()) as sim:
        model = OpenAILiveModel(api_key="k-123", model="gpt-live-1.1", websocket_base_url=sim.base_url)
        session = await model.open(config())
        live = sim.sessions[0]
        assert live.request_path == "/v1/live/sessions"  # no query string: the model goes in session.start
        assert live.headers["authorization"] == "Bearer k-123" and "openai-beta" not in live.headers
        [start] = sim.received("session.start")
        body = start["session"]
        assert body["model"] == "gpt-live-1.1" and body["instructions"] == "Be brief."
        assert body["audio"] == {"format": {"type": "audio/pcmu", "rate": 8000}, "output": {"voice": "cedar"}}
        responses = body["delegation"]["responses"]
        assert body["delegation"]["type"] == "responses" and responses["tools"][0]["name"] == "end_call"
        assert session.session_id == live.session["id"] and session.session_id.startswith("live_")
        await session.close()
        await sim.wait_for(lambda: live.closed_reason == "close_requested")
        await model.aclose()


async def test_a_refused_start_or_upgrade_means_unavailable() -> None:
    async with LiveSimulator() as sim:
        bad = OpenAILiveModel(api_key="k", model="", websocket_base_url=sim.base_url)
        with pytest.raises(VoiceModelUnavailable, match="missing_required_parameter"):
            await bad.open(config())
        sim.reject_upgrades(401)
        model = OpenAILiveModel(api_key="k", model="gpt-live-1", websocket_base_url=sim.base_url)
        with pytest.raises(VoiceModelUnavailable):
            await model.open(config())
        await bad.aclose()
        await model.aclose()


async def test_wideband_media_passes_through_at_16_khz() -> None:
    async with LiveSimulator(ScriptedReplies([Reply("Hi.", audio_ms=200)])) as sim:
        model = OpenAILiveModel(api_key="k", model="gpt-live-1", websocket_base_url=sim.base_url)
        session = await model.open(config(AudioFormat.SLIN16))
        assert sim.received("session.start")[0]["session"]["audio"]["format"] == {"type": "audio/pcm", "rate": 16000}
        await session.create_response("Greet them.")
        events = await collect(session, ResponseDone)
        audio = b"".join(e.audio for e in events if isinstance(e, AudioDelta))
        assert len(audio) == 200 * 32  # 16 kHz PCM16, untouched
        await session.close()
        await model.aclose()


async def test_tools_are_delegated_and_continued_once_every_output_is_in() -> None:
    script = ScriptedReplies([Reply("Bye.", audio_ms=100, tool_calls=(SimToolCall("end_call", {"reason": "done"}),)),
                              Reply("", audio_ms=0)])
    async with LiveSimulator(script) as sim:
        model = OpenAILiveModel(api_key="k", model="gpt-live-1", websocket_base_url=sim.base_url)
        session = await model.open(config())
        await session.create_response("Say goodbye.")
        [call] = [e for e in await collect(session, ToolCall) if isinstance(e, ToolCall)]
        assert (call.name, call.arguments) == ("end_call", '{"reason": "done"}')
        assert not sim.received("response.create")
        await session.send_tool_result(call.call_id, '{"ok": true}')
        create = await sim.wait_for_event("response.create")
        [output] = sim.received("response.item.create")
        assert output["item"] == {"type": "function_call_output", "call_id": call.call_id, "output": '{"ok": true}'}
        assert sim.received().index(output) < sim.received().index(create)
        assert not [e for e in sim.received() if e["type"] == "error"]
        await session.close()
        await model.aclose()


async def test_usage_seconds_are_cumulative_and_reported_once() -> None:
    async with LiveSimulator(ScriptedReplies([Reply("One.", audio_ms=1000), Reply("Two.", audio_ms=500)])) as sim:
        model = OpenAILiveModel(api_key="k", model="gpt-live-1", websocket_base_url=sim.base_url)
        session = await model.open(config())
        await session.create_response("Count.")
        first = [e for e in await collect(session, ResponseDone) if isinstance(e, ResponseDone)]
        await session.create_response("Again.")
        second = [e for e in await collect(session, ResponseDone) if isinstance(e, ResponseDone)]
        seconds = [d.usage.active_seconds for d in first + second if d.usage]
        assert seconds == [1.0, 0.5]  # the service's running total 1.0 then 1.5, never summed twice
        await session.close()
        await model.aclose()


async def test_the_service_ending_the_session_is_a_lost_session() -> None:
    async with LiveSimulator() as sim:
        model = OpenAILiveModel(api_key="k", model="gpt-live-1", websocket_base_url=sim.base_url)
        session = await model.open(config())
        await sim.sessions[0].end("expired")
        [closed] = [e for e in await collect(session, SessionClosed) if isinstance(e, SessionClosed)]
        assert not closed.expected and closed.reason == "expired"
        await session.close()
        await model.aclose()
