"""Builds the functions' Lambda zips, one per kind (deploy/artefacts.py): locked wheels, our code, bytecode.

`python -m deploy.lambda_build` writes .local/lambda/api.zip and jobs.zip, and artefacts.json naming
each function's zip, which deploy/serverless-plugins/lambda-build.js gives each function as its
`package.artifact`. Why not serverless-python-requirements: its `slim` strips the .pyc
files, and the ones pip writes are timestamp-checked, so a read-only /var/task recompiled every
module on every cold start. Here every .pyc is `unchecked-hash` (valid whatever the zip does to
mtimes), and the dependency tree is cached per lock file, so a second build does not touch PyPI.
A zip whose inputs (its dependency tree, our files' bytes, the version, the runtime's Python and this
builder) are unchanged since it was written is kept as it is; `--fetch` only fills the wheel cache.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from deploy.artefacts import KINDS, Kind, code_files, kind_of, snapstart_enabled, uses_snapstart
from deploy.service import ROOT, Service, load_service, runtime_interpreter

OUT_DIR = ROOT / ".local" / "lambda"
# Each function's zip (path from the repository root) and whether it gets SnapStart, for the plugin.
MAP_NAME = "artefacts.json"
LAMBDA_TASK_ROOT = "/var/task"
# What some wheels ship that nothing loads at run time: numpy's test suites, and Swagger UI's source
# maps and ES-module builds (GET /api/docs serves only functions/api/docs.py's ASSETS; ~9.6 MB).
DEPENDENCY_UNUSED = (
    "numpy/_core/tests", "numpy/tests", "numpy/*/tests", "numpy/_pyinstaller",
    "swagger_ui_bundle/vendor/*/*.map", "swagger_ui_bundle/vendor/*/swagger-ui-es-bundle*.js",
    "swagger_ui_bundle/vendor/*/swagger-ui.js",
)  # fmt: skip
# One fixed time for every zip entry, so two builds of the same tree give the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _lock_key(service: Service, kind: Kind) -> str:
    digest = hashlib.sha256(kind.lock.read_bytes())
    digest.update(f"{service.pip_platforms}:{service.python_version}".encode())
    return digest.hexdigest()[:16]


def install_dependencies(service: Service, kind: Kind, out_dir: Path) -> Path:
    """The kind's locked dependencies as wheels for the declared platform, in a tree cached per lock file."""
    tree = out_dir / f"deps-{kind.name}-{service.architecture}-{_lock_key(service, kind)}"
    if (tree / ".complete").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    for stale in out_dir.glob(f"deps-{kind.name}-{service.architecture}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(tree),
        "--requirement", str(kind.lock),
        "--require-hashes", "--no-deps", "--no-compile",
        # Wheels only, for Lambda's platform and Python, whatever this machine is.
        "--only-binary=:all:",
        *(flag for tag in service.pip_platforms for flag in ("--platform", tag)),
        "--python-version", service.python_version,
        "--implementation", "cp",
        "--cache-dir", str(out_dir / "pip-cache"),
    ]  # fmt: skip
    # Quiet on success (this machine's pip config warns about absent local indexes); the whole story on failure.
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"lambda build: pip could not install {kind.lock.name} for {service.architecture}")
    for pattern in DEPENDENCY_UNUSED:
        for path in tree.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    # pip's console scripts point at this machine's interpreter; nothing in a Lambda runs them.
    shutil.rmtree(tree / "bin", ignore_errors=True)
    (tree / ".complete").touch()
    return tree


