"""The conversational responder (`opendeep serve` without a key) behaves by what it hears:
a person who answers gets an achieved outcome, an answering machine is reported as one
and never achieves anything, an IVR menu gets a key, a callee who never answers does not
count as success. Driven through the openai SDK with audio only, like a call."""

from __future__ import annotations

import json

from engine.voice.codecs import pcm16_to_ulaw, tone_pcm16
from engine.voice.simulator.script import ConversationalResponder
from engine.voice.simulator.server import RealtimeSimulator
from tests.voice.sdk_client import PCMU, connected, send_ulaw, silence, spoken, until

INSTRUCTIONS = "You call for Anna Schmidt.\nObjective: Move Anna's cleaning appointment to a Tuesday afternoon.\n"
GREETING = 'Say exactly: "Hello, this is an AI assistant calling on behalf of Anna Schmidt."'
ALL_TOOLS = ("record_outcome", "end_call", "send_dtmf", "answering_machine_detected")


def tool(name: str) -> dict:
    return {"type": "function", "name": name, "description": name, "parameters": {"type": "object", "properties": {}}}


async def start_call(conn, tools=ALL_TOOLS, idle_timeout_ms: int | None = None) -> None:
    detection = {"type": "server_vad", "idle_timeout_ms": idle_timeout_ms}
    await conn.session.update(
        session={
            "type": "realtime",
            "instructions": INSTRUCTIONS,
            "tools": [tool(t) for t in tools],
            "audio": {"input": {"format": PCMU, "turn_detection": detection}, "output": {"format": PCMU}},
        }
    )
    await until(conn, "session.updated")
    await conn.response.create(response={"instructions": GREETING})
    greeting = await until(conn, "response.done")
    assert greeting[-1].response.output[0].content[0].transcript.startswith("Hello, this is an AI assistant")


def calls(events) -> dict[str, dict]:
    return {e.name: json.loads(e.arguments) for e in events if e.type == "response.function_call_arguments.done"}


async def test_a_person_who_answers_achieves_the_objective() -> None:
    async with RealtimeSimulator(ConversationalResponder(), energy_vad=True) as sim, connected(sim) as conn:
        await start_call(conn)
        await send_ulaw(conn, spoken(0.8, seed=3) + silence(700))  # "Dr. Weber's practice, hello?"
        stated = await until(conn, "response.done")
        await send_ulaw(conn, spoken(1.2, seed=11) + silence(700))  # the answer
        done = await until(conn, "response.done")
    assert "Move Anna's cleaning appointment" in stated[-1].response.output[0].content[0].transcript
    assert calls(done)["record_outcome"]["achieved"] is True
    assert calls(done)["end_call"] == {"reason": "conversation complete"}


async def test_an_answering_machine_is_reported_and_never_achieves_anything() -> None:
    greeting_and_beep = spoken(4.0, seed=7) + pcm16_to_ulaw(tone_pcm16(400, 8000, frequency=1000, level=0.3))
    async with RealtimeSimulator(ConversationalResponder(), energy_vad=True) as sim, connected(sim) as conn:
        await start_call(conn)
        await send_ulaw(conn, greeting_and_beep + silence(700))
        reported = await until(conn, "response.done")
    async with RealtimeSimulator(ConversationalResponder(), energy_vad=True) as sim, connected(sim) as conn:
        await start_call(conn, tools=("record_outcome", "end_call"))
        sim.callee_lines.append("You have reached the voicemail of Dr. Weber. Please leave a message after the tone.")
        await send_ulaw(conn, spoken(1.0, seed=7) + silence(700))
        recorded = await until(conn, "response.done")
    assert list(calls(reported)) == ["answering_machine_detected"]
    assert calls(recorded)["record_outcome"]["achieved"] is False
    assert calls(recorded)["end_call"] == {"reason": "answering machine"}


async def test_an_ivr_menu_gets_the_key_of_the_option_that_fits_the_objective() -> None:
    async with RealtimeSimulator(ConversationalResponder(), energy_vad=True) as sim, connected(sim) as conn:
        await start_call(conn)
        sim.callee_lines.append("Welcome. For billing, press 1. For appointments, press 2.")
        await send_ulaw(conn, spoken(1.5, seed=5) + silence(700))
        keyed = await until(conn, "response.done")
    assert calls(keyed) == {"send_dtmf": {"digits": "2"}}
    assert not [o for o in keyed[-1].response.output if o.type == "message"]  # it presses, it does not talk


async def test_a_callee_who_never_answers_the_request_is_not_a_success() -> None:
    async with RealtimeSimulator(ConversationalResponder(), energy_vad=True) as sim, connected(sim) as conn:
        await start_call(conn, idle_timeout_ms=3000)
        await send_ulaw(conn, spoken(0.8, seed=3) + silence(700))
        await until(conn, "response.done")  # the objective, stated
        await send_ulaw(conn, silence(9000))  # the objective plays for about 5.3 s, then 3 s of nothing
        events = await until(conn, "response.done")
    assert "input_audio_buffer.timeout_triggered" in [e.type for e in events]
    assert calls(events)["record_outcome"]["achieved"] is False
