"""What the Realtime simulator says: replies, and the responders that choose them.

Tests script a conversation with `ScriptedReplies([Reply(...), ...])`;
`opendeep serve` without an OpenAI key uses `ConversationalResponder`, a small
persona that greets, answers the callee, records an outcome and hangs up.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

MS_PER_CHARACTER = 60  # rough speaking rate for made-up audio lengths


@dataclass(frozen=True, slots=True)
class SimToolCall:
    name: str
    arguments: dict[str, Any] | str  # a str is sent verbatim (to test invalid JSON)

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass(frozen=True, slots=True)
class Reply:
    """One model response: spoken text (as tone audio), then optional tool calls."""

    text: str = ""
    audio_ms: int | None = None  # default: from the text length; 0 = no audio
    tool_calls: tuple[SimToolCall, ...] = ()
    hold_after_ms: int | None = None  # stream this much audio, then wait for `release()` or a cancel
    late_deltas: int = 0  # audio deltas still sent after a cancel, like frames already in flight

    @property
    def duration_ms(self) -> int:
        if self.audio_ms is not None:
            return self.audio_ms
        return max(200, len(self.text) * MS_PER_CHARACTER) if self.text else 0


@dataclass(slots=True)
class Turn:
    """What a responder knows when the simulator must answer."""

    connection: int  # 0 for the first connection of the simulator, 1 for the next, ...
    trigger: str  # "response.create" | "speech" | "idle"
    session_instructions: str
    response_instructions: str | None = None
    callee_text: str | None = None  # transcript of the speech that triggered this turn
    new_items: list[dict[str, Any]] = field(default_factory=list)  # client items since the last response
    tool_names: list[str] = field(default_factory=list)


class Responder(Protocol):
    def reply(self, turn: Turn) -> Reply: ...


class ScriptedReplies:
    """Replies in order; when the script runs out, a short acknowledgement."""

    def __init__(self, replies: list[Reply] | None = None, default: Reply | None = None) -> None:
        self._replies: deque[Reply] = deque(replies or [])
        self._default = default or Reply("Okay.")
        self.turns: list[Turn] = []

    def add(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    def reply(self, turn: Turn) -> Reply:
        self.turns.append(turn)
        return self._replies.popleft() if self._replies else self._default


_QUOTED = re.compile(r"\"([^\"]{3,})\"")
_OBJECTIVE = re.compile(r"^Objective: (.+)$", re.MULTILINE)


class ConversationalResponder:
    """A believable stand-in for a real model, good enough for demos and end-to-end runs.

    Stages per connection: greet (speaking the quoted greeting of the runtime's
    instructions), state the objective, then thank, record the outcome and end
    the call. Tool outputs get a short acknowledgement.
    """

    def __init__(self) -> None:
        self._stage: dict[int, int] = {}

    def reply(self, turn: Turn) -> Reply:
        if turn.trigger == "response.create" and any(i.get("type") == "function_call_output" for i in turn.new_items):
            return Reply("Alright, thank you.")
        if turn.response_instructions:
            quoted = _QUOTED.search(turn.response_instructions)
            if quoted:
                return Reply(quoted.group(1))
            return Reply("One moment please.")
        stage = self._stage.get(turn.connection, 0)
        self._stage[turn.connection] = stage + 1
        objective = _OBJECTIVE.search(turn.session_instructions)
        if stage == 0:
            about = objective.group(1) if objective else "a request"
            return Reply(f"Thanks. I'm calling about this: {about}")
        calls = []
        if "record_outcome" in turn.tool_names:
            summary = f"Simulated conversation; the callee said: {turn.callee_text or 'nothing we understood'}"
            calls.append(
                SimToolCall("record_outcome", {"achieved": True, "summary": summary[:400], "facts_learned": []})
            )
        if "end_call" in turn.tool_names:
            calls.append(SimToolCall("end_call", {"reason": "conversation complete"}))
        return Reply("That's everything I needed. Thank you, goodbye!", tool_calls=tuple(calls))
