"""`latest_levels`: the scanner's read of gamma_snapshots, on the real table the migrations create."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from shared.db import service_tx
from shared.gamma.figures import GammaLevels, View
from shared.gamma.store import SnapshotRecord, latest_levels, upsert_snapshots

NOW = datetime(2025, 11, 25, 15, 0, tzinfo=UTC)


def record(symbol: str, view: View, taken_at: datetime, zero_gamma: float | None, call_wall: float | None = 110.0
           ) -> SnapshotRecord:
    return SnapshotRecord(
        symbol=symbol, view=view, bucket=taken_at, taken_at=taken_at, spot=100.0, net_gex=1.0, call_gex=2.0,
        put_gex=-1.0, call_wall=call_wall, put_wall=90.0, zero_gamma=zero_gamma, max_pain=100.0, contracts=10,
        contracts_without_greeks=0, contracts_without_open_interest=0, gamma_unit_ratio=1.0, gamma_scale=1.0,
        strikes={},
    )


def test_each_symbol_gets_its_newest_whole_chain_levels_since_the_cutoff(db: psycopg.Connection[Any]) -> None:
    with service_tx() as conn:
        upsert_snapshots(conn, [
            record("SPY", "all", NOW - timedelta(minutes=30), zero_gamma=120.0),
            record("SPY", "all", NOW - timedelta(minutes=5), zero_gamma=99.0),
            # A newer row of another view is not the whole chain's.
            record("SPY", "nearest", NOW - timedelta(minutes=1), zero_gamma=105.0),
            record("QQQ", "all", NOW - timedelta(minutes=10), zero_gamma=None, call_wall=None),
            # Older than the cutoff: no context.
            record("IWM", "all", NOW - timedelta(hours=25), zero_gamma=50.0),
            # Not asked for.
            record("DIA", "all", NOW - timedelta(minutes=1), zero_gamma=400.0),
        ])
    with service_tx() as conn:
        levels = latest_levels(conn, ["SPY", "QQQ", "IWM", "AAPL"], NOW - timedelta(hours=24))
    assert levels == {
        "SPY": GammaLevels(spot=100.0, zero_gamma=99.0, call_wall=110.0, put_wall=90.0),
        "QQQ": GammaLevels(spot=100.0, zero_gamma=None, call_wall=None, put_wall=90.0),
    }


def test_no_symbols_read_nothing(db: psycopg.Connection[Any]) -> None:
    with service_tx() as conn:
        upsert_snapshots(conn, [record("SPY", "all", NOW, zero_gamma=99.0)])
        assert latest_levels(conn, [], NOW - timedelta(hours=24)) == {}
