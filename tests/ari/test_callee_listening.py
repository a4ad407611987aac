"""The simulated callee's `listen` follows the line's media clock, not wall time.

The PBX simulator plays the line in 20 ms ticks in the same process as the node; on a loaded
machine its ticks fall behind real time, and a real-time sender (an owner's browser microphone)
then reaches the callee later on the wall clock. A wait measured on the wall clock gave up while
the owner's words were still queued (issue 16's flaky owner-voice browser test); measured in
heard frames it ends when the line, not the machine, says so.
"""

import asyncio
from dataclasses import dataclass

from ari_apps.simulator import audio
from ari_apps.simulator.callee import CalleeSession

SILENT = audio.to_wire(audio.SILENT_FRAME, "ulaw")


@dataclass
class Times:
    time_scale: float = 1.0
    machine_greeting_s: float = 4.0


class Line:
    config = Times()

    async def callee_dtmf(self, our_id: str, digit: str) -> None: ...

    async def callee_hangup(self, our_id: str, cause: int) -> None: ...


async def hear_silence(session: CalleeSession, frames: int) -> None:
    for _ in range(frames):
        session.hear(SILENT)


async def test_listening_gives_up_after_max_s_of_line_not_of_wall_time() -> None:
    session = CalleeSession(Line(), "call-1", "talker")
    waiting = asyncio.create_task(session.listen(until_silence_s=0.4, max_s=60), name="callee-listen")
    # Tasks start in the order they were created: the listener is registered before the line plays.
    playing = asyncio.create_task(hear_silence(session, 60 * 50), name="line")  # a minute of line, at once
    assert await asyncio.wait_for(waiting, 5) is False  # no speech in the minute: given up, without the minute
    await playing
