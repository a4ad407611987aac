"""The voice model `opendeep serve` runs without an OpenAI key: a whole call, driven by audio only."""

from __future__ import annotations

import asyncio

from engine.agent.options import AgentSessionOptions
from engine.agent.session import AgentCallSession
from engine.ports.telephony import AudioFormat
from engine.settings import Settings
from engine.voice.codecs import pcm16_to_ulaw, tone_pcm16
from engine.voice.factory import start_voice_model
from tests.agent.fakes import FakeMediaStream, FakeOutboundCall, InMemoryCallRecorder, InMemoryUserInfoBroker
from tests.agent.rig import dentist_task
from tests.clock import ManualClock


def speak(media: FakeMediaStream, ms: int) -> None:
    """Callee audio as 20 ms mu-law frames: a tone, then enough silence to end the turn."""
    voice = pcm16_to_ulaw(tone_pcm16(ms, 8000, frequency=300, level=0.3))
    for i in range(0, len(voice), 160):
        media.callee_audio(voice[i : i + 160])
    for _ in range(40):
        media.callee_audio(b"\xff" * 160)


async def test_simulated_model_holds_a_conversation_and_ends_the_call() -> None:
    settings = Settings(_env_file=None, openai_api_key=None)
    service = await start_voice_model(settings, simulator_idle_s=None)
    assert service.mode == "simulated" and service.status().mode == "simulated"
    try:
        clock = ManualClock()
        media = FakeMediaStream(clock, AudioFormat.ULAW)
        call = FakeOutboundCall(media)
        recorder = InMemoryCallRecorder()
        agent = AgentCallSession(
            call,
            dentist_task(),
            service.model,
            media_format=AudioFormat.ULAW,
            recorder=recorder,
            broker=InMemoryUserInfoBroker(),
            options=AgentSessionOptions.from_settings(settings),
            clock=clock,
        )
        running = asyncio.create_task(agent.run(), name="simulated-call")
        call.answer()
        await recorder.wait_for_turns("call-1", 1)  # the greeting has played
        speak(media, 600)
        await recorder.wait_for_turns("call-1", 3)  # the callee's turn, then the agent's answer
        speak(media, 400)
        result = await asyncio.wait_for(running, 5)
    finally:
        await service.close()
    texts = [t.text for t in result.transcript if t.speaker == "agent"]
    assert texts[0].startswith("Hello, this is an AI assistant calling on behalf of Anna Schmidt.")
    assert "Move Anna's cleaning appointment" in texts[1]
    assert result.objective is not None and result.objective.achieved
    assert result.hangup_by == "agent" and result.end_reason == "conversation complete"
    assert len(result.metrics.turn_latencies_ms) == 2
