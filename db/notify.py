"""LISTEN/NOTIFY: how a change reaches other engine nodes and open browser tabs.

Every payload is a small JSON object with `kind` and `user_id`, so a listener can
route it to the right tenant without reading the database first.
"""

from __future__ import annotations

import json
from typing import Any

from db.models import Executor

CHANNEL = "opendeep_events"


async def publish(conn: Executor, kind: str, user_id: int | None, **fields: Any) -> None:
    payload = {"kind": kind, "user_id": user_id, **{k: str(v) if v is not None else None for k, v in fields.items()}}
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, json.dumps(payload))
