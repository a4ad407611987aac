"""Sign-in sessions of the web app, kept server-side.

The browser holds a random token; the database keeps only its SHA-256 digest,
so a leaked table cannot be replayed as cookies.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from db.models import Executor, User, columns

SESSION_LIFETIME = timedelta(days=14)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_session(conn: Executor, user_id: int, *, user_agent: str = "", lifetime: timedelta = SESSION_LIFETIME) -> str:
    """Open a session for the user and return the token for the cookie (shown only now)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO web_sessions (token_hash, user_id, expires_at, user_agent)
           VALUES ($1, $2, now() + $3::interval, left($4, 300))""",
        _digest(token),
        user_id,
        lifetime,
        user_agent,
    )
    return token


async def user_of_session(conn: Executor, token: str) -> User | None:
    """The signed-in user of a live session, or None (unknown or expired token)."""
    if not token or len(token) > 200:
        return None
    record = await conn.fetchrow(
        f"""SELECT {columns(User, "u")} FROM web_sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1 AND s.expires_at > now()""",
        _digest(token),
    )
    return User.from_record(record)


async def end_session(conn: Executor, token: str) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE token_hash = $1", _digest(token))


async def purge_expired_sessions(conn: Executor, now: datetime) -> int:
    """System sweep (all users): forget sessions past their expiry."""
    status = await conn.execute("DELETE FROM web_sessions WHERE expires_at <= $1", now)
    return int(status.split()[-1])
