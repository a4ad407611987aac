"""Sign-in sessions of the web app, kept server-side.

The browser holds a random token; the database keeps only its SHA-256 digest,
so a leaked table cannot be replayed as cookies. A session ends at its absolute
expiry, or earlier when it was not used for the idle timeout.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from db.models import Executor, User, columns

SESSION_LIFETIME = timedelta(days=7)
SESSION_IDLE_TIMEOUT = timedelta(hours=12)
SEEN_RESOLUTION = timedelta(minutes=1)  # last_seen_at is written at most this often per session


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


async def user_of_session(conn: Executor, token: str, *, idle_timeout: timedelta = SESSION_IDLE_TIMEOUT) -> User | None:
    """The signed-in user of a live session, or None (unknown, expired or idle too long); marks it as used."""
    if not token or len(token) > 200:
        return None
    record = await conn.fetchrow(
        f"""WITH live AS (
                SELECT token_hash, user_id, last_seen_at FROM web_sessions
                WHERE token_hash = $1 AND expires_at > now() AND last_seen_at > now() - $2::interval),
            seen AS (
                UPDATE web_sessions s SET last_seen_at = now() FROM live
                WHERE s.token_hash = live.token_hash AND live.last_seen_at < now() - $3::interval)
            SELECT {columns(User, "u")} FROM live JOIN users u ON u.id = live.user_id""",
        _digest(token),
        idle_timeout,
        SEEN_RESOLUTION,
    )
    return User.from_record(record)


async def end_session(conn: Executor, token: str) -> None:
    await conn.execute("DELETE FROM web_sessions WHERE token_hash = $1", _digest(token))


async def end_all_sessions(conn: Executor, user_id: int) -> int:
    """Sign the user out everywhere (password changed or reset, or asked for)."""
    status = await conn.execute("DELETE FROM web_sessions WHERE user_id = $1", user_id)
    return int(status.split()[-1])


async def purge_expired_sessions(conn: Executor, now: datetime) -> int:
    """System sweep (all users): forget sessions past their expiry."""
    status = await conn.execute("DELETE FROM web_sessions WHERE expires_at <= $1", now)
    return int(status.split()[-1])
