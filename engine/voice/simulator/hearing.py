"""The simulator's ears: the input audio buffer, turn detection on what it receives, input
transcription, and the idle timeout, all on the input audio timeline (ms of audio received).

With the switch `energy_vad` on, `EnergyVad` runs on every appended frame with the session's
`turn_detection` settings: speech_started (cancelling an active response when
`interrupt_response` is true), then speech_stopped, committed, the user item and, when
`create_response` is true and no response is running, a response. `idle_timeout_ms`
(server_vad only) counts from the end of the last response's playback (`response.done`
plus its audio length) and fires `input_audio_buffer.timeout_triggered`, commits the silent
audio and makes the model respond. Tests can also script turns (`SimulatedSession.callee_says`).
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.voice.simulator.controls import SimulatorControls
from engine.voice.simulator.line import EchoPath, decode
from engine.voice.simulator.session_config import input_rate
from engine.voice.simulator.vad import FRAME_MS, EnergyVad, VadSettings


class Listener(Protocol):
    """The connection that hears: one `SimulatedSession` (engine.voice.simulator.session)."""

    sim: SimulatorControls
    session: dict[str, Any]
    items: list[dict[str, Any]]
    input_ms: int

    @property
    def response_active(self) -> bool: ...

    @property
    def cancel_reason(self) -> str | None: ...

    def send(self, event: dict[str, Any]) -> None: ...

    def cancel_idle(self) -> None: ...

    def cancel_response(self, reason: str) -> None: ...

    async def response_finished(self) -> None: ...

    def start_response(
        self,
        trigger: str,
        *,
        instructions: str | None = None,
        callee_text: str | None = None,
        callee_ms: int | None = None,
    ) -> None: ...


class Hearing:
    def __init__(self, session: Listener) -> None:
        self._s = session
        self.speech_item: str | None = None  # the user item of the speech in progress
        self.idle_from_ms: float | None = None  # playback of the last response ends here
        self._vad = EnergyVad()
        self._samples = 0  # input samples received, at the input rate
        self._carry = b""
        self._echo = EchoPath(session.sim.echo) if session.sim.echo is not None else None

    # --- what the session sees -----------------------------------------------------------

    @property
    def _input(self) -> dict[str, Any]:
        return self._s.session["audio"]["input"]

    @property
    def _rate(self) -> int:
        return input_rate(self._input["format"])

    def _position_ms(self, samples: int) -> int:
        return samples * 1000 // self._rate

    # --- the input audio buffer --------------------------------------------------------------

    async def append(self, audio: bytes) -> None:
        pcm = decode(audio, self._input["format"]["type"])
        if self._echo is not None:
            pcm = self._echo.mix(pcm, self._samples + len(self._carry) // 2)
        data = self._carry + pcm
        frame_bytes = self._rate * FRAME_MS // 1000 * 2
        offset = 0
        while offset + frame_bytes <= len(data):
            self._samples += frame_bytes // 2
            self._s.input_ms = self._position_ms(self._samples)
            await self._frame(data[offset : offset + frame_bytes])
            offset += frame_bytes
        self._carry = data[offset:]

    async def _frame(self, pcm16: bytes) -> None:
        detection = self._input.get("turn_detection")
        if detection is None:
            return
        if self._s.sim.energy_vad:
            change = self._vad.frame(pcm16, self._s.input_ms, VadSettings.from_turn_detection(detection))
            if change is not None and change.kind == "started":
                await self.speech_started(change.ms)
            elif change is not None:
                text = self._s.sim.words_of_turn(change.speech_ms)
                await self.speech_stopped(
                    text or f"(callee speech, {change.speech_ms} ms)", change.ms, change.speech_ms
                )
        idle_ms = detection.get("idle_timeout_ms") if detection.get("type") == "server_vad" else None
        if (
            idle_ms
            and self.idle_from_ms is not None
            and self.speech_item is None
            and not self._s.response_active
            and self._s.input_ms >= self.idle_from_ms + idle_ms
        ):
            await self._idle_timeout(int(self.idle_from_ms))

    def commit_by_client(self) -> bool:
        """`input_audio_buffer.commit`: the buffer since the last commit becomes a user item (no
        speech_stopped, no response); False when it holds less than 100 ms."""
        if self._s.input_ms - self._vad.segment_start_ms < 100:
            return False
        item_id = self.speech_item or self._s.sim.next_id("item")
        self.speech_item = None
        self._commit(item_id)
        self._transcribe(item_id, self._s.sim.callee_lines.pop(0) if self._s.sim.callee_lines else "")
        self._vad.reset(self._s.input_ms)
        return True

    def clear(self) -> None:
        self.speech_item = None
        self._vad.reset(self._s.input_ms)

    # --- turns -----------------------------------------------------------------------------------

    async def speech_started(self, audio_start_ms: int | None = None) -> None:
        s = self._s
        self.speech_item = s.sim.next_id("item")
        self.idle_from_ms = None
        s.cancel_idle()
        start = s.input_ms if audio_start_ms is None else audio_start_ms
        s.send({"type": "input_audio_buffer.speech_started", "audio_start_ms": start, "item_id": self.speech_item})
        detection = self._input.get("turn_detection") or {}
        if s.response_active and detection.get("interrupt_response", True):
            s.cancel_response("turn_detected")

    async def speech_stopped(
        self, transcript: str, audio_end_ms: int | None = None, speech_ms: int | None = None
    ) -> None:
        s = self._s
        item_id = self.speech_item or s.sim.next_id("item")
        self.speech_item = None
        end = s.input_ms if audio_end_ms is None else audio_end_ms
        s.send({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": end, "item_id": item_id})
        self._commit(item_id)
        self._transcribe(item_id, transcript)
        detection = self._input.get("turn_detection") or {}
        if s.response_active and s.cancel_reason is not None:
            await s.response_finished()  # the interrupted response is still winding down
        if detection and detection.get("create_response", True) and not s.response_active:
            s.start_response("speech", callee_text=transcript, callee_ms=speech_ms)

    async def _idle_timeout(self, audio_start_ms: int) -> None:
        s = self._s
        self.idle_from_ms = None
        item_id = s.sim.next_id("item")
        s.send(
            {
                "type": "input_audio_buffer.timeout_triggered",
                "audio_start_ms": audio_start_ms,
                "audio_end_ms": s.input_ms,
                "item_id": item_id,
            }
        )
        self._commit(item_id)
        self._vad.reset(s.input_ms)
        s.start_response("idle")

    def _commit(self, item_id: str) -> None:
        s = self._s
        previous = s.items[-1]["id"] if s.items else None
        s.send({"type": "input_audio_buffer.committed", "item_id": item_id, "previous_item_id": previous})
        item = {
            "id": item_id,
            "type": "message",
            "role": "user",
            "status": "completed",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        s.items.append(item)
        s.send({"type": "conversation.item.added", "item": item, "previous_item_id": previous})
        s.send({"type": "conversation.item.done", "item": item, "previous_item_id": previous})

    def _transcribe(self, item_id: str, transcript: str) -> None:
        s = self._s
        if not self._input.get("transcription"):
            return
        where = {"item_id": item_id, "content_index": 0}
        if s.sim.failing_transcriptions:
            code = s.sim.failing_transcriptions.pop(0)
            error = {
                "type": "transcription_error",
                "code": code,
                "message": f"simulated failure: {code}",
                "param": None,
            }
            s.send({"type": "conversation.item.input_audio_transcription.failed", **where, "error": error})
            return
        s.send({"type": "conversation.item.input_audio_transcription.delta", **where, "delta": transcript})
        s.send(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                **where,
                "transcript": transcript,
                "usage": {"type": "duration", "seconds": round(s.input_ms / 1000, 3)},
            }
        )

    # --- the agent's audio on the line ------------------------------------------------------------

    def agent_audio(self, pcm16: bytes, out_rate: int) -> None:
        if self._echo is not None:
            self._echo.played(pcm16, out_rate, self._s.input_ms, self._rate)

    def agent_audio_stopped(self) -> None:
        if self._echo is not None:
            self._echo.stop(self._s.input_ms, self._rate)

    def response_done(self, spoken_ms: float) -> None:
        """Arms the idle timeout: playback of this response ends `spoken_ms` after now."""
        if self.speech_item is None:
            self.idle_from_ms = self._s.input_ms + spoken_ms
