"""GPT-Live's delegated tools (Responses delegation), the bookkeeping the adapter needs:

* which turn of the model a function call belongs to. The call arrives nested in `response.event`
  for a delegation; `session.delegation.created{offset_ms}` says where on the session timeline the
  model delegated, and that places it in one of the model's turns (`LiveTurns.turn_at`). The
  `ToolCall` carries that turn's response id, so the agent treats a call of a turn the callee cut
  short as on Realtime (a call of a cancelled response): it is not run. A call that arrives while
  the callee talks over its turn waits until the turn ends, yielded or not (`turn_ended`).
* when a backend response may be continued: one `response.create` once it finished and every one
  of its calls has an output. The backend of a turn the callee cut short is not continued (as no
  response follows an interrupted tool call on Realtime): the model gave the callee the floor.

Contract: ../shared/docs/openai-live.md §4.2; the SDK's DelegationCreatedEvent, ResponseEvent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.ports.voice_model import ToolCall
from engine.voice.live_turns import AgentSegment


class LiveDelegations:
    def __init__(
        self, turn_at: Callable[[int], AgentSegment | None], talked_over: Callable[[str], bool]
    ) -> None:
        self._turn_at = turn_at
        self._talked_over = talked_over
        self._held: list[ToolCall] = []  # calls of a turn the callee talks over, until it ends
        self._offsets: dict[str, int] = {}  # delegation id -> where the model delegated (session ms)
        self._turns: dict[str, AgentSegment | None] = {}  # delegation id -> its turn, once placed
        self._calls: dict[str, list[str]] = {}  # delegation id -> its backend response's call ids
        self._outputs: set[str] = set()  # call ids whose output was sent
        self._completed: set[str] = set()  # delegations whose backend response finished

    def created(self, event: dict[str, Any]) -> None:
        delegation = event.get("delegation") or {}
        if delegation.get("id") and event.get("offset_ms") is not None:
            self._offsets[str(delegation["id"])] = int(event["offset_ms"])

    def function_call(self, delegation_id: str, call: dict[str, Any]) -> ToolCall | None:
        """The call for the agent, or None while it is held."""
        call_id = str(call.get("call_id") or "")
        self._calls.setdefault(delegation_id, []).append(call_id)
        turn = self._turn(delegation_id)
        response_id = turn.response_id if turn is not None else delegation_id
        tool_call = ToolCall(response_id, call_id, str(call.get("name") or ""), call.get("arguments") or "")
        if self._talked_over(response_id):
            self._held.append(tool_call)
            return None
        return tool_call

    def turn_ended(self) -> list[ToolCall]:
        """A turn of the model ended (its ResponseDone is out): the calls held for it."""
        held, self._held = self._held, []
        return held

    def completed(self, delegation_id: str) -> int:
        """The backend response finished: how many `response.create` to send now."""
        self._completed.add(delegation_id)
        return self._continuations()

    def output_sent(self, call_id: str) -> int:
        self._outputs.add(call_id)
        return self._continuations()

    def _turn(self, delegation_id: str) -> AgentSegment | None:
        if delegation_id not in self._turns:
            offset = self._offsets.get(delegation_id)
            self._turns[delegation_id] = self._turn_at(offset) if offset is not None else None
        return self._turns[delegation_id]

    def _continuations(self) -> int:
        due = 0
        for delegation_id in list(self._completed):
            calls = self._calls.get(delegation_id, [])
            if calls and not all(call_id in self._outputs for call_id in calls):
                continue
            self._completed.discard(delegation_id)
            self._calls.pop(delegation_id, None)
            self._offsets.pop(delegation_id, None)
            turn = self._turns.pop(delegation_id, None)
            if calls and not (turn is not None and turn.yielded):
                due += 1
        return due
