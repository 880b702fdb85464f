"""Which function ships in which zip, and which of our modules the request handlers' zip holds (no build)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.artefacts import KINDS, code_files, import_closure, kind_of, snapstart_enabled, uses_snapstart
from deploy.service import Function


def _tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


API = next(kind for kind in KINDS if kind.name == "api")
JOBS = next(kind for kind in KINDS if kind.name == "jobs")


def _area(name: str) -> Function:
    return Function(name=name, handler=f"functions/api/{name}.handler", events=[{"httpApi": f"GET /api/{name}"}])


def test_a_new_area_lands_in_the_request_handlers_zip_with_its_imports_and_no_edit(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "functions/__init__.py": "", "functions/api/__init__.py": "", "shared/__init__.py": "",
        "shared/market/__init__.py": "", "shared/market/quotes.py": "import psycopg\n",
        "shared/market/compat.sql": "select 1;\n",
        "functions/api/market.py": "from shared.market import quotes\nhandler = None\n",
        "functions/jobs/__init__.py": "", "functions/jobs/gamma.py": "import numpy\n",
    })  # fmt: skip
    market = _area("market")
    assert kind_of(market) is API
    files = {p.as_posix() for p in code_files(API, [market], root)}
    assert files == {
        "functions/__init__.py", "functions/api/__init__.py", "functions/api/market.py", "shared/__init__.py",
        "shared/market/__init__.py", "shared/market/quotes.py", "shared/market/compat.sql",
    }  # fmt: skip


def test_lazy_and_by_name_imports_are_followed_and_type_checking_ones_are_not(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "functions/__init__.py": "", "functions/api/__init__.py": "", "shared/__init__.py": "",
        "shared/lazy.py": "", "shared/named.py": "", "shared/typed.py": "import numpy\n",
        "functions/api/area.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from shared import typed\n"
            "def route():\n    from shared import lazy\n    import requests\n"
            "AREAS = ('shared.named',)\n"
        ),
    })  # fmt: skip
    closure = import_closure(("functions.api.area",), root)
    assert {"shared.lazy", "shared.named"} <= closure.ours
    assert "shared.typed" not in closure.ours
    assert "requests" in closure.external and "numpy" not in closure.external


def test_relative_imports_resolve_to_our_modules(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "functions/__init__.py": "", "functions/api/__init__.py": "",
        "functions/api/area.py": "from . import sibling\n", "functions/api/sibling.py": "from ..web import app\n",
        "functions/web/__init__.py": "", "functions/web/app.py": "",
    })  # fmt: skip
    assert {"functions.api.sibling", "functions.web.app"} <= import_closure(("functions.api.area",), root).ours


def test_the_local_stack_is_never_followed_into(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "functions/__init__.py": "", "functions/api/__init__.py": "", "shared/__init__.py": "",
        "shared/local/__init__.py": "", "shared/local/devstack.py": "",
        "functions/api/area.py": "def f():\n    from shared.local import devstack\n",
    })  # fmt: skip
    assert not {m for m in import_closure(("functions.api.area",), root).ours if m.startswith("shared.local")}


def test_the_jobs_zip_holds_all_our_deployed_code(tmp_path: Path) -> None:
    root = _tree(tmp_path, {
        "functions/__init__.py": "", "functions/__main__.py": "", "functions/jobs/gamma.py": "",
        "shared/__init__.py": "", "shared/local/devstack.py": "", "shared/gamma/chart.py": "",
    })  # fmt: skip
    files = {p.as_posix() for p in code_files(JOBS, [], root)}
    assert files == {"functions/__init__.py", "functions/jobs/gamma.py", "shared/__init__.py", "shared/gamma/chart.py"}


def test_snapstart_is_on_unless_snapstart_is_false() -> None:
    assert snapstart_enabled({}) and snapstart_enabled({"SNAPSTART": ""}) and snapstart_enabled({"SNAPSTART": "true"})
    assert not snapstart_enabled({"SNAPSTART": "false"}) and not snapstart_enabled({"SNAPSTART": "FALSE"})
    with pytest.raises(ValueError, match="SNAPSTART"):
        snapstart_enabled({"SNAPSTART": "maybe"})


def test_only_request_handlers_get_snapstart() -> None:
    job = Function(name="gamma", handler="functions/jobs/gamma.handler", events=[{"schedule": "rate(5 minutes)"}])
    assert uses_snapstart(_area("health"), True)
    assert not uses_snapstart(_area("health"), False)
    assert not uses_snapstart(job, True)


def test_a_zip_is_rebuilt_when_a_file_it_holds_changes_and_kept_when_nothing_it_holds_did(tmp_path: Path) -> None:
    from deploy.lambda_build import inputs_digest
    from deploy.service import load_service

    root = _tree(tmp_path, {
        "functions/__init__.py": "", "functions/api/__init__.py": "", "shared/__init__.py": "",
        "shared/quotes.py": "X = 1\n", "shared/unused.py": "",
        "functions/api/market.py": "from shared import quotes\nhandler = None\n",
    })  # fmt: skip
    service = load_service().model_copy(update={"functions": [_area("market")]})
    deps = tmp_path / "deps-api-x86_64-0123"
    first = inputs_digest(service, API, deps, root)
    (root / "shared" / "unused.py").write_text("Y = 2\n", encoding="utf-8")
    assert inputs_digest(service, API, deps, root) == first
    (root / "shared" / "quotes.py").write_text("X = 2\n", encoding="utf-8")
    assert inputs_digest(service, API, deps, root) != first
    assert inputs_digest(service, API, tmp_path / "deps-api-x86_64-4567", root) != first
