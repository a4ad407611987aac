"""`session.update` refused the way the service refuses it, and input transcription (with its
failures), through the openai SDK against the simulator."""

from __future__ import annotations

import pytest

from engine.voice.simulator.script import Reply, ScriptedReplies
from engine.voice.simulator.server import RealtimeSimulator
from tests.voice.sdk_client import PCMU, configure, connected, first, send_ulaw, silence, types, until, voice

REFUSED = [
    ({"type": "realtime", "temperature": 0.8}, "unknown_parameter", "session.temperature"),
    ({"type": "realtime", "modalities": ["audio"]}, "unknown_parameter", "session.modalities"),
    ({"instructions": "no type"}, "missing_required_parameter", "session.type"),
    ({"type": "realtime", "audio": {"output": {"format": "pcm16"}}}, "invalid_type", "session.audio.output.format"),
    (
        {"type": "realtime", "audio": {"output": {"format": {"type": "audio/pcm"}}}},
        "missing_required_parameter",
        "session.audio.output.format.rate",
    ),
    (
        {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}},
        "invalid_value",
        "session.audio.input.format.rate",
    ),
    (
        {"type": "realtime", "audio": {"input": {"format": {"type": "audio/wav"}}}},
        "invalid_value",
        "session.audio.input.format.type",
    ),
    (
        {"type": "realtime", "audio": {"input": {"format": {"type": "audio/pcmu", "rate": 8000}}}},
        "unknown_parameter",
        "session.audio.input.format.rate",
    ),
    (
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad", "threshold": 0.5}}}},
        "unknown_parameter",
        "session.audio.input.turn_detection.threshold",
    ),
    (
        {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 2}}}},
        "invalid_value",
        "session.audio.input.turn_detection.threshold",
    ),
    ({"type": "realtime", "input_audio_format": "g711_ulaw"}, "unknown_parameter", "session.input_audio_format"),
]


@pytest.mark.parametrize(("update", "code", "param"), REFUSED)
async def test_refused_updates_name_the_parameter_and_change_nothing(update: dict, code: str, param: str) -> None:
    async with RealtimeSimulator() as sim, connected(sim) as conn:
        await configure(conn, instructions="Before.")
        await conn.send({"type": "session.update", "session": update, "event_id": "evt_bad"})
        error = (await until(conn, "error"))[-1].error
        assert (error.type, error.code, error.param, error.event_id) == (
            "invalid_request_error",
            code,
            param,
            "evt_bad",
        )
        updated = await configure(conn)  # the next good update shows what the bad one left
        assert updated.session.instructions == "Before."
        assert updated.session.audio.input.format.type == "audio/pcmu"


async def test_a_new_turn_detection_replaces_the_old_with_the_service_defaults() -> None:
    async with RealtimeSimulator() as sim, connected(sim) as conn:
        await configure(conn, {"silence_duration_ms": 900, "idle_timeout_ms": 5000})
        await conn.session.update(
            session={"type": "realtime", "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}}}
        )
        detection = (await until(conn, "session.updated"))[-1].session.audio.input.turn_detection
        assert detection.type == "semantic_vad" and detection.eagerness == "auto"
        assert detection.create_response is True and detection.interrupt_response is True
        assert "silence_duration_ms" not in detection.model_dump() and "idle_timeout_ms" not in detection.model_dump()
        pcm = {"type": "audio/pcm", "rate": 24000}
        await conn.session.update(session={"type": "realtime", "audio": {"output": {"format": pcm}}})
        session = (await until(conn, "session.updated"))[-1].session
        assert (session.audio.output.format.type, session.audio.output.format.rate) == ("audio/pcm", 24000)
        assert session.audio.input.format.type == "audio/pcmu"


async def test_input_transcription_deltas_and_completion_carry_what_the_callee_said() -> None:
    async with RealtimeSimulator(ScriptedReplies(), energy_vad=True) as sim, connected(sim) as conn:
        sim.callee_lines.append("Tuesday at three works for me.")
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {
                    "input": {
                        "format": PCMU,
                        "transcription": {"model": "gpt-4o-mini-transcribe"},
                        "turn_detection": {"type": "server_vad", "create_response": False},
                    },
                    "output": {"format": PCMU},
                },
            }
        )
        await until(conn, "session.updated")
        await send_ulaw(conn, voice(500) + silence(600))
        events = await until(conn, "conversation.item.input_audio_transcription.completed")
        sim.failing_transcriptions.append("audio_unintelligible")
        await send_ulaw(conn, voice(500) + silence(600))
        failed = await until(conn, "conversation.item.input_audio_transcription.failed")
    item_id = first(events, "input_audio_buffer.committed").item_id
    delta = first(events, "conversation.item.input_audio_transcription.delta")
    assert (delta.item_id, delta.delta) == (item_id, "Tuesday at three works for me.")
    assert events[-1].transcript == "Tuesday at three works for me." and events[-1].item_id == item_id
    assert failed[-1].error.code == "audio_unintelligible"
    assert failed[-1].item_id == first(failed, "input_audio_buffer.committed").item_id != item_id
    assert "conversation.item.input_audio_transcription.completed" not in types(failed)


async def test_no_transcription_events_when_transcription_is_off() -> None:
    async with RealtimeSimulator(ScriptedReplies([Reply("Hm.", audio_ms=100)]), energy_vad=True) as sim:
        async with connected(sim) as conn:
            await configure(conn)
            await send_ulaw(conn, voice(500) + silence(600))
            events = await until(conn, "response.done")
    assert not [t for t in types(events) if "transcription" in t]


async def test_manual_commit_makes_an_item_but_no_turn_and_needs_100_ms() -> None:
    async with RealtimeSimulator(ScriptedReplies([Reply("Hm.", audio_ms=100)])) as sim, connected(sim) as conn:
        await conn.session.update(
            session={
                "type": "realtime",
                "audio": {"input": {"format": PCMU, "turn_detection": None}, "output": {"format": PCMU}},
            }
        )
        await until(conn, "session.updated")
        await send_ulaw(conn, silence(60))
        await conn.input_audio_buffer.commit(event_id="evt_short")
        refused = (await until(conn, "error"))[-1].error
        await send_ulaw(conn, silence(60))
        await conn.input_audio_buffer.commit()
        committed = await until(conn, "conversation.item.done")
        await conn.input_audio_buffer.commit(event_id="evt_empty")
        after = await until(conn, "error")
        empty = after[-1].error
    assert (refused.code, refused.event_id) == ("input_audio_buffer_commit_empty", "evt_short")
    assert "input_audio_buffer.speech_stopped" not in types(committed)
    assert first(committed, "input_audio_buffer.committed").item_id == committed[-1].item.id
    assert "response.created" not in types(committed) + types(after)
    assert (empty.code, empty.event_id) == ("input_audio_buffer_commit_empty", "evt_empty")
