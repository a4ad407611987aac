"""The Litestar application: HTML pages and the JSON API on one app.

`create_app(node)` wires everything from the node and the settings read now:
the pages, the API (OpenAPI at /schema), CSRF on forms, the live-update hub
(one LISTEN connection, owned by the app's lifespan), /metrics and /health.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin
from litestar.response import Response, ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.static_files import create_static_files_router
from openapi_ui_bundles import redoc as redoc_bundle
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine import metrics
from engine.app.node import Node
from engine.lifecycle.recording_store import RecordingStore
from engine.planner.chat import Planner, build_planner
from web import owner_audio, test_calls
from web.api import CallApi, CampaignApi, EventApi, TaskApi
from web.auth import AuthMiddleware, current_user, signed_in
from web.csrf import CsrfMiddleware
from web.errors import exception_handlers
from web.headers import add_security_headers
from web.input_checks import RefuseNulMiddleware
from web.live import LiveHub
from web.pages.account import AccountPages, AdminPages, PasswordPages
from web.pages.auth import AuthPages
from web.pages.calls import CallPages
from web.pages.campaigns import CampaignPages
from web.pages.chat import ChatPages
from web.pages.hitl import HitlPages
from web.pages.tasks import TaskPages
from web.recordings import RecordingSource, StoredRecordings
from web.rendering import template_config

STATIC = Path(__file__).parent / "static"
REDOC_JS = "/vendor/redoc/redoc.standalone.js"  # from the installed openapi-ui-bundles package, never a CDN
STREAM_SECONDS = 55  # a live stream ends after this and the browser reconnects, so no stream holds up a shutdown for long
KEEPALIVE_SECONDS = 15


class WebSettings(BaseSettings):
    """OPENDEEP_SECRET_KEY signs CSRF tokens: set it when several nodes serve the same site.
    A sign-in session ends after OPENDEEP_SESSION_IDLE_MINUTES without use, and at the latest
    OPENDEEP_SESSION_MAX_HOURS after signing in."""

    model_config = SettingsConfigDict(env_prefix="OPENDEEP_", env_file=".env", extra="ignore")

    secret_key: SecretStr | None = None
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    session_idle_minutes: int = Field(default=12 * 60, ge=5, le=30 * 24 * 60)
    session_max_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)


class LocalRedoc(RedocRenderPlugin):
    """Redoc from the installed openapi-ui-bundles package; the page fetches nothing from anywhere else.

    Redoc's bundle shows a logo from its CDN: the page's content security policy keeps the
    browser from fetching it (Redoc then leaves the logo out).
    """

    POLICY = (b"<meta http-equiv=\"Content-Security-Policy\" content=\"img-src 'self' data:; "
              b"font-src 'self' data:; connect-src 'self'\">")

    def __init__(self) -> None:
        super().__init__(js_url=REDOC_JS, google_fonts=False, path=["/", "/redoc"],
                         favicon="<link rel='icon' type='image/svg+xml' href='/vendor/redoc/logo-mini.svg'>")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, openapi_schema).replace(b"<head>", b"<head>" + self.POLICY, 1)


@get("/health")
async def health(request: Request, state: State) -> Response[dict]:
    """Database, PBX, voice model and dialer: ok or not (503 when any is not).

    Anyone sees only ok / not ok per part; a signed-in administrator also sees the
    node, each part's mode, the reason it is not ok and its details.
    """
    node: Node = state.node
    report = await node.health()
    ok = all(part["ok"] for part in report.values())
    user = request.scope.get("user")
    if user is not None and user.role == "admin":
        body: dict = {"ok": ok, "node": node.node_id, **report}
    else:
        body = {"ok": ok, **{name: {"ok": bool(part["ok"])} for name, part in report.items()}}
    return Response(body, status_code=200 if ok else 503)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response[bytes]:
    """Prometheus text format: active calls, outcomes, latencies, dispatch delay."""
    return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)


@get("/live", guards=[signed_in], include_in_schema=False)
async def live(request: Request) -> ServerSentEvent:
    """Server-sent events for the signed-in user's own changes (from LISTEN/NOTIFY)."""
    hub: LiveHub = request.app.state.live
    return ServerSentEvent(_stream(hub, current_user(request).id), retry_duration=1000)


async def _stream(hub: LiveHub, user_id: int) -> AsyncIterator[ServerSentEventMessage]:
    loop = asyncio.get_running_loop()
    async with hub.subscribe(user_id) as queue:
        try:
            await asyncio.wait_for(hub.connected.wait(), timeout=5)
        except TimeoutError:
            pass  # the page still works; it just will not update by itself until the hub reconnects
        yield ServerSentEventMessage(event="hello", data=json.dumps({"live": hub.connected.is_set()}))
        ends = loop.time() + STREAM_SECONDS
        while (left := ends - loop.time()) > 0:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=min(KEEPALIVE_SECONDS, left))
            except TimeoutError:
                yield ServerSentEventMessage(comment="keepalive")
                continue
            if item is None:
                return
            yield ServerSentEventMessage(event="change", data=json.dumps(item))


def create_app(node: Node, *, planner: Planner | None = None, recordings: RecordingSource | None = None) -> Litestar:
    web_settings = WebSettings()
    settings = node.settings
    hub = LiveHub(node.database.url)
    if planner is None:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        planner = build_planner(openai_api_key=key, openai_base_url=settings.openai_base_url)
    if recordings is None:  # where the engine keeps what it fetched from the PBX (engine/lifecycle/recording_fetch.py)
        recordings = StoredRecordings(RecordingStore(settings.data_dir / "recordings"))

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await hub.start()
        try:
            yield
        finally:
            await hub.close()

    secret = web_settings.secret_key.get_secret_value() if web_settings.secret_key else secrets.token_hex(32)
    return Litestar(
        route_handlers=[
            health, metrics_endpoint, live,
            AuthPages, TaskPages, CampaignPages, CallPages, HitlPages, ChatPages, AccountPages, AdminPages, PasswordPages,
            CampaignApi, TaskApi, CallApi, EventApi, *owner_audio.ROUTES, *test_calls.ROUTES,
            create_static_files_router(path="/vendor/redoc", directories=[redoc_bundle.static_path],
                                       include_in_schema=False, name="redoc"),
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
        ],
        state=State({"node": node, "live": hub, "planner": planner, "recordings": recordings,
                     "owner_voice_secret": hashlib.sha256(b"owner-voice:" + secret.encode()).digest(),
                     "session_idle_timeout": timedelta(minutes=web_settings.session_idle_minutes),
                     "session_lifetime": timedelta(hours=web_settings.session_max_hours)}),
        lifespan=[lifespan],
        middleware=[DefineMiddleware(RefuseNulMiddleware), DefineMiddleware(CsrfMiddleware, secret=secret.encode()),
                    DefineMiddleware(AuthMiddleware)],
        before_send=[add_security_headers],
        template_config=template_config(),
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(title="OpenDeep API", version="0.1.0", path="/schema",
                                     description="Campaigns, tasks, calls and events. Send `Authorization: Bearer <API token>`.",
                                     render_plugins=[LocalRedoc()]),
        request_max_body_size=web_settings.max_body_bytes,
        logging_config=None,  # Litestar's records propagate to the process's one handler (engine/app/logs.py)
    )
