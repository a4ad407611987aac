"""User accounts: passwords (argon2, a strength policy), creation, signing in with throttling,
password changes and resets.

A chosen password must be at least 12 characters and not guessable: zxcvbn
(which knows the common and breached passwords, keyboard walks and repeats)
must rate it 3 or more out of 4, given the user's email and name. Generated
one-time passwords are random and must be replaced at the first sign-in.

Failed sign-ins are throttled per account and per address: the first few are
free within a window, then each further try must wait a doubling delay after
the last failure (capped), whether or not the password is right.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from db import login_failures, sessions, users
from db.errors import InvalidInput
from db.models import Executor, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
MIN_STRENGTH = 3  # zxcvbn's score, 0..4


def check_password_policy(password: str, *, email: str = "", display_name: str = "") -> None:
    """Raise InvalidInput("password", why) when the password is too short or guessable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > 200:
        raise InvalidInput("password", "must be at most 200 characters long")
    rating = zxcvbn(password, user_inputs=[part for part in (email, email.split("@")[0], display_name) if part])
    if rating["score"] < MIN_STRENGTH:
        hint = rating["feedback"]["warning"] or "it would be guessed quickly"
        raise InvalidInput("password", f"is too easy to guess: {hint.rstrip('.')}. Use a longer phrase or more random characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(15)


async def create_account(
    conn: Executor,
    *,
    email: str,
    password: str,
    role: str = "user",
    display_name: str = "",
    time_zone: str = "UTC",
    one_time: bool = False,
) -> User:
    """A new account; a `one_time` (generated) password must be changed at the first sign-in."""
    check_password_policy(password, email=email, display_name=display_name)
    return await users.create_user(
        conn,
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        time_zone=time_zone,
        must_change_password=one_time,
    )


# --- signing in -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Throttle:
    free: int  # failures allowed within the window before waiting starts
    window: timedelta = timedelta(minutes=15)
    first_wait: timedelta = timedelta(seconds=30)
    longest_wait: timedelta = timedelta(minutes=15)

    def wait(self, failures: list[datetime], now: datetime) -> timedelta:
        """How long a new try must still wait, given the failures in the window (oldest first)."""
        over = len(failures) - self.free
        if over < 0:
            return timedelta(0)
        delay = min(self.first_wait * 2**over, self.longest_wait)
        return max(failures[-1] + delay - now, timedelta(0))


PER_ACCOUNT = Throttle(free=5)
PER_ADDRESS = Throttle(free=20)


class TooManyAttempts(Exception):
    def __init__(self, wait: timedelta) -> None:
        self.wait = wait
        minutes, seconds = divmod(int(wait.total_seconds()) + 1, 60)
        when = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        super().__init__(f"Too many failed sign-ins. Try again in {when}.")


async def authenticate(conn: Executor, email: str, password: str, *, address: str, now: datetime) -> User | None:
    """The user whose email and password these are, or None; raises TooManyAttempts while throttled."""
    account, place = await login_failures.recent_failures(conn, email, address, max(PER_ACCOUNT.window, PER_ADDRESS.window))
    wait = max(PER_ACCOUNT.wait(account, now), PER_ADDRESS.wait(place, now))
    if wait > timedelta(0):
        raise TooManyAttempts(wait)
    found = await users.get_login(conn, email)
    if found is None:
        _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
        user = None
    else:
        user = found[0] if verify_password(found[1], password) else None
    if user is None:
        await login_failures.record_failure(conn, email, address)
    else:
        await login_failures.clear_account(conn, email)
    return user


# --- changing passwords -----------------------------------------------------------------


async def change_password(conn: Executor, user: User, current: str, new: str) -> None:
    """The user's own change: the current password is checked, the new one must pass the policy;
    every session of the user ends (the caller opens a fresh one for this browser)."""
    found = await users.get_login(conn, user.email)
    if found is None or not verify_password(found[1], current):
        raise InvalidInput("current_password", "is not your current password")
    if new == current:
        raise InvalidInput("password", "must differ from the current one")
    check_password_policy(new, email=user.email, display_name=user.display_name)
    await users.set_password_hash(conn, user.id, hash_password(new))
    await sessions.end_all_sessions(conn, user.id)


async def reset_password(conn: Executor, user_id: int) -> str:
    """An administrator's reset: a one-time password the user must replace at the next sign-in;
    the user's sessions end. Returns the one-time password (shown once)."""
    password = generate_password()
    await users.set_password_hash(conn, user_id, hash_password(password), must_change=True)
    await sessions.end_all_sessions(conn, user_id)
    return password


FIRST_ADMIN_EMAIL = "admin@localhost"


async def ensure_first_admin(conn: Executor) -> tuple[User, str] | None:
    """On a fresh installation, create an admin and return it with its one-time password."""
    if await users.count_users(conn):
        return None
    password = generate_password()
    try:
        user = await create_account(conn, email=FIRST_ADMIN_EMAIL, password=password, role="admin",
                                    display_name="Admin", one_time=True)
    except InvalidInput:  # another node created it first
        return None
    return user, password
