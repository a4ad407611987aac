"""How many asyncio tasks and futures the media path creates per forwarded 20 ms frame.

A guard against per-frame costs creeping back (a task, a `call_later` or a future
for every frame), counted rather than timed: one call through the real ARI
adapter (chan_websocket to the PBX simulator's echo callee) and the real OpenAI
Realtime adapter (a WebSocket to the Realtime simulator), with the model's audio
forwarded to the call and the callee's audio (the echo) forwarded to the model.
Only what the call's own tasks create is counted, not the simulators' work.
"""

from __future__ import annotations

import asyncio
import uuid

from engine.agent.inbox import Inbox
from engine.ports.telephony import AudioFormat, AudioReceived, DialRequest
from engine.ports.voice_model import AudioDelta, VoiceSessionConfig
from engine.voice.openai_realtime import OpenAIRealtimeModel
from engine.voice.simulator.script import Reply, ScriptedReplies
from engine.voice.simulator.server import RealtimeSimulator

from .telephony import ari_telephony

OURS = ("media-ws-", "realtime-", "forward-")
# The adapter's one silence ticker wakes every 60 ms of wall time for all calls' gaps, not per frame:
# how often depends on how soon the echo begins (later on a loaded machine), so it is not counted.
NOT_PER_FRAME = ("media-ws-silence-ticker",)
SPOKEN_MS = 2000
# Measured when this test was written: 1.73 futures and no task per frame forwarded (2.02 before
# the silence timer stopped waking every 20 ms while audio flows; appends here are the adapter's
# own default of 20 ms). Since the streams deliver into the agent's inbox (`deliver_to`), the
# agent's shape (one inbox, one loop) measures 1.72; with a pump task per stream, as before, 2.27.
# Since both sockets are written by a `FrameWriter` (frames straight to the transport, one write
# per loop iteration, no writer task): 1.00, the inbox's own wake-ups (the adapter's one silence
# ticker, which wakes every 60 ms while the echo has not begun, is not counted: 1.09-1.21 with it). A writer
# task or library send per message, a per-frame timer or an extra hop adds at least 0.5 per frame.
# On uvloop, which the suite runs on as the product does: 1.09-1.21 (its reads wake the loop's task a
# little more often than the stdlib loop's: 0.99-1.06 there, four runs each).
MAX_FUTURES_PER_FRAME = 1.3


class CreationCounter:
    """Counts futures and tasks created while one of the call's tasks runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.futures = 0
        self.tasks = 0
        self.counting = False
        self._loop = loop
        self._create_future = loop.create_future
        self._factory = loop.get_task_factory()

    def _ours(self) -> bool:
        task = asyncio.current_task(self._loop)
        if not self.counting or task is None:
            return False
        name = task.get_name()
        return name.startswith(OURS) and not name.startswith(NOT_PER_FRAME)

    def create_future(self) -> asyncio.Future:
        if self._ours():
            self.futures += 1
        return self._create_future()

    def task_factory(self, loop, coro, **kwargs):
        if self._ours():
            self.tasks += 1
        if self._factory is not None:
            return self._factory(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    def __enter__(self) -> CreationCounter:
        self._loop.create_future = self.create_future
        self._loop.set_task_factory(self.task_factory)
        return self

    def __exit__(self, *exc: object) -> None:
        del self._loop.create_future
        self._loop.set_task_factory(self._factory)


async def test_forwarding_a_frame_creates_no_task_and_a_bounded_number_of_futures(sim, sink):
    telephony = ari_telephony(sim, sink, app=f"perframe-{uuid.uuid4().hex[:6]}")
    await telephony.start()
    replies = ScriptedReplies(default=Reply("Hello, this is a longer greeting.", audio_ms=SPOKEN_MS))
    model_sim = await RealtimeSimulator(replies).start()
    model = OpenAIRealtimeModel(api_key="test", model="gpt-realtime-test", websocket_base_url=model_sim.base_url)
    counter = CreationCounter(asyncio.get_running_loop())
    frames = {"in": 0, "out": 0}
    try:
        call = await telephony.originate(DialRequest(str(uuid.uuid4()), "Local/s@callee-echo/n"))
        assert await call.answered()
        session = await model.open(VoiceSessionConfig(instructions="Be brief.", media_format=AudioFormat.ULAW))
        echoed = asyncio.Event()

        # As the agent does: both streams deliver into one inbox (`deliver_to`), one loop dispatches.
        inbox = Inbox()
        call.media.deliver_to(inbox.put_nowait)
        session.deliver_to(inbox.put_nowait)

        async def dispatch() -> None:
            while True:
                event = await inbox.get()
                if isinstance(event, AudioReceived):
                    frames["in"] += len(event.audio) // 160
                    await session.push_audio(event.audio)
                    if frames["in"] >= SPOKEN_MS // 20:
                        echoed.set()
                elif isinstance(event, AudioDelta):
                    frames["out"] += len(event.audio) // 160
                    await call.media.send_audio(event.audio)

        with counter:
            counter.counting = True
            forwarders = [asyncio.create_task(dispatch(), name="forward-loop")]
            counter.tasks = 0  # the loop itself is set-up, not per frame
            await session.create_response()
            await asyncio.wait_for(echoed.wait(), 15)
            counter.counting = False
        for task in forwarders:
            task.cancel()
        await asyncio.gather(*forwarders, return_exceptions=True)
        await session.close()
        await call.hangup()
    finally:
        await model.aclose()
        await model_sim.stop()
        await telephony.close()

    forwarded = frames["in"] + frames["out"]
    assert frames["out"] == SPOKEN_MS // 20
    assert counter.tasks == 0, f"{counter.tasks} tasks created while forwarding {forwarded} frames"
    per_frame = counter.futures / forwarded
    assert per_frame <= MAX_FUTURES_PER_FRAME, f"{per_frame:.2f} futures per forwarded frame ({counter.futures})"
