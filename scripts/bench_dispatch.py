"""Dispatch benchmark: prints figures, asserts nothing.

1. Claims per second: two nodes (separate pools) claim a backlog of due tasks.
2. Dispatch delay: two LifecycleManagers on one database, tasks falling due at
   RATE per second; delay = originate request time - next_attempt_at.

Runs against DATABASE_URL's server (or the embedded PostgreSQL) in a database
of its own, dropped at the end:

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python scripts/bench_dispatch.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from db import dispatch  # noqa: E402
from db.database import migrate, resolve_database_url  # noqa: E402
from db.pool import create_pool  # noqa: E402
from engine.lifecycle.build import LifecycleModels, build_lifecycle  # noqa: E402
from engine.ports.agent import CallReport, ObjectiveResult  # noqa: E402
from engine.settings import Settings  # noqa: E402
from tests.lifecycle.fakes import FakeTelephony, ScriptedAgent  # noqa: E402

ALL_DAY = {"window": {"start": "00:00", "end": "23:59"}}


async def insert_tasks(pool: asyncpg.Pool, users: list[int], due: list[datetime]) -> None:
    """One scheduled task per `due` time, spread over `users`."""
    await pool.execute(
        """INSERT INTO tasks (user_id, phone_number, objective, status, next_attempt_at, constraints)
           SELECT ($1::bigint[])[1 + (g % array_length($1::bigint[], 1))],
                  '+1212555' || lpad((g % 10000)::text, 4, '0'), 'bench', 'scheduled', d, $3::jsonb
           FROM unnest($2::timestamptz[]) WITH ORDINALITY AS u(d, g)""",
        users,
        due,
        ALL_DAY,
    )


async def bench_claims(url: str, users: list[int], count: int, batch: int) -> None:
    setup = await create_pool(url, size=2)
    await setup.execute("DELETE FROM tasks")
    await insert_tasks(setup, users, [datetime.now(UTC) - timedelta(minutes=1)] * count)
    pools = [await create_pool(url, size=2) for _ in range(2)]
    claimed = [0, 0]

    async def node(index: int) -> None:
        async with pools[index].acquire() as conn:
            while True:
                got = await dispatch.claim_due_tasks(conn, node_id=f"bench-{index}", now=datetime.now(UTC),
                                                     capacity=batch, per_user_limit=10**6)
                if not got:
                    return
                claimed[index] += len(got)

    started = time.perf_counter()
    await asyncio.gather(node(0), node(1))
    elapsed = time.perf_counter() - started
    twice = await setup.fetchval("SELECT count(*) FROM tasks WHERE attempt_count > 1")
    print(f"claims: {sum(claimed)} tasks by 2 nodes (batch {batch}) in {elapsed:.2f} s = "
          f"{sum(claimed) / elapsed:.0f} claims/s (node split {claimed[0]}/{claimed[1]}, claimed twice: {twice})")
    for pool in (*pools, setup):
        await pool.close()


class TimedTelephony(FakeTelephony):
    def __init__(self, seen: dict[str, datetime]) -> None:
        super().__init__()
        self.seen = seen

    async def originate(self, request):  # type: ignore[no-untyped-def]
        self.seen.setdefault(request.labels["task_id"], datetime.now(UTC))
        return await super().originate(request)


async def bench_delay(url: str, users: list[int], rate: float, seconds: float) -> None:
    setup = await create_pool(url, size=2)
    await setup.execute("DELETE FROM tasks")
    start = datetime.now(UTC) + timedelta(seconds=2)
    count = int(rate * seconds)
    await insert_tasks(setup, users, [start + timedelta(seconds=i / rate) for i in range(count)])
    seen: dict[str, datetime] = {}
    managers = []
    for index in range(2):
        pool = await create_pool(url, size=5)
        settings = Settings(node_id=f"bench-{index}", dispatch_interval_s=1.0, max_concurrent_calls=50,
                            max_concurrent_calls_per_user=10**4)
        agent = ScriptedAgent(lambda task: CallReport(objective=ObjectiveResult(True, "done")))
        manager = build_lifecycle(settings, pool, url, TimedTelephony(seen), agent, models=LifecycleModels(),
                                  sweep_interval_s=3600)
        await manager.start()
        managers.append((manager, pool))
    try:
        deadline = time.monotonic() + seconds + 30
        while len(seen) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.5)  # a benchmark polls its progress; tests never do
    finally:
        for manager, pool in managers:
            await manager.close()
            await pool.close()
    due = {str(r["id"]): r["next_attempt_at"] for r in await setup.fetch("SELECT id, next_attempt_at FROM tasks")}
    delays = sorted((seen[t] - due[t]).total_seconds() * 1000 for t in seen)
    await setup.close()
    if not delays:
        print("delay: nothing was dialled")
        return
    p = statistics.quantiles(delays, n=100)
    print(f"delay next_attempt_at -> originate, {len(delays)}/{count} tasks at {rate:.0f}/s on 2 nodes: "
          f"p50 {p[49]:.0f} ms, p99 {p[98]:.0f} ms, max {delays[-1]:.0f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000, help="backlog size for the claim benchmark")
    parser.add_argument("--batch", type=int, default=50, help="tasks claimed per statement")
    parser.add_argument("--rate", type=float, default=100.0, help="tasks falling due per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long tasks keep falling due")
    args = parser.parse_args()
    server, _ = await resolve_database_url(os.environ.get("DATABASE_URL") or None, REPO / "var" / "bench-pg")
    name = f"opendeep_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        await migrate(url)
        setup = await create_pool(url, size=2)
        users = [await setup.fetchval("INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id",
                                      f"bench{i}@example.test") for i in range(20)]
        await setup.close()
        await bench_claims(url, users, args.claims, args.batch)
        await bench_delay(url, users, args.rate, args.seconds)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
