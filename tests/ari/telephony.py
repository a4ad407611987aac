"""Build the ARI adapter for a test, on the PBX simulator or a real Asterisk."""

from __future__ import annotations

from typing import Any, Protocol

from ari_apps.adapter import AriTelephony
from ari_apps.config import AriConfig
from engine.ports.telephony import TelephonyEventSink


class AriServer(Protocol):
    ari_url: str
    user: str
    password: str


def ari_telephony(server: AriServer, sink: TelephonyEventSink, *, app: str = "opendeep", **config: Any) -> AriTelephony:
    """An adapter (not started) on `server`'s ARI; `config`: further `AriConfig` fields."""
    return AriTelephony(AriConfig(server.ari_url, server.user, server.password, app, **config), sink)
