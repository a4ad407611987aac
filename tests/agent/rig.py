"""Builds a call under test: the simulator, the real adapter, fake media and call, the agent runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from engine.agent.model_link import FromVoice
from engine.agent.options import AgentSessionOptions
from engine.agent.session import AgentCallSession
from engine.agent.task import AgentTask, MachinePolicy
from engine.ports.agent import CallReport
from engine.ports.telephony import AudioFormat
from engine.voice.live_simulator.server import LiveSimulator
from engine.voice.openai_live import OpenAILiveModel
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import Reply, ScriptedReplies
from engine.voice.simulator.server import RealtimeSimulator
from tests.agent.fakes import FakeMediaStream, FakeOutboundCall, InMemoryCallRecorder, InMemoryUserInfoBroker
from tests.clock import ManualClock


def dentist_task(**overrides: Any) -> AgentTask:
    values: dict[str, Any] = {
        "task_id": "task-7",
        "user_name": "Anna Schmidt",
        "callee_name": "Dr. Weber's practice",
        "phone": "+4930123456",
        "objective": "Move Anna's cleaning appointment to a Tuesday afternoon.",
        "facts": ("Anna's date of birth is 1990-04-12", "The current appointment is on March 3 at 9:00"),
        "constraints": ("Only Tuesdays after 14:00",),
        "success_criteria": ("A new appointment on a Tuesday after 14:00 is confirmed",),
        "machine_policy": MachinePolicy.HANG_UP,
    }
    values.update(overrides)
    return AgentTask(**values)


PROVIDERS = ("realtime", "live")
# What asks the model to speak, per provider: Realtime's response.create, Live's instructions append.
SPEAK_EVENT = {"realtime": "response.create", "live": "session.instructions.append"}


@dataclass
class Rig:
    sim: Any  # RealtimeSimulator | LiveSimulator
    replies: ScriptedReplies
    clock: ManualClock
    media: FakeMediaStream
    call: FakeOutboundCall
    recorder: InMemoryCallRecorder
    broker: InMemoryUserInfoBroker
    agent: AgentCallSession
    running: asyncio.Task[CallReport]
    failure_hook_calls: list[str] = field(default_factory=list)
    provider: str = "realtime"

    async def result(self, timeout: float = 5.0) -> CallReport:
        return await asyncio.wait_for(asyncio.shield(self.running), timeout)

    def emit(self, event: Any) -> None:
        """A voice-model port event, as the current model session would deliver it to the call."""
        self.agent.inbox.put_nowait(FromVoice(self.agent.link.generation, event))

    def sent_items(self, item_type: str) -> list[dict[str, Any]]:
        kind = "conversation.item.create" if self.provider == "realtime" else "response.item.create"
        return [e["item"] for e in self.sim.received(kind) if e["item"].get("type") == item_type]

    # --- what the model was told, whichever the provider ------------------------------------------

    def notes(self) -> list[str]:
        """Silent context the model was given (Realtime: system items; Live: thinking appends)."""
        if self.provider == "realtime":
            return [i["content"][0]["text"] for i in self.sent_items("message")]
        return [e["content"] for e in self.sim.received("session.thinking.append")]

    def speak_requests(self) -> list[dict[str, Any]]:
        """Requests to speak: Realtime response.create events, Live instructions appends."""
        return self.sim.received(SPEAK_EVENT[self.provider])

    def spoken_instructions(self, event: dict[str, Any]) -> str:
        if self.provider == "realtime":
            return str((event.get("response") or {}).get("instructions") or "")
        return str(event.get("content") or "")


@asynccontextmanager
async def call_rig(
    replies: list[Reply],
    *,
    fmt: AudioFormat = AudioFormat.ULAW,
    autoplay: bool = True,
    answer: bool = True,
    task: AgentTask | None = None,
    options: AgentSessionOptions | None = None,
    prepare: Any = None,
    provider: str = "realtime",
) -> AsyncIterator[Rig]:
    script = ScriptedReplies(replies)
    simulator = RealtimeSimulator(script) if provider == "realtime" else LiveSimulator(script)
    async with simulator as sim:
        if prepare is not None:
            prepare(sim)
        clock = ManualClock()
        media = FakeMediaStream(clock, fmt, autoplay=autoplay)
        call = FakeOutboundCall(media)
        recorder, broker = InMemoryCallRecorder(), InMemoryUserInfoBroker()
        model: Any
        if provider == "realtime":
            model = OpenAIRealtimeModel(api_key="test", model="gpt-realtime-1.5", websocket_base_url=sim.base_url)
        else:
            model = OpenAILiveModel(api_key="test", model="gpt-live-1", websocket_base_url=sim.base_url)
            options = options or AgentSessionOptions(model_name="gpt-live-1")
        hook_calls: list[str] = []

        async def apologise(c: Any) -> None:
            hook_calls.append(c.call_id)

        agent = AgentCallSession(
            call,
            task or dentist_task(),
            model,
            media_format=fmt,
            recorder=recorder,
            broker=broker,
            options=options or AgentSessionOptions(),
            clock=clock,
            on_agent_failure=apologise,
        )
        running = asyncio.create_task(agent.run(), name="agent-under-test")
        rig = Rig(sim, script, clock, media, call, recorder, broker, agent, running, hook_calls, provider)
        try:
            if answer:
                await sim.wait_for_event(SPEAK_EVENT[provider])  # the greeting is requested while ringing
                call.answer()
            yield rig
        finally:
            if not running.done():
                call.callee_hangs_up()
                await asyncio.wait({running}, timeout=5)
                running.cancel()
            await model.aclose()
