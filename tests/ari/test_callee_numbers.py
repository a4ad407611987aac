"""The test numbers through `Local/{number}@callee-numbers/n`: the same personas as the
simulator's `PJSIP/{number}@trunk`, on a real Asterisk (asterisk/extensions.conf) too."""

import re
import uuid
from pathlib import Path

import pytest

from ari_apps.simulator.personas import TEST_NUMBERS
from engine.ports.telephony import CallOutcome, DialRequest, MarkPlayed

from .fakes import collect_until
from .test_calls import assert_nothing_left

NUMBERS_ENDPOINT = "Local/{number}@callee-numbers/n"
EXTENSIONS_CONF = Path(__file__).resolve().parents[2] / "asterisk" / "extensions.conf"


def test_the_dialplan_maps_every_test_number_to_its_persona():
    text = EXTENSIONS_CONF.read_text()
    context = text.partition("\n[callee-numbers]")[2].partition("\n[")[0]
    mapped = dict(re.findall(r"^exten => (\+\d+),1,Goto\(callee-([a-z-]+),s,1\)", context, re.M))
    assert mapped == TEST_NUMBERS
    assert "exten => _+X.,1,Goto(callee-talker,s,1)" in context  # any other number: the talker
    for persona in set(TEST_NUMBERS.values()):
        assert f"\n[callee-{persona}]" in text


@pytest.mark.parametrize(
    "number, outcome, cause",
    [
        ("+12025550102", CallOutcome.BUSY, 17),
        ("+12025550103", CallOutcome.CONGESTION, 34),
        ("+12025550105", CallOutcome.UNALLOCATED, 1),
    ],
)
async def test_unanswered_numbers(number, outcome, cause, target, make_telephony):
    telephony = await make_telephony(dial_endpoint=NUMBERS_ENDPOINT)
    call_id = str(uuid.uuid4())
    call = await telephony.originate(DialRequest(call_id, number, ring_timeout_s=4))
    assert await call.answered() is False
    result = await call.finished()
    assert (result.outcome, result.q850_cause) == (outcome, cause)
    await assert_nothing_left(telephony, target, call_id)


@pytest.mark.parametrize("number", ["+12025550100", "+12025550199"])  # echo; unknown, so the talker
async def test_answering_numbers(number, target, make_telephony):
    telephony = await make_telephony(dial_endpoint=NUMBERS_ENDPOINT)
    call_id = str(uuid.uuid4())
    call = await telephony.originate(DialRequest(call_id, number))
    assert await call.answered() is True
    if target.sim:
        assert target.sim.callee(call_id).persona == TEST_NUMBERS.get(number, "talker")
    await call.media.send_audio(bytes(range(1, 161)) * 10)
    await call.media.mark("said")
    await collect_until(call.media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen))
    await call.hangup()
    assert (await call.finished()).outcome is CallOutcome.ANSWERED
    await assert_nothing_left(telephony, target, call_id)
