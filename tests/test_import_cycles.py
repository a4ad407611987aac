"""Import cycles among the project's modules (engine/, ari_apps/, web/, db/).

There is none: a part that needs its owner depends on an interface (a Protocol
in a module of its own), not on the owner's module.

Every import counts, wherever it is written: at module level, inside a function,
or under `if TYPE_CHECKING:`. A package's `__init__` is a module like any other,
so its re-exports are edges to its submodules, and importing `a.b.c` also runs
(depends on) `a/__init__` and `a/b/__init__`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "ari_apps", "web", "db")  # the graph: every import among these


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def imported_modules(path: Path, module: str, modules: set[str]) -> Iterator[str]:
    """The project modules an import statement in `path` names, absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in modules]
            yield from submodules  # `from package import submodule`
            if len(submodules) < len(node.names):  # and names defined in `source` itself
                yield source


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports; importing `a.b.c` also runs `a` and `a.b`."""
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for target in imported_modules(path, name, set(modules)):
            if target in modules and target != name:
                graph[name].add(target)  # named: an edge even to the module's own package
            parts = target.split(".")
            for i in range(1, len(parts)):
                parent = ".".join(parts[:i])
                if parent in modules and not name.startswith(parent + "."):  # a module's packages run first anyway
                    graph[name].add(parent)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_relative_function_level_and_type_checking_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "from .. import helper_name\n"
        "if TYPE_CHECKING:\n"
        "    from pkg.hidden import Thing\n"
        "def later():\n"
        "    import pkg.lazy\n"
    )
    modules = {"pkg", "pkg.sub", "pkg.sub.sibling", "pkg.hidden", "pkg.lazy"}
    found = set(imported_modules(source, "pkg.sub.mod", modules))
    assert {"pkg.sub.sibling", "pkg", "pkg.hidden", "pkg.lazy"} <= found
    graph = import_graph()
    assert {"engine.ports.telephony", "ari_apps.events_socket"} <= graph["ari_apps.adapter"]
    assert {"engine", "engine.clock"} <= graph["ari_apps.audiosocket"]  # a package runs before its modules


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_anywhere():
    assert cycles(import_graph()) == []
