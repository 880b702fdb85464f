"""The Lambda artefacts, one per kind of function: which functions each serves, its lock, its code.

A function's kind is the folder of its handler (`functions/api/…` → api, `functions/jobs/…` → jobs),
so a new area or job lands in the right zip without an edit here. The request handlers' zip holds
only the modules their handlers can import (the static import closure, lazy imports included) and
only the api lock's wheels: no numpy, matplotlib or job code. The jobs' zip holds all our code and
the jobs' lock (the api stack plus numpy, matplotlib).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from deploy.service import ROOT, Function

# Our packages that run in a Lambda. relay/ is the container's.
CODE_PACKAGES = ("functions", "shared")
# What no zip holds, by rule: everything only the local stack runs lives in shared/local/, and
# `python -m functions` is the local CLI (tokens, jobs by hand). A folder ends with "/".
DEV_ONLY = ("shared/local/", "functions/__main__.py")
# Files of our packages that ship besides modules (shared/db/compat.sql, …).
DATA_SUFFIXES = frozenset({".sql", ".json", ".html", ".css", ".js"})
MB = 1_000_000


@dataclass(frozen=True)
class Kind:
    """One artefact: the functions whose handler lives under `handlers`, built from `lock`."""

    name: str
    handlers: str
    lock: Path
    # The code is the import closure of the handlers (True) or every non-dev module (False).
    closure: bool
    max_unzipped: int
    # Top-level modules that must not be in the zip (tests/deploy checks it).
    forbidden: tuple[str, ...] = ()

    @property
    def artifact_name(self) -> str:
        return f"{self.name}.zip"


KINDS: tuple[Kind, ...] = (
    Kind(
        name="api",
        handlers="functions/api/",
        lock=ROOT / "requirements.api.txt",
        closure=True,
        max_unzipped=60 * MB,
        forbidden=("numpy", "pandas", "matplotlib", "PIL", "exchange_calendars", "functions/jobs", "tqdm"),
    ),
    # Lambda's own limit: 250 MiB unzipped, layers included.
    Kind(name="jobs", handlers="functions/jobs/", lock=ROOT / "requirements.jobs.txt", closure=False,
         max_unzipped=262_144_000),
)  # fmt: skip


def snapstart_enabled(environ: Mapping[str, str]) -> bool:
    """SnapStart on the request handlers unless `SNAPSTART=false` (unset or empty: on)."""
    value = environ.get("SNAPSTART", "").strip().lower()
    if value in {"", "true", "1", "yes", "on"}:
        return True
    if value in {"false", "0", "no", "off"}:
        return False
    raise ValueError(f"SNAPSTART={value!r}: use true or false")


def uses_snapstart(function: Function, enabled: bool) -> bool:
    """Whether `function` gets SnapStart: the request handlers (their cold start is a user's wait)."""
    return enabled and function.serves_requests


def kind_of(function: Function) -> Kind:
    """The artefact a function ships in, by its handler's folder."""
    for kind in KINDS:
        if function.handler.startswith(kind.handlers):
            return kind
    folders = [k.handlers for k in KINDS]
    raise ValueError(f"{function.name}: handler {function.handler} is under no kind's folder ({folders})")


def is_dev_only(relative: str) -> bool:
    """Whether a file of our code (its path from the repository root, with "/") is the local stack's."""
    return any(relative.startswith(rule) if rule.endswith("/") else relative == rule for rule in DEV_ONLY)


def _module_file(module: str, root: Path = ROOT) -> Path | None:
    base = root / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(path: Path, module: str) -> set[str]:
    """Every module `path` may import at run time: its imports at any depth (lazy ones too), less
    `if TYPE_CHECKING:` blocks, plus string constants naming one of our modules (importlib by name)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.orelse:
                visit(statement)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.split(".")[0] in CODE_PACKAGES
            and node.value.replace(".", "").replace("_", "").isalnum()
        ):
            found.add(node.value)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@dataclass(frozen=True)
class Closure:
    """Our modules reachable from some roots, and the other top-level modules they import."""

    ours: frozenset[str]
    external: frozenset[str]


@cache
def import_closure(roots: tuple[str, ...], root: Path = ROOT) -> Closure:
    """Our modules `roots` can import at run time (with their parent packages), and the external ones."""
    ours: set[str] = set()
    external: set[str] = set()
    pending = list(roots)
    while pending:
        module = pending.pop()
        if module in ours:
            continue
        top = module.split(".")[0]
        if top not in CODE_PACKAGES:
            external.add(top)
            continue
        path = _module_file(module, root)
        if path is None:
            continue  # `from shared.x import name`: name is an attribute, not a module
        if is_dev_only(path.relative_to(root).as_posix()):
            continue  # never shipped; a deployed module importing it is test_dev_only's failure
        ours.add(module)
        parts = module.split(".")
        pending.extend(".".join(parts[:i]) for i in range(1, len(parts)))
        pending.extend(_imported_names(path, module))
    return Closure(frozenset(ours), frozenset(external))


def code_files(kind: Kind, functions: Iterable[Function], root: Path = ROOT) -> list[Path]:
    """Our files (paths from `root`) the kind's zip holds."""
    files: list[Path] = []
    if kind.closure:
        closure = import_closure(tuple(sorted(f.module for f in functions if kind_of(f) == kind)), root)
        modules = {_module_file(m, root) for m in closure.ours}
        folders = {path.parent for path in modules if path is not None}
        for path in sorted(p for p in modules if p is not None):
            files.append(path.relative_to(root))
        # Data files beside a shipped module (shared/db/compat.sql).
        for folder in sorted(folders):
            data = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in DATA_SUFFIXES]
            files += [p.relative_to(root) for p in data]
        return sorted(set(files))
    for package in CODE_PACKAGES:
        for source in sorted((root / package).rglob("*")):
            relative = source.relative_to(root)
            shipped = source.suffix == ".py" or source.suffix in DATA_SUFFIXES
            ours = "__pycache__" not in relative.parts and not is_dev_only(relative.as_posix())
            if shipped and ours and source.is_file():
                files.append(relative)
    return files
