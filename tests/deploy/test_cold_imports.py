"""What a request handler's init may load: the shapes that keep it near the bare stack.

The times themselves are measured by `bench/cold_start.py` (docs/benchmarks.md); these tests keep
the structural savings from eroding: the handlers' module imports no area, and an on-demand init,
which builds the function's own area, loads no HTTP client before a request posts and builds no
pydantic validator before a request uses its model (SnapStart builds them all before its snapshot).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from typing import Any

import pytest

from deploy.service import ROOT, Function, load_service

REQUEST_HANDLERS = sorted((f for f in load_service().functions if f.serves_requests), key=lambda f: f.name)
# What a request handler's init reads; nothing connects during init, so the database need not exist.
INIT_SETTINGS = {"DATABASE_URL": "postgresql://init@127.0.0.1:9/none", "SUPABASE_JWT_SECRET": "s" * 32}
# Settings are read by the first request of every handler; deferring them would only move the cost.
BUILT_AT_IMPORT = {"shared.config.Settings"}

_PROBE = """
import importlib, json, sys
handler = getattr(importlib.import_module({module!r}), {attribute!r})  # an on-demand init: builds its area
assert handler.built
from pydantic import BaseModel

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

ours = {{c for c in subclasses(BaseModel) if c.__module__.split(".")[0] in ("functions", "shared")}}
print(json.dumps({{
    "requests": "requests" in sys.modules,
    "models": len(ours),
    "built": sorted(c.__module__ + "." + c.__qualname__ for c in ours if c.__pydantic_complete__),
}}))
"""


def _init_environ(function: Function, kind: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), **INIT_SETTINGS, **function.init_environ(kind)}


def _cold_import(function: Function) -> dict[str, Any]:
    return _cold_import_of(function.name)


@cache  # one fresh interpreter per handler serves both tests of it
def _cold_import_of(name: str) -> dict[str, Any]:
    # A fresh interpreter per handler, as Lambda's init is: nothing another import loaded can hide a cost.
    function = next(f for f in REQUEST_HANDLERS if f.name == name)
    probe = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + _PROBE.format(
        module=function.module, attribute=function.attribute
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe], env=_init_environ(function, "on-demand"),
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_the_handlers_module_imports_no_area_nor_flask_nor_pydantic() -> None:
    # What SnapStart's init imports before its hooks build the area (and what Lambda times as import).
    probe = (f"import sys; sys.path.insert(0, {str(ROOT)!r})\nimport functions.api.handlers\n"
             "print(sorted(m for m in ('flask', 'pydantic', 'psycopg', 'functions.api.trades') if m in sys.modules))")
    trades = next(f for f in REQUEST_HANDLERS if f.name == "trades")
    environ = _init_environ(trades, "snap-start")
    result = subprocess.run([sys.executable, "-I", "-c", probe], env=environ, cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("function", REQUEST_HANDLERS, ids=lambda f: f.name)
def test_a_request_handler_loads_no_http_client_before_it_posts(function: Function) -> None:
    assert _cold_import(function)["requests"] is False, f"{function.handler}'s init imports `requests`"


@pytest.mark.parametrize("function", REQUEST_HANDLERS, ids=lambda f: f.name)
def test_a_request_handler_builds_no_validator_before_a_request_uses_it(function: Function) -> None:
    built = set(_cold_import(function)["built"])
    assert built <= BUILT_AT_IMPORT, f"give these models `defer_build=True`: {sorted(built - BUILT_AT_IMPORT)}"


def test_a_deferred_model_validates_and_refuses_on_first_use() -> None:
    from pydantic import ValidationError

    from functions.api.trades.bodies import TradePatch

    with pytest.raises(ValidationError) as refused:
        TradePatch.model_validate({"no_such_field": 1})
    assert refused.value.errors()[0]["loc"] == ("no_such_field",)
    assert TradePatch.__pydantic_complete__


_CONCURRENT_FIRST_USE = """
import json, threading
from pydantic import ValidationError
from functions.api.trades.bodies import TradeActionBody

start = threading.Barrier(16)
answers = []

def first_use(i):
    start.wait()
    try:
        body = {"action": "trim", "price": "3.10", "trim_percent": 50} if i % 2 else {"action": "trim", "price": -1}
        answers.append(("ok", TradeActionBody.model_validate(body).model_dump(mode="json")["price"]))
    except ValidationError as error:
        answers.append(("refused", error.errors()[0]["loc"][0]))

threads = [threading.Thread(target=first_use, args=(i,)) for i in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(sorted(answers)))
"""


def test_threads_that_first_use_a_deferred_model_together_all_get_its_validator() -> None:
    # The local sender and the dev API are threaded: the first build of a deferred model may race.
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + _CONCURRENT_FIRST_USE],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert json.loads(result.stdout) == [["ok", "3.10"]] * 8 + [["refused", "price"]] * 8


def test_every_deferred_model_can_be_built_from_its_module_alone() -> None:
    # A deferred model resolves its annotations at first use: a name imported only for type
    # checking would fail there, in a request, instead of at import.
    import importlib
    import pkgutil

    from pydantic import BaseModel

    import functions
    import shared

    for package in (functions, shared):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module.name not in {"shared.local.devstack"}:
                importlib.import_module(module.name)

    def subclasses(cls: type[BaseModel]) -> list[type[BaseModel]]:
        found = []
        for sub in cls.__subclasses__():
            found += [sub, *subclasses(sub)]
        return found

    ours = [c for c in subclasses(BaseModel) if c.__module__.split(".")[0] in ("functions", "shared")]
    assert len(ours) > 50
    for model in ours:
        assert model.model_rebuild(force=True, raise_errors=True) is not False, model
