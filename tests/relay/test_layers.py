"""The relay's layering, read from its source with `ast`: no import cycle, and a core without I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

RELAY = Path(__file__).resolve().parents[2] / "relay"
IO_LIBRARIES = {"gevent", "geventwebsocket", "redis", "socket", "websocket"}


def _module(path: Path) -> str:
    parts = path.relative_to(RELAY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every module of `relay` and what it imports (whole module names, `TYPE_CHECKING` blocks included)."""
    found: dict[str, set[str]] = {}
    for path in sorted(RELAY.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[_module(path)] = names
    return found


def _graph() -> dict[str, set[str]]:
    imports = _imports()
    return {module: {name for name in names if name in imports and name != module} for module, names in imports.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            cycle = visit(imported)
            if cycle is not None:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle is not None:
            return cycle
    return None


def test_the_relay_has_no_import_cycle_type_checking_imports_included() -> None:
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_nothing_imports_the_node() -> None:
    importers = {module for module, names in _graph().items() if "relay.node" in names}
    assert importers <= {"relay.app"}


@pytest.mark.parametrize("module", sorted(m for m in _imports() if m == "relay.core" or m.startswith("relay.core.")))
def test_the_core_does_no_io_and_imports_only_itself(module: str) -> None:
    names = _imports()[module]
    assert not {name for name in names if name.split(".")[0] in IO_LIBRARIES}
    assert not {name for name in names if name.startswith("relay.") and not name.startswith("relay.core")}
