"""Fake-model behaviour for calls where the agent needs its owner (HITL).

A real callee (the simulator's talker) answers after everything the agent
says, so the order of model turns depends on timing. This responder picks its
reply from what the conversation holds, not from a turn count, so the same
scene plays out however the turns interleave.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.voice.simulator.script import Reply, SimToolCall, Turn


def _notes(turn: Turn) -> list[str]:
    return [
        str((item.get("content") or [{}])[0].get("text", ""))
        for item in turn.new_items
        if item.get("type") == "message"
    ]


def _goodbye(summary: str, *, achieved: bool = True) -> tuple[SimToolCall, ...]:
    return (
        SimToolCall("record_outcome", {"achieved": achieved, "summary": summary}),
        SimToolCall("end_call", {"reason": "conversation complete"}),
    )


@dataclass
class NeedsTheOwner:
    """Greets, asks the owner `question` at the callee's first turn, holds, then acts on the answer."""

    question: str
    timeout_s: int = 60
    known_answer: str | None = None  # carried from an earlier call: no need to ask
    turns: list[Turn] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    asked: bool = False

    def reply(self, turn: Turn) -> Reply:
        self.turns.append(turn)
        reply = self._choose(turn)
        self.said.append(reply.text)
        return reply

    def _choose(self, turn: Turn) -> Reply:
        notes = _notes(turn)
        if turn.response_instructions and "greeting" in turn.response_instructions:
            return Reply("Hello, this is an AI assistant calling for Ada about her cleaning.", audio_ms=1500)
        if any("answered your question" in note for note in notes):
            return Reply("Thursday at three works for Ada. Thank you, goodbye!", audio_ms=1200,
                         tool_calls=_goodbye("Booked Thursday at 3 pm, as Ada confirmed"))
        if any("could not answer in time" in note for note in notes):
            return Reply("I will call you back once I know. Goodbye!", audio_ms=1200,
                         tool_calls=(SimToolCall("end_call", {"reason": "waiting for Ada"}),))
        if any(item.get("type") == "function_call_output" for item in turn.new_items):
            return Reply("One moment please, I am checking with Ada.", audio_ms=900)
        if self.known_answer is not None and self.known_answer in turn.session_instructions:
            return Reply("Ada says Thursday at three works. Goodbye!", audio_ms=1200,
                         tool_calls=_goodbye("Booked Thursday at 3 pm with the answer from the last call"))
        if not self.asked and turn.trigger == "speech":
            self.asked = True
            return Reply("Let me check that with Ada.", audio_ms=800, tool_calls=(
                SimToolCall("request_user_info", {"question": self.question, "timeout_seconds": self.timeout_s}),
            ))
        return Reply("Still checking, thank you for waiting.", audio_ms=900)
