"""GPT-Live's turns, inferred: the port's turn events rebuilt from a wire that marks none.

The service sends output audio with no ids and no end of turn, transcripts as fragments on the
session timeline, and nothing when the callee starts or stops talking. `LiveTurns` infers:

* agent turns ("segments"): a segment ends once no output audio came for `segment_gap_s` and the
  audio received would have finished playing (output may come at playback pace or in faster
  bursts), or when a callee transcript starts after the segment's transcript ends on the session
  timeline. Time is the injected clock's. A segment opens with ResponseStarted, gets
  AgentTranscript as its fragments come (there is no transcript-done event) and closes with
  AudioDone and ResponseDone;
* callee turns: a local energy VAD on the audio we push (the simulator's `EnergyVad`), and input
  transcript fragments. A turn that starts while the model is silent is reported at once
  (SpeechStarted: the agent clears the line's queue, as on Realtime). One that starts while the
  model talks is left to the model: if its output stops while the callee speaks, the model
  yielded, and SpeechStarted comes before the segment closes as cancelled; if the model talks
  on (overlap, a backchannel), nothing is cut. A callee turn ends when our VAD hears silence
  and no fragment came for `callee_gap_s`, or when the model takes the floor.

Each segment is kept with its span on the session timeline and how it ended, so a delegation
(`session.delegation.created{offset_ms}`) can be matched to the turn in which the model made it.
"""

from __future__ import annotations

import base64
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.clock import Clock, Deadline
from engine.ports.telephony import AudioFormat
from engine.ports.voice_model import (
    AgentTranscript,
    AudioDelta,
    AudioDone,
    CalleeTranscript,
    ResponseDone,
    ResponseStarted,
    SpeechStarted,
    SpeechStopped,
    Usage,
    VoiceEvent,
)
from engine.voice.codecs import ulaw_to_pcm16
from engine.voice.simulator.vad import FRAME_MS, EnergyVad, VadSettings

SEGMENT_GAP_S = 0.3  # this long without output audio (once what came has played) ends the model's turn
CALLEE_GAP_S = 0.5  # this long without a transcript fragment (and our VAD hearing silence) ends the callee's

# The callee's speech on the line, as our own VAD hears it; a stop here only ends the transcript turn.
_VAD = VadSettings(threshold=0.5, prefix_padding_ms=0, silence_duration_ms=500)


@dataclass(slots=True)
class AgentSegment:
    response_id: str
    item_id: str
    text: list[str] = field(default_factory=list)
    end_ms: int | None = None  # where its transcript reaches on the session timeline
    yielded: bool = False  # it ended because the callee took the floor

    def timed(self, event: dict[str, Any]) -> None:
        if event.get("end_ms") is not None:
            self.end_ms = max(self.end_ms or 0, int(event["end_ms"]))


@dataclass(slots=True)
class _CalleeTurn:
    item_id: str
    start_ms: int
    announced: bool = False  # SpeechStarted was emitted
    text: list[str] = field(default_factory=list)


