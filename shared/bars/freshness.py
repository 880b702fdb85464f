"""Is a symbol's ingestion keeping up? The rule health applies to each backfilled symbol (pure).

Ingest reports `ok` even when Massive has nothing new for a symbol, so a run's status cannot
say that a symbol stopped moving. Its newest stored minute can: in a session it should be
recent, and between sessions it should reach the last close.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.market import calendar

# Eight missed ingest runs (every 15 minutes): a thin symbol can skip a few minutes, not two hours.
STALL_AFTER = timedelta(hours=2)


def expected_through(now: datetime) -> datetime:
    """Where a kept-up symbol's minutes reach by `now`: now in a session, else the last close."""
    return now if calendar.is_open(now) else calendar.last_close_before(now)


def stall_reason(newest: datetime | None, future: datetime | None, now: datetime) -> str | None:
    """Why a symbol's ingestion is stalled (its newest minute, a bar dated ahead of `now`), or None."""
    if future is not None:
        return f"a bar is dated {future.isoformat()}, in the future"
    if newest is None:
        return "no minute bars stored"
    behind = expected_through(now) - newest
    if behind > STALL_AFTER:
        hours = behind.total_seconds() / 3600
        return f"newest minute bar {newest.isoformat()} is {hours:.1f} h behind"
    return None
