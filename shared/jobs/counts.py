"""What a scheduled run tallies: its counters, and the error messages it kept for the log."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar


@dataclass
class RunCounts:
    """Subclass with `int` fields (default 0); `as_counts()` reports each, and the errors by how many."""

    # The key the number of errors is reported under (a job whose own counter is `failed` keeps `errors`).
    ERRORS_KEY: ClassVar[str] = "errors"

    errors: list[str] = field(default_factory=list)

    def as_counts(self) -> dict[str, int]:
        """The counters by field name, for the heartbeat row and the run's answer."""
        counts: dict[str, int] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}
        counts[self.ERRORS_KEY] = len(self.errors)
        return counts