class LiveTurns:
    def __init__(
        self,
        clock: Clock,
        media_format: AudioFormat,
        bytes_per_ms: int,
        emit: Callable[[VoiceEvent], None],
        take_usage: Callable[[], Usage],
        on_agent_speaks: Callable[[], None],
        *,
        segment_gap_s: float = SEGMENT_GAP_S,
        callee_gap_s: float = CALLEE_GAP_S,
        on_agent_quiet: Callable[[], None] = lambda: None,
    ) -> None:
        self._on_agent_quiet = on_agent_quiet  # a turn of the model's ended
        self._clock = clock
        self._media_format = media_format
        self._bytes_per_ms = bytes_per_ms
        self._emit = emit
        self._take_usage = take_usage
        self._on_agent_speaks = on_agent_speaks
        self._segment_gap_s = segment_gap_s
        self._callee_gap_s = callee_gap_s
        self._ids = itertools.count(1)
        self._segment: AgentSegment | None = None
        self._segment_end = Deadline(clock, self._end_segment, "live-segment-end")
        self._last_output_at = 0.0  # clock time of the latest output audio
        self._output_played_at = 0.0  # clock time at which the output received so far has played
        self._early: list[dict[str, Any]] = []  # output transcript fragments ahead of their audio
        self._past: deque[AgentSegment] = deque(maxlen=32)  # ended segments, latest last
        self._callee: _CalleeTurn | None = None
        self._callee_end = Deadline(clock, self._callee_quiet, "live-callee-quiet")
        self._vad = EnergyVad()
        self._input_ms = 0
        self._carry = b""

    @property
    def agent_speaking(self) -> bool:
        """The model is in a turn of its own (its audio has not paused for the segment gap yet)."""
        return self._segment is not None

    def cancel_timers(self) -> None:
        self._segment_end.cancel()
        self._callee_end.cancel()

    def talked_over(self, response_id: str) -> bool:
        """The callee talks over this turn, which is still under way: the model may be yielding."""
        segment, callee = self._segment, self._callee
        talking = callee is not None and not callee.announced
        return talking and segment is not None and segment.response_id == response_id

    def turn_at(self, offset_ms: int) -> AgentSegment | None:
        """The model's turn at `offset_ms` of the session timeline: the first segment still under way
        there, or the one that starts next (the model delegates, then speaks)."""
        segments = [*self._past, *([self._segment] if self._segment is not None else [])]
        return next((s for s in segments if s.end_ms is not None and s.end_ms > offset_ms), None)

    # --- the agent's turns (segments of output audio) ------------------------------------

    def output_audio(self, event: dict[str, Any]) -> None:
        audio = base64.b64decode(event.get("delta", ""))
        if not audio:
            return
        segment = self._segment
        if segment is None:
            if self._callee is not None and not self._vad.speaking:
                self._end_callee_turn()  # the floor changed hands
            n = next(self._ids)
            segment = self._segment = AgentSegment(f"live_out_{n}", f"live_item_{n}")
            early, self._early = self._early, []
            for fragment in early:
                segment.text.append(str(fragment.get("delta") or ""))
                segment.timed(fragment)
            self._on_agent_speaks()
            self._emit(ResponseStarted(segment.response_id))
            if segment.text:
                self._emit(AgentTranscript(segment.response_id, segment.item_id, "".join(segment.text).strip()))
        ms = len(audio) / self._bytes_per_ms
        self._emit(AudioDelta(segment.response_id, segment.item_id, audio, ms))
        now = self._clock.monotonic()
        self._last_output_at = now
        self._output_played_at = max(self._output_played_at, now) + ms / 1000
        self._watch_segment()

    def output_transcript(self, event: dict[str, Any]) -> None:
        segment = self._segment
        if segment is None:
            self._early.append(event)
            return
        segment.text.append(str(event.get("delta") or ""))
        segment.timed(event)
        # No transcript-done event exists: the agent gets the text so far, so a turn cut short (or a
        # call that ends) keeps what was said up to then.
        self._emit(AgentTranscript(segment.response_id, segment.item_id, "".join(segment.text).strip()))

    def _watch_segment(self) -> None:
        """(Re)arm the end of the segment. While the callee talks over it, the model yields by going
        quiet: `segment_gap_s` after its last audio, whatever we still hold of it (the agent drops
        that). Otherwise the turn lasts until what it sent has played, and at least that gap."""
        quiet_at = self._last_output_at + self._segment_gap_s
        if self._callee is None or self._callee.announced:
            quiet_at = max(quiet_at, self._output_played_at)
        if quiet_at <= self._clock.monotonic() + 1e-9:
            self._end_segment()
        else:
            self._segment_end.at(quiet_at)

    def _end_segment(self) -> None:
        segment, self._segment = self._segment, None
        self._segment_end.cancel()
        if segment is None:
            return
        self._past.append(segment)
        self._output_played_at = self._clock.monotonic()  # what it sent has played, or is dropped (a yield)
        segment.yielded = self._callee is not None and not self._callee.announced
        if segment.yielded:  # the model stopped while the callee talked: it gave them the floor
            self._announce_callee()
        self._emit(AudioDone(segment.response_id, segment.item_id))
        status, reason = ("cancelled", "turn_detected") if segment.yielded else ("completed", "")
        self._emit(ResponseDone(segment.response_id, status, reason, self._take_usage()))
        self._on_agent_quiet()

    # --- the callee's turns ----------------------------------------------------------------

    def hear(self, audio: bytes) -> None:
        pcm = ulaw_to_pcm16(audio) if self._media_format is AudioFormat.ULAW else audio
        data = self._carry + pcm
        frame = self._media_format.sample_rate * FRAME_MS // 1000 * 2
        offset = 0
        while offset + frame <= len(data):
            self._input_ms += FRAME_MS
            change = self._vad.frame(data[offset : offset + frame], self._input_ms, _VAD)
            if change is not None and change.kind == "started":
                self._callee_heard(change.ms)
            elif change is not None:
                self._arm_callee_timer()
            offset += frame
        self._carry = data[offset:]

    def input_transcript(self, event: dict[str, Any]) -> None:
        start_ms = int(event.get("start_ms") or 0)
        segment = self._segment
        if segment is not None and segment.end_ms is not None and start_ms > segment.end_ms:
            # On the session timeline the model had finished before the callee spoke: its turn is over,
            # though its audio came faster than real time and the gap has not elapsed here yet.
            self._end_segment()
        self._callee_heard(start_ms)
        assert self._callee is not None
        self._callee.text.append(str(event.get("delta") or ""))
        self._arm_callee_timer()

    def _callee_heard(self, start_ms: int) -> None:
        if self._callee is None:
            self._callee = _CalleeTurn(f"live_in_{next(self._ids)}", start_ms)
            if self._segment is None:
                self._announce_callee()
            else:  # the callee talks over the model, which decides whether to yield
                self._watch_segment()

    def _announce_callee(self) -> None:
        assert self._callee is not None
        self._callee.announced = True
        self._emit(SpeechStarted(self._callee.item_id, self._callee.start_ms))

    def _arm_callee_timer(self) -> None:
        self._callee_end.at(self._clock.monotonic() + self._callee_gap_s)

    def _callee_quiet(self) -> None:
        if self._callee is not None and not self._vad.speaking:
            self._end_callee_turn()

    def _end_callee_turn(self) -> None:
        turn, self._callee = self._callee, None
        self._callee_end.cancel()
        if turn is None:
            return
        # The end of speech first, then its words (as on Realtime, where the transcription completes
        # after speech_stopped): what heard the turn end knows nothing of its words yet.
        self._emit(SpeechStopped(turn.item_id, self._input_ms))
        text = "".join(turn.text).strip()
        if text:
            self._emit(CalleeTranscript(turn.item_id, text))