def _project_version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def stage(service: Service, kind: Kind, deps: Path, out_dir: Path) -> Path:
    """The kind's tree: its dependencies (`deps`), its share of our code, our distribution metadata, all compiled."""
    staging = out_dir / f"staging-{kind.name}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(deps, staging, ignore=shutil.ignore_patterns(".complete", "__pycache__"))
    for relative in code_files(kind, service.functions):
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    # /api/health reports this version; without the metadata it would say "unknown".
    version = _project_version()
    meta = staging / f"honeydrip_backend-{version}.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: honeydrip-backend\nVersion: {version}\n")
    # Unchecked-hash .pyc files: Python uses them without looking at the source's mtime, which the zip
    # does not keep exactly; /var/task is read-only, so a stale .pyc would mean compiling on every start.
    # Compiled by the runtime's own Python version: another version's .pyc would be ignored.
    interpreter = runtime_interpreter(service)
    if interpreter is None:
        raise SystemExit(
            f"lambda build: no Python {service.python_version} here (the Lambda runtime's) to compile the bytecode: "
            f"install it (e.g. pyenv install {service.python_version}) or set LAMBDA_PYTHON to one"
        )
    compiled = subprocess.run(
        [str(interpreter), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         # Tracebacks name /var/task/…, where Lambda unpacks the zip, not this machine's build folder.
         "-s", str(staging), "-p", LAMBDA_TASK_ROOT, str(staging)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if compiled.returncode != 0:
        sys.stderr.write(compiled.stdout + compiled.stderr)
        raise SystemExit("lambda build: some module does not compile")
    return staging


def inputs_digest(service: Service, kind: Kind, deps: Path, root: Path = ROOT) -> str:
    """What the kind's zip is made of, as one digest: a zip written from the same digest is the same zip."""
    digest = hashlib.sha256(f"{deps.name}:{_project_version()}:{service.python_version}:{LAMBDA_TASK_ROOT}".encode())
    for builder in (Path(__file__), ROOT / "deploy" / "artefacts.py", ROOT / "deploy" / "service.py"):
        digest.update(builder.read_bytes())
    for relative in code_files(kind, service.functions, root):
        digest.update(relative.as_posix().encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    return digest.hexdigest()


def write_zip(staging: Path, artifact: Path) -> None:
    """Zip `staging` deterministically (sorted entries, one timestamp, 0644/0755 modes)."""
    artifact.parent.mkdir(parents=True, exist_ok=True)
    partial = artifact.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in sorted(staging.rglob("*")):
            if not path.is_file():
                continue
            info = zipfile.ZipInfo(path.relative_to(staging).as_posix(), date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            archive.writestr(info, path.read_bytes())
    partial.replace(artifact)


def build(out_dir: Path = OUT_DIR) -> dict[str, Path]:
    """Build every kind's artefact and the map of which function deploys which; kind name → zip."""
    service = load_service()
    artifacts: dict[str, Path] = {}
    for kind in KINDS:
        artifact = artifacts[kind.name] = out_dir / kind.artifact_name
        recorded = artifact.with_suffix(".inputs")
        deps = install_dependencies(service, kind, out_dir)
        digest = inputs_digest(service, kind, deps)
        if artifact.exists() and recorded.exists() and recorded.read_text(encoding="utf-8").strip() == digest:
            continue
        recorded.unlink(missing_ok=True)
        staging = stage(service, kind, deps, out_dir)
        write_zip(staging, artifact)
        shutil.rmtree(staging, ignore_errors=True)
        recorded.write_text(digest + "\n", encoding="utf-8")
    snapstart = snapstart_enabled(os.environ)
    shown = {
        f.name: {"artifact": _shown(artifacts[kind_of(f).name]), "snapStart": uses_snapstart(f, snapstart)}
        for f in service.functions
    }
    (out_dir / MAP_NAME).write_text(json.dumps(shown, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return artifacts


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def unzipped_size(artifact: Path) -> int:
    """Bytes the zip takes once unpacked (what Lambda's 250 MB limit counts)."""
    with zipfile.ZipFile(artifact) as archive:
        return sum(info.file_size for info in archive.infolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the zips and their caches go")
    parser.add_argument("--fetch", action="store_true", help="only fill the cache of locked wheels (needs PyPI)")
    args = parser.parse_args()
    if args.fetch:
        service = load_service()
        for kind in KINDS:
            print(f"lambda build: {kind.name}: {_shown(install_dependencies(service, kind, args.out))}")
        return
    for name, artifact in build(args.out).items():
        print(f"lambda build: {name}: {_shown(artifact)} ({artifact.stat().st_size / 1e6:.1f} MB, "
              f"{unzipped_size(artifact) / 1e6:.1f} MB unzipped)")


if __name__ == "__main__":
    main()
