"""Each Lambda artefact's size, each handler's import and init from its own zip, and a first request
after an on-demand init and after a SnapStart restore, the way Lambda runs them.

    .venv/bin/python bench/cold_start.py [--runs 15] [--request-runs 5]

Builds the artefacts (deploy/lambda_build.py, cached) and extracts each. Everything runs in a fresh
interpreter of the runtime's Python (`-I -S`, only the function's own extracted zip and the runtime's
`snapshot_restore_py` on sys.path, its unchecked-hash bytecode used as is), with the `_HANDLER` and
`AWS_LAMBDA_INITIALIZATION_TYPE` Lambda's runtime sets. A request handler's import is its SnapStart
init before the hooks; its on-demand init is the import that also builds its area (what a function
with `SNAPSTART=false` pays before its first event). The bare stack is the same interpreter importing
flask, psycopg, pydantic, PyJWT and apig-wsgi and nothing of ours, timed right after each measurement
so both see the same load; a second baseline also defines one model (pydantic 2 loads its model
machinery with the first model).

The first request: a fresh interpreter inits a request handler and serves one of its routes
(`DATABASE_URL` an embedded Postgres, migrated; a signed token) twice. "on-demand" is init (the area
built) plus the first event; "SnapStart" runs the before-snapshot hooks (functions/web/snapstart.py)
and the after-restore ones, as a restored environment would have, so its first request is what a
restored function pays. Prints Markdown tables; medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.artefacts import KINDS, kind_of  # noqa: E402
from deploy.lambda_build import build, unzipped_size  # noqa: E402
from deploy.service import Function, load_service, runtime_interpreter  # noqa: E402

BARE_STACK = "import flask, psycopg, pydantic, jwt, apig_wsgi"
# The same stack with pydantic's model machinery loaded (pydantic 2 defers it to the first model).
BARE_STACK_WITH_A_MODEL = BARE_STACK + "; exec('class M(pydantic.BaseModel):\\n    x: int')"
# Request handlers' import target, from the issue.
TARGET = 1.25
JWT_SECRET = "bench-cold-start-secret-0123456789abcdef0123456789abcdef"
# What a request handler's init reads (nothing connects during init: the pool opens on the first request;
# the first-request table points DATABASE_URL at a real database).
INIT_SETTINGS = {"DATABASE_URL": "postgresql://bench@127.0.0.1:9/bench", "SUPABASE_JWT_SECRET": JWT_SECRET,
                 "WEB_ORIGIN": "https://app.example.test", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json"}  # fmt: skip
ADMIN = uuid.UUID("00000000-0000-4000-8000-00000000c01d")
# Path parameters of the routes a first request calls.
PATH_VALUES = {"symbol": "SPY", "underlying": "SPY", "asset": "swagger-ui.css"}
ANY_ID = "00000000-0000-4000-8000-000000000001"
# A route that validates a body and writes (trades' first post builds its models), besides each GET.
TRADE_BODY = {
    "ticker": "SPY", "action": "load", "current_price": "1.10",
    "contract": {"symbol": "O:SPY300118C00650000", "strike": "650", "expiry": "2030-01-18", "type": "call"},
}  # fmt: skip

_FIRST_REQUEST = """
import importlib, json, sys, time
event = json.loads(sys.argv[1])
t = time.perf_counter()
module = importlib.import_module(sys.argv[2])  # Lambda's init (on-demand: the area is built here)
handler = getattr(module, sys.argv[3])
imported = time.perf_counter()
if sys.argv[4] == "warm":  # SnapStart: its hooks before the snapshot, then after the restore
    import snapshot_restore_py
    for func, args, kwargs in snapshot_restore_py.get_before_snapshot():
        func(*args, **kwargs)
    for func, args, kwargs in snapshot_restore_py.get_after_restore():
        func(*args, **kwargs)
warmed = time.perf_counter()
first = handler(event, None)
served = time.perf_counter()
second = handler(event, None)
again = time.perf_counter()
print(json.dumps({"status": first["statusCode"], "again": second["statusCode"],
                  "import": (imported - t) * 1e3, "warm": (warmed - imported) * 1e3,
                  "first": (served - warmed) * 1e3, "second": (again - served) * 1e3}), flush=True)
