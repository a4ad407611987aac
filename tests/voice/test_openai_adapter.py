"""The OpenAI Realtime adapter against the simulator, through the real SDK and a real WebSocket."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import InvalidStatus  # noqa: F401 - documents what a 401 raises inside the SDK

from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CalleeTranscript,
    CalleeTranscriptFailed,
    ResponseDone,
    SessionClosed,
    SessionReady,
    ToolCall,
    ToolSpec,
    TurnDetectionConfig,
    VoiceError,
    VoiceModelUnavailable,
    VoiceSessionConfig,
)
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall
from engine.voice.simulator.server import RealtimeSimulator
from tests.voice.sdk_client import silence, voice

TOOL = ToolSpec(
    "end_call",
    "End the call.",
    {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
)


def config(fmt: AudioFormat = AudioFormat.ULAW, **kw) -> VoiceSessionConfig:
    return VoiceSessionConfig(
        instructions="Be brief.", media_format=fmt, tools=(TOOL,), transcription_model="gpt-4o-mini-transcribe", **kw
    )


def model_for(sim: RealtimeSimulator) -> OpenAIRealtimeModel:
    return OpenAIRealtimeModel(api_key="test", model="gpt-realtime-test", websocket_base_url=sim.base_url)


async def collect_until(session, kind, timeout: float = 5.0) -> list:
    seen = []

    async def run() -> None:
        async for event in session.events():
            seen.append(event)
            if isinstance(event, kind):
                return

    await asyncio.wait_for(run(), timeout)
    return seen


async def test_session_update_is_ga_shaped_and_pcmu_passes_through() -> None:
    replies = ScriptedReplies([Reply("Hello there", audio_ms=300)])
    async with RealtimeSimulator(replies) as sim:
        model = model_for(sim)
        session = await model.open(config(turn_detection=TurnDetectionConfig("semantic_vad", eagerness="high")))
        sim_session = sim.sessions[0]
        assert sim_session.request_path == "/v1/realtime?model=gpt-realtime-test"
        assert sim_session.headers["authorization"] == "Bearer test"
        assert "openai-beta" not in {k.lower() for k in sim_session.headers}
        update = sim.received("session.update")[0]["session"]
        assert update["type"] == "realtime"
        assert update["audio"]["input"]["format"] == {"type": "audio/pcmu"}
        assert update["audio"]["output"]["format"] == {"type": "audio/pcmu"}
        assert update["audio"]["input"]["turn_detection"] == {
            "type": "semantic_vad",
            "eagerness": "high",
            "create_response": True,
            "interrupt_response": True,
        }
        assert update["tools"][0] == {
            "type": "function",
            "name": "end_call",
            "description": "End the call.",
            "parameters": TOOL.parameters,
        }

        await session.push_audio(b"\xff" * 160)
        await session.create_response()
        events = await collect_until(session, ResponseDone)
        assert isinstance(events[0], SessionReady)
        audio = b"".join(e.audio for e in events if isinstance(e, AudioDelta))
        assert len(audio) == 300 * 8  # mu-law untouched: 8 bytes per ms
        assert sum(e.model_ms for e in events if isinstance(e, AudioDelta)) == 300
        assert any(isinstance(e, AudioDone) for e in events)
        assert [e.text for e in events if isinstance(e, AgentTranscript)] == ["Hello there"]
        appended = sim.received("input_audio_buffer.append")
        assert len(appended) == 1
        await session.close()
        await model.aclose()


async def test_slin16_is_resampled_to_24k_and_back() -> None:
    async with RealtimeSimulator(ScriptedReplies([Reply("Hi", audio_ms=400)])) as sim:
        model = model_for(sim)
        session = await model.open(config(AudioFormat.SLIN16))
        update = sim.received("session.update")[0]["session"]
        assert update["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
        for _ in range(10):
            await session.push_audio(b"\x00\x01" * 320)  # 20 ms at 16 kHz
        await session.create_response()
        events = await collect_until(session, ResponseDone)
        audio = b"".join(e.audio for e in events if isinstance(e, AudioDelta))
        assert len(audio) == 400 * 32  # 400 ms at 16 kHz, tail flushed at output_audio.done
        await sim.wait_for(lambda: sim.sessions[0].input_ms >= 180)
        assert sim.sessions[0].input_ms in range(180, 201)  # the resampler holds back a few ms
        await session.close()


async def test_tool_call_and_queued_create() -> None:
    replies = ScriptedReplies([Reply("Bye", audio_ms=100, tool_calls=(SimToolCall("end_call", {"reason": "done"}),))])
    async with RealtimeSimulator(replies) as sim:
        session = await model_for(sim).open(config())
        await session.create_response()
        await session.create_response()  # queued: one response is active
        events = await collect_until(session, ToolCall)
        call = events[-1]
        assert (call.name, call.arguments) == ("end_call", '{"reason": "done"}')
        await collect_until(session, ResponseDone)
        await collect_until(session, ResponseDone)  # the queued create ran after the first finished
        assert len(sim.received("response.create")) == 2
        assert not [e for e in sim.received("error")]
        await session.close()


async def test_active_response_race_is_non_fatal_and_retried() -> None:
    replies = ScriptedReplies(
        [Reply("Checking", audio_ms=100), Reply("VAD answer", audio_ms=100), Reply("About the tool", audio_ms=100)]
    )

    async def vad_wins(sim_session, event) -> None:
        if event["item"].get("type") == "function_call_output":
            sim_session.start_response("speech", callee_text="hm?")

    async with RealtimeSimulator(replies) as sim:
        sim.before("conversation.item.create", vad_wins)
        session = await model_for(sim).open(config())
        await session.create_response()
        await collect_until(session, ResponseDone)
        await session.send_tool_result("call_1", '{"ok": true}')
        await session.create_response()
        events = await collect_until(session, VoiceError)
        assert events[-1].code == "conversation_already_has_active_response" and not events[-1].fatal
        await collect_until(session, ResponseDone)  # the VAD response
        events = await collect_until(session, ResponseDone)  # ours, re-sent after it
        assert [e.text for e in events if isinstance(e, AgentTranscript)] == ["About the tool"]
        assert len(sim.received("response.create")) == 3
        await session.close()


async def test_truncate_beyond_audio_is_an_error_event() -> None:
    async with RealtimeSimulator(ScriptedReplies([Reply("Hello", audio_ms=200)])) as sim:
        session = await model_for(sim).open(config())
        await session.create_response()
        events = await collect_until(session, ResponseDone)
        item_id = next(e.item_id for e in events if isinstance(e, AudioDelta))
        await session.truncate(item_id, 150)
        await sim.wait_for_event("conversation.item.truncate")
        await session.truncate(item_id, 250)
        error = (await collect_until(session, VoiceError))[-1]
        assert error.code == "invalid_value"
        await session.close()


@pytest.mark.parametrize(("code", "closed_normally"), [(1001, True), (1011, False)])
async def test_server_close_ends_the_session(code: int, closed_normally: bool) -> None:
    async with RealtimeSimulator() as sim:
        session = await model_for(sim).open(config())
        await sim.sessions[0].close(code, "Your session hit the maximum duration of 60 minutes.")
        closed = (await collect_until(session, SessionClosed))[-1]
        assert closed.expected is False and closed.code == code
        await session.close()


async def test_upgrade_refused_raises_unavailable() -> None:
    async with RealtimeSimulator() as sim:
        sim.reject_upgrades(401)
        with pytest.raises(VoiceModelUnavailable, match="401"):
            await model_for(sim).open(config())


async def test_our_close_is_expected() -> None:
    async with RealtimeSimulator() as sim:
        session = await model_for(sim).open(config())
        await session.close()
        closed = (await collect_until(session, SessionClosed))[-1]
        assert closed.expected is True


async def test_transcription_failure_becomes_a_port_event() -> None:
    async with RealtimeSimulator(ScriptedReplies(), energy_vad=True) as sim:
        sim.callee_lines.append("Hello, who is this?")
        session = await model_for(sim).open(config())
        await session.push_audio(voice(400) + silence(600))
        heard = (await collect_until(session, CalleeTranscript))[-1]
        assert heard.text == "Hello, who is this?"
        sim.failing_transcriptions.append("audio_unintelligible")
        await session.push_audio(voice(400) + silence(600))
        failed = (await collect_until(session, CalleeTranscriptFailed))[-1]
        committed = sim.sessions[0].items
        assert failed.reason == "audio_unintelligible"
        assert failed.item_id == [i["id"] for i in committed if i.get("role") == "user"][-1] != heard.item_id
        await session.close()


@pytest.mark.parametrize(
    ("fmt", "echo"), [(AudioFormat.ULAW, "add_rate"), (AudioFormat.SLIN16, "drop_rate"), (AudioFormat.ULAW, None)]
)
async def test_negotiated_format_check_ignores_a_rate_that_means_nothing(fmt: AudioFormat, echo: str | None) -> None:
    async with RealtimeSimulator() as sim:
        sim.format_echo = echo
        session = await model_for(sim).open(config(fmt))
        ready = (await collect_until(session, SessionReady))[-1]
        reported = ready.session["audio"]["output"]["format"]
        assert ("rate" in reported) == (echo == "add_rate" or (fmt == AudioFormat.SLIN16 and echo is None))
        await session.close()


async def test_a_different_negotiated_format_still_fails_the_setup() -> None:
    async def downgrade(sim_session, event) -> None:
        event["session"]["audio"]["output"]["format"] = {"type": "audio/pcm", "rate": 24000}

    async with RealtimeSimulator() as sim:
        sim.before("session.update", downgrade)
        with pytest.raises(VoiceModelUnavailable, match="negotiated audio formats"):
            await model_for(sim).open(config(AudioFormat.ULAW))
