"""The owner cancels the task during the call: one short goodbye, then the agent hangs up,
within `cancel_goodbye_s` on the call's clock even when the goodbye never finishes."""

from __future__ import annotations

from engine.agent.options import AgentSessionOptions
from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig

HELLO = Reply("Hello, this is an assistant calling for Anna.", audio_ms=400)
GOODBYE = Reply("Sorry, we no longer need this. Goodbye.", audio_ms=600)


def asks_for_the_goodbye(event: dict) -> bool:
    # Realtime: response.create's instructions; Live: the instructions append's content
    return "cancelled" in ((event.get("response") or {}).get("instructions") or event.get("content") or "")


async def test_cancel_mid_call_plays_a_goodbye_then_hangs_up(provider: str) -> None:
    async with call_rig([HELLO, GOODBYE], provider=provider) as rig:
        await rig.recorder.wait_for_turns("call-1", 1)  # the greeting has played
        await rig.agent.end_for_owner("cancelled by the owner")
        await rig.wait_speak_request(asks_for_the_goodbye)
        await rig.call.wait_hung_up()
        report = await rig.result()
    assert [t.text for t in report.transcript if t.speaker == "agent"] == [HELLO.text, GOODBYE.text]
    assert report.hangup_by == "agent"
    assert "cancelled" in [e.kind for e in rig.recorder.events["call-1"]]


async def test_a_goodbye_that_never_ends_is_cut_at_the_bound(provider: str) -> None:
    held = Reply(GOODBYE.text, audio_ms=4000, hold_after_ms=200)  # the model stalls mid-goodbye
    options = AgentSessionOptions(cancel_goodbye_s=5.0)
    async with call_rig([HELLO, held], options=options, provider=provider) as rig:
        await rig.recorder.wait_for_turns("call-1", 1)
        await rig.agent.end_for_owner("cancelled by the owner")
        await rig.wait_speak_request(asks_for_the_goodbye)
        await rig.clock.wait_sleepers(1)
        assert rig.call.hangups == []  # still waiting for the goodbye
        rig.clock.advance(5.0)
        await rig.call.wait_hung_up()
        report = await rig.result()
    assert report.hangup_by == "agent"
    assert "cancel_goodbye_cut" in [e.kind for e in rig.recorder.events["call-1"]]