import os
os._exit(0)  # a Lambda environment is frozen, not shut down: the pool's threads are not waited for
"""


def _run(python: Path, paths: list[Path], code: str, args: list[str], env: dict[str, str]) -> str:
    probe = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}\n" + code
    result = subprocess.run(
        [str(python), "-I", "-S", "-c", probe, *args],
        cwd=paths[0], env={"PATH": os.environ.get("PATH", ""), **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"cold_start: {args[1:2] or code[:60]} failed:\n{result.stderr}")
    return result.stdout.strip()


def time_import(python: Path, paths: list[Path], statement: str, env: dict[str, str]) -> float:
    """Milliseconds one fresh interpreter spends on `statement` (interpreter start-up excluded)."""
    code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1000)"
    return float(_run(python, paths, code, [], env))


def paired_ms(
    python: Path, paths: list[Path], statement: str, runs: int, env: dict[str, str] | None = None
) -> tuple[list[float], list[float]]:
    """`runs` runs of `statement` and imports of the bare stack, alternated, so both see the same machine load."""
    env = env or {}
    time_import(python, paths, statement, env)  # the page cache, as a warm Lambda host would have it
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(runs):
        ours.append(time_import(python, paths, statement, env))
        bare.append(time_import(python, paths, BARE_STACK, {}))
    return ours, bare


def http_event(method: str, path: str, query: str, token: str, body: object = None) -> dict[str, object]:
    """An API Gateway v2 event, as the HTTP API sends it."""
    headers = {"host": "api.example.test", "authorization": f"Bearer {token}"}
    if body is not None:
        headers["content-type"] = "application/json"
    return {
        "version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": query,
        "headers": headers, "isBase64Encoded": False, "body": json.dumps(body) if body is not None else None,
        "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
                           "requestId": "bench", "routeKey": f"{method} {path}", "stage": "$default", "timeEpoch": 0},
    }  # fmt: skip


def first_route(function: Function) -> tuple[str, str, str]:
    """The function's first GET route, its path parameters filled in: (method, path, query)."""
    for event in function.events:
        route = event.get("httpApi")
        if isinstance(route, str) and route.startswith("GET "):
            path = route.split(" ", 1)[1]
            for name, value in PATH_VALUES.items():
                path = path.replace("{" + name + "}", value)
            while "{" in path:
                start = path.index("{")
                path = path[:start] + ANY_ID + path[path.index("}", start) + 1 :]
            return "GET", path, "timeframe=1d" if path.startswith("/api/bars/") else ""
    raise ValueError(f"{function.name} has no GET route")


def database() -> tuple[str, Path]:
    """A migrated database: DATABASE_URL's, or an embedded Postgres in a scratch folder (stop_database ends it)."""
    import psycopg

    from shared.db.embedded import start_embedded
    from shared.db.migrations import migrate

    scratch = Path(tempfile.mkdtemp(prefix="cold-start-pg-"))
    url = os.environ.get("DATABASE_URL") or start_embedded(scratch / "pgdata")
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    return url, scratch


