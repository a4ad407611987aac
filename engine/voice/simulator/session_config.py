"""The simulated session object: its defaults, and `session.update` validated and merged the way
the GA service does it (the shapes of the openai SDK's `RealtimeSessionCreateRequest`,
`RealtimeAudioConfig*`, `RealtimeAudioFormats` and `RealtimeAudioInputTurnDetection`).

`apply_update` answers a refused update with an `UpdateError` (code, message, param) and
leaves the session untouched; the service's codes are `unknown_parameter`,
`missing_required_parameter`, `invalid_type` and `invalid_value`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

PCM_RATE = 24000
FORMAT_TYPES = ("audio/pcm", "audio/pcmu", "audio/pcma")

SESSION_KEYS = frozenset(
    {
        "type",
        "audio",
        "include",
        "instructions",
        "max_output_tokens",
        "model",
        "output_modalities",
        "parallel_tool_calls",
        "prompt",
        "reasoning",
        "tool_choice",
        "tools",
        "tracing",
        "truncation",
    }
)
AUDIO_KEYS = frozenset({"input", "output"})
INPUT_KEYS = frozenset({"format", "noise_reduction", "transcription", "turn_detection"})
OUTPUT_KEYS = frozenset({"format", "speed", "voice"})
TURN_KEYS = {
    "server_vad": frozenset(
        {
            "type",
            "threshold",
            "prefix_padding_ms",
            "silence_duration_ms",
            "create_response",
            "interrupt_response",
            "idle_timeout_ms",
        }
    ),
    "semantic_vad": frozenset({"type", "eagerness", "create_response", "interrupt_response"}),
}
TURN_DEFAULTS = {
    "server_vad": {
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    },
    "semantic_vad": {"eagerness": "auto", "create_response": True, "interrupt_response": True},
}
EAGERNESS = ("low", "medium", "high", "auto")


@dataclass(frozen=True, slots=True)
class UpdateError(Exception):
    code: str
    message: str
    param: str


def default_session() -> dict[str, Any]:
    pcm = {"type": "audio/pcm", "rate": PCM_RATE}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_sim",
        "model": "simulated",
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "audio": {
            "input": {
                "format": dict(pcm),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {"type": "server_vad", **TURN_DEFAULTS["server_vad"]},
            },
            "output": {"format": dict(pcm), "voice": "marin", "speed": 1.0},
        },
    }


def apply_update(session: dict[str, Any], update: Any) -> None:
    """Validate `update` (the client's `session` object) and merge it into `session`; raises UpdateError."""
    _check_update(update)
    for key, value in update.items():
        if key == "audio":
            for direction, part in value.items():
                target = session["audio"][direction]
                for name, setting in part.items():
                    target[name] = _turn_detection(setting) if name == "turn_detection" else copy.deepcopy(setting)
        else:
            session[key] = copy.deepcopy(value)


def input_rate(fmt: dict[str, Any]) -> int:
    return PCM_RATE if fmt.get("type") == "audio/pcm" else 8000


def _turn_detection(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A new turn_detection replaces the old one; fields left out take the service's defaults."""
    if value is None:
        return None
    return {"type": value["type"], **TURN_DEFAULTS[value["type"]], **copy.deepcopy(value)}


def _check_update(update: Any) -> None:
    if not isinstance(update, dict):
        raise UpdateError("invalid_type", "Invalid type for 'session': expected an object.", "session")
    _no_unknown(update, SESSION_KEYS, "session")
    if update.get("type") != "realtime":
        if "type" not in update:
            raise UpdateError(
                "missing_required_parameter", "Missing required parameter: 'session.type'.", "session.type"
            )
        raise UpdateError("invalid_value", "Invalid value for 'session.type': expected 'realtime'.", "session.type")
    if "instructions" in update and not isinstance(update["instructions"], str):
        raise UpdateError("invalid_type", "Invalid type for 'session.instructions'.", "session.instructions")
    modalities = update.get("output_modalities")
    if modalities is not None and (
        not isinstance(modalities, list) or len(modalities) != 1 or modalities[0] not in ("audio", "text")
    ):
        raise UpdateError(
            "invalid_value", "'session.output_modalities' must be ['audio'] or ['text'].", "session.output_modalities"
        )
    audio = update.get("audio")
    if audio is None:
        return
    _object(audio, "session.audio")
    _no_unknown(audio, AUDIO_KEYS, "session.audio")
    for direction, keys in (("input", INPUT_KEYS), ("output", OUTPUT_KEYS)):
        part = audio.get(direction)
        if part is None:
            continue
        where = f"session.audio.{direction}"
        _object(part, where)
        _no_unknown(part, keys, where)
        if "format" in part:
            _check_format(part["format"], f"{where}.format")
    detection = (audio.get("input") or {}).get("turn_detection")
    if detection is not None:
        _check_turn_detection(detection, "session.audio.input.turn_detection")


def _check_format(fmt: Any, where: str) -> None:
    _object(fmt, where)
    kind = fmt.get("type")
    if kind is None:
        raise UpdateError("missing_required_parameter", f"Missing required parameter: '{where}.type'.", f"{where}.type")
    if kind not in FORMAT_TYPES:
        raise UpdateError(
            "invalid_value",
            f"Invalid value: '{kind}'. Supported values are: {', '.join(repr(t) for t in FORMAT_TYPES)}.",
            f"{where}.type",
        )
    if kind == "audio/pcm":
        _no_unknown(fmt, frozenset({"type", "rate"}), where)
        if "rate" not in fmt:
            raise UpdateError(
                "missing_required_parameter", f"Missing required parameter: '{where}.rate'.", f"{where}.rate"
            )
        if fmt["rate"] != PCM_RATE:
            raise UpdateError(
                "invalid_value", f"Invalid value: {fmt['rate']!r}. Supported values are: {PCM_RATE}.", f"{where}.rate"
            )
    else:
        _no_unknown(fmt, frozenset({"type"}), where)


def _check_turn_detection(detection: Any, where: str) -> None:
    _object(detection, where)
    kind = detection.get("type")
    if kind not in TURN_KEYS:
        raise UpdateError(
            "invalid_value",
            f"Invalid value: {kind!r}. Supported values are: 'server_vad', 'semantic_vad'.",
            f"{where}.type",
        )
    _no_unknown(detection, TURN_KEYS[kind], where)
    for flag in ("create_response", "interrupt_response"):
        if flag in detection and not isinstance(detection[flag], bool):
            raise UpdateError(
                "invalid_type", f"Invalid type for '{where}.{flag}': expected a boolean.", f"{where}.{flag}"
            )
    threshold = detection.get("threshold")
    if threshold is not None and not (isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0):
        raise UpdateError("invalid_value", f"'{where}.threshold' must be between 0.0 and 1.0.", f"{where}.threshold")
    for name in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
        value = detection.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise UpdateError(
                "invalid_type", f"Invalid type for '{where}.{name}': expected an integer.", f"{where}.{name}"
            )
    if kind == "semantic_vad" and detection.get("eagerness", "auto") not in EAGERNESS:
        raise UpdateError("invalid_value", f"Invalid value for '{where}.eagerness'.", f"{where}.eagerness")


def _object(value: Any, where: str) -> None:
    if not isinstance(value, dict):
        raise UpdateError("invalid_type", f"Invalid type for '{where}': expected an object.", where)


def _no_unknown(value: dict[str, Any], known: frozenset[str], where: str) -> None:
    for key in value:
        if key not in known:
            raise UpdateError("unknown_parameter", f"Unknown parameter: '{where}.{key}'.", f"{where}.{key}")
