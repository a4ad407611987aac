"""One simulated callee: what it says, what it hears, the digits it gets.

A persona script drives a `CalleeSession` through these methods; the PBX core
feeds it the agent's audio (`hear`) and asks it for the next 20 ms it speaks
(`next_frame`). Tests read `heard`, `digits` and `log` to assert on what the
agent did.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Protocol

from . import audio

FRAME_S = 0.02  # one tick of the line
LINE_STOPPED_FACTOR = 5  # `listen` gives up on wall time only if the line stalls this badly


class CalleeTimes(Protocol):
    time_scale: float  # multiplies the callee's pauses and timeouts
    machine_greeting_s: float


class CalleeLine(Protocol):
    """The PBX as a callee sees it (`pbx.Pbx`): its timings, and the two things a callee can do."""

    @property
    def config(self) -> CalleeTimes: ...

    async def callee_dtmf(self, our_id: str, digit: str) -> None: ...

    async def callee_hangup(self, our_id: str, cause: int) -> None: ...


class CalleeSession:
    def __init__(self, line: CalleeLine, channel_id: str, persona: str) -> None:
        self.line = line
        self.channel_id = channel_id  # our (the agent's) channel; the callee is across it
        self.persona = persona
        self.fmt = "ulaw"  # the format of the media channel bridged with us
        self.heard = bytearray()  # the agent's audio as played to the callee, in `fmt`
        self.digits: list[str] = []  # DTMF the agent sent
        self.log: list[str] = []  # what the persona did, for assertions
        self.message = bytearray()  # what an answering machine recorded (8 kHz PCM)
        self.echo = False
        self._outgoing: collections.deque[bytes] = collections.deque()  # 20 ms of 8 kHz PCM each
        self._digit_queue: asyncio.Queue[str] = asyncio.Queue()
        self._listeners: list[Callable[[bytes], None]] = []
        self._said = asyncio.Event()
        self._said.set()

    # --- fed by the PBX core --------------------------------------------------

    def hear(self, wire_frame: bytes | None) -> None:
        """One 20 ms tick of the line; None: the agent sent nothing, so the callee hears silence."""
        if wire_frame is not None:
            self.heard += wire_frame
        if not self.echo and not self._listeners:
            return
        pcm = audio.from_wire(wire_frame, self.fmt) if wire_frame is not None else audio.SILENT_FRAME
        if self.echo and wire_frame is not None:
            self._outgoing.append(pcm)
        if self._listeners:
            for listener in list(self._listeners):
                listener(pcm)

    def next_frame(self) -> bytes | None:
        if self._outgoing:
            frame = self._outgoing.popleft()
            if not self._outgoing:
                self._said.set()
            return audio.to_wire(frame, self.fmt)
        return None

    def receive_digit(self, digit: str) -> None:
        self.digits.append(digit)
        self._digit_queue.put_nowait(digit)

    # --- used by persona scripts ---------------------------------------------

    def say(self, pcm8k: bytes, label: str = "") -> None:
        if label:
            self.log.append(f"say {label}")
        self._said.clear()
        self._outgoing.extend(audio.frames(pcm8k))

    async def until_said(self) -> None:
        await self._said.wait()

    async def wait(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.line.config.time_scale)

    async def send_dtmf(self, digits: str, between_s: float = 0.25) -> None:
        for digit in digits:
            await self.line.callee_dtmf(self.channel_id, digit)
            self.log.append(f"dtmf {digit}")
            await self.wait(between_s)

    async def read_digit(self, timeout_s: float) -> str | None:
        try:
            return await asyncio.wait_for(self._digit_queue.get(), timeout_s * self.line.config.time_scale)
        except TimeoutError:
            return None

    async def hangup(self, cause: int = 16) -> None:
        self.log.append(f"hangup {cause}")
        await self.line.callee_hangup(self.channel_id, cause)

    async def listen(
        self, *, until_silence_s: float, max_s: float, keep: bytearray | None = None, need_speech: bool = True
    ) -> bool:
        """Wait until the agent spoke and then was quiet for `until_silence_s`, or until `max_s` of the
        line went by. Returns True if it ended on silence.

        Both are measured in heard frames, so they follow the media clock, not wall time: the PBX plays
        the line in 20 ms ticks, and when it falls behind real time (a loaded machine) a real-time
        sender's audio (an owner's browser) reaches the callee late, so the wait lasts longer instead
        of giving up early. Only a line that stops altogether (nothing ticks it) ends the wait on wall
        time, after `LINE_STOPPED_FACTOR` times `max_s`.
        """
        scale = self.line.config.time_scale
        quiet_frames_needed = max(1, round(until_silence_s * scale / FRAME_S))
        max_frames = max(1, round(max_s * scale / FRAME_S))
        state = {"spoke": not need_speech, "quiet": 0, "heard": 0, "ended_on_silence": False}
        done = asyncio.Event()

        def on_pcm(pcm: bytes) -> None:
            if keep is not None:
                keep.extend(pcm)
            state["heard"] += 1
            if audio.is_silent(pcm):
                state["quiet"] += 1
            else:
                state["spoke"], state["quiet"] = True, 0
            if state["spoke"] and state["quiet"] >= quiet_frames_needed:
                state["ended_on_silence"] = True
                done.set()
            elif state["heard"] >= max_frames:
                done.set()

        self._listeners.append(on_pcm)
        try:
            await asyncio.wait_for(done.wait(), max_s * scale * LINE_STOPPED_FACTOR)
            return bool(state["ended_on_silence"])
        except TimeoutError:
            return False
        finally:
            self._listeners.remove(on_pcm)


PersonaScript = Callable[[CalleeSession], Awaitable[None]]
