"""Progress of a long job: a bar with a total and an ETA on a terminal, plain log lines otherwise.

A job reports each step with `progress(label)`, and says up front how many steps to expect with
`expect(progress, total)` (any Progress works; only a TerminalProgress uses the total). While a bar
is on screen, log records go through tqdm (`logging_redirect_tqdm`), so a log line and the bar never
share a line.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


def expect(progress: Progress | None, total: int) -> None:
    """Tell `progress` how many steps the run will take (a bar then shows a percentage and an ETA)."""
    expecting = getattr(progress, "expect", None)
    if callable(expecting):
        expecting(total)


class TerminalProgress:
    """A tqdm bar on stderr when it is a terminal; every `log_every`-th step logged otherwise."""

    def __init__(self, job: str, *, total: int | None = None, log_every: int = 10, stream: Any = None) -> None:
        self.job = job
        self.steps = 0
        self.total = total
        self.log_every = log_every
        stream = stream or sys.stderr
        self._bar: Any = None
        self._redirect: contextlib.ExitStack | None = None
        if stream.isatty():
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._bar = tqdm(total=total, desc=job, unit="step", file=stream, dynamic_ncols=True)
            self._redirect = contextlib.ExitStack()
            self._redirect.enter_context(logging_redirect_tqdm())

    def expect(self, total: int) -> None:
        self.total = total
        if self._bar is not None:
            self._bar.reset(total=total)
            self._bar.update(self.steps)

    def __call__(self, label: str) -> None:
        self.steps += 1
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=False)
            self._bar.update(1)
        elif self.steps % self.log_every == 1 or self.log_every == 1:
            of = f"/{self.total}" if self.total else ""
            log.info("job progress", extra={"job": self.job, "step": f"{self.steps}{of}", "at": label})

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._redirect is not None:
            self._redirect.close()
