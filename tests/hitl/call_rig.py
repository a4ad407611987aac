"""A call under test with a real HITL broker: the Realtime simulator through the openai SDK,
fake media on a virtual clock, and the PostgreSQL broker of one engine node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from engine.agent.options import AgentSessionOptions
from engine.agent.session import AgentCallSession
from engine.agent.task import AgentTask
from engine.ports.agent import CallReport
from engine.ports.owner_questions import UserInfoBroker
from engine.ports.telephony import AudioFormat
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import Reply, ScriptedReplies
from engine.voice.simulator.server import RealtimeSimulator
from tests.agent.fakes import FakeMediaStream, FakeOutboundCall, InMemoryCallRecorder
from tests.clock import ManualClock

# No "still checking" turns unless a test wants them: they would take scripted replies.
QUIET = AgentSessionOptions(
    hitl_reassure_every_s=10_000, listen_first_s=0, dead_air_s=None, max_call_s=None, session_handover_s=None
)


@dataclass
class HitlCall:
    sim: RealtimeSimulator
    clock: ManualClock
    media: FakeMediaStream
    call: FakeOutboundCall
    recorder: InMemoryCallRecorder
    running: asyncio.Task[CallReport]

    async def result(self, timeout: float = 5.0) -> CallReport:
        return await asyncio.wait_for(asyncio.shield(self.running), timeout)

    def notes(self) -> list[str]:
        """Text of the conversation items the agent added (system notes such as answers)."""
        items = [e["item"] for e in self.sim.received("conversation.item.create")]
        return [i["content"][0]["text"] for i in items if i.get("type") == "message"]

    def instructions(self) -> str:
        return self.sim.received("session.update")[0]["session"]["instructions"]


@asynccontextmanager
async def hitl_call(
    replies: list[Reply],
    *,
    task: AgentTask,
    call_id: str,
    make_broker: Any,
    options: AgentSessionOptions = QUIET,
) -> AsyncIterator[HitlCall]:
    """`make_broker(clock) -> UserInfoBroker`, so the broker waits on the call's virtual clock."""
    async with RealtimeSimulator(ScriptedReplies(replies)) as sim:
        clock = ManualClock()
        media = FakeMediaStream(clock, AudioFormat.ULAW)
        call = FakeOutboundCall(media, call_id=call_id)
        recorder = InMemoryCallRecorder()
        broker: UserInfoBroker = make_broker(clock)
        model = OpenAIRealtimeModel(api_key="test", model="gpt-realtime-1.5", websocket_base_url=sim.base_url)
        agent = AgentCallSession(
            call, task, model, media_format=AudioFormat.ULAW, recorder=recorder, broker=broker,
            options=options, clock=clock,
        )
        running = asyncio.create_task(agent.run(), name=f"agent-under-test:{call_id}")
        rig = HitlCall(sim, clock, media, call, recorder, running)
        try:
            await sim.wait_for_event("response.create")  # the greeting is requested while ringing
            call.answer()
            yield rig
        finally:
            if not running.done():
                call.callee_hangs_up()
                await asyncio.wait({running}, timeout=5)
                running.cancel()
            await model.aclose()
