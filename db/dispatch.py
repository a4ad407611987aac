"""System queries of the dispatcher: claiming due tasks for a node, and node heartbeats.

These span all tenants on purpose (the dispatcher serves everyone); every row
they return carries its `user_id`, and later work goes through the tenant-scoped
functions with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from db.models import Executor, Task, columns
from db.notify import CHANNEL

WAITING = ("scheduled", "retry_scheduled")
ACTIVE = ("dialing", "in_call")
# Serialises claim statements across nodes, so the per-user limit counts every
# node's claims (SKIP LOCKED alone keeps a task from being claimed twice).
CLAIM_LOCK_KEY = 0x0DEE_D1A1

_CLAIM = f"""
WITH per_user AS (
    SELECT id, row_number() OVER (
        PARTITION BY user_id ORDER BY priority DESC, next_attempt_at, id) AS rank
    FROM tasks
    WHERE status IN ('scheduled', 'retry_scheduled') AND next_attempt_at <= $1
), candidates AS (
    SELECT id, user_id, status, priority, next_attempt_at FROM tasks
    WHERE id IN (SELECT id FROM per_user WHERE rank <= $3)
      AND status IN ('scheduled', 'retry_scheduled') AND next_attempt_at <= $1
    ORDER BY priority DESC, next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), busy AS (
    SELECT user_id, count(*) AS n FROM tasks
    WHERE status IN ('dialing', 'in_call') AND user_id IN (SELECT user_id FROM candidates)
    GROUP BY user_id
), ranked AS (
    SELECT c.*, coalesce(b.n, 0) + row_number() OVER (
        PARTITION BY c.user_id ORDER BY c.priority DESC, c.next_attempt_at, c.id) AS load
    FROM candidates c LEFT JOIN busy b USING (user_id)
), chosen AS (
    SELECT id, status FROM ranked WHERE load <= $3
    ORDER BY priority DESC, next_attempt_at, id LIMIT $4
), claimed AS (
    UPDATE tasks t SET status = 'dialing', claimed_by = $5, claimed_at = now(),
           attempt_count = t.attempt_count + 1, updated_at = now()
    FROM chosen c WHERE t.id = c.id
    RETURNING {columns(Task, "t")}, c.status AS from_status
), events AS (
    INSERT INTO task_events (user_id, task_id, kind, from_status, to_status, actor, message, data)
    SELECT user_id, id, 'status', from_status, status, 'dispatcher',
           'Dialing (attempt ' || attempt_count || ' of ' || max_attempts || ')',
           jsonb_build_object('node', claimed_by::text, 'attempt', attempt_count)
    FROM claimed
), notified AS (
    SELECT pg_notify($6, json_build_object(
        'kind', 'task', 'user_id', user_id, 'task_id', id, 'status', status)::text) FROM claimed
)
SELECT claimed.*, (SELECT count(*) FROM notified) AS notified FROM claimed
ORDER BY priority DESC, next_attempt_at, id
"""


async def claim_due_tasks(
    conn: Executor,
    *,
    node_id: str,
    now: datetime,
    capacity: int,
    per_user_limit: int,
    cluster_limit: int | None = None,
) -> list[Task]:
    """Claim up to `capacity` due tasks for `node_id`, by priority then waiting time.

    One statement moves each to `dialing` in this node's name, counts the
    attempt, writes the event and the NOTIFY; a row another node holds is
    skipped, never waited for. `cluster_limit` caps the calls of every node
    together (a trunk's channels). `conn` must be a connection (not a pool).
    """
    if capacity <= 0:
        return []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", CLAIM_LOCK_KEY)
        if cluster_limit is not None:
            # The trunk's limit holds across nodes: claims are serialised by the lock above.
            active = await conn.fetchval("SELECT count(*) FROM tasks WHERE status IN ('dialing', 'in_call')")
            capacity = min(capacity, cluster_limit - active)
            if capacity <= 0:
                return []
        records = await conn.fetch(
            _CLAIM, now, max(capacity * 4, 16), per_user_limit, capacity, node_id, CHANNEL
        )
    return [Task(**{name: r[name] for name in Task.__struct_fields__}) for r in records]


async def next_due_at(conn: Executor) -> datetime | None:
    """When the earliest waiting task becomes due (None: nothing waits)."""
    return await conn.fetchval(
        "SELECT min(next_attempt_at) FROM tasks WHERE status IN ('scheduled', 'retry_scheduled')"
    )


async def heartbeat(conn: Executor, node_id: str, info: dict[str, Any]) -> None:
    await conn.execute(
        """INSERT INTO nodes (id, info) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), info = EXCLUDED.info""",
        node_id,
        info,
    )


async def remove_node(conn: Executor, node_id: str) -> None:
    await conn.execute("DELETE FROM nodes WHERE id = $1", node_id)


async def live_nodes(conn: Executor, stale_after_s: float) -> list[str]:
    records = await conn.fetch(
        "SELECT id FROM nodes WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY id",
        stale_after_s,
    )
    return [r["id"] for r in records]


async def orphaned_tasks(conn: Executor, *, stale_after_s: float, node_id: str | None = None) -> list[Task]:
    """Tasks dialing or in a call for a node that stopped heartbeating.

    With `node_id`, the tasks claimed by that node instead (its own leftovers,
    at start-up or shutdown).
    """
    if node_id is not None:
        records = await conn.fetch(
            f"""SELECT {columns(Task)} FROM tasks
                WHERE status IN ('dialing', 'in_call') AND claimed_by = $1""",
            node_id,
        )
    else:
        records = await conn.fetch(
            f"""SELECT {columns(Task, "t")} FROM tasks t
                WHERE t.status IN ('dialing', 'in_call')
                  AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = t.claimed_by
                                  AND n.heartbeat_at > now() - make_interval(secs => $1))""",
            stale_after_s,
        )
    return [Task.from_record(r) for r in records]


async def unfinished_calls_of_task(conn: Executor, user_id: int, task_id: Any) -> list[Any]:
    records = await conn.fetch(
        "SELECT id FROM calls WHERE task_id = $1 AND user_id = $2 AND status <> 'ended'", task_id, user_id
    )
    return [r["id"] for r in records]
