"""chan_websocket sends nothing while the callee is quiet; the agent must still hear silence."""

import asyncio

from ari_apps.media_websocket import WebSocketMediaStream
from engine.telephony import AudioFormat, AudioReceived

from .fakes import collect_until


class QuietSocket:
    """A media socket on which Asterisk sends nothing, as during a Local callee's WaitForNoise."""

    closed = False
    close_code = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


async def test_a_gap_in_the_callee_audio_reaches_the_agent_as_silent_frames():
    stream = WebSocketMediaStream("c1", QuietSocket(), AudioFormat.ULAW, lambda reason: None)
    events = await collect_until(stream, lambda seen: len(seen) >= 5, timeout=2)
    assert all(isinstance(e, AudioReceived) and e.audio == b"\xff" * 160 for e in events)
    await stream.close()