def stop_database(scratch: Path) -> None:
    """Stop the embedded Postgres this run started (if any), then remove its folder."""
    from shared.db.embedded import _servers

    server = _servers.pop((scratch / "pgdata").resolve(), None)
    if server is not None:
        server.cleanup()
    shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per import time")
    parser.add_argument("--request-runs", type=int, default=5, help="fresh interpreters per first-request time")
    args = parser.parse_args()
    service = load_service()
    python = runtime_interpreter(service)
    if python is None:
        raise SystemExit(f"cold_start: needs a local Python {service.python_version} (set LAMBDA_PYTHON)")
    artifacts = build()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        roots: dict[str, Path] = {}
        print(f"Python {service.python_version} ({python}), {platform.machine()}, {os.cpu_count()} cores, "
              f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start.\n")
        print("| artefact | functions | zipped MB | unzipped MB | limit MB |")
        print("|---|---|---|---|---|")
        for kind in KINDS:
            roots[kind.name] = Path(scratch) / kind.name
            with zipfile.ZipFile(artifacts[kind.name]) as archive:
                archive.extractall(roots[kind.name])
            served = sum(1 for f in service.functions if kind_of(f) == kind)
            print(f"| {kind.artifact_name} | {served} | {artifacts[kind.name].stat().st_size / 1e6:.1f} | "
                  f"{unzipped_size(artifacts[kind.name]) / 1e6:.1f} | {kind.max_unzipped / 1e6:.0f} |")
        api = roots["api"]
        runtime = Path(scratch) / "runtime"  # what Lambda's runtime adds to sys.path: snapshot_restore_py
        runtime.mkdir()
        import snapshot_restore_py

        shutil.copy(snapshot_restore_py.__file__, runtime)
        # Each import is paired with a bare-stack import right after it: on a shared machine the load
        # moves within a run, and interference only ever adds time, so the ratio of the minima is the
        # steadiest figure (the medians' ratio is printed too).
        model, model_bare = paired_ms(python, [api], BARE_STACK_WITH_A_MODEL, args.runs)
        all_bare = list(model_bare)
        header = ("| handler | artefact | ms, median | min | bare stack beside it, median | min "
                  "| × bare (min) | × bare (median) |\n|---|---|---|---|---|---|---|---|")  # fmt: skip

        def row(name: str, kind: str, ours: list[float], bare: list[float]) -> float:
            ratio = min(ours) / min(bare)
            print(f"| {name} | {kind} | {statistics.median(ours):.0f} | {min(ours):.0f} | "
                  f"{statistics.median(bare):.0f} | {min(bare):.0f} | {ratio:.2f} | "
                  f"{statistics.median(ours) / statistics.median(bare):.2f} |", flush=True)
            return ratio

        print("\nThe import Lambda's init runs (a request handler's under SnapStart, before its hooks):\n")
        print(header)
        row("bare stack with a model", "api", model, model_bare)
        ratios = []
        for function in service.functions:
            kind = kind_of(function)
            paths, env = [roots[kind.name]], {}
            if function.serves_requests:
                paths, env = [api, runtime], {**INIT_SETTINGS, **function.init_environ("snap-start")}
            ours, bare = paired_ms(python, paths, f"import {function.module}", args.runs, env)
            all_bare += bare
            ratio = row(function.name, kind.name, ours, bare)
            if function.serves_requests:
                ratios.append(ratio)
        print(f"\nBare stack (`{BARE_STACK}`) over all {len(all_bare)} imports: median "
              f"{statistics.median(all_bare):.0f} ms, min {min(all_bare):.0f} ms. Request handlers: "
              f"{min(ratios):.2f}–{max(ratios):.2f}× the bare stack (minima), "
              f"{sum(r <= TARGET for r in ratios)} of {len(ratios)} within {TARGET}×.")
        print("\nA request handler's on-demand init (SNAPSTART=false): the import, then its area built:\n")
        print(header)
        init_ratios = []
        for function in (f for f in service.functions if f.serves_requests):
            env = {**INIT_SETTINGS, **function.init_environ("on-demand")}
            ours, bare = paired_ms(python, [api, runtime], f"import {function.module}", args.runs, env)
            init_ratios.append(row(function.name, "api", ours, bare))
        print(f"\nOn-demand init: {min(init_ratios):.2f}–{max(init_ratios):.2f}× the bare stack (minima).")
        first_requests(python, service, api, runtime, args.request_runs)


def first_requests(python: Path, service: object, api: Path, runtime: Path, runs: int) -> None:
    """The first request's table: each request handler after an on-demand init, and after a SnapStart restore."""
    from shared.auth import mint_token

    url, pg_scratch = database()
    try:
        token = mint_token(JWT_SECRET, ADMIN, email="bench@localhost")
        env = {**INIT_SETTINGS, "DATABASE_URL": url}
        cases: list[tuple[str, Function, dict[str, object]]] = []
        for function in service.functions:  # type: ignore[attr-defined]
            if function.serves_requests:
                method, path, query = first_route(function)
                cases.append((function.name, function, http_event(method, path, query, token)))
                if function.name == "trades":
                    trade = http_event("POST", "/api/trades", "", token, TRADE_BODY)
                    cases.append(("trades (POST a trade)", function, trade))
        print("\n| handler | request | status | on-demand: init + first request ms "
              "| SnapStart: hooks ms (before the snapshot) | after restore: first request ms | second request ms |")
        print("|---|---|---|---|---|---|---|")
        for name, function, event in cases:  # one row at a time: a long run shows its progress
            args = [json.dumps(event), function.module, function.attribute]
            cold_env = {**env, **function.init_environ("on-demand")}
            warm_env = {**env, **function.init_environ("snap-start")}
            cold = [json.loads(_run(python, [api, runtime], _FIRST_REQUEST, [*args, "cold"], cold_env))
                    for _ in range(runs)]  # fmt: skip
            warm = [json.loads(_run(python, [api, runtime], _FIRST_REQUEST, [*args, "warm"], warm_env))
                    for _ in range(runs)]  # fmt: skip
            route = f"{event['requestContext']['http']['method']} {event['rawPath']}"  # type: ignore[index]
            print(f"| {name} | `{route}` | {cold[0]['status']} | "
                  f"{statistics.median(c['import'] for c in cold):.0f} + "
                  f"{statistics.median(c['first'] for c in cold):.1f} | "
                  f"{statistics.median(w['warm'] for w in warm):.0f} | "
                  f"{statistics.median(w['first'] for w in warm):.1f} | "
                  f"{statistics.median(c['second'] for c in cold):.1f} |", flush=True)
    finally:
        stop_database(pg_scratch)


if __name__ == "__main__":
    main()
