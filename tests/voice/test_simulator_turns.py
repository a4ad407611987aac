"""The simulator hears: turn detection on the appended audio, with the session's `turn_detection`,
seen through the openai SDK. Positions are on the audio timeline the client sent."""

from __future__ import annotations

import base64

import pytest

from engine.voice.codecs import tone_pcm16
from engine.voice.simulator.line import LineEcho, encode
from engine.voice.simulator.script import Reply, ScriptedReplies, SimToolCall
from engine.voice.simulator.server import RealtimeSimulator
from tests.voice.sdk_client import (
    configure,
    connected,
    first,
    send_ulaw,
    silence,
    spoken,
    types,
    until,
    voice,
)


def hearing_sim(*replies: Reply) -> RealtimeSimulator:
    return RealtimeSimulator(ScriptedReplies(list(replies)), energy_vad=True, chunk_ms=50)


async def test_speech_in_the_audio_makes_a_turn_at_the_positions_it_was_sent() -> None:
    async with hearing_sim(Reply("Yes?", audio_ms=100)) as sim, connected(sim) as conn:
        await configure(conn, {"prefix_padding_ms": 300, "silence_duration_ms": 500})
        await send_ulaw(conn, silence(1000) + voice(600) + silence(700))
        events = await until(conn, "response.done")
    started, stopped = (
        first(events, "input_audio_buffer.speech_started"),
        first(events, "input_audio_buffer.speech_stopped"),
    )
    assert started.audio_start_ms == 1000 - 300  # the onset minus the prefix padding
    assert stopped.audio_end_ms == 1600 + 500  # the last voiced frame plus the silence that ended the turn
    committed = first(events, "input_audio_buffer.committed")
    user_item = first(events, "conversation.item.added").item
    assert started.item_id == stopped.item_id == committed.item_id == user_item.id
    assert user_item.role == "user" and user_item.content[0].type == "input_audio"
    order = types(events)
    assert order.index("input_audio_buffer.committed") < order.index("response.created")
    assert events[-1].response.status == "completed"


async def test_speech_like_audio_with_pauses_is_one_turn_and_silence_settings_are_obeyed() -> None:
    async with hearing_sim(Reply("Right.", audio_ms=100)) as sim, connected(sim) as conn:
        await configure(conn, {"silence_duration_ms": 800, "prefix_padding_ms": 0})
        await send_ulaw(conn, silence(200) + spoken(1.5, seed=3) + silence(1000))
        events = await until(conn, "response.done")
    assert types(events).count("input_audio_buffer.speech_started") == 1
    stopped = first(events, "input_audio_buffer.speech_stopped")
    assert 1700 - 300 <= stopped.audio_end_ms - 800 <= 1700  # the last syllable ended inside the speech


async def test_threshold_decides_what_counts_as_speech() -> None:
    async with hearing_sim() as sim, connected(sim) as conn:
        await configure(conn, {"threshold": 0.9})
        await send_ulaw(conn, voice(400, level=0.04) + silence(600))
        await conn.input_audio_buffer.clear()
        quiet = await until(conn, "input_audio_buffer.cleared")
        await configure(conn, {"threshold": 0.2})
        await send_ulaw(conn, voice(400, level=0.04) + silence(600))
        loud = await until(conn, "input_audio_buffer.speech_stopped")
    assert "input_audio_buffer.speech_started" not in types(quiet)
    assert first(loud, "input_audio_buffer.speech_started").audio_start_ms == 1000  # prefix clipped at the clear


async def test_speech_interrupts_the_response_then_gets_its_answer() -> None:
    held = Reply("A long explanation", audio_ms=3000, hold_after_ms=500)
    async with hearing_sim(held, Reply("Sorry, go ahead.", audio_ms=100)) as sim, connected(sim) as conn:
        await configure(conn)
        await conn.response.create()
        await until(conn, "response.output_audio.delta")
        await send_ulaw(conn, voice(400) + silence(600))
        events = await until(conn, "response.done")
        assert "input_audio_buffer.speech_started" in types(events)
        assert events[-1].response.status == "cancelled"
        assert events[-1].response.status_details.reason == "turn_detected"
        answer = await until(conn, "response.done")
    assert first(answer, "response.output_audio_transcript.done").transcript == "Sorry, go ahead."
    assert answer[-1].response.status == "completed"


async def test_no_interruption_and_no_reply_when_the_session_says_so() -> None:
    held = Reply("Keep talking", audio_ms=600, hold_after_ms=200)
    async with hearing_sim(held, Reply("never", audio_ms=100)) as sim, connected(sim) as conn:
        await configure(conn, {"interrupt_response": False, "create_response": False})
        await conn.response.create()
        await until(conn, "response.output_audio.delta")
        await send_ulaw(conn, voice(400) + silence(600))
        heard = await until(conn, "conversation.item.done")
        sim.sessions[0].release()
        done = await until(conn, "response.done")
        await send_ulaw(conn, voice(400) + silence(600))
        await conn.input_audio_buffer.clear()
        later = await until(conn, "input_audio_buffer.cleared")
    assert "input_audio_buffer.speech_stopped" in types(heard)
    assert done[-1].response.status == "completed"
    assert "input_audio_buffer.committed" in types(later) and "response.created" not in types(later)


