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
