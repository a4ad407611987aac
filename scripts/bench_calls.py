#!/usr/bin/env python3
"""Whole-call benchmark: N concurrent calls through the real engine, simulators in their own processes.

  .venv/bin/python scripts/bench_calls.py [--calls 20,50,100,200] [--seconds 10] [--speech fast,paced]
                                          [--trees .,/tmp/perf-base] [--repeat 1] [--json]

Three kinds of process, all over real sockets: the PBX simulator (`python -m ari_apps.simulator`),
a Realtime simulator (this script with `--serve-model`, GA protocol over a WebSocket) and, per step,
one engine process built like `opendeep serve` (`engine.app.wiring.build_node`: dialer -> ARI adapter
-> agent session -> OpenAI Realtime adapter). Each step creates a fresh database (DATABASE_URL's server
when set, else an embedded PostgreSQL in a temporary directory), N tasks alternating between a callee
that talks (+12025550101) and one that stays silent while recording (+12025550114), lets the dialer
claim them, waits until every call's media is up, then measures a window of `--seconds`:

  cpu ms/call-s   engine CPU per second of call, and the simulators' CPU beside it (pbx / model core share)
  sys             the engine CPU's share spent in the kernel (socket reads and writes, epoll)
  us/fr           engine CPU per 20 ms frame the agent handled (callee frames incl. silence fill + model audio):
                  the same figure by work done, which moves less when the simulators are starved on a busy machine
  RSS KB/call     engine RSS with N calls minus the idle started node, per call
  in p50/p99      callee frame read off the media socket -> the agent's loop dispatches it (silence fill not counted)
  out p50/p99     agent frame: media.send_audio -> written to the media socket
  d>w p50/p99     model audio delta parsed -> the same bytes written to the media socket (mu-law)
  sustained       every p99 < 20 ms, all N calls up, and the engine used less than one core

The model speaks 3 s replies and never hangs up; `--speech fast` streams each reply as fast as the
socket allows (like the service), `paced` one 100 ms delta per 100 ms. `--trees` runs the engine
from other checkouts too (e.g. `git worktree add /tmp/perf-base main`), interleaved step by step,
for before/after figures from the same run. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TALKER, SILENT = "+12025550101", "+12025550199"  # the talker persona; a silent one this script adds
P99_LIMIT_MS = 20.0


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int | str = "self") -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def engine_loop():
    """What runs the engine: the loop its tree's `opendeep serve` runs on (engine.app.event_loop,
    imported from the tree on PYTHONPATH), or asyncio's own for a tree from before there was one."""
    try:
        from engine.app import event_loop
    except ImportError:
        return asyncio
    return event_loop


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --- the PBX simulator's process: the shipped simulator plus a callee that answers and never speaks --


def serve_pbx(port: int) -> None:
    sys.path.insert(0, str(ROOT))
    from ari_apps.simulator import __main__ as pbx_main
    from ari_apps.simulator.personas import PERSONAS, TEST_NUMBERS, Persona

    async def silent(s) -> None:
        await s.listen(until_silence_s=3600, max_s=3600)

    PERSONAS["bench-silent"] = Persona("bench-silent", script=silent)
    TEST_NUMBERS[SILENT] = "bench-silent"
    sys.argv = [sys.argv[0], "--port", str(port)]
    pbx_main.main()


# --- the Realtime simulator's process -------------------------------------------------------


