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
    callee_ms: int | None = None  # how long that speech was voiced, when the simulator heard it
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
_MACHINE_CUES = re.compile(
    r"voice ?mail|leave (?:a|your) message|after the (?:tone|beep)|\bbeep\b|mailbox|not available right now", re.I
)
_MENU_OPTION = re.compile(r"(?:for|to) ([^,.;]+?),? press ([0-9*#])|press ([0-9*#]) (?:for|to) ([^,.;]+)", re.I)
_WORD = re.compile(r"[a-z]{4,}")
MACHINE_GREETING_MS = 3000  # a first turn this long, before we have said why we call, is a recorded greeting


@dataclass(slots=True)
class _CallNotes:
    """What the responder has learned about the callee of one connection."""

    stage: int = 0  # 0: greeted; 1: the objective was stated; 2: done
    machine: bool = False
    keys_pressed: str = ""
    answered: bool = False  # a person answered after hearing the objective


class ConversationalResponder:
    """A believable stand-in for a real model, good enough for demos and end-to-end runs.

    It judges the callee by what it hears: an answering machine (its cues in the transcript, or
    a first turn longer than `MACHINE_GREETING_MS`) is reported as a machine and never achieves
    anything; an IVR menu ("for billing, press 2") gets the key whose option shares words with
    the objective; a person hears the objective, and the outcome is achieved only if the person
    answered it. Stages per connection: greet (speaking the quoted greeting of the runtime's
    instructions), state the objective, then thank, record the outcome and end the call.
    """

    def __init__(self) -> None:
        self._calls: dict[int, _CallNotes] = {}

    def reply(self, turn: Turn) -> Reply:
        notes = self._calls.setdefault(turn.connection, _CallNotes())
        outputs = [i for i in turn.new_items if i.get("type") == "function_call_output"]
        if turn.trigger == "response.create" and outputs:
            return Reply("") if notes.keys_pressed or notes.machine else Reply("Alright, thank you.")
        if turn.response_instructions:
            quoted = _QUOTED.search(turn.response_instructions)
            if quoted and notes.machine:  # the message the task leaves on a machine
                return Reply(quoted.group(1), tool_calls=_tools(turn, end_call="voicemail left"))
            return Reply(quoted.group(1) if quoted else "One moment please.")
        heard = turn.callee_text or ""
        if turn.trigger == "speech" and (_MACHINE_CUES.search(heard) or self._long_greeting(turn, notes)):
            return self._machine(turn, notes, heard)
        digit = _menu_choice(heard, turn.session_instructions) if turn.trigger == "speech" else None
        if digit is not None and "send_dtmf" in turn.tool_names:
            notes.keys_pressed += digit
            return Reply("", tool_calls=(SimToolCall("send_dtmf", {"digits": digit}),))
        return self._person(turn, notes)

    def _long_greeting(self, turn: Turn, notes: _CallNotes) -> bool:
        return notes.stage == 0 and (turn.callee_ms or 0) >= MACHINE_GREETING_MS

    def _machine(self, turn: Turn, notes: _CallNotes, heard: str) -> Reply:
        notes.machine = True
        evidence = heard[:200] or "a long recorded greeting"
        if "answering_machine_detected" in turn.tool_names:  # the runtime applies the task's machine policy
            return Reply("", tool_calls=(SimToolCall("answering_machine_detected", {"evidence": evidence}),))
        summary = f"Reached an answering machine ({evidence})"
        return Reply("", tool_calls=_tools(turn, outcome=(False, summary), end_call="answering machine"))

    def _person(self, turn: Turn, notes: _CallNotes) -> Reply:
        if notes.machine:
            return Reply("")
        if notes.stage == 0:
            notes.stage = 1
            objective = _OBJECTIVE.search(turn.session_instructions)
            about = objective.group(1) if objective else "a request"
            return Reply(f"Thanks. I'm calling about this: {about}")
        if turn.trigger == "idle" and notes.stage == 1 and not notes.answered:
            notes.stage = 2
            summary = "The callee did not answer the request"
            calls = _tools(turn, outcome=(False, summary), end_call="no answer")
            return Reply("I'll try again later. Goodbye!", tool_calls=calls)
        notes.answered = notes.answered or turn.trigger == "speech"
        notes.stage = 2
        summary = f"Simulated conversation; the callee said: {turn.callee_text or 'nothing we understood'}"
        calls = _tools(turn, outcome=(notes.answered, summary), end_call="conversation complete")
        return Reply("That's everything I needed. Thank you, goodbye!", tool_calls=calls)


def _tools(
    turn: Turn, *, outcome: tuple[bool, str] | None = None, end_call: str | None = None
) -> tuple[SimToolCall, ...]:
    calls = []
    if outcome is not None and "record_outcome" in turn.tool_names:
        achieved, summary = outcome
        arguments = {"achieved": achieved, "summary": summary[:400], "facts_learned": []}
        calls.append(SimToolCall("record_outcome", arguments))
    if end_call is not None and "end_call" in turn.tool_names:
        calls.append(SimToolCall("end_call", {"reason": end_call}))
    return tuple(calls)


def _menu_choice(heard: str, instructions: str) -> str | None:
    """The key of the menu option that shares most words with the objective (the first on a tie)."""
    options = [(m.group(2) or m.group(3), (m.group(1) or m.group(4)).lower()) for m in _MENU_OPTION.finditer(heard)]
    if not options:
        return None
    objective = _OBJECTIVE.search(instructions)
    wanted = {w.rstrip("s") for w in _WORD.findall((objective.group(1) if objective else "").lower())}
    scores = [len(wanted & {w.rstrip("s") for w in _WORD.findall(label)}) for _, label in options]
    return options[scores.index(max(scores))][0]
