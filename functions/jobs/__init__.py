"""The Lambdas on a schedule or a queue: each module's `handler(event, context)` is its Lambda.

The scheduled ones (ingest, prewarm, scanner, gamma: `shared.jobs.specs.JOBS`) also have `run(...)`,
which `python -m functions run` and make dev's scheduler call; discord_send (SQS), discord_sweeper and
idempotency_cleanup are queue and housekeeping Lambdas. This layer names the job modules, so `shared`
never has to.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from shared.jobs.specs import JOBS, JobSpec


def job_module(name: str) -> ModuleType:
    """The module of scheduled job `name` (`functions.jobs.<name>`)."""
    if name not in JOBS:
        raise KeyError(f"no scheduled job named {name!r}")
    return importlib.import_module(f"{__name__}.{name}")


def run_scheduled(spec: JobSpec, after_close: bool) -> object:
    """Run `spec`'s job as its schedule would (make dev's scheduler calls this)."""
    return job_module(spec.name).run(after_close=after_close)
