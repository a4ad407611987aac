"""Builds a call under test: the simulator, the real adapter, fake media and call, the agent runtime."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from ari_apps.simulator import audio
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
        "greet_first": True,  # tests of the answer pass False: the callee speaks first
    }
    values.update(overrides)
    return AgentTask(**values)


PROVIDERS = ("realtime", "live")
# GPT-Live marks no end of a turn: its adapter ends one once the audio it sent has played and no more came
# for a gap, on the call's clock. Here the gap is one 20 ms frame, so a turn of the simulator (which sends
# faster than real time) ends as its audio finishes playing and a test need not let time pass for it;
# the production gap (engine.voice.live_turns.SEGMENT_GAP_S) is tested in tests/voice/test_live_turns.py.
LIVE_SEGMENT_GAP_S = 0.02


def realtime_only(why: str) -> Any:
    """A test of a Realtime-only wire behaviour; `why` says what GPT-Live lacks (kept in the source)."""
    del why
    return pytest.mark.parametrize("provider", ["realtime"])


# What asks the model to speak, per provider: Realtime's response.create, Live's instructions append.
SPEAK_EVENT = {"realtime": "response.create", "live": "session.instructions.append"}
SETUP_EVENT = {"realtime": "session.update", "live": "session.start"}
_LIVE_SPEAK = ("session.instructions.append", "response.create")


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

    async def advance_when_due(self, seconds: float, timeout: float = 5.0) -> None:
        """Let `seconds` pass once the call waits on a timer due within them."""
        await advance_when_due(self.clock, seconds, timeout)

    async def wait_timer(self, seconds: float, timeout: float = 5.0) -> None:
        """Wait until the call sleeps on a timer due `seconds` from now (it noticed what starts that timer)."""
        due = self.clock.monotonic() + seconds
        async with self.clock._changed:
            await asyncio.wait_for(
                self.clock._changed.wait_for(
                    lambda: any(abs(d - due) < 1e-6 and not f.done() for d, f in self.clock._sleepers)
                ),
                timeout,
            )

    async def wait_event(self, kind: str, timeout: float = 5.0) -> Any:
        return await self.recorder.wait_for_event(self.call.call_id, kind, timeout)

    def kinds(self) -> list[str]:
        return self.recorder.kinds(self.call.call_id)

    def event(self, kind: str) -> Any:
        return next(e for e in self.recorder.events[self.call.call_id] if e.kind == kind)

    def sent_items(self, item_type: str) -> list[dict[str, Any]]:
        kind = "conversation.item.create" if self.provider == "realtime" else "response.item.create"
        return [e["item"] for e in self.sim.received(kind) if e["item"].get("type") == item_type]

    # --- what the model was told, whichever the provider ------------------------------------------

    def notes(self, session: Any = None) -> list[str]:
        """Silent context the model was given (Realtime: system items; Live: thinking appends), by
        every model session or by `session` only."""
        received = self.sim.received() if session is None else session.received
        if self.provider == "realtime":
            return [
                e["item"]["content"][0]["text"]
                for e in received
                if e.get("type") == "conversation.item.create" and e["item"].get("type") == "message"
            ]
        return [e["content"] for e in received if e.get("type") == "session.thinking.append"]

    @property
    def audio_in_event(self) -> str:
        """The event that carries the callee's audio to the model."""
        return "input_audio_buffer.append" if self.provider == "realtime" else "session.input_audio.append"

    def model_audio_sent(self, session: Any) -> bool:
        """Whether the model session has sent any audio yet."""
        return bool(session.audio_ms_sent if self.provider == "realtime" else session.output_ms)

    def model_speaking(self, session: Any) -> bool:
        """Realtime: a response is in progress; Live: the model is talking."""
        return bool(session.response_active if self.provider == "realtime" else session.speaking)

    # --- the scripted callee, whichever the provider -------------------------------------------

    def _callee_sound(self, pcm8k: bytes) -> None:
        wire = audio.to_wire(pcm8k, "ulaw" if self.media.format is AudioFormat.ULAW else "slin16")
        frame = self.media.format.frame_bytes
        for start in range(0, len(wire), frame):
            self.media.callee_audio(wire[start : start + frame])

    async def callee_starts_speaking(self, session: Any = None) -> None:
        """The callee starts talking. GPT-Live marks no start of the callee's speech: its adapter hears it
        in the audio it is sent, so on Live the callee's side also sends speech."""
        session = session or self.sim.sessions[0]
        if self.provider == "live":
            heard_ms = session.input_ms + 300
            self._callee_sound(audio.speech(0.3, seed=3))
            await self.sim.wait_for(lambda: session.input_ms >= heard_ms)  # the model hears what the adapter heard
        await session.callee_starts_speaking()

    async def callee_stops_speaking(self, transcript: str = "", session: Any = None) -> None:
        """The callee stops talking (on Live their side then sends silence the adapter hears)."""
        session = session or self.sim.sessions[0]
        if self.provider == "live":
            self._callee_sound(bytes(2 * 8 * 600))
        await session.callee_stops_speaking(transcript)

    async def wait_model_reply_stopped(self, session: Any = None) -> None:
        """The model's own reply is stopped by the agent: Realtime gets a response.cancel; GPT-Live has
        no cancel, so the model says its turn (the agent keeps it off the line) and then is silent."""
        session = session or self.sim.sessions[0]
        if self.provider == "realtime":
            await self.sim.wait_for_event("response.cancel")
            return
        await self.sim.wait_for(lambda: session.spoken and not session.speaking)

    async def callee_says(self, transcript: str, session: Any = None) -> None:
        await self.callee_starts_speaking(session)
        await self.callee_stops_speaking(transcript, session)

    def setup_event(self, session: Any) -> dict[str, Any]:
        """The event that configured a model session: Realtime's session.update, Live's session.start."""
        first = session.received[0]
        assert first["type"] == SETUP_EVENT[self.provider]
        return first

    def speak_requests(self) -> list[dict[str, Any]]:
        """Requests to speak: Realtime response.create events; on Live instructions appends and the
        adapter's response.create that continues a delegated tool call (Realtime's agent-sent
        response.create after a tool result)."""
        if self.provider == "realtime":
            return self.sim.received("response.create")
        return [e for e in self.sim.received() if e.get("type") in _LIVE_SPEAK]

    async def wait_speak_request(
        self, where: Any = lambda e: True, count: int = 1, timeout: float = 5.0
    ) -> dict[str, Any]:
        """The `count`th request to speak that matches `where` (given the event)."""

        def found() -> list[dict[str, Any]] | None:
            hits = [e for e in self.speak_requests() if where(e)]
            return hits if len(hits) >= count else None

        return (await self.sim.wait_for(found, timeout))[count - 1]

    def instructions(self) -> list[str]:
        """The instructions of every request to speak, in order ("" when it has none)."""
        return [self.spoken_instructions(e) for e in self.speak_requests()]

    def spoken_instructions(self, event: dict[str, Any]) -> str:
        if self.provider == "realtime":
            return str((event.get("response") or {}).get("instructions") or "")
        return str(event.get("content") or "")


