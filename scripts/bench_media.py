#!/usr/bin/env python3
"""Media-path benchmark: N concurrent simulated calls, each echoing the callee's audio back.

  .venv/bin/python scripts/bench_media.py [--calls 50,100,200,300] [--seconds 5] [--format ulaw]

The PBX simulator runs in a separate process (its CPU is not counted). For each N
the engine process places N calls to the echo callee through `AriTelephony`
(chan_websocket), runs an echo "voice model" on every call (callee audio straight
back), and prints: engine CPU per call-second, RSS per call, and p50/p99 of the time
each 20 ms frame spends inside our code, inbound (socket read -> consumer) and
outbound (send_audio -> socket write). N "sustained" means p99 < 5 ms both ways and
the engine used less than one core. "sim core" is the simulator's own CPU share: when it
nears 1.0 the simulator, not the engine, is what delays frames. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ari_apps.adapter import AriTelephony  # noqa: E402
from ari_apps.config import AriConfig, MediaSettings  # noqa: E402
from ari_apps.media_websocket import MediaTimings  # noqa: E402
from engine.ports.telephony import AudioFormat, AudioReceived, DialRequest  # noqa: E402


class NullSink:
    async def raw_event(self, call_id, event) -> None:
        return None

    async def call_event(self, call_id, kind, message, data=None) -> None:
        return None


def rss_bytes() -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def echo(call) -> None:
    async for event in call.media.events():
        if isinstance(event, AudioReceived):
            await call.media.send_audio(event.audio)


async def run_step(ari_url: str, sim_pid: int, n: int, seconds: float, fmt: AudioFormat) -> dict[str, float]:
    timings = MediaTimings()
    media = MediaSettings(format=fmt, timings=timings)
    adapter = AriTelephony(AriConfig(ari_url, "opendeep", "opendeep", f"bench-{n}", media=media), NullSink())
    await adapter.start()
    rss_before = rss_bytes()
    calls = await asyncio.gather(
        *(adapter.originate(DialRequest(str(uuid.uuid4()), "Local/s@callee-echo/n")) for _ in range(n))
    )
    answered = await asyncio.gather(*(c.answered() for c in calls))
    loops = [asyncio.create_task(echo(c), name=f"bench-echo-{c.call_id}") for c, ok in zip(calls, answered) if ok]
    await asyncio.sleep(1.0)  # let every call reach its steady state before measuring
    timings.inbound.clear()
    timings.outbound.clear()
    cpu0, wall0, sim0 = time.process_time(), time.perf_counter(), process_cpu_s(sim_pid)
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    sim_share = (process_cpu_s(sim_pid) - sim0) / wall
    rss_after = rss_bytes()
    inbound, outbound = list(timings.inbound), list(timings.outbound)
    await asyncio.gather(*(c.hangup() for c in calls))
    for task in loops:
        task.cancel()
    await asyncio.gather(*loops, return_exceptions=True)
    await adapter.close()
    live = sum(answered)
    return {
        "calls": live,
        "cpu_ms_per_call_s": cpu / max(1, live) / wall * 1000,
        "core_share": cpu / wall,
        "sim_share": sim_share,
        "rss_kb_per_call": (rss_after - rss_before) / max(1, live) / 1024,
        "frames_per_s": len(inbound) / wall,
        "in_p50": percentile(inbound, 0.5),
        "in_p99": percentile(inbound, 0.99),
        "out_p50": percentile(outbound, 0.5),
        "out_p99": percentile(outbound, 0.99),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="50,100,200,300")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--format", default="ulaw", choices=["ulaw", "slin16"])
    parser.add_argument("--port", type=int, default=18188)
    args = parser.parse_args()
    sim = subprocess.Popen(
        [sys.executable, "-m", "ari_apps.simulator", "--port", str(args.port)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = sim.stdout.readline()
        ari_url = line.split()[2]
        print(f"simulator (pid {sim.pid}) at {ari_url}; engine pid {os.getpid()}; format {args.format}")
        print(f"{'calls':>6} {'cpu ms/call-s':>13} {'core':>6} {'RSS KB/call':>11} {'frames/s':>9} "
              f"{'in p50':>7} {'in p99':>7} {'out p50':>7} {'out p99':>7} {'sim core':>8}  sustained")  # fmt: skip
        best = 0
        for n in (int(x) for x in args.calls.split(",")):
            r = await run_step(ari_url, sim.pid, n, args.seconds, AudioFormat(args.format))
            ok = r["in_p99"] < 5 and r["out_p99"] < 5 and r["core_share"] < 1.0 and r["calls"] == n
            best = n if ok else best
            print(f"{r['calls']:>6} {r['cpu_ms_per_call_s']:>13.2f} {r['core_share']:>6.2f} {r['rss_kb_per_call']:>11.0f} "
                  f"{r['frames_per_s']:>9.0f} {r['in_p50']:>7.2f} {r['in_p99']:>7.2f} {r['out_p50']:>7.2f} "
                  f"{r['out_p99']:>7.2f} {r['sim_share']:>8.2f}  {'yes' if ok else 'no'}", flush=True)  # fmt: skip
        print(f"largest N sustained on one core (p99 < 5 ms both ways): {best}")
    finally:
        sim.terminate()
        sim.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
