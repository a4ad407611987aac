"""The ARI REST surface as data, and request validation against it.

`ari_spec.json` (next to this file) is derived from Asterisk's Swagger files by
`scripts/extract-ari-spec`; `compact_spec()` is that derivation, so a test can
check the shipped copy against the original. The simulator rejects every request
the spec does not allow, in the shape real Asterisk uses: `{"message": ...}` with
404 "Resource not found" / 405 "Invalid method" / 400 for parameters. Real
Asterisk silently ignores unknown parameters; the simulator refuses them (400),
because accepting them would hide our bugs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SHIPPED_SPEC = Path(__file__).with_name("ari_spec.json")


def compact_spec(spec_dir: Path) -> dict[str, Any]:
    """Reduce Asterisk's api-docs/*.json to what validation needs."""
    operations: list[dict[str, Any]] = []
    events: dict[str, list[str]] = {}
    for path in sorted(spec_dir.glob("*.json")):
        doc = json.loads(path.read_text())
        for api in doc.get("apis", []):
            for op in api.get("operations", []):
                params = {}
                for p in op.get("parameters", []):
                    allowed = p.get("allowableValues", {})
                    params[p["name"]] = {
                        "in": p["paramType"],
                        "required": bool(p.get("required", False)),
                        "multiple": bool(p.get("allowMultiple", False)),
                        "type": p.get("dataType", "string"),
                        "enum": allowed.get("values") if allowed.get("valueType") == "LIST" else None,
                    }
                operations.append(
                    {"method": op["httpMethod"], "path": api["path"], "name": op["nickname"], "params": params}
                )
        models = doc.get("models", {})
        for name in models.get("Event", {}).get("subTypes", []):
            events[name] = sorted(models[name].get("properties", {}))
    operations.sort(key=lambda o: (o["path"], o["method"]))
    return {"operations": operations, "events": events}


class SpecViolation(Exception):
    """A request real Asterisk (or our stricter simulator) would refuse."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    name: str
    params: Mapping[str, Mapping[str, Any]]

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/"))


@dataclass(frozen=True, slots=True)
class MatchedRequest:
    operation: Operation
    path_params: dict[str, str]
    params: dict[str, str]  # query parameters plus body keys lifted into parameters
    variables: dict[str, Any] | None


class AriSpec:
    def __init__(self, compact: Mapping[str, Any]) -> None:
        self.operations = [Operation(**op) for op in compact["operations"]]
        self.events: dict[str, list[str]] = dict(compact["events"])

    @classmethod
    @cache
    def shipped(cls) -> AriSpec:
        return cls(json.loads(SHIPPED_SPEC.read_text()))

    def match(self, method: str, segments: list[str]) -> tuple[Operation, dict[str, str]]:
        """Find the operation for a path (already split and unquoted, without /ari)."""
        candidates = []
        for op in self.operations:
            template = op.segments
            if len(template) != len(segments):
                continue
            bound: dict[str, str] = {}
            for want, got in zip(template, segments, strict=True):
                if want.startswith("{"):
                    if not got:
                        break
                    bound[want[1:-1]] = got
                elif want != got:
                    break
            else:
                literal = sum(not s.startswith("{") for s in template)
                candidates.append((literal, op, bound))
        if not candidates:
            raise SpecViolation(404, "Resource not found")
        best = max(c[0] for c in candidates)
        for literal, op, bound in candidates:
            if literal == best and op.method == method:
                return op, bound
        raise SpecViolation(405, "Invalid method")

    def validate(
        self,
        method: str,
        segments: list[str],
        query: Mapping[str, str],
        body: Any = None,
    ) -> MatchedRequest:
        op, path_params = self.match(method, segments)
        params = dict(query)
        variables = None
        if body is not None:
            if not isinstance(body, dict):
                raise SpecViolation(400, "Error parsing request body")
            for key, value in body.items():
                if key == "variables":
                    variables = value
                else:
                    params.setdefault(key, value if isinstance(value, str) else json.dumps(value))
        for name, value in params.items():
            spec = op.params.get(name)
            if spec is None or spec["in"] not in ("query", "body"):
                raise SpecViolation(400, f"Unknown parameter '{name}' for {op.name}")
            _check_value(name, value, spec)
        for name, spec in op.params.items():
            if spec["required"] and spec["in"] == "query" and name not in params:
                raise SpecViolation(400, f"Required parameter '{name}' not provided.")
        return MatchedRequest(op, path_params, params, variables)


def _check_value(name: str, value: str, spec: Mapping[str, Any]) -> None:
    values = value.split(",") if spec["multiple"] else [value]
    allowed = spec["enum"]
    for item in values:
        if allowed is not None and item not in allowed:
            raise SpecViolation(400, f"Invalid value '{item}' for parameter '{name}'")
        if spec["type"] in ("int", "long") and not _is_int(item):
            raise SpecViolation(400, f"Parameter '{name}' must be an integer")
        if spec["type"] == "boolean" and item not in ("true", "false"):
            raise SpecViolation(400, f"Parameter '{name}' must be true or false")


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
