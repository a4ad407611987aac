"""Failed sign-ins, per account and per address, for throttling (system-wide, not tenant data)."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.models import Executor


async def record_failure(conn: Executor, email: str, address: str) -> None:
    await conn.execute(
        "INSERT INTO login_failures (email, address) VALUES (lower(left($1, 320)), left($2, 64))", email.strip(), address
    )


async def recent_failures(conn: Executor, email: str, address: str, window: timedelta) -> tuple[list[datetime], list[datetime]]:
    """The times of failed sign-ins within `window`: for this account, and from this address (oldest first)."""
    rows = await conn.fetch(
        """SELECT lower(email) = lower($1) AS same_account, address = $2 AS same_address, at FROM login_failures
           WHERE (lower(email) = lower($1) OR address = $2) AND at > now() - $3::interval ORDER BY at""",
        email.strip()[:320],
        address[:64],
        window,
    )
    return [r["at"] for r in rows if r["same_account"]], [r["at"] for r in rows if r["same_address"]]


async def clear_account(conn: Executor, email: str) -> None:
    """A successful sign-in forgives the account's failures (not the address's)."""
    await conn.execute("DELETE FROM login_failures WHERE lower(email) = lower($1)", email.strip()[:320])


async def purge_old(conn: Executor, before: datetime) -> int:
    status = await conn.execute("DELETE FROM login_failures WHERE at < $1", before)
    return int(status.split()[-1])
