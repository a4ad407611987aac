"""Users (the tenants). Every other tenant-owned table hangs off users.id."""

from __future__ import annotations

from typing import Any

import asyncpg

from db.errors import InvalidInput, NotFound
from db.models import Executor, User, columns
from db.validation import check_choice, check_length, check_time_zone

ROLES = ("user", "admin")
_USER = columns(User)


async def create_user(
    conn: Executor,
    *,
    email: str,
    password_hash: str,
    role: str = "user",
    display_name: str = "",
    time_zone: str = "UTC",
    must_change_password: bool = False,
) -> User:
    email = check_length("email", email.strip(), 254, required=True)
    if "@" not in email:
        raise InvalidInput("email", f"{email!r} is not an email address")
    check_choice("role", role, ROLES)
    check_length("display_name", display_name, 120)
    check_time_zone("time_zone", time_zone)
    try:
        record = await conn.fetchrow(
            f"""INSERT INTO users (email, password_hash, role, display_name, time_zone, must_change_password)
                VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_USER}""",
            email,
            password_hash,
            role,
            display_name,
            time_zone,
            must_change_password,
        )
    except asyncpg.UniqueViolationError:
        raise InvalidInput("email", f"a user with the email {email} already exists") from None
    return User.from_record(record)


async def get_user(conn: Executor, user_id: int) -> User:
    user = User.from_record(await conn.fetchrow(f"SELECT {_USER} FROM users WHERE id = $1", user_id))
    if user is None:
        raise NotFound("user", user_id)
    return user


async def get_login(conn: Executor, email: str) -> tuple[User, str] | None:
    """The user with this email and their password hash, for signing in."""
    record = await conn.fetchrow(
        f"SELECT {_USER}, password_hash FROM users WHERE lower(email) = lower($1)", email.strip()
    )
    if record is None:
        return None
    fields = dict(record)
    password_hash = fields.pop("password_hash")
    return User(**fields), password_hash


async def set_password_hash(conn: Executor, user_id: int, password_hash: str, *, must_change: bool = False) -> None:
    """A new password; `must_change` makes the user choose their own at the next sign-in (a reset)."""
    status = await conn.execute(
        """UPDATE users SET password_hash = $2, must_change_password = $3, password_changed_at = now()
           WHERE id = $1""",
        user_id,
        password_hash,
        must_change,
    )
    if status == "UPDATE 0":
        raise NotFound("user", user_id)


async def list_users(conn: Executor) -> list[User]:
    return [User.from_record(r) for r in await conn.fetch(f"SELECT {_USER} FROM users ORDER BY id")]


async def count_users(conn: Executor) -> int:
    return await conn.fetchval("SELECT count(*) FROM users")


async def update_profile(
    conn: Executor, user_id: int, *, display_name: str, time_zone: str, profile: dict[str, Any]
) -> User:
    check_length("display_name", display_name, 120)
    check_time_zone("time_zone", time_zone)
    record = await conn.fetchrow(
        f"""UPDATE users SET display_name = $2, time_zone = $3, profile = $4
            WHERE id = $1 RETURNING {_USER}""",
        user_id,
        display_name,
        time_zone,
        profile,
    )
    if record is None:
        raise NotFound("user", user_id)
    return User.from_record(record)
