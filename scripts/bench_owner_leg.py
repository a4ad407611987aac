"""How long the owner's voice takes through the PBX: the owner's leg of a live call, measured.

A call to an echo callee; the owner joins and talks; short tone bursts are sent on the owner's
leg at real-time pace, and each burst's onset is timed where it comes back: in the agent's
media (owner -> bridge -> callee -> bridge -> agent) and in the owner's own leg (the owner
hearing the callee). Both are round trips through the PBX's bridge and the callee, so the
owner's mouth-to-callee delay on the PBX side is about half of them; the browser's capture and
playback add their own (docs: ../shared/docs/browser-audio.md).

    .venv/bin/python scripts/bench_owner_leg.py                       # the PBX simulator
    .venv/bin/python scripts/bench_owner_leg.py --ari-url http://127.0.0.1:8088/ari \\
        --user opendeep --password ... --endpoint 'Local/s@callee-echo/n'   # a real Asterisk
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from ari_apps.adapter import AriTelephony  # noqa: E402
from ari_apps.config import AriConfig  # noqa: E402
from ari_apps.g711 import pcm16_to_ulaw, ulaw_to_pcm16  # noqa: E402
from ari_apps.simulator import PbxSimulator, SimulatorConfig  # noqa: E402
from engine.ports.telephony import AudioReceived, DialRequest  # noqa: E402

FRAME_S = 0.02
TONE_HZ = 1400.0
LOUD = 2000.0  # RMS of a frame that carries the burst (the echo's silence is far below)


class NoSink:
    async def raw_event(self, call_id, event) -> None:
        return None

    async def call_event(self, call_id, kind, message, data=None) -> None:
        return None


def burst_frames(seconds: float) -> list[bytes]:
    t = np.arange(int(seconds * 8000)) / 8000
    pcm = (np.sin(2 * np.pi * TONE_HZ * t) * 0.3 * 32767).astype("<i2").tobytes()
    ulaw = pcm16_to_ulaw(pcm)
    return [ulaw[i:i + 160] for i in range(0, len(ulaw), 160)]


SILENCE = bytes([0xFF]) * 160


def loud(frame: bytes) -> bool:
    samples = np.frombuffer(ulaw_to_pcm16(frame), "<i2").astype(np.float64)
    return samples.size > 0 and float(np.sqrt(np.mean(samples * samples))) >= LOUD


class Onsets:
    """Monotonic times at which loud audio starts after at least `gap` quiet frames."""

    def __init__(self, gap: int = 10) -> None:
        self.times: list[float] = []
        self._quiet = gap
        self._gap = gap

        self.settled = asyncio.Event()  # a second of quiet: the callee's own prompt is over

    def feed(self, frame: bytes) -> None:
        if loud(frame):
            if self._quiet >= self._gap:
                self.times.append(time.monotonic())
            self._quiet = 0
        else:
            self._quiet += 1
            if self._quiet >= 50:
                self.settled.set()


def match(sent: list[float], heard: list[float]) -> list[float]:
    """The delay of each sent onset to the first heard onset after it (and before the next sent one)."""
    delays = []
    for i, at in enumerate(sent):
        until = sent[i + 1] if i + 1 < len(sent) else float("inf")
        after = [h for h in heard if at <= h < until]
        if after:
            delays.append((after[0] - at) * 1000)
    return delays


async def measure(telephony: AriTelephony, endpoint: str, bursts: int) -> dict:
    call_id = str(uuid.uuid4())
    call = await telephony.originate(DialRequest(call_id, endpoint))
    if not await call.answered():
        raise SystemExit(f"the echo callee {endpoint} did not answer")
    leg = await telephony.join_owner(call_id)
    at_agent, at_owner = Onsets(), Onsets()

    async def agent_listens() -> None:
        async for event in call.media.events():
            if isinstance(event, AudioReceived):
                at_agent.feed(event.audio)

    async def owner_listens() -> None:
        async for frame in leg.audio():
            at_owner.feed(frame)

    readers = [asyncio.create_task(agent_listens(), name="bench-agent-media"),
               asyncio.create_task(owner_listens(), name="bench-owner-audio")]
    sent: list[float] = []
    try:
        await asyncio.wait_for(at_agent.settled.wait(), 30)
        at_agent.times.clear()
        await leg.talk()
        script = [SILENCE] * 25
        for _ in range(bursts):
            script += ["onset"] + burst_frames(0.2)[1:] + [SILENCE] * 40  # 200 ms of tone, 800 ms quiet
        start = time.monotonic()
        first_burst = burst_frames(0.2)[0]
        for n, frame in enumerate(script):
            await asyncio.sleep(max(0.0, start + n * FRAME_S - time.monotonic()))  # a microphone's pace
            if frame == "onset":
                sent.append(time.monotonic())
                frame = first_burst
                print(f"\r  bursts sent: {len(sent)}/{bursts}", end="", file=sys.stderr, flush=True)
            await leg.send_audio(frame)
        await asyncio.sleep(0.5)  # the last echo's way back
        print(file=sys.stderr)
    finally:
        for task in readers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await leg.leave()
        await call.hangup()
        await call.finished()
    return {"to_agent_ms": match(sent, at_agent.times), "to_owner_ms": match(sent, at_owner.times), "bursts": bursts}


def summary(delays: list[float]) -> str:
    if not delays:
        return "none heard"
    ordered = sorted(delays)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.1f} ms, p90 {p90:.1f} ms, n={len(ordered)}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ari-url", help="a real Asterisk's ARI; without it, the PBX simulator")
    parser.add_argument("--user", default="opendeep")
    parser.add_argument("--password", default="")
    parser.add_argument("--app", default="opendeep-bench")
    parser.add_argument("--endpoint", default="Local/s@callee-echo/n", help="an echo callee")
    parser.add_argument("--bursts", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    async with contextlib.AsyncExitStack() as stack:
        if args.ari_url:
            url, user, password = args.ari_url, args.user, args.password
        else:
            sim = await stack.enter_async_context(PbxSimulator(SimulatorConfig()))
            url, user, password = sim.ari_url, sim.user, sim.password
        telephony = AriTelephony(AriConfig(url, user, password, args.app), NoSink())
        await telephony.start()
        stack.push_async_callback(telephony.close)
        result = await measure(telephony, args.endpoint, args.bursts)
    result["target"] = args.ari_url or "simulator"
    if args.json:
        print(json.dumps(result))
        return
    print(f"owner's leg through {result['target']} ({args.endpoint}), {args.bursts} bursts:")
    print(f"  owner -> callee (echo) -> agent's media: {summary(result['to_agent_ms'])}")
    print(f"  owner -> callee (echo) -> owner's leg:   {summary(result['to_owner_ms'])}")
    print("  one way through the PBX is about half of these; the browser adds its capture and playback buffers")


if __name__ == "__main__":
    asyncio.run(main())
