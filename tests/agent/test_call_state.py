"""The call's state machine: one place changes the state, logs old -> new, records the step, refuses illegal moves."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from engine.agent.state import TRANSITIONS, CallState, CallStatus, CallStep, IllegalTransition
from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig

S = CallState
GREETING = Reply("Hello, this is an AI assistant calling on behalf of Anna Schmidt.", audio_ms=400)


def status() -> tuple[CallStatus, list[tuple[str, str, dict[str, Any] | None]]]:
    recorded: list[tuple[str, str, dict[str, Any] | None]] = []

    async def record(kind: str, message: str, data: dict[str, Any] | None) -> None:
        recorded.append((kind, message, data))

    return CallStatus("call-9", record), recorded


async def test_a_move_is_logged_old_to_new_and_records_its_step(caplog) -> None:
    call, recorded = status()
    with caplog.at_level(logging.INFO, logger="engine.agent.state"):
        await call.set(S.CONNECTING, CallStep("answered", "the callee answered"))
        await call.set(S.CONVERSING)
    assert call.state is S.CONVERSING and call.answered
    assert recorded == [("answered", "the callee answered", None)]  # a move without a step records nothing
    assert "call call-9: ringing -> connecting (the callee answered)" in caplog.messages
    assert "call call-9: connecting -> conversing" in caplog.messages


@pytest.mark.parametrize(
    "path, illegal",
    [
        ((), S.CONVERSING),  # no conversation before the answer
        ((), S.ENDING),
        ((S.NOT_ANSWERED,), S.CONNECTING),  # not answered is final
        ((S.CONNECTING,), S.ENDING),  # no goodbye before the conversation
        ((S.CONNECTING, S.CONVERSING, S.ENDING, S.ENDED), S.CONVERSING),  # no way back once ended
        ((S.CONNECTING, S.CONVERSING, S.ENDED), S.FAILED),  # ended is final
        ((S.CONNECTING, S.FAILED), S.CONVERSING),
    ],
)
async def test_illegal_moves_are_refused_and_change_nothing(path, illegal) -> None:
    call, recorded = status()
    for state in path:
        await call.set(state)
    with pytest.raises(IllegalTransition, match=f"{call.state} -> {illegal}"):
        await call.set(illegal, CallStep("x", "never recorded"))
    assert call.state is (path[-1] if path else S.RINGING)
    assert recorded == []


def test_every_state_has_its_moves_and_the_final_ones_have_none() -> None:
    assert set(TRANSITIONS) == set(CallState)
    assert TRANSITIONS[S.ENDED] == TRANSITIONS[S.NOT_ANSWERED] == frozenset()


async def test_who_hung_up_and_why_it_failed_are_set_by_the_moves_that_decide_them() -> None:
    call, _ = status()
    await call.set(S.CONNECTING)
    await call.set(S.FAILED, CallStep("agent_failure", "voice model unavailable"), failure="voice model unavailable")
    assert (call.failure, call.winding_down, call.over) == ("voice model unavailable", True, False)
    await call.set(S.ENDED, hangup_by="agent")
    assert (call.hangup_by, call.over, call.hung_up) == ("agent", True, True)


async def test_a_live_call_ends_in_the_ended_state_hung_up_by_the_callee(provider: str) -> None:
    async with call_rig([GREETING], provider=provider) as rig:
        await rig.media.wait_sent(400 * 8)
        assert rig.agent.status.state is S.CONVERSING
        rig.call.callee_hangs_up()
        report = await rig.result()
    assert rig.agent.status.state is S.ENDED
    assert report.hangup_by == "callee" and [e.kind for e in rig.recorder.events["call-1"]][0] == "answered"
