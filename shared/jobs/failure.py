"""The one way a job says "some symbols failed, the others were done" (pure).

A job keeps going past one symbol's trouble and raises this at the end, so the run is recorded as
failed (and Lambda's alarm sees it) while every other symbol's work stays stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# How many failures the message names; the count says how many there were.
NAMED = 10


class PartialFailure(RuntimeError):
    """`failures` ("SYMBOL: why", one per failed symbol) out of `of` symbols; `outcome` says what they missed."""

    def __init__(
        self, failures: Sequence[str], *, of: int, outcome: str, counts: Mapping[str, int] | None = None
    ) -> None:
        self.failures = list(failures)
        self.of = of
        # What the run did before failing: the heartbeat of a failed run keeps its counts too.
        self.counts = dict(counts or {})
        super().__init__(f"{len(self.failures)} of {of} symbols {outcome}: " + "; ".join(self.failures[:NAMED]))
