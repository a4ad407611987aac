"""Stopping a node during a call: every leg, media channel and bridge goes, and the task is retried."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from datetime import UTC, datetime

import asyncpg

from ari_apps.simulator import PbxSimulator, SimulatorConfig
from db import tasks, users
from db.notify import CHANNEL
from db.pool import connect, create_pool
from db.tasks import TaskDraft
from engine.voice.simulator.script import Reply, ScriptedReplies
from tests.conftest import REPO
from tests.e2e.harness import TALKER, NotificationTap, always_open

HELLO = Reply("Hello, this is an assistant calling for Ada.", audio_ms=800)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_stopping_a_node_mid_call_hangs_up_everything_and_retries_the_task(make_node, own_database_url):
    running = await make_node()
    running.script(ScriptedReplies([HELLO], default=HELLO))
    pbx = running.pbx
    user = await running.user()
    task = await running.schedule(user, TALKER, "Talk until the node stops")
    await running.wait_for_task(task, ("in_call",))
    call_id = next(iter(pbx.pbx.answered))
    await pbx.wait_until(lambda: f"{call_id}-media" in pbx.leftovers()["channels"])

    await running.stop()

    assert pbx.leftovers() == {"channels": [], "bridges": []}
    conn = await asyncpg.connect(own_database_url)
    try:
        status, claimed_by = await conn.fetchrow("SELECT status, claimed_by FROM tasks WHERE id = $1", task.id)
        call_status = await conn.fetchval("SELECT status FROM calls WHERE task_id = $1", task.id)
    finally:
        await conn.close()
    assert (status, claimed_by) == ("retry_scheduled", None)
    assert call_status == "ended"


async def test_sigterm_to_serve_mid_call_hangs_up_everything_and_retries_the_task(own_database_url, tmp_path):
    """`opendeep serve` as a process manager stops it: SIGTERM while a call is live."""
    async with PbxSimulator(SimulatorConfig()) as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENDEEP_", "OPENAI_"))}
        env.update(
            DATABASE_URL=own_database_url, OPENDEEP_DATA_DIR=str(tmp_path), OPENDEEP_LOG_LEVEL="WARNING",
            OPENDEEP_PORT=str(_free_port()), OPENDEEP_ARI_URL=sim.ari_url, OPENDEEP_ARI_USER=sim.user,
            OPENDEEP_ARI_PASSWORD=sim.password, OPENDEEP_CALLING_WINDOW_START="00:00",
            OPENDEEP_CALLING_WINDOW_END="24:00",
        )
        tap = NotificationTap()
        pool = await create_pool(own_database_url, size=2)
        listener = await connect(own_database_url)
        await listener.add_listener(CHANNEL, tap.on_notification)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine.app.cli", "serve", env=env, cwd=REPO,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output = b""
            while b"serving on" not in output:
                line = await asyncio.wait_for(proc.stdout.readline(), 60)
                assert line, f"serve exited early:\n{output.decode()}"
                output += line
            user = await users.create_user(pool, email=f"stop-{uuid.uuid4().hex[:8]}@example.test",
                                           password_hash="x", display_name="Ada", time_zone="UTC")
            task = await tasks.create_task(pool, user.id, TaskDraft(phone_number=TALKER, objective="Talk on",
                                                                    constraints=always_open()),
                                           schedule_at=datetime.now(UTC))

            async def in_call() -> bool:
                return (await tasks.get_task(pool, user.id, task.id)).status == "in_call"

            await tap.until(in_call, 30, "the call to be answered")
            await sim.wait_until(lambda: any(c.endswith("-media") for c in sim.leftovers()["channels"]), 10)

            proc.send_signal(signal.SIGTERM)
            rest, _ = await asyncio.wait_for(proc.communicate(), 30)
            output += rest

            assert proc.returncode == 0, output.decode()
            assert sim.leftovers() == {"channels": [], "bridges": []}
            stopped = await tasks.get_task(pool, user.id, task.id)
            assert stopped.status == "retry_scheduled", output.decode()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await listener.close()
            await pool.close()
