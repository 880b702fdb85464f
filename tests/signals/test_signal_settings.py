"""Migration 0009 seeds one threshold row per asset class, and the scanner reads them from there."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.db.migrations import migrate
from shared.signals.confluence import Rules
from shared.signals.store import load_rules
from tests.conftest import OUR_SEARCH_PATH
from tests.scratch_database import scratch_database


@pytest.fixture
def fresh_database(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, "hd_sig") as url:
        yield url


def test_the_migration_seeds_the_thresholds_per_asset_class(fresh_database: str) -> None:
    with psycopg.connect(fresh_database) as conn:
        migrate(conn)
    with psycopg.connect(fresh_database, row_factory=dict_row, options=OUR_SEARCH_PATH) as conn:
        assert load_rules(conn) == {
            "index": Rules(60.0, 1.5, 15, 60),
            "etf": Rules(60.0, 1.5, 15, 60),
            "stock": Rules(65.0, 1.5, 30, 60),
        }


def test_a_threshold_outside_its_range_is_refused(fresh_database: str) -> None:
    with psycopg.connect(fresh_database, options=OUR_SEARCH_PATH) as conn:
        migrate(conn)
        for change in ("min_score = 101", "min_rr = 0", "cooldown_minutes = -1", "expires_minutes = 0"):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(f"update signal_settings set {change} where asset_class = 'stock'")  # noqa: S608
