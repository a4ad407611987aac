"""Access to the real-Asterisk reference data in ../shared (skips when it is absent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk"
TRACES = SHARED / "traces"
SPEC_DIR = SHARED / "ari-spec"


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference data not found at {path.resolve()} (the shared ../shared checkout)")
    return path


def load_trace(name: str) -> list[dict[str, Any]]:
    path = require_shared(TRACES / f"{name}.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def trace_events(name: str) -> list[dict[str, Any]]:
    return [row["event"] for row in load_trace(name) if row["kind"] == "event"]


def originated_ids(name: str) -> tuple[str, str]:
    """(our channel id, callee channel id) of the trace's first originate."""
    for row in load_trace(name):
        if row["kind"] == "rest" and row["method"] == "POST" and row["path"] == "/ari/channels":
            params = row["params"]
            return params["channelId"], params.get("otherChannelId", "")
    raise AssertionError(f"no originate in {name}")