async def test_idle_timeout_counts_from_the_end_of_playback_and_prompts_a_response() -> None:
    async with (
        hearing_sim(Reply("Hello?", audio_ms=500), Reply("Are you still there?", audio_ms=100)) as sim,
        connected(sim) as conn,
    ):
        await configure(conn, {"idle_timeout_ms": 2000})
        await conn.response.create()
        await until(conn, "response.done")
        await send_ulaw(conn, silence(2400))
        await conn.input_audio_buffer.clear()
        before = await until(conn, "input_audio_buffer.cleared")
        await send_ulaw(conn, silence(400))
        events = await until(conn, "response.done")
    assert "input_audio_buffer.timeout_triggered" not in types(before)
    fired = first(events, "input_audio_buffer.timeout_triggered")
    assert (fired.audio_start_ms, fired.audio_end_ms) == (500, 2500)  # playback ended at 500 ms of input
    assert first(events, "input_audio_buffer.committed").item_id == fired.item_id
    assert first(events, "response.output_audio_transcript.done").transcript == "Are you still there?"


async def test_interrupted_response_still_delivers_its_function_call() -> None:
    hangup = SimToolCall("end_call", {"reason": "done"})
    reply = Reply("Goodbye then", audio_ms=2000, hold_after_ms=300, tool_calls=(hangup,))
    async with hearing_sim(reply) as sim, connected(sim) as conn:
        await configure(conn, {"create_response": False})
        await conn.response.create()
        await until(conn, "response.output_audio.delta")
        await send_ulaw(conn, voice(300))
        events = await until(conn, "response.done")
    arguments = first(events, "response.function_call_arguments.done")
    assert (arguments.name, arguments.arguments) == ("end_call", '{"reason": "done"}')
    call_item = [e.item for e in events if e.type == "response.output_item.done" and e.item.type == "function_call"]
    assert call_item[0].call_id == arguments.call_id and call_item[0].status == "incomplete"
    done = events[-1].response
    assert done.status == "cancelled" and done.status_details.reason == "turn_detected"
    assert [o.type for o in done.output] == ["message", "function_call"]


async def test_create_while_a_vad_response_runs_is_refused_like_the_service() -> None:
    held = Reply("Automatic answer", audio_ms=1000, hold_after_ms=100)
    async with hearing_sim(held, Reply("second", audio_ms=100)) as sim, connected(sim) as conn:
        await configure(conn)
        await send_ulaw(conn, voice(400) + silence(600))
        await until(conn, "response.output_audio.delta")  # the VAD's response is streaming
        await conn.response.create(event_id="evt_ours")
        refused = await until(conn, "error")
        sim.sessions[0].release()
        done = await until(conn, "response.done")
    assert refused[-1].error.code == "conversation_already_has_active_response"
    assert refused[-1].error.event_id == "evt_ours"
    assert done[-1].response.status == "completed" and "response.created" not in types(done)


async def test_line_echo_of_the_agent_interrupts_it_unless_attenuated_enough() -> None:
    async def run(attenuation_db: float) -> list:
        held = Reply("I am speaking now", audio_ms=2000, hold_after_ms=1000)
        sim = hearing_sim(held, Reply("Hm?", audio_ms=100))
        sim.echo = LineEcho(delay_ms=120, attenuation_db=attenuation_db)
        async with sim, connected(sim) as conn:
            await configure(conn, {"create_response": False})
            await conn.response.create()
            await until(conn, "response.output_audio.delta")
            await send_ulaw(conn, silence(1500))  # the callee is silent; only the echo comes back
            await conn.input_audio_buffer.clear()
            return await until(conn, "input_audio_buffer.cleared")

    loud = await run(6.0)
    started = first(loud, "input_audio_buffer.speech_started")
    assert started.audio_start_ms == 0  # 120 ms of delay, minus the prefix padding, clipped at 0
    assert first(loud, "response.done").response.status_details.reason == "turn_detected"
    quiet = await run(40.0)
    assert "input_audio_buffer.speech_started" not in types(quiet)
    assert "response.done" not in types(quiet)  # still holding: nothing interrupted it


@pytest.mark.parametrize("fmt", [{"type": "audio/pcmu"}, {"type": "audio/pcma"}, {"type": "audio/pcm", "rate": 24000}])
async def test_turn_positions_are_the_same_in_every_input_format(fmt: dict) -> None:
    rate = 24000 if fmt["type"] == "audio/pcm" else 8000
    sound = tone_pcm16(1000, rate, frequency=300, level=0.3)
    heard = bytes(rate * 2 // 2) + sound[: rate * 2 * 6 // 10] + bytes(rate * 2 * 7 // 10)  # 0.5 s, 0.6 s, 0.7 s
    wire = encode(heard, fmt["type"])
    async with hearing_sim(Reply("Yes?", audio_ms=100)) as sim, connected(sim) as conn:
        session = {"type": "realtime", "audio": {"input": {"format": fmt, "turn_detection": {"type": "server_vad"}}}}
        await conn.session.update(session=session)
        await until(conn, "session.updated")
        step = len(wire) // 15
        for i in range(0, len(wire), step):
            await conn.input_audio_buffer.append(audio=base64.b64encode(wire[i : i + step]).decode())
        events = await until(conn, "response.done")  # read everything: an unread backlog stalls the close
    assert first(events, "input_audio_buffer.speech_started").audio_start_ms == 500 - 300
    assert first(events, "input_audio_buffer.speech_stopped").audio_end_ms == 1100 + 500
