"""Inputs no handler should ever see, refused once for every route: no odd input ends as a 500.

- a NUL character in the query string or path (PostgreSQL cannot store it): 400, before any handler;
- a NUL character in a body's text reaching the database: 400 (asyncpg's "character not in repertoire");
- any other value the database refuses as data (numbers out of range): 400;
- JSON nested so deep the decoder gives up: 400;
- a task's constraints the schema (engine/tasks/constraints.py) refuses: 422 naming the field.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.exceptions import ClientException
from litestar.middleware import AbstractMiddleware
from litestar.types import Receive, Scope, Scopes, Send

NUL_MESSAGE = "Text must not contain NUL characters (\\u0000); remove them and try again."


class RefuseNulMiddleware(AbstractMiddleware):
    """A NUL in the URL is refused before routing, for pages and the API alike."""

    scopes: Scopes = {"http"}  # type: ignore[assignment]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").lower()
        if b"%00" in query or b"\x00" in query or "\x00" in scope.get("path", ""):
            raise ClientException(NUL_MESSAGE, status_code=400)
        await self.app(scope, receive, send)


def database_refusal(exc: asyncpg.DataError) -> str:
    """The sentence a person reads when PostgreSQL refused a value of their request as data."""
    if isinstance(exc, asyncpg.CharacterNotInRepertoireError | asyncpg.UntranslatableCharacterError):
        return NUL_MESSAGE
    return "A value in the request is out of range or cannot be stored."


def error_extra(exc: Any) -> dict[str, Any]:
    return {"field": exc.field} if getattr(exc, "field", None) else {}
