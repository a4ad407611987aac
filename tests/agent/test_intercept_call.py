"""A call answered by the network's intercept (SIT tones, then "not in service"): the agent
stops and hangs up at once, and the call counts as a dead number, never retried."""

from __future__ import annotations

import numpy as np

from ari_apps.simulator.audio import silence, speech
from engine.lifecycle.analysis import AnalysisInput, VerdictKind, decide_by_rules
from engine.ports.telephony import CallOutcome, TelephonyResult
from engine.voice.codecs import pcm16_to_ulaw
from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig

GREETING = Reply("Hello, this is an assistant calling for Anna about her appointment.", audio_ms=3000)


def sit_tones() -> bytes:
    out = b""
    for hz, ms in ((913.8, 274), (1370.6, 274), (1776.7, 380)):
        t = np.arange(8 * ms) / 8000
        out += (np.sin(2 * np.pi * hz * t) * 0.25 * 32767).astype("<i2").tobytes()
    return out


def send_as_callee(rig, pcm8k: bytes) -> None:
    wire = pcm16_to_ulaw(pcm8k)
    for i in range(0, len(wire), 160):
        rig.media.callee_audio(wire[i : i + 160])


async def test_an_intercept_ends_the_call_at_once_as_a_dead_number(provider: str) -> None:
    async with call_rig([GREETING], detect_intercepts=True, provider=provider) as rig:
        await rig.media.wait_sent(200 * 8)  # the greeting has started
        send_as_callee(rig, silence(0.3) + sit_tones() + speech(3.0))  # then "the number you have dialed..."
        await rig.call.wait_hung_up()
        report = await rig.result()
    assert report.hangup_by == "agent"
    assert report.intercept.startswith("special information tones"), [
        (e.kind, e.message) for e in rig.recorder.events["call-1"]
    ]
    assert report.objective is not None and report.objective.wrong_number and not report.objective.achieved
    assert len(rig.speak_requests()) == 1  # the greeting only: nothing said after the tones
    assert "intercept" in [e.kind for e in rig.recorder.events["call-1"]]
    given = AnalysisInput(task=None, telephony=TelephonyResult(CallOutcome.ANSWERED), report=report)
    verdict = decide_by_rules(given)  # the rules: the model analyzer never overrules a wrong number
    assert verdict.kind is VerdictKind.WRONG_NUMBER  # terminal: failed, no retry (engine/lifecycle/verdicts.py)
    assert verdict.reason.startswith("Dead number: special information tones")


async def test_a_person_answering_is_not_an_intercept(provider: str) -> None:
    async with call_rig(
        [GREETING, Reply("Thank you.", audio_ms=300)], detect_intercepts=True, provider=provider
    ) as rig:
        await rig.media.wait_sent(200 * 8)
        send_as_callee(rig, speech(8.0, seed=3))
        await rig.media.wait_sent(3000 * 8)  # the whole greeting went out: nobody hung up
        rig.call.callee_hangs_up()
        report = await rig.result()
    assert report.intercept == "" and report.hangup_by == "callee"