async def serve_model(port: int, paced: bool) -> None:
    sys.path.insert(0, str(ROOT))
    import logging
    import signal

    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # clients that leave mid-handshake at exit

    from engine.voice.simulator import stream
    from engine.voice.simulator.script import Reply
    from engine.voice.simulator.server import RealtimeSimulator

    class Talkative:
        """Answers every turn with 3 s of speech and never ends the call."""

        def reply(self, turn) -> Reply:
            return Reply(text="Let me check that for you, one moment please.", audio_ms=3000)

    if paced:

        class _PacedAsyncio:
            def __getattr__(self, name):
                return getattr(asyncio, name)

            @staticmethod
            async def sleep(delay: float, result=None):
                return await asyncio.sleep(delay or sim.chunk_ms / 1000, result)

        stream.asyncio = _PacedAsyncio()  # one delta per chunk_ms instead of as fast as possible
    sim = await RealtimeSimulator(Talkative(), port=port, energy_vad=True, idle_timeout_s=1.0).start()
    print(f"model listening {sim.base_url}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await sim.stop()


# --- the engine's process (runs with PYTHONPATH = the tree under test) -------------------------


class Stamps:
    """Per-frame timestamps, installed by wrapping the engine's functions from outside."""

    def __init__(self) -> None:
        self.deltas: dict[int, tuple[bytes, float]] = {}
        self.delta_to_write: list[float] = []
        self.frames: dict[int, tuple[bytes, float]] = {}
        self.inbound: list[float] = []  # callee frame read off the media socket -> the agent's loop takes it
        self.streams = 0
        self.closed = 0
        self.frames_handled = 0  # 20 ms mu-law frames: callee audio into the agent's loop, model audio out

    def install(self) -> object:
        import aiohttp

        from ari_apps import media_websocket
        from engine.ports.voice_model import AudioDelta
        from engine.voice import openai_realtime

        timings = media_websocket.MediaTimings()
        stamps = self
        init = media_websocket.WebSocketMediaStream.__init__

        def counted_init(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self._timings = timings
            stamps.streams += 1

        media_websocket.WebSocketMediaStream.__init__ = counted_init
        finish = media_websocket.WebSocketMediaStream._finish

        def counted_finish(self, reason):
            if not self._closed:
                stamps.closed += 1
            finish(self, reason)

        media_websocket.WebSocketMediaStream._finish = counted_finish
        emit = openai_realtime.OpenAIRealtimeSession._emit

        def stamped_emit(self, event):
            if type(event) is AudioDelta and event.audio:
                stamps.deltas[id(event.audio)] = (event.audio, time.perf_counter())
                stamps.frames_handled += len(event.audio) // 160
            emit(self, event)

        openai_realtime.OpenAIRealtimeSession._emit = stamped_emit

        def delta_written(data):
            stamp = stamps.deltas.pop(id(data), None)
            if stamp is not None and stamp[0] is data:
                stamps.delta_to_write.append(time.perf_counter() - stamp[1])

        if hasattr(media_websocket.MediaTimings, "written"):  # the stream writes frames itself, and says when
            written = media_websocket.MediaTimings.written

            def stamped_written(self, data, queued):
                written(self, data, queued)
                delta_written(data)

            media_websocket.MediaTimings.written = stamped_written
        else:  # older trees: through aiohttp's send_bytes
            send_bytes = aiohttp.ClientWebSocketResponse.send_bytes

            async def stamped_send_bytes(self, data, *args, **kwargs):
                await send_bytes(self, data, *args, **kwargs)
                delta_written(data)

            aiohttp.ClientWebSocketResponse.send_bytes = stamped_send_bytes
        receive = aiohttp.ClientWebSocketResponse.receive

        async def stamped_receive(self, *args, **kwargs):
            msg = await receive(self, *args, **kwargs)
            if msg.type is aiohttp.WSMsgType.BINARY:
                stamps.frames[id(msg.data)] = (msg.data, time.perf_counter())
            return msg

        aiohttp.ClientWebSocketResponse.receive = stamped_receive
        from engine.agent import loop as agent_loop
        from engine.ports.telephony import AudioReceived

        on_audio = agent_loop._MEDIA_HANDLERS[AudioReceived]

        async def stamped_on_audio(self, event):
            stamp = stamps.frames.pop(id(event.audio), None)
            if stamp is not None and stamp[0] is event.audio:
                stamps.inbound.append(time.perf_counter() - stamp[1])
            stamps.frames_handled += len(event.audio) // 160
            await on_audio(self, event)

        agent_loop._MEDIA_HANDLERS[AudioReceived] = stamped_on_audio
        return timings


async def run_engine(args: argparse.Namespace) -> None:
    import logging

    logging.basicConfig(level=logging.ERROR)
    stamps = Stamps()
    timings = stamps.install()
    from datetime import UTC, datetime

    import engine
    from db import tasks, users
    from db.tasks import TaskDraft
    from engine.app.wiring import build_node
    from engine.settings import Settings

    n = args.n
    settings = Settings(
        _env_file=None, database_url=args.database_url, data_dir=Path(args.data_dir), openai_api_key="bench",
        openai_base_url=args.model_url, ari_url=args.ari_url, ari_user="opendeep", ari_password="opendeep",
        ari_app=f"bench{uuid.uuid4().hex[:8]}", node_id=f"bench-{n}", max_concurrent_calls=n,
        max_concurrent_calls_per_user=n, calling_window_start="00:00", calling_window_end="24:00",
        ring_timeout_s=30, db_pool_size=20, log_level="ERROR",
    )  # fmt: skip
    node = await build_node(settings)
    await node.start()
    await asyncio.sleep(1.0)
    rss_idle = rss_bytes()
    user = await users.create_user(
        node.database.pool, email=f"bench-{uuid.uuid4().hex[:8]}@example.test", password_hash="x",
        display_name="Bench", time_zone="UTC",
    )  # fmt: skip
    window = {"window": {"start": "00:00", "end": "24:00"}}
    for i in range(n):
        draft = TaskDraft(phone_number=SILENT if i % 2 else TALKER, objective="Ask for the opening hours.",
                          constraints=window, max_attempts=1)  # fmt: skip
        await tasks.create_task(node.database.pool, user.id, draft, schedule_at=datetime.now(UTC))
    started = time.monotonic()
    while stamps.streams < n and time.monotonic() - started < args.ramp_timeout:
        await asyncio.sleep(0.2)
    up = stamps.streams
    await asyncio.sleep(2.0)  # greetings out, every call in its steady state
    stamps.inbound.clear()
    timings.outbound.clear()
    stamps.delta_to_write.clear()
    stamps.frames_handled = 0
    sims = [int(p) for p in args.sim_pids.split(",")]
    times0, wall0, sim0 = os.times(), time.perf_counter(), [process_cpu_s(p) for p in sims]
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    live_start = stamps.streams - stamps.closed
    await asyncio.sleep(args.seconds)
    live_end = stamps.streams - stamps.closed
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    times, wall = os.times(), time.perf_counter() - wall0
    user, system = times.user - times0.user, times.system - times0.system
    cpu = user + system
    frames_handled = stamps.frames_handled
    sim_share = [(process_cpu_s(p) - s) / wall for p, s in zip(sims, sim0)]
    rss = rss_bytes()
    inbound, outbound, d2w = list(stamps.inbound), list(timings.outbound), list(stamps.delta_to_write)
    up = (live_start + live_end) / 2  # calls in the window
    result = {
        "tree": args.tree, "engine_file": engine.__file__, "speech": args.speech, "calls": n, "up": up, "live_end": live_end, "cpu_ms_per_call_s": cpu / max(1, up) / wall * 1000, "core_share": cpu / wall,
        "kernel_share": system / max(cpu, 1e-9),
        "cpu_us_per_frame": cpu / max(1, frames_handled) * 1e6,
        "frames_handled_per_call_s": frames_handled / max(1, up) / wall,
        "pbx_share": sim_share[0], "model_share": sim_share[1],
        "rss_kb_per_call": (rss - rss_idle) / max(1, up) / 1024, "rss_idle_mb": rss_idle / 2**20,
        "in_frames_per_s": len(inbound) / wall, "out_frames_per_s": len(outbound) / wall,
        "in_p50": percentile(inbound, 0.5), "in_p99": percentile(inbound, 0.99),
        "out_p50": percentile(outbound, 0.5), "out_p99": percentile(outbound, 0.99),
        "d2w_p50": percentile(d2w, 0.5), "d2w_p99": percentile(d2w, 0.99),
    }  # fmt: skip
    print("RESULT " + json.dumps(result), flush=True)
    try:
        await asyncio.wait_for(node.stop(), 30)
    except TimeoutError:
        pass
    os._exit(0)  # the measured figures are out; do not wait for the calls' analysis


# --- the orchestrator ---------------------------------------------------------------------------


def start_process(argv: list[str], cwd: Path, marker: str, env: dict[str, str] | None = None):
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if marker not in line:
        proc.kill()
        raise RuntimeError(f"{argv[:3]} did not start: {line!r}")
    return proc, line.split()[2]


async def admin_sql(url: str, sql: str) -> None:
    sys.path.insert(0, str(ROOT))
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_for(base_url: str, name: str) -> str:
    base, _, query = base_url.partition("?")  # the embedded server's URL names its socket in the query
    return f"{base.rpartition('/')[0]}/{name}" + (f"?{query}" if query else "")


def fmt_row(r: dict) -> str:
    ok = "yes" if r["sustained"] else "no"
    return (f"{r['tree'][-18:]:>18} {r['speech']:>6} {r['calls']:>5} {r['up']:>4.0f} {r['cpu_ms_per_call_s']:>8.2f} "
            f"{r.get('cpu_us_per_frame', 0):>6.1f} {r['core_share']:>5.2f} {r.get('kernel_share', float('nan')):>4.0%} {r['pbx_share']:>5.2f} {r['model_share']:>5.2f} {r['rss_kb_per_call']:>7.0f} "
            f"{r['in_p50']:>6.2f} {r['in_p99']:>6.2f} {r['out_p50']:>6.2f} {r['out_p99']:>6.2f} "
            f"{r['d2w_p50']:>6.2f} {r['d2w_p99']:>6.2f}  {ok}")  # fmt: skip


HEADER = (f"{'tree':>18} {'speech':>6} {'calls':>5} {'up':>4} {'ms/cs':>8} {'us/fr':>6} {'core':>5} {'sys':>4} {'pbx':>5} {'model':>5} "
          f"{'KB/call':>7} {'in50':>6} {'in99':>6} {'out50':>6} {'out99':>6} {'d>w50':>6} {'d>w99':>6}  sustained")


async def orchestrate(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from db.database import resolve_database_url

    deadline = time.monotonic() + args.max_minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    base_url, embedded = await resolve_database_url(os.environ.get("DATABASE_URL"), tmp)
    progress(f"database: {'embedded in ' + str(tmp) if embedded else 'DATABASE_URL'}; load: {os.getloadavg()}")
    pbx, ari_url = start_process([sys.executable, str(Path(__file__).resolve()), "--serve-pbx", "--port",
                                  str(args.port)], ROOT, "simulator listening")  # fmt: skip
    trees = args.trees.split(",")
    results: list[dict] = []
    if not args.json:
        print(HEADER, flush=True)
    try:
        for speech in args.speech.split(","):
            model, model_ws = start_process(
                [sys.executable, str(Path(__file__).resolve()), "--serve-model", "--port", str(args.port + 1),
                 "--speech", speech], ROOT, "model listening")  # fmt: skip
            model_url = model_ws.replace("ws://", "http://")
            try:
                for _ in range(args.repeat):
                    for n in (int(x) for x in args.calls.split(",")):
                        for tree in trees:
                            if time.monotonic() > deadline:
                                progress("time budget spent; stopping")
                                raise TimeoutError
                            r = await run_step(args, tree, n, speech, base_url, ari_url, model_url, [pbx, model])
                            results.append(r)
                            if not args.json:
                                print(fmt_row(r), flush=True)
            finally:
                model.terminate()
                model.wait(10)
    except TimeoutError:
        pass
    finally:
        pbx.terminate()
        pbx.wait(10)
    summary = summarize(results)
    if args.json:
        print(json.dumps({"load": os.getloadavg(), "steps": results, "summary": summary}, indent=1))
    else:
        for line in summary["lines"]:
            print(line)
    return 0


async def run_step(args, spec: str, n: int, speech: str, base_url: str, ari_url: str, model_url: str,
                   sims: list) -> dict:  # fmt: skip
    path, _, assignments = spec.partition("#")  # "tree#VAR=value#VAR2=value": settings for this engine
    tree = Path(path).resolve()
    name = f"bench_{uuid.uuid4().hex[:10]}"
    await admin_sql(base_url, f"CREATE DATABASE {name}")
    progress(f"{tree}: {n} calls, speech {speech} (load {os.getloadavg()[0]:.2f})")
    data_dir = tempfile.mkdtemp(prefix="bench-node-")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.update(a.partition("=")[::2] for a in assignments.split("#") if a)
    env.pop("DATABASE_URL", None)
    argv = [sys.executable, str(Path(__file__).resolve()), "--engine", "--n", str(n), "--tree", str(tree),
            "--database-url", database_for(base_url, name), "--data-dir", data_dir,
            "--ari-url", ari_url, "--model-url", model_url, "--speech", speech, "--seconds", str(args.seconds),
            "--sim-pids", f"{sims[0].pid},{sims[1].pid}"]  # fmt: skip
    if args.profile:
        argv += ["--profile", f"{args.profile}.{tree.name}{assignments.replace('#', '.')}.{n}.{speech}"]
    proc = await asyncio.create_subprocess_exec(*argv, cwd=tree, env=env, stdout=subprocess.PIPE)
    result = None
    try:
        async with asyncio.timeout(args.seconds + 150):
            async for raw in proc.stdout:
                line = raw.decode()
                if line.startswith("RESULT "):
                    result = json.loads(line[7:])
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()
    await admin_sql(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    shutil.rmtree(data_dir, ignore_errors=True)
    if result is None:
        raise RuntimeError(f"the engine step for {n} calls from {tree} reported nothing")
    result["tree"] = spec
    worst = max(result["in_p99"], result["out_p99"], result["d2w_p99"])
    result["sustained"] = worst < P99_LIMIT_MS and result["live_end"] == n and result["core_share"] < 1.0
    return result


def summarize(results: list[dict]) -> dict:
    lines, per_tree = [], {}
    for tree in dict.fromkeys(r["tree"] for r in results):
        mine = [r for r in results if r["tree"] == tree]
        best = max((r["calls"] for r in mine if r["sustained"]), default=0)
        cpu = statistics.median(r["cpu_ms_per_call_s"] for r in mine)
        rss = statistics.median(r["rss_kb_per_call"] for r in mine)
        per_frame = statistics.median(r["cpu_us_per_frame"] for r in mine)
        per_tree[tree] = {"largest_sustained": best, "median_cpu_ms_per_call_s": cpu, "calls_per_core": 1000 / cpu,
                          "median_cpu_us_per_frame": per_frame, "median_rss_kb_per_call": rss}  # fmt: skip
        lines.append(f"{tree}: largest N sustained on one engine core (p99 < {P99_LIMIT_MS:.0f} ms): {best}; "
                     f"median {cpu:.2f} ms CPU per call-second (~{1000 / cpu:.0f} calls per core), "
                     f"{per_frame:.1f} us per frame handled, {rss:.0f} KB RSS per call")  # fmt: skip
    return {"trees": per_tree, "lines": lines}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", default="20,50,100,200")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--speech", default="fast,paced")
    parser.add_argument("--trees", default=str(ROOT), help="comma-separated checkouts to run the engine from, "
                        "each optionally followed by #VAR=value settings (e.g. .#OPENDEEP_REALTIME_APPEND_MS=20)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--port", type=int, default=18288)
    parser.add_argument("--max-minutes", type=float, default=30.0, help="stop starting new steps after this")
    parser.add_argument("--json", action="store_true")
    # internal: the child processes
    parser.add_argument("--serve-model", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-pbx", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", action="store_true", help=argparse.SUPPRESS)
    for name in ("--n", "--tree", "--database-url", "--data-dir", "--ari-url", "--model-url", "--sim-pids"):
        parser.add_argument(name, help=argparse.SUPPRESS)
    parser.add_argument("--profile", help="engine steps: write a cProfile of the window to this file")
    parser.add_argument("--ramp-timeout", type=float, default=60.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_model:
        asyncio.run(serve_model(args.port, args.speech == "paced"))
        return 0
    if args.serve_pbx:
        serve_pbx(args.port)
        return 0
    if args.engine:
        args.n = int(args.n)
        engine_loop().run(run_engine(args))
        return 0
    return asyncio.run(orchestrate(args))


if __name__ == "__main__":
    sys.exit(main())
