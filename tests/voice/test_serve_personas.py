"""`opendeep serve` without a key, a whole call each, driven by the PBX simulator's own callee
audio: the simulated model's outcome depends on who answered, not on a constant."""

from __future__ import annotations

import asyncio

from ari_apps.simulator import audio
from engine.agent.options import AgentSessionOptions
from engine.agent.session import AgentCallSession
from engine.ports.agent import CallReport
from engine.ports.telephony import AudioFormat
from engine.settings import Settings
from engine.voice.codecs import pcm16_to_ulaw
from engine.voice.factory import start_voice_model
from tests.agent.fakes import FakeMediaStream, FakeOutboundCall, InMemoryCallRecorder, InMemoryUserInfoBroker
from tests.agent.rig import dentist_task
from tests.clock import ManualClock


def say(media: FakeMediaStream, pcm8k: bytes, then_silence_ms: int = 800) -> None:
    """Callee audio (8 kHz PCM16) as 20 ms mu-law frames, then silence that ends the turn."""
    wire = pcm16_to_ulaw(pcm8k) + b"\xff" * 8 * then_silence_ms
    for i in range(0, len(wire), 160):
        media.callee_audio(wire[i : i + 160])


async def call(callee) -> CallReport:
    settings = Settings(_env_file=None, openai_api_key=None)
    service = await start_voice_model(settings, simulator_idle_s=None)
    try:
        clock = ManualClock()
        media = FakeMediaStream(clock, AudioFormat.ULAW)
        outbound = FakeOutboundCall(media)
        recorder = InMemoryCallRecorder()
        agent = AgentCallSession(
            outbound,
            dentist_task(),
            service.model,
            media_format=AudioFormat.ULAW,
            recorder=recorder,
            broker=InMemoryUserInfoBroker(),
            options=AgentSessionOptions.from_settings(settings),
            clock=clock,
        )
        running = asyncio.create_task(agent.run(), name="serve-persona-call")
        outbound.answer()
        await recorder.wait_for_turns("call-1", 1)  # the greeting has played
        await callee(media, recorder)
        return await asyncio.wait_for(running, 10)
    finally:
        await service.close()


async def person(media: FakeMediaStream, recorder: InMemoryCallRecorder) -> None:
    say(media, audio.speech(1.2, seed=3))  # like the PBX simulator's "talker": a greeting...
    await recorder.wait_for_turns("call-1", 3)
    say(media, audio.speech(0.8, seed=11))  # ...and a reply to what the agent asked


async def machine(media: FakeMediaStream, recorder: InMemoryCallRecorder) -> None:
    say(media, audio.speech(4.0, seed=7) + audio.tone(1000, 0.4))  # the "machine" persona: greeting, beep


async def test_a_person_achieves_and_a_machine_does_not() -> None:
    answered = await call(person)
    recorded = await call(machine)
    assert answered.objective is not None and answered.objective.achieved
    assert not answered.answering_machine and answered.end_reason == "conversation complete"
    assert recorded.answering_machine
    assert recorded.objective is None or not recorded.objective.achieved
    assert recorded.end_reason == "answering machine"
