"""Cold imports of every Lambda handler from the built zip, beside the bare stack, the way Lambda does it.

    .venv/bin/python bench/cold_start.py [--runs 15]

Builds the artefact (deploy/lambda_build.py, cached), extracts it, and times `import functions.<x>`
in a fresh interpreter of the runtime's Python (`-I -S`, only the extracted zip on sys.path, the
unchecked-hash bytecode in it) — what Lambda's init does before the first event. The bare stack is
the same interpreter importing flask, psycopg, pydantic, PyJWT and apig-wsgi and nothing of ours.
`import pydantic` alone loads only pydantic 2's lazy shell, so a second baseline also defines one
model, which is the least any handler that validates a body does. Handlers are discovered from
serverless.yml. Prints a Markdown table; medians of `--runs` imports.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from deploy.lambda_build import build  # noqa: E402
from deploy.service import load_service, runtime_interpreter  # noqa: E402

BARE_STACK = "import flask, psycopg, pydantic, jwt, apig_wsgi"
# The same stack with pydantic's model machinery loaded (pydantic 2 defers it to the first model).
BARE_STACK_WITH_A_MODEL = BARE_STACK + "; exec('class M(pydantic.BaseModel):\\n    x: int')"


def time_import(python: Path, root: Path, statement: str) -> float:
    """Milliseconds one fresh interpreter spends on `statement` (interpreter start-up excluded)."""
    probe = (
        f"import sys, time; sys.path[:0] = [{str(root)!r}]; t = time.perf_counter(); {statement}; "
        "print((time.perf_counter() - t) * 1000)"
    )
    result = subprocess.run(
        [str(python), "-I", "-S", "-c", probe],
        cwd=root, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(result.stdout.strip())


def median_ms(python: Path, root: Path, statement: str, runs: int) -> float:
    time_import(python, root, statement)  # the page cache, as a warm Lambda host would have it
    return statistics.median(time_import(python, root, statement) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    service = load_service()
    python = runtime_interpreter(service)
    if python is None:
        raise SystemExit(f"cold_start: needs a local Python {service.python_version} (set LAMBDA_PYTHON)")
    artifact = build()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with zipfile.ZipFile(artifact) as archive:
            archive.extractall(root)
            unzipped = sum(info.file_size for info in archive.infolist())
        bare = median_ms(python, root, BARE_STACK, args.runs)
        with_model = median_ms(python, root, BARE_STACK_WITH_A_MODEL, args.runs)
        print(f"Artefact: {artifact.stat().st_size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped; "
              f"Python {service.python_version} ({python}), {platform.machine()}, {os.cpu_count()} cores.\n")
        print("| handler | kind | cold import ms (median) | × bare stack | × bare stack with a model |")
        print("|---|---|---|---|---|")
        print(f"| bare stack (`{BARE_STACK}`) | – | {bare:.0f} | 1.00 | {bare / with_model:.2f} |")
        print(f"| bare stack with a model | – | {with_model:.0f} | {with_model / bare:.2f} | 1.00 |")
        for function in service.functions:
            ms = median_ms(python, root, f"import {function.module}", args.runs)
            kind = "request" if function.serves_requests else "queue/schedule"
            print(f"| {function.name} | {kind} | {ms:.0f} | {ms / bare:.2f} | {ms / with_model:.2f} |")


if __name__ == "__main__":
    main()
