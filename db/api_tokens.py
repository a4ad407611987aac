"""API tokens for the JSON API: hashed at rest, the clear token is returned once; each has a scope
(`read`: GET only, `write`: also changes)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import msgspec

from db.errors import InvalidInput, NotFound
from db.models import Executor, Row, User, columns
from db.validation import check_length

TOKEN_PREFIX = "odk_"
SCOPES = ("read", "write")


class ApiToken(Row):
    id: int
    user_id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiToken(msgspec.Struct, kw_only=True):
    token: ApiToken
    secret: str  # the clear token: shown to the user once, never stored


_TOKEN = columns(ApiToken)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_token(conn: Executor, user_id: int, name: str, scope: str = "read") -> NewApiToken:
    name = check_length("name", name.strip(), 100, required=True)
    if scope not in SCOPES:
        raise InvalidInput("scope", f"must be one of {', '.join(SCOPES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = await conn.fetchrow(
        f"""INSERT INTO api_tokens (user_id, name, token_hash, prefix, scope) VALUES ($1, $2, $3, $4, $5)
            RETURNING {_TOKEN}""",
        user_id,
        name,
        _digest(secret),
        secret[:10],
        scope,
    )
    return NewApiToken(token=ApiToken.from_record(record), secret=secret)


async def list_tokens(conn: Executor, user_id: int) -> list[ApiToken]:
    records = await conn.fetch(
        f"SELECT {_TOKEN} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC", user_id
    )
    return [ApiToken.from_record(r) for r in records]


async def revoke_token(conn: Executor, user_id: int, token_id: int) -> None:
    status = await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        token_id,
        user_id,
    )
    if status == "UPDATE 0":
        raise NotFound("API token", token_id)


async def user_of_token(conn: Executor, secret: str) -> tuple[User, str] | None:
    """The owner of a live (not revoked) token and the token's scope, or None; records when it was last used."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    record = await conn.fetchrow(
        f"""WITH used AS (
                UPDATE api_tokens SET last_used_at = now()
                WHERE token_hash = $1 AND revoked_at IS NULL RETURNING user_id, scope)
            SELECT {columns(User, "u")}, used.scope FROM used JOIN users u ON u.id = used.user_id""",
        _digest(secret),
    )
    if record is None:
        return None
    fields = dict(record)
    scope = fields.pop("scope")
    return User(**fields), scope
