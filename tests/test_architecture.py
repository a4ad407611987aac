"""The import rules of docs/architecture.md §2, checked on the source."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "engine": {"aiohttp", "litestar", "ari_apps", "web"},
    "db": {"engine", "ari_apps", "web", "aiohttp", "litestar"},
    "ari_apps": {"web", "db", "litestar"},
    "web": {"ari_apps", "aiohttp"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_folder_imports_only_what_it_may(folder):
    offenders = {
        str(path.relative_to(REPO)): sorted(_imported_packages(path) & FORBIDDEN[folder])
        for path in (REPO / folder).rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


# Inside engine/: each concern may import only the concerns below it. `app` (the process and its
# wiring) may import everything and nothing imports it; `ports` are the seams and import no concern.
ENGINE_MODULES = {"clock", "settings", "metrics", "accounts", "websocket_writer"}  # the few cross-cutting ones
ENGINE_MAY_IMPORT = {
    "ports": {"clock"},
    "voice": {"ports", "clock", "settings", "websocket_writer"},
    "tasks": {"ports", "clock"},
    "hitl": {"ports", "clock", "settings", "tasks"},
    "agent": {"ports", "clock", "settings", "metrics", "tasks", "hitl"},
    "lifecycle": {"ports", "clock", "settings", "metrics", "tasks", "hitl"},
    "planner": {"ports", "clock", "settings", "tasks"},
    "app": {"ports", "clock", "settings", "metrics", "accounts", "voice", "tasks", "hitl", "agent", "lifecycle",
            "planner"},
    "clock": set(),
    "settings": set(),
    "metrics": set(),
    "accounts": set(),
    "websocket_writer": set(),
}


def _engine_concern(path: Path) -> str:
    parts = path.relative_to(REPO / "engine").with_suffix("").parts
    return parts[0]


def _engine_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "engine":
                names = [f"engine.{alias.name}" for alias in node.names]
        found.update(name.split(".")[1] for name in names if name.startswith("engine.") and name.count(".") >= 1)
    return found


def test_engine_has_folders_by_concern_and_few_top_level_modules():
    top_level = {path.stem for path in (REPO / "engine").glob("*.py")} - {"__init__"}
    folders = {path.name for path in (REPO / "engine").iterdir() if (path / "__init__.py").exists()}
    assert top_level == ENGINE_MODULES
    assert folders | top_level == set(ENGINE_MAY_IMPORT)


def test_each_engine_concern_imports_only_the_concerns_below_it():
    offenders = {}
    for path in (REPO / "engine").rglob("*.py"):
        concern = _engine_concern(path)
        if concern == "__init__":
            continue
        wrong = _engine_imports(path) - ENGINE_MAY_IMPORT[concern] - {concern}
        if wrong:
            offenders[str(path.relative_to(REPO))] = sorted(wrong)
    assert offenders == {}


MAX_MODULE_LINES = 400


@pytest.mark.parametrize("folder", ["engine", "ari_apps", "web", "db"])
def test_no_module_is_over_the_size_a_reader_can_hold(folder):
    too_long = {
        str(path.relative_to(REPO)): lines
        for path in (REPO / folder).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_one_clock_for_the_whole_product():
    clocks = sorted(
        f"{path.relative_to(REPO)}:{node.name}"
        for folder in ("engine", "ari_apps", "web", "db")
        for path in (REPO / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Clock")
    )
    assert clocks == ["engine/clock.py:Clock", "engine/clock.py:SystemClock"]
