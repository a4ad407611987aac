"""Talking to the Realtime simulator the way production does: the openai SDK over a real WebSocket.

Events come back as the SDK's own parsed models (`conn.recv()`), so what the tests assert is
what a client of the real service would read.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from openai import AsyncOpenAI

from ari_apps.simulator.audio import speech
from engine.voice.codecs import pcm16_to_ulaw, tone_pcm16
from engine.voice.simulator.server import RealtimeSimulator

PCMU = {"type": "audio/pcmu"}
FRAME = 160  # 20 ms of mu-law


@asynccontextmanager
async def connected(sim: RealtimeSimulator) -> AsyncIterator[Any]:
    client = AsyncOpenAI(api_key="test", websocket_base_url=sim.base_url)
    try:
        async with client.realtime.connect(model="gpt-realtime-test") as conn:
            yield conn
    finally:
        await client.close()


async def until(conn: Any, event_type: str, timeout: float = 5.0) -> list[Any]:
    """Every event up to and including the first of `event_type`."""
    seen: list[Any] = []

    async def run() -> None:
        while True:
            event = await conn.recv()
            seen.append(event)
            if event.type == event_type:
                return

    await asyncio.wait_for(run(), timeout)
    return seen


def types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


def first(events: list[Any], event_type: str) -> Any:
    return next(e for e in events if e.type == event_type)


async def configure(conn: Any, turn_detection: dict[str, Any] | None = None, **extra: Any) -> Any:
    """pcmu both ways, server_vad with the given settings; returns the session.updated event."""
    detection = {"type": "server_vad", **(turn_detection or {})}
    session = {
        "type": "realtime",
        "audio": {"input": {"format": PCMU, "turn_detection": detection}, "output": {"format": PCMU}},
        **extra,
    }
    await conn.session.update(session=session)
    return (await until(conn, "session.updated"))[-1]


async def send_ulaw(conn: Any, audio: bytes, batch_ms: int = 100) -> None:
    """Mu-law audio as appends of `batch_ms`, like a bridge batching 20 ms frames."""
    step = FRAME * batch_ms // 20
    for i in range(0, len(audio), step):
        await conn.input_audio_buffer.append(audio=base64.b64encode(audio[i : i + step]).decode())


def silence(ms: int) -> bytes:
    return b"\xff" * 8 * ms


def voice(ms: int, level: float = 0.3) -> bytes:
    """A steady voiced sound: its first and last frames are exact, for position checks."""
    return pcm16_to_ulaw(tone_pcm16(ms, 8000, frequency=300, level=level))


def spoken(seconds: float, seed: int = 1) -> bytes:
    """Speech-like audio (syllables and short pauses) from the PBX simulator's synthesiser."""
    return pcm16_to_ulaw(speech(seconds, seed))
