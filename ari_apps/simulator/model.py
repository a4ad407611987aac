"""The simulator's channels and bridges, and their JSON exactly as ARI renders it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ASTERISK_ID = "02:fc:00:00:00:01"
_sequence = itertools.count(1)


def timestamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"


@dataclass(eq=False)
class SimChannel:
    id: str
    name: str
    app: str
    state: str = "Down"
    caller_name: str = ""
    caller_number: str = ""
    context: str = "default"
    app_name: str = "AppDial2"
    app_data: str = "(Outgoing Line)"
    in_stasis: bool = False
    bridge_id: str | None = None
    channelvars: dict[str, str] | None = None
    variables: dict[str, str] = field(default_factory=dict)
    creationtime: str = field(default_factory=timestamp)
    destroyed: bool = False

    def to_json(self, with_vars: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": "",
            "caller": {"name": self.caller_name, "number": self.caller_number},
            "connected": {"name": self.caller_name, "number": self.caller_number},
            "accountcode": "",
            "dialplan": {
                "context": self.context,
                "exten": "s",
                "priority": 1,
                "app_name": self.app_name,
                "app_data": self.app_data,
            },
            "creationtime": self.creationtime,
            "language": "en",
        }
        if with_vars and self.channelvars:
            body["channelvars"] = dict(self.channelvars)
        return body


@dataclass(eq=False)
class SimBridge:
    id: str
    name: str = ""
    bridge_type: str = "mixing"
    channels: list[str] = field(default_factory=list)
    creationtime: str = field(default_factory=timestamp)
    recording: str | None = None  # name of the live recording of this bridge

    @property
    def technology(self) -> str:
        return "simple_bridge" if len(self.channels) + bool(self.recording) <= 2 else "softmix"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": "stasis",
            "creator": "Stasis",
            "name": self.name,
            "channels": list(self.channels),
            "creationtime": self.creationtime,
            "video_mode": "talker",
        }


def local_channel_names(context: str) -> tuple[str, str]:
    n = next(_sequence)
    base = f"Local/s@{context}-{n:08x}"
    return f"{base};1", f"{base};2"


def pjsip_channel_name(endpoint_resource: str) -> str:
    trunk = endpoint_resource.rpartition("@")[2] or endpoint_resource
    return f"PJSIP/{trunk}-{next(_sequence):08x}"


def media_channel_name(transport: str, detail: str) -> str:
    if transport == "websocket":
        return f"WebSocket/INCOMING/0x7f4c{next(_sequence):08x}"
    return f"AudioSocket/{detail}"


def event(kind: str, app: str, **fields: Any) -> dict[str, Any]:
    """An ARI event dict, with the envelope fields real Asterisk adds."""
    return {"type": kind, "timestamp": timestamp(), **fields, "asterisk_id": ASTERISK_ID, "application": app}


CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    20: "Subscriber absent",
    21: "Call Rejected",
    32: "Normal Clearing",
    34: "Circuit/channel congestion",
    38: "Network out of order",
}
