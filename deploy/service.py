"""What serverless.yml declares, read as data: the architecture, the runtime and each function."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

ROOT = Path(__file__).resolve().parent.parent
SERVERLESS_YML = ROOT / "serverless.yml"

# The wheel tag pip must fetch for each Lambda architecture: the python3.12+ runtimes run on Amazon
# Linux 2023 (glibc 2.34), so manylinux_2_28 wheels load there, and older ones too (pip does not
# widen a given --platform to older glibcs by itself, hence the list).
PIP_PLATFORMS: dict[str, tuple[str, ...]] = {
    arch: (f"manylinux_2_28_{machine}", f"manylinux_2_17_{machine}", f"manylinux2014_{machine}")
    for arch, machine in (("x86_64", "x86_64"), ("arm64", "aarch64"))
}
# The ELF e_machine value of a native library built for each architecture.
ELF_MACHINES: dict[str, int] = {"x86_64": 62, "arm64": 183}


class Function(BaseModel):
    """One entry under `functions:`."""

    model_config = ConfigDict(extra="allow")

    name: str
    handler: str
    events: list[dict[str, Any]] = []
    environment: dict[str, Any] | str = {}
    role: str | None = None

    @property
    def module(self) -> str:
        """The Python module Lambda imports: `functions/api/handlers.health` → `functions.api.handlers`."""
        return self.handler.rsplit(".", 1)[0].replace("/", ".")

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def init_environ(self, kind: str) -> dict[str, str]:
        """What Lambda's runtime sets for this function's init of `kind` (on-demand, snap-start, …)."""
        return {"_HANDLER": self.handler, "AWS_LAMBDA_INITIALIZATION_TYPE": kind}

    @property
    def serves_requests(self) -> bool:
        """True for a function behind the HTTP API (a user's request), false for queue and schedule ones."""
        return any("httpApi" in event or "http" in event for event in self.events)


class Service(BaseModel):
    """The parts of serverless.yml the build and the checks need."""

    runtime: str
    architecture: Literal["x86_64", "arm64"]
    functions: list[Function]

    @property
    def python_version(self) -> str:
        """`python3.11` → `3.11`."""
        return self.runtime.removeprefix("python")

    @property
    def pip_platforms(self) -> tuple[str, ...]:
        return PIP_PLATFORMS[self.architecture]

    @property
    def elf_machine(self) -> int:
        return ELF_MACHINES[self.architecture]


def load_service(path: Path = SERVERLESS_YML) -> Service:
    """Read serverless.yml; variables (`${…}`) are left as written."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    provider = document["provider"]
    functions = [Function(name=name, **spec) for name, spec in (document.get("functions") or {}).items()]
    return Service(
        runtime=provider["runtime"],
        architecture=provider.get("architecture", "x86_64"),
        functions=functions,
    )


def runtime_interpreter(service: Service) -> Path | None:
    """A local CPython of the Lambda runtime's version: `LAMBDA_PYTHON`, `pythonX.Y` on PATH, or pyenv's."""
    import os
    import shutil
    import subprocess

    wanted = service.python_version
    candidates = [os.environ.get("LAMBDA_PYTHON", ""), shutil.which(f"python{wanted}") or ""]
    candidates += [str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{wanted}*/bin/python{wanted}"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == wanted:
            return Path(candidate)
    return None
