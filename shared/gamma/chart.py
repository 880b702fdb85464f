"""The gamma chart: each snapshot's per-strike net GEX profile as a PNG, drawn once by the gamma job.

A snapshot never changes, so its chart is drawn when the job stores it and served as stored bytes
(`GET /api/gamma/<symbol>/chart.png`, with a strong ETag): the request handlers need no
matplotlib, and no request pays for drawing. A snapshot stored without one (before this, or when
drawing failed) gets its chart on the job's next run.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import os
import tempfile
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.gamma.store import snapshots_without_chart, store_chart

log = logging.getLogger(__name__)

# The newest snapshot of every symbol and view is what the route serves; a run draws at most this many.
MAX_CHARTS_PER_RUN = 200
# matplotlib does not promise thread safety (the dev server runs jobs in threads): one chart at a time.
_lock = threading.Lock()


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render(snapshot: Mapping[str, Any]) -> bytes:
    """The per-strike net GEX of a snapshot row as a PNG: spot, walls and zero gamma marked, strikes within ±20 %."""
    # Lambda's home is read-only: matplotlib keeps its font cache in /tmp there.
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "matplotlib"))  # noqa: PTH118
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    spot = float(snapshot["spot"])
    columns = snapshot["strikes"]
    pairs = [
        (strike, net)
        for strike, net in zip(columns.get("strike", []), columns.get("net_gex", []), strict=False)
        if _finite(strike) and _finite(net) and 0.8 * spot <= strike <= 1.2 * spot
    ]
    strikes = [strike for strike, _ in pairs]
    nets = [net / 1e6 for _, net in pairs]
    width = min((b - a for a, b in itertools.pairwise(strikes)), default=spot * 0.01) * 0.8
    with _lock:
        figure = Figure(figsize=(10, 5), dpi=100)
        axes = figure.subplots()
        axes.bar(strikes, nets, width=width, color=["#2e7d32" if n >= 0 else "#c62828" for n in nets])
        axes.axhline(0, color="#555555", linewidth=0.8)
        marks = [
            ("spot", spot, "#1565c0", "-"),
            ("call wall", snapshot["call_wall"], "#2e7d32", "--"),
            ("put wall", snapshot["put_wall"], "#c62828", "--"),
            ("zero gamma", snapshot["zero_gamma"], "#6a1b9a", ":"),
        ]
        for label, level, colour, style in marks:
            if _finite(level):
                axes.axvline(level, color=colour, linestyle=style, linewidth=1.2, label=f"{label} {level:,.2f}")
        axes.set_xlabel("strike")
        axes.set_ylabel("net GEX ($M per 1 % move)")
        axes.set_title(f"{snapshot['symbol']} net gamma exposure ({snapshot['view']}), {_iso(snapshot['taken_at'])}")
        if any(_finite(level) for _, level, _, _ in marks):
            axes.legend(loc="best", fontsize="small")
        buffer = io.BytesIO()
        # No timestamp in the PNG's metadata: the same snapshot always draws the same bytes (and ETag).
        figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def draw_missing(limit: int = MAX_CHARTS_PER_RUN) -> tuple[int, int]:
    """Draw and store the chart of every newest snapshot that has none; returns (drawn, failed)."""
    from shared.db import service_tx

    with service_tx() as conn:
        pending = snapshots_without_chart(conn, limit)
    drawn = failed = 0
    for snapshot in pending:
        try:
            png = render(snapshot)
        except Exception as error:  # one odd snapshot must not cost the others their charts
            failed += 1
            log.warning(
                "gamma chart not drawn",
                extra={"symbol": snapshot["symbol"], "view": snapshot["view"], "error": repr(error)[:200]},
            )
            continue
        with service_tx() as conn:
            store_chart(conn, snapshot["symbol"], snapshot["view"], snapshot["bucket"], png)
        drawn += 1
    return drawn, failed
