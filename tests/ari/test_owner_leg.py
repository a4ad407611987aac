"""The owner's leg of a live call (ari_apps/owner_leg.py), on the simulator and on a real Asterisk.

An echo callee shows every path: listening, the owner hears the line and the agent goes on;
talking, the agent's audio no longer reaches the callee and the owner's does (its echo comes
back to the agent, which keeps listening); handing back reverses it; leaving never ends the
call; and no channel of the owner's is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from ari_apps.config import MediaSettings
from ari_apps.rest_client import AriError
from engine.ports.owner_voice import OwnerChanged
from engine.ports.telephony import AudioFormat, AudioReceived, MarkPlayed

from .audio_checks import is_tone, tone
from .fakes import collect_until
from .test_calls import assert_nothing_left

AGENT_HZ, OWNER_HZ = 600.0, 1400.0
ULAW = AudioFormat.ULAW


def frames(audio: bytes) -> list[bytes]:
    return [audio[i:i + 160] for i in range(0, len(audio), 160)]


class Heard:
    """What the owner's browser would play: every frame of the leg's audio, in order."""

    def __init__(self, leg) -> None:
        self.frames: list[bytes] = []
        self._task = asyncio.create_task(self._read(leg), name="test-owner-leg-audio")

    async def _read(self, leg) -> None:
        async for frame in leg.audio():
            self.frames.append(frame)

    def tones(self, hz: float, since: int = 0) -> int:
        return sum(is_tone(ULAW, frame, hz) for frame in self.frames[since:])

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def agent_says(media, hz: float, seconds: float, mark: str, until=lambda seen: True) -> list:
    """The agent's tone through its media channel; the media events until it has been played (and `until`)."""
    await media.send_audio(tone(ULAW, hz, seconds))
    await media.mark(mark)
    return await collect_until(media, lambda seen: any(isinstance(e, MarkPlayed) for e in seen) and until(seen),
                               timeout=10)


def echoed(events: list, hz: float) -> int:
    return sum(isinstance(e, AudioReceived) and is_tone(ULAW, e.audio, hz) for e in events)


async def test_the_owner_listens_talks_hands_back_and_leaves_without_ending_the_call(target, telephony):
    call_id = str(uuid.uuid4())
    call = await telephony.originate(_request(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    leg = await telephony.join_owner(call_id)
    heard = Heard(leg)
    try:
        # Listening: the owner hears the agent; the agent hears its own echo, so it still reaches the callee
        # (an echo callee may say a short prompt first: the tone outlasts it).
        events = await agent_says(call.media, AGENT_HZ, 3.0, "listening", until=lambda seen: echoed(seen, AGENT_HZ) > 0)
        assert any(isinstance(e, OwnerChanged) and e.move == "joined" for e in events)
        assert echoed(events, AGENT_HZ) > 0
        await _until(lambda: heard.tones(AGENT_HZ) > 10)

        # Talking: the owner's words reach the callee (their echo reaches the agent, which keeps listening)
        # and the agent's own audio does not.
        await leg.talk()
        start = len(heard.frames)
        for frame in frames(tone(ULAW, OWNER_HZ, 1.0)):
            await leg.send_audio(frame)
        events = await agent_says(call.media, AGENT_HZ, 1.0, "talking", until=lambda seen: echoed(seen, OWNER_HZ) > 10)
        first_owner_echo = next(i for i, e in enumerate(events)
                                if isinstance(e, AudioReceived) and is_tone(ULAW, e.audio, OWNER_HZ))
        assert echoed(events[first_owner_echo:], AGENT_HZ) == 0
        assert heard.tones(OWNER_HZ, since=start) > 0  # the owner hears the callee's side (the echo)

        # Handed back: the agent reaches the callee again.
        await leg.hand_back()
        events = await agent_says(call.media, AGENT_HZ, 1.0, "handed-back",
                                  until=lambda seen: echoed(seen, AGENT_HZ) > 10)
        assert any(isinstance(e, OwnerChanged) and e.move == "handed_back" and e.talked_ms > 0 for e in events)

        # Leaving: the owner's channel goes, the call goes on.
        await leg.leave()
        await _until_owner_channel_gone(telephony, call_id)
        events = await agent_says(call.media, AGENT_HZ, 0.5, "after-leaving")
        assert any(isinstance(e, OwnerChanged) and e.move == "left" for e in events)
        assert call_id in await telephony.live_call_ids()
    finally:
        await heard.close()
    await call.hangup()
    await call.finished()
    await assert_nothing_left(telephony, target, call_id)


async def test_a_call_that_ends_while_the_owner_listens_takes_the_owner_leg_with_it(target, telephony):
    call_id = str(uuid.uuid4())
    call = await telephony.originate(_request(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    leg = await telephony.join_owner(call_id)
    await leg.talk()
    await call.hangup()
    await call.finished()
    await assert_nothing_left(telephony, target, call_id)  # the owner's channel included: it starts with the id


def _request(call_id: str, endpoint: str):
    from engine.ports.telephony import DialRequest

    return DialRequest(call_id, endpoint)


async def _until(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def _until_owner_channel_gone(telephony, call_id: str, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                await telephony._rest.request("GET", f"/channels/{call_id}-owner")
            except AriError as exc:
                assert exc.status == 404
                return
            await asyncio.sleep(0.05)


async def test_a_slin16_call_keeps_its_format_after_the_owner_leaves(target, make_telephony):
    """The owner's leg is μ-law; the agent's media stays 16 kHz slin after the owner was in the bridge."""
    slin16 = AudioFormat.SLIN16
    telephony = await make_telephony(media=MediaSettings(format=slin16))
    call_id = str(uuid.uuid4())
    call = await telephony.originate(_request(call_id, target.endpoint("echo")))
    assert await call.answered() is True
    leg = await telephony.join_owner(call_id)
    await leg.leave()
    await _until_owner_channel_gone(telephony, call_id)
    await call.media.send_audio(tone(slin16, AGENT_HZ, 3.0))
    await call.media.mark("after-owner")

    def echoed_in_slin16(seen) -> bool:
        played = any(isinstance(e, MarkPlayed) for e in seen)
        return played and sum(isinstance(e, AudioReceived) and is_tone(slin16, e.audio, AGENT_HZ) for e in seen) > 10

    await collect_until(call.media, echoed_in_slin16, timeout=10)
    await call.hangup()
    await call.finished()
    await assert_nothing_left(telephony, target, call_id)