async def advance_when_due(clock: ManualClock, seconds: float, timeout: float = 5.0) -> None:
    """Advance `clock` by `seconds` once some sleep on it is due within them."""
    deadline = clock.monotonic() + seconds + 1e-9
    async with clock._changed:
        await asyncio.wait_for(
            clock._changed.wait_for(lambda: any(d <= deadline and not f.done() for d, f in clock._sleepers)), timeout
        )
    clock.advance(seconds)


TIMERS_OFF = {"dead_air_s": None, "max_call_s": None, "session_handover_s": None}


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
    supervise: bool = False,
    recorder: Any = None,  # a CallRecorder; default: in memory
    call_id: str = "call-1",
    detect_intercepts: bool = False,
    provider: str = "realtime",
    live_gap_s: float = LIVE_SEGMENT_GAP_S,
) -> AsyncIterator[Rig]:
    """A call under test. Without `supervise`, dead air and the call's limits are off (tests of other
    behaviour wait on specific timers). With a task that greets at once (the default here) the rig
    answers once the greeting was requested, else once the model session is ready."""
    script = ScriptedReplies(replies)
    task = task or dentist_task()
    options = options or AgentSessionOptions()
    if not supervise:
        options = dataclasses.replace(options, **TIMERS_OFF)
    simulator = RealtimeSimulator(script) if provider == "realtime" else LiveSimulator(script)
    async with simulator as sim:
        if prepare is not None:
            prepare(sim)
        clock = ManualClock()
        media = FakeMediaStream(clock, fmt, autoplay=autoplay)
        call = FakeOutboundCall(media, call_id)
        recorder, broker = recorder or InMemoryCallRecorder(), InMemoryUserInfoBroker()
        model: Any
        if provider == "realtime":
            model = OpenAIRealtimeModel(api_key="test", model="gpt-realtime-1.5", websocket_base_url=sim.base_url)
        else:
            model = OpenAILiveModel(
                api_key="test", model="gpt-live-1", websocket_base_url=sim.base_url, clock=clock,
                segment_gap_s=live_gap_s,
            )
            options = dataclasses.replace(options, model_name="gpt-live-1")
        hook_calls: list[str] = []

        async def apologise(c: Any) -> None:
            hook_calls.append(c.call_id)

        agent = AgentCallSession(
            call,
            task,
            model,
            media_format=fmt,
            recorder=recorder,
            broker=broker,
            options=options,
            clock=clock,
            on_agent_failure=apologise,
            detect_intercepts=detect_intercepts,
        )
        running = asyncio.create_task(agent.run(), name="agent-under-test")
        rig = Rig(sim, script, clock, media, call, recorder, broker, agent, running, hook_calls, provider)
        try:
            if answer:
                if task.greet_first or options.listen_first_s <= 0:
                    await sim.wait_for_event(SPEAK_EVENT[provider])  # the greeting is requested while ringing
                else:
                    await sim.wait_for_session()
                call.answer()
            yield rig
        finally:
            if not running.done():
                call.callee_hangs_up()
                await asyncio.wait({running}, timeout=5)
                running.cancel()
            await model.aclose()
