"""What a run reports of its tallies: every counter by name, and how many errors it kept."""

from shared.bars.ingest import IngestCounts
from shared.gamma.job import GammaCounts
from shared.signals.scanner import ScanCounts


def test_ingest_reports_every_counter_and_its_errors_beside_its_own_failed_counter() -> None:
    counts = IngestCounts(symbols=3, failed=1, errors=["SPY: 500", "QQQ: timeout"])
    assert counts.as_counts() == {
        "symbols": 3, "fetches": 0, "bars_written": 0, "backfilled": 0, "requeued": 0,
        "failed": 1, "reclaimed": 0, "deferred": 0, "refused": 0, "errors": 2,
    }  # fmt: skip


def test_the_scanner_reports_every_counter_and_its_errors() -> None:
    counts = ScanCounts(signals=2, errors=["SPX: no bars"])
    assert counts.as_counts() == {
        "symbols": 0, "fetches": 0, "fetch_errors": 0, "signals": 2, "deliveries": 0, "expired": 0,
        "deferred": 0, "stale": 0, "refused": 0, "bars_evaluated": 0, "late": 0, "errors": 1,
    }  # fmt: skip


def test_gamma_reports_its_errors_as_failed_symbols() -> None:
    counts = GammaCounts(symbols=4, snapshots=9, errors=["TSLA: chain unavailable"])
    assert counts.as_counts() == {
        "symbols": 4, "snapshots": 9, "contracts": 0, "contracts_without_greeks": 0, "unplaceable": 0,
        "without_options": 0, "strikes_pruned": 0, "refused": 0, "charts_drawn": 0, "charts_failed": 0,
        "deferred": 0, "failed": 1,
    }  # fmt: skip
