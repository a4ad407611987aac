"""Adapters the engine uses without importing them (pyproject entry points).

`ari_apps` and `web` import the engine, never the other way round; the engine
finds their factories by name in the `opendeep.components` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

COMPONENT_GROUP = "opendeep.components"


class ComponentMissing(RuntimeError):
    pass


def load_component(name: str) -> Callable[..., Any]:
    found = entry_points(group=COMPONENT_GROUP, name=name)
    if not found:
        raise ComponentMissing(f"component {name!r} is not installed (reinstall OpenDeep: pip install -e .)")
    return next(iter(found)).load()
