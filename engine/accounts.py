"""User accounts: password hashing (argon2) and creation."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from db import users
from db.errors import InvalidInput
from db.models import Executor, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    return secrets.token_urlsafe(12)


async def create_account(
    conn: Executor,
    *,
    email: str,
    password: str,
    role: str = "user",
    display_name: str = "",
    time_zone: str = "UTC",
) -> User:
    return await users.create_user(
        conn,
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name,
        time_zone=time_zone,
    )


async def authenticate(conn: Executor, email: str, password: str) -> User | None:
    found = await users.get_login(conn, email)
    if found is None:
        _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
        return None
    user, password_hash = found
    return user if verify_password(password_hash, password) else None


FIRST_ADMIN_EMAIL = "admin@localhost"


async def ensure_first_admin(conn: Executor) -> tuple[User, str] | None:
    """On a fresh installation, create an admin and return it with its one-time password."""
    if await users.count_users(conn):
        return None
    password = generate_password()
    try:
        user = await create_account(conn, email=FIRST_ADMIN_EMAIL, password=password, role="admin", display_name="Admin")
    except InvalidInput:  # another node created it first
        return None
    return user, password
