"""One place that turns errors into responses: JSON for the API, a readable page for people."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from db.errors import InvalidInput, NotFound, TransitionRefused
from engine.accounts import TooManyAttempts
from engine.tasks.campaigns import PlanRejected, QuotaExceeded
from engine.tasks.constraints import ConstraintError
from engine.tasks.states import IllegalTransition
from web.auth import PasswordChangeRequired
from web.input_checks import database_refusal

log = logging.getLogger(__name__)
TITLES = {400: "That did not work", 401: "Sign in first", 403: "Not allowed", 404: "Not found", 409: "Not possible right now",
          413: "Too large", 422: "That did not work", 429: "Slow down", 500: "Something went wrong"}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "") and \
        "text/html" not in request.headers.get("accept", "")


def _respond(request: Request, status: int, detail: str, extra: dict[str, Any] | None = None) -> Response:
    if _wants_json(request):
        return Response({"status_code": status, "detail": detail, **(extra or {})}, status_code=status)
    template = request.app.template_engine.get_template("error.html")
    html = template.render(status=status, title=TITLES.get(status, "Error"), detail=detail, user=request.scope.get("user"),
                           path=request.url.path)
    return Response(html, status_code=status, media_type="text/html")


def _not_found(request: Request, exc: NotFound) -> Response:
    return _respond(request, 404, f"No such {exc.kind}.")


def _invalid(request: Request, exc: InvalidInput) -> Response:
    return _respond(request, 400, str(exc), {"field": exc.field})


def _plan_rejected(request: Request, exc: PlanRejected) -> Response:
    errors = [{"index": e.index, "task": e.index + 1, "field": e.field, "message": e.message} for e in exc.errors]
    return _respond(request, 400, f"The plan was refused, nothing was saved: {exc}", {"errors": errors})


def _constraints(request: Request, exc: ConstraintError) -> Response:
    return _respond(request, 422, f"constraints.{exc}" if not str(exc).startswith("constraints") else str(exc),
                    {"field": exc.field})


def _quota(request: Request, exc: QuotaExceeded) -> Response:
    return _respond(request, exc.status, str(exc))


def _database_refused(request: Request, exc: Exception) -> Response:
    """PostgreSQL refused a value as data (a NUL in text, a number out of range): the request's fault."""
    return _respond(request, 400, database_refusal(exc))  # type: ignore[arg-type]


def _too_deep(request: Request, exc: RecursionError) -> Response:
    if "deserializ" not in str(exc):  # our own bug, not the request's
        return _crash(request, exc)
    return _respond(request, 400, "The request is nested too deeply to be read.")


def _conflict(request: Request, exc: Exception) -> Response:
    return _respond(request, 409, str(exc))


def _not_signed_in(request: Request, exc: NotAuthorizedException) -> Response:
    if _wants_json(request):
        return _respond(request, 401, exc.detail)
    return Redirect(f"/login?next={quote(request.url.path)}", status_code=303)


def _password_change(request: Request, exc: PasswordChangeRequired) -> Response:
    if _wants_json(request):
        return _respond(request, 403, exc.detail)
    return Redirect("/account/password", status_code=303)


def _throttled(request: Request, exc: TooManyAttempts) -> Response:
    response = _respond(request, 429, str(exc))
    response.headers["Retry-After"] = str(int(exc.wait.total_seconds()) + 1)
    return response


def _http(request: Request, exc: HTTPException) -> Response:
    extra = {"extra": exc.extra} if exc.extra else None
    return _respond(request, exc.status_code, exc.detail, extra)


def _crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _respond(request, HTTP_500_INTERNAL_SERVER_ERROR, "The server could not finish this request.")


def exception_handlers() -> dict[Any, Any]:
    return {
        NotFound: _not_found,
        InvalidInput: _invalid,
        PlanRejected: _plan_rejected,
        TransitionRefused: _conflict,
        IllegalTransition: _conflict,
        ConstraintError: _constraints,
        QuotaExceeded: _quota,
        asyncpg.DataError: _database_refused,
        asyncpg_base.DataError: _database_refused,
        RecursionError: _too_deep,
        NotAuthorizedException: _not_signed_in,
        PasswordChangeRequired: _password_change,
        TooManyAttempts: _throttled,
        HTTPException: _http,
        HTTP_500_INTERNAL_SERVER_ERROR: _crash,
    }
