"""GPT-Live marks no end of the model's turn: `LiveTurns` infers it on the injected clock, from output
audio that stopped coming once what came has played (the service may send at playback pace or in
faster bursts; openai-live.md §2.3)."""

from __future__ import annotations

import asyncio
import base64

from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import ResponseDone, ResponseStarted, SpeechStarted, Usage, VoiceEvent
from engine.voice.live_turns import SEGMENT_GAP_S, LiveTurns
from tests.clock import ManualClock


def delta(ms: int) -> dict:
    return {"type": "session.output_audio.delta", "delta": base64.b64encode(b"\xff" * 8 * ms).decode()}


class Seen(list):
    """What the adapter's turns emitted; `ended` is set by the first ResponseDone."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = asyncio.Event()

    def emit(self, event: VoiceEvent) -> None:
        self.append(event)
        if isinstance(event, ResponseDone):
            self.ended.set()


def turns(clock: ManualClock) -> tuple[LiveTurns, Seen]:
    seen = Seen()
    return LiveTurns(clock, AudioFormat.ULAW, 8, seen.emit, Usage, lambda: None), seen


def done(seen: list[VoiceEvent]) -> list[ResponseDone]:
    return [e for e in seen if isinstance(e, ResponseDone)]


async def still_waiting(clock: ManualClock) -> None:
    """The turn's deadline woke, found it was not due yet and sleeps again."""
    await clock.wait_sleepers(1)


async def test_a_burst_ends_its_turn_once_its_audio_has_played() -> None:
    clock = ManualClock()
    live, seen = turns(clock)
    for _ in range(8):
        live.output_audio(delta(100))  # 800 ms, all at once
    clock.advance(0.79)
    await still_waiting(clock)
    assert done(seen) == []  # still playing: the gap since the last delta says nothing
    clock.advance(0.01)
    await asyncio.wait_for(seen.ended.wait(), 1)
    assert [(d.status, d.reason) for d in done(seen)] == [("completed", "")]


async def test_paced_audio_ends_its_turn_a_gap_after_the_last_delta_and_a_late_delta_does_not_split_it() -> None:
    clock = ManualClock()
    live, seen = turns(clock)
    for _ in range(3):
        live.output_audio(delta(100))
        clock.advance(0.1)
    clock.advance(SEGMENT_GAP_S - 0.15)  # a late delta, within the gap
    live.output_audio(delta(100))
    clock.advance(SEGMENT_GAP_S - 0.01)
    await still_waiting(clock)
    assert done(seen) == [] and sum(isinstance(e, ResponseStarted) for e in seen) == 1
    clock.advance(0.01)
    await asyncio.wait_for(seen.ended.wait(), 1)
    assert len(done(seen)) == 1


async def test_the_model_going_quiet_while_the_callee_talks_is_a_yield_at_once() -> None:
    clock = ManualClock()
    live, seen = turns(clock)
    for _ in range(10):
        live.output_audio(delta(100))  # 1 s sent ahead; the callee hears 0.5 s of it
    clock.advance(0.5)
    live.input_transcript({"type": "session.input_transcript.delta", "delta": "Wait", "start_ms": 0, "end_ms": 300})
    [started] = [e for e in seen if isinstance(e, SpeechStarted)]
    [cut] = done(seen)
    assert seen.index(started) < seen.index(cut) and (cut.status, cut.reason) == ("cancelled", "turn_detected")
    live.cancel_timers()


async def test_a_delegation_belongs_to_the_turn_under_way_where_it_was_made_or_to_the_one_starting_there() -> None:
    clock = ManualClock()
    live, seen = turns(clock)
    live.output_audio(delta(100))
    live.output_transcript({"delta": "Hello.", "start_ms": 0, "end_ms": 100})
    clock.advance(SEGMENT_GAP_S)
    await asyncio.wait_for(seen.ended.wait(), 1)
    live.output_audio(delta(100))
    live.output_transcript({"delta": "Let me check.", "start_ms": 100, "end_ms": 200})
    first, second = [e.response_id for e in seen if isinstance(e, ResponseStarted)]
    assert live.turn_at(50).response_id == first
    assert live.turn_at(100).response_id == second  # delegated as the second turn starts
    assert live.turn_at(150).response_id == second
    assert live.turn_at(200) is None  # after both: a call of its own
    live.cancel_timers()
