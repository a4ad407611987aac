"""Every path of a call closes its voice-model session, seen from the model's side: the
Realtime simulator's connection is gone (not a count of `aclose()` calls on a fake)."""

from __future__ import annotations

import asyncio

from engine.voice.simulator.script import Reply
from tests.agent.rig import call_rig

HELLO = Reply("Hello, this is an assistant calling for Anna.", audio_ms=400)


async def test_a_call_that_is_not_answered_closes_the_model_session(provider: str) -> None:
    async with call_rig([HELLO], answer=False, provider=provider) as rig:
        await rig.wait_speak_request()  # the session was opened while ringing
        assert len(rig.sim.open_sessions()) == 1
        rig.call.fail()  # busy, no answer or a failed originate: answered() resolves False
        report = await rig.result()
        assert not report.answered
        await rig.sim.wait_until_all_closed()


async def test_cancelling_a_ringing_call_closes_the_model_session(provider: str) -> None:
    """The attempt cancels the agent while the phone rings (task cancelled, node shutting down)."""
    async with call_rig([HELLO], answer=False, provider=provider) as rig:
        await rig.wait_speak_request()
        rig.running.cancel()
        await asyncio.gather(rig.running, return_exceptions=True)
        assert rig.running.cancelled()
        await rig.sim.wait_until_all_closed()
        assert rig.call.hangups == []  # nobody answered: nothing to hang up on the agent's side


async def test_cancelling_an_answered_call_closes_the_model_session(provider: str) -> None:
    async with call_rig([HELLO], provider=provider) as rig:
        await rig.recorder.wait_for_turns("call-1", 1)
        rig.running.cancel()
        await asyncio.gather(rig.running, return_exceptions=True)
        await rig.sim.wait_until_all_closed()
        assert rig.call.hangups  # the agent's side hung up the answered call
