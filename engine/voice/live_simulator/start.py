"""`session.start`, `session.update` and the text appends validated the way the Live service documents
them (openai-live.md §1.3, §4.1, §5, §9.1): a strict schema, the audio format and voice fixed at start,
only the delegation's settings and triggers changeable afterwards, appends of at most 500 tokens."""

from __future__ import annotations

import copy
import time
from typing import Any

START_FIELDS = {
    "model",
    "audio",
    "client",
    "delegation",
    "input",
    "instructions",
    "safety_identifier",
    "store",
    "triggers",
}
AUDIO_FIELDS = {"format", "output"}
OUTPUT_FIELDS = {"voice"}
UPDATE_FIELDS = {"delegation", "triggers"}
DELEGATION_TYPES = {"client", "responses", "decisions"}
PCM_RATES = {16000, 24000}
SESSION_S = 60 * 60  # the simulated session cap
APPEND_MAX_CHARS = 2000  # ~500 tokens


class StartError(Exception):
    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param


def validate_append(session: dict[str, Any], event: dict[str, Any]) -> None:
    """An instructions, thinking or commentary append, or StartError (the session goes on)."""
    content = event.get("content")
    if not isinstance(content, str) or not content:
        raise StartError("missing_required_parameter", "Missing required parameter: 'content'.", "content")
    if len(content) > APPEND_MAX_CHARS:
        raise StartError("string_above_max_length", "Appends are limited to 500 tokens.", "content")
    if "delegation_id" not in event:
        raise StartError("missing_required_parameter", "Missing 'delegation_id' (may be null).", "delegation_id")
    responses_mode = (session.get("delegation") or {}).get("type") == "responses"
    if responses_mode and event["delegation_id"] is not None:
        raise StartError("invalid_value", "delegation_id must be null with Responses delegation.", "delegation_id")


def validate_start(session: Any, session_id: str) -> dict[str, Any]:
    """The resolved session of `session.started`, or StartError (then no session.started at all)."""
    if not isinstance(session, dict):
        raise StartError("missing_required_parameter", "Missing required parameter: 'session'.", "session")
    for key in session:
        if key not in START_FIELDS:
            raise StartError("unknown_parameter", f"Unknown parameter: 'session.{key}'.", f"session.{key}")
    if not session.get("model"):
        raise StartError("missing_required_parameter", "Missing required parameter: 'session.model'.", "session.model")
    audio = session.get("audio") or {}
    for key in audio:
        if key not in AUDIO_FIELDS:
            raise StartError("unknown_parameter", f"Unknown parameter: 'session.audio.{key}'.", f"session.audio.{key}")
    for key in audio.get("output") or {}:
        if key not in OUTPUT_FIELDS:
            param = f"session.audio.output.{key}"
            raise StartError("unknown_parameter", f"Unknown parameter: '{param}'.", param)
    fmt = audio.get("format") or {"type": "audio/pcm", "rate": 24000}
    _check_format(fmt)
    delegation = session.get("delegation")
    if delegation is not None:
        _check_delegation(delegation, "session.delegation")
    resolved = copy.deepcopy(session)
    resolved["audio"] = {"format": fmt, "output": {"voice": (audio.get("output") or {}).get("voice", "marin")}}
    resolved.setdefault("delegation", None)
    resolved.setdefault("input", [])
    resolved.setdefault("store", False)
    resolved.update(id=session_id, status="active", expires_at=int(time.time()) + SESSION_S)
    return resolved


def _check_format(fmt: dict[str, Any]) -> None:
    kind, rate = fmt.get("type"), fmt.get("rate")
    if kind in ("audio/pcmu", "audio/pcma"):
        if rate is None:
            raise StartError("missing_required_parameter", "Missing 'rate' for G.711.", "session.audio.format.rate")
        if rate != 8000:
            raise StartError("invalid_value", f"Unsupported rate {rate} for {kind}.", "session.audio.format.rate")
    elif kind == "audio/pcm":
        if rate not in PCM_RATES:
            raise StartError("invalid_value", f"Unsupported PCM rate {rate}.", "session.audio.format.rate")
    else:
        raise StartError("invalid_value", f"Unsupported audio format {kind!r}.", "session.audio.format.type")


def _check_delegation(delegation: dict[str, Any], param: str) -> None:
    kind = delegation.get("type")
    if kind not in DELEGATION_TYPES:
        raise StartError("invalid_value", f"Invalid delegation type {kind!r}.", f"{param}.type")
    if kind == "responses":
        responses = delegation.get("responses")
        if not isinstance(responses, dict) or not responses.get("model"):
            raise StartError("missing_required_parameter", "Missing 'responses.model'.", f"{param}.responses.model")
        for tool in responses.get("tools") or []:
            if tool.get("type") == "function" and not tool.get("name"):
                raise StartError("missing_required_parameter", "A function tool needs a name.", f"{param}.responses")


def apply_update(session: dict[str, Any], update: Any) -> None:
    """`session.update`: only delegation settings and triggers; the delegation type is fixed."""
    if not isinstance(update, dict):
        raise StartError("missing_required_parameter", "Missing required parameter: 'session'.", "session")
    for key in update:
        if key in START_FIELDS and key not in UPDATE_FIELDS:
            raise StartError(
                "immutable_field_update", f"'session.{key}' cannot change after startup.", f"session.{key}"
            )
        if key not in UPDATE_FIELDS:
            raise StartError("unknown_parameter", f"Unknown parameter: 'session.{key}'.", f"session.{key}")
    if "delegation" in update:
        new, old = update["delegation"] or {}, session.get("delegation") or {"type": "client"}
        if new.get("type", old.get("type")) != old.get("type"):
            raise StartError(
                "immutable_field_update", "The delegation type is fixed at start.", "session.delegation.type"
            )
        merged = {**old, **new}
        _check_delegation(merged, "session.delegation")
        session["delegation"] = merged
    if "triggers" in update:
        session["triggers"] = update["triggers"]


def tool_names(session: dict[str, Any]) -> list[str]:
    delegation = session.get("delegation") or {}
    if delegation.get("type") != "responses":
        return []
    return [t.get("name", "") for t in (delegation.get("responses") or {}).get("tools") or []]


def rate_of(fmt: dict[str, Any]) -> int:
    return int(fmt.get("rate") or 8000) if fmt.get("type") == "audio/pcm" else 8000
