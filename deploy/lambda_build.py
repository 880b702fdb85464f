"""Builds the functions' one Lambda zip: locked dependencies for the declared architecture, our code, bytecode.

`python -m deploy.lambda_build` writes .local/lambda/honeydrip-backend.zip, which serverless.yml
deploys as `package.artifact`. Why not serverless-python-requirements: its `slim` strips the .pyc
files, and the ones pip writes are timestamp-checked, so a read-only /var/task recompiled every
module on every cold start. Here every .pyc is `unchecked-hash` (valid whatever the zip does to
mtimes), and the dependency tree is cached per lock file, so a second build does not touch PyPI.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from deploy.service import ROOT, Service, load_service, runtime_interpreter

LOCK_FILE = ROOT / "requirements.lambda.txt"
OUT_DIR = ROOT / ".local" / "lambda"
ARTIFACT_NAME = "honeydrip-backend.zip"
LAMBDA_TASK_ROOT = "/var/task"
# Our packages that run in a Lambda. relay/ is the container's.
CODE_PACKAGES = ("functions", "shared")
# What the zip leaves out, by rule: everything only the local stack runs lives in shared/local/, and
# `python -m functions` is the local CLI (tokens, jobs by hand). A folder ends with "/".
DEV_ONLY = ("shared/local/", "functions/__main__.py")
# Test suites some wheels ship: never imported at run time.
DEPENDENCY_TESTS = ("numpy/_core/tests", "numpy/tests", "numpy/*/tests", "numpy/_pyinstaller")
# One fixed time for every zip entry, so two builds of the same tree give the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _lock_key(service: Service) -> str:
    digest = hashlib.sha256(LOCK_FILE.read_bytes())
    digest.update(f"{service.pip_platforms}:{service.python_version}".encode())
    return digest.hexdigest()[:16]


def install_dependencies(service: Service, out_dir: Path) -> Path:
    """The locked dependencies as wheels for the declared platform, in a tree cached per lock file."""
    tree = out_dir / f"deps-{service.architecture}-{_lock_key(service)}"
    if (tree / ".complete").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    for stale in out_dir.glob(f"deps-{service.architecture}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(tree),
        "--requirement", str(LOCK_FILE),
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
        raise SystemExit(f"lambda build: pip could not install {LOCK_FILE.name} for {service.architecture}")
    for pattern in DEPENDENCY_TESTS:
        for path in tree.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)
    # pip's console scripts point at this machine's interpreter; nothing in a Lambda runs them.
    shutil.rmtree(tree / "bin", ignore_errors=True)
    (tree / ".complete").touch()
    return tree


def _project_version() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return str(project["version"])


def is_dev_only(relative: str) -> bool:
    """Whether a file of our code (its path from the repository root, with "/") is the local stack's."""
    return any(relative.startswith(rule) if rule.endswith("/") else relative == rule for rule in DEV_ONLY)


def stage(service: Service, out_dir: Path) -> Path:
    """The artefact's tree: dependencies, our code, our distribution metadata, all compiled."""
    deps = install_dependencies(service, out_dir)
    staging = out_dir / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(deps, staging, ignore=shutil.ignore_patterns(".complete", "__pycache__"))
    for package in CODE_PACKAGES:
        for source in sorted((ROOT / package).rglob("*")):
            relative = source.relative_to(ROOT).as_posix()
            if not source.is_file() or "__pycache__" in relative or is_dev_only(relative):
                continue
            if source.suffix not in {".py", ".sql", ".json", ".html", ".css", ".js"}:
                continue
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
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


def build(out_dir: Path = OUT_DIR) -> Path:
    """Build the artefact; returns its path."""
    service = load_service()
    staging = stage(service, out_dir)
    artifact = out_dir / ARTIFACT_NAME
    write_zip(staging, artifact)
    return artifact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the zip and its caches go")
    args = parser.parse_args()
    artifact = build(args.out)
    print(f"lambda build: {artifact.relative_to(ROOT) if artifact.is_relative_to(ROOT) else artifact} "
          f"({artifact.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
