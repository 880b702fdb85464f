"""Progress of a long job: a bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


class TerminalProgress:
    """A tqdm bar on stderr when it is a terminal; every `log_every`-th step logged otherwise."""

    def __init__(self, job: str, *, total: int | None = None, log_every: int = 10, stream: Any = None) -> None:
        self.job = job
        self.steps = 0
        self.log_every = log_every
        stream = stream or sys.stderr
        self._bar: Any = None
        if stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=job, unit="fetch", file=stream, dynamic_ncols=True)

    def __call__(self, label: str) -> None:
        self.steps += 1
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
        elif self.steps % self.log_every == 1 or self.log_every == 1:
            log.info("job progress", extra={"job": self.job, "step": self.steps, "at": label})

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
