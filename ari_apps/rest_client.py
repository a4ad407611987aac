"""A thin ARI REST client on aiohttp: one request method and typed helpers.

Credentials travel in an `Authorization` header built once; they are never put
in URLs and never logged. Every non-2xx answer raises `AriError` carrying
Asterisk's status and `message`; a PBX that cannot be reached raises
`AriUnreachable`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]


class AriError(Exception):
    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {message}")
        self.method = method
        self.path = path
        self.status = status
        self.message = message


class AriUnreachable(AriError):
    """The PBX did not answer at all (connection refused, timeout)."""

    def __init__(self, method: str, path: str, reason: str) -> None:
        super().__init__(method, path, 0, reason)


def basic_auth_header(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


def seg(value: str) -> str:
    """Quote one path segment (recording names may contain '/')."""
    return quote(value, safe="")


class AriRestClient:
    def __init__(
        self,
        base_url: str,
        user: str,
        password: str,
        session: aiohttp.ClientSession,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._headers = {"Authorization": basic_auth_header(user, password)}
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    @property
    def auth_headers(self) -> dict[str, str]:
        return dict(self._headers)

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        raw: bool = False,
    ) -> Any:
        url = self.base_url + path
        try:
            async with self._session.request(
                method,
                url,
                params=_query(params or {}),
                json=body,
                headers=self._headers,
                timeout=self._timeout,
            ) as resp:
                payload = await resp.read()
                if resp.status >= 400:
                    raise AriError(method, path, resp.status, _error_message(payload, resp.reason))
                log.debug("ARI %s %s -> %d", method, path, resp.status)
                if raw:
                    return payload
                if resp.status == 204 or not payload:
                    return None
                return json.loads(payload)
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise AriUnreachable(method, path, type(exc).__name__) from None

    # --- channels -----------------------------------------------------------

    async def originate(
        self,
        endpoint: str,
        app: str,
        channel_id: str,
        *,
        app_args: Iterable[str] = (),
        other_channel_id: str | None = None,
        caller_id: str | None = None,
        timeout_s: int | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> JsonDict:
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": ",".join(app_args) or None,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "callerId": caller_id or None,
            "timeout": timeout_s,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self.request("POST", "/channels", params, body=body)

    async def hangup(self, channel_id: str, reason: str | None = None, reason_code: int | None = None) -> None:
        params = {"reason": reason, "reason_code": reason_code}
        await self.request("DELETE", f"/channels/{seg(channel_id)}", params)

    async def get_channel(self, channel_id: str) -> JsonDict:
        return await self.request("GET", f"/channels/{seg(channel_id)}")

    async def list_channels(self) -> list[JsonDict]:
        return await self.request("GET", "/channels") or []

    async def send_dtmf(
        self, channel_id: str, digits: str, *, between_ms: int | None = None, duration_ms: int | None = None
    ) -> None:
        params = {"dtmf": digits, "between": between_ms, "duration": duration_ms}
        await self.request("POST", f"/channels/{seg(channel_id)}/dtmf", params)

    async def play(self, channel_id: str, media: str | list[str], playback_id: str | None = None) -> JsonDict:
        path = f"/channels/{seg(channel_id)}/play" + (f"/{seg(playback_id)}" if playback_id else "")
        return await self.request("POST", path, {"media": media})

    async def record_channel(self, channel_id: str, name: str, fmt: str = "wav", if_exists: str = "fail") -> JsonDict:
        params = {"name": name, "format": fmt, "ifExists": if_exists}
        return await self.request("POST", f"/channels/{seg(channel_id)}/record", params)

    async def get_variable(self, channel_id: str, variable: str) -> str:
        reply = await self.request("GET", f"/channels/{seg(channel_id)}/variable", {"variable": variable})
        return str(reply.get("value", ""))

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        params = {"variable": variable, "value": value}
        await self.request("POST", f"/channels/{seg(channel_id)}/variable", params)

    async def external_media(
        self,
        app: str,
        channel_id: str,
        fmt: str,
        *,
        transport: str,
        encapsulation: str,
        connection_type: str | None = None,
        external_host: str | None = None,
        data: str | None = None,
        transport_data: str | None = None,
    ) -> JsonDict:
        params = {
            "app": app,
            "channelId": channel_id,
            "format": fmt,
            "transport": transport,
            "encapsulation": encapsulation,
            "connection_type": connection_type,
            "external_host": external_host,
            "data": data,
            "transport_data": transport_data,
        }
        return await self.request("POST", "/channels/externalMedia", params)

    # --- bridges ------------------------------------------------------------

    async def create_bridge(self, bridge_id: str, name: str = "", kind: str = "mixing") -> JsonDict:
        return await self.request("POST", "/bridges", {"type": kind, "bridgeId": bridge_id, "name": name or None})

    async def list_bridges(self) -> list[JsonDict]:
        return await self.request("GET", "/bridges") or []

    async def add_channels(self, bridge_id: str, channel_ids: list[str]) -> None:
        await self.request("POST", f"/bridges/{seg(bridge_id)}/addChannel", {"channel": channel_ids})

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        await self.request("POST", f"/bridges/{seg(bridge_id)}/removeChannel", {"channel": channel_id})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{seg(bridge_id)}")

    async def record_bridge(self, bridge_id: str, name: str, fmt: str = "wav", if_exists: str = "overwrite") -> JsonDict:
        params = {"name": name, "format": fmt, "ifExists": if_exists}
        return await self.request("POST", f"/bridges/{seg(bridge_id)}/record", params)

    # --- recordings, applications, asterisk ---------------------------------

    async def list_stored_recordings(self) -> list[JsonDict]:
        return await self.request("GET", "/recordings/stored") or []

    async def download_recording(self, name: str) -> bytes:
        return await self.request("GET", f"/recordings/stored/{seg(name)}/file", raw=True)

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{seg(name)}")

    async def user_event(self, name: str, app: str, variables: Mapping[str, str] | None = None) -> None:
        """Send `ChannelUserevent` `name` to `app`'s events socket (404: no such application)."""
        await self.request("POST", f"/events/user/{seg(name)}", {"application": app}, {"variables": dict(variables or {})})

    async def get_application(self, app: str) -> JsonDict:
        return await self.request("GET", f"/applications/{seg(app)}")

    async def list_modules(self) -> list[JsonDict]:
        return await self.request("GET", "/asterisk/modules") or []

    async def asterisk_info(self) -> JsonDict:
        return await self.request("GET", "/asterisk/info")


def _error_message(body: bytes, fallback: str | None) -> str:
    try:
        decoded = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:200] or (fallback or "")
    if isinstance(decoded, dict):
        return str(decoded.get("message") or decoded.get("error") or fallback or "")
    return fallback or ""
