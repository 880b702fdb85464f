"""What the database itself refuses, whatever the application does (migration 0003)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from shared.db import user_tx
from tests.trades.conftest import AddChannel, Admin, Api

INSERT = (
    "insert into trades (ticker, contract, underlying, strike, expiry, side, trade_type, state, entry_price,"
    " entered_at, current_price) values (%(ticker)s, %(contract)s, %(underlying)s, %(strike)s, '2025-12-19',"
    " %(side)s, 'Day', %(state)s, %(entry)s, now(), %(current)s) returning id"
)
GOOD = {
    "ticker": "SPY",
    "contract": "O:SPY251219C00650000",
    "underlying": "SPY",
    "strike": 650,
    "side": "call",
    "state": "entered",
    "entry": 1.2,
    "current": 1.2,
}


@pytest.fixture
def as_admin(admin: Admin, db: psycopg.Connection[Any]) -> Iterator[Any]:
    def run(sql: str, params: Any = None) -> list[dict[str, Any]]:
        with user_tx(admin.verified) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    yield run


@pytest.mark.parametrize(
    "change",
    [
        {"entry": 0},
        {"current": -1},
        {"strike": 651},
        {"side": "put"},
        {"underlying": "QQQ", "contract": "O:QQQ251219C00650000"},
        {"state": "watching"},
        {"state": "exited"},
    ],
)
def test_impossible_trades_are_refused(as_admin: Any, change: dict[str, Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation):
        as_admin(INSERT, {**GOOD, **change})


def test_a_consistent_trade_is_accepted(as_admin: Any) -> None:
    assert len(as_admin(INSERT, GOOD)) == 1


def test_exit_at_zero_is_accepted_only_on_an_exited_trade(as_admin: Any) -> None:
    trade_id = as_admin(INSERT, GOOD)[0]["id"]
    with pytest.raises(psycopg.errors.CheckViolation):
        as_admin("update trades set exit_price = 0 where id = %s", (trade_id,))
    as_admin("update trades set state = 'exited', exit_price = 0, exited_at = now() where id = %s", (trade_id,))


@pytest.mark.parametrize("percent", [0, 100.01, -5])
def test_a_trim_percent_outside_0_to_100_is_refused(as_admin: Any, percent: float) -> None:
    trade_id = as_admin(INSERT, GOOD)[0]["id"]
    with pytest.raises(psycopg.errors.CheckViolation):
        as_admin(
            "insert into trade_updates (trade_id, type, trim_percent) values (%s, 'trim', %s)", (trade_id, percent)
        )


FILL = "insert into trade_fills (trade_id, side, contracts, price, fee, slippage) values (%s, %s, %s, 1, 0.65, 0.5)"


def test_a_trade_never_sells_more_contracts_than_it_bought(as_admin: Any) -> None:
    trade_id = as_admin(INSERT, GOOD)[0]["id"]
    as_admin(FILL, (trade_id, "buy", 2))
    as_admin(FILL, (trade_id, "sell", "1.5"))
    with pytest.raises(psycopg.errors.CheckViolation, match="more contracts than it bought"):
        as_admin(FILL, (trade_id, "sell", "0.75"))


def test_trims_of_what_is_open_may_add_up_past_100_percent(as_admin: Any) -> None:
    # 50 % of the position, then 50 % of what is left, then 50 % of that: 150 % of percentages.
    trade_id = as_admin(INSERT, GOOD)[0]["id"]
    for _ in range(3):
        as_admin("insert into trade_updates (trade_id, type, trim_percent) values (%s, 'trim', 50)", (trade_id,))


def test_an_unknown_update_type_is_refused(as_admin: Any) -> None:
    trade_id = as_admin(INSERT, GOOD)[0]["id"]
    with pytest.raises(psycopg.errors.CheckViolation):
        as_admin("insert into trade_updates (trade_id, type) values (%s, 'sell')", (trade_id,))


def test_rows_of_another_user_are_invisible(api: Api, other_admin: Admin) -> None:
    trade = api.enter()
    with user_tx(other_admin.verified) as conn:
        for table in ("trades", "trade_updates", "trade_fills", "alerts", "trade_channels", "idempotency_keys"):
            assert conn.execute(f"select count(*) as n from {table}").fetchone() == {"n": 0}  # noqa: S608
        updated = conn.execute("update trades set notes = 'x' where id = %s", (trade["id"],)).rowcount
    assert updated == 0


def test_an_update_cannot_be_attached_to_another_users_trade(api: Api, other_admin: Admin) -> None:
    trade = api.enter()
    with pytest.raises(psycopg.errors.ForeignKeyViolation), user_tx(other_admin.verified) as conn:
        conn.execute("insert into trade_updates (trade_id, type) values (%s, 'update')", (trade["id"],))


def _first_update(db: psycopg.Connection[Any], trade_id: str) -> Any:
    row = db.execute("select id from trade_updates where trade_id = %s order by seq", (trade_id,)).fetchone()
    assert row is not None
    return row[0]


def _insert_alert(admin: Admin, trade_id: str, update_id: Any) -> Any:
    with user_tx(admin.verified) as conn:
        row = conn.execute(
            "insert into alerts (trade_id, trade_update_id, action, payload)"
            " values (%s, %s, 'update', '{}') returning id",
            (trade_id, update_id),
        ).fetchone()
    assert row is not None
    return row["id"]


def test_an_alert_cannot_point_at_another_users_update(
    api: Api, other_api: Api, other_admin: Admin, db: psycopg.Connection[Any]
) -> None:
    their_update = _first_update(db, api.enter()["id"])
    mine = other_api.enter()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _insert_alert(other_admin, mine["id"], their_update)


def test_a_fill_cannot_point_at_another_users_update(
    api: Api, other_api: Api, other_admin: Admin, db: psycopg.Connection[Any]
) -> None:
    their_update = _first_update(db, api.enter()["id"])
    mine = other_api.enter()
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_tx(other_admin.verified) as conn:
        conn.execute(
            "insert into trade_fills (trade_id, trade_update_id, side, contracts, price, fee, slippage)"
            " values (%s, %s, 'buy', 1, 1.2, 0, 0)",
            (mine["id"], their_update),
        )


def test_a_delivery_cannot_point_at_another_users_alert(
    api: Api, admin: Admin, other_admin: Admin, db: psycopg.Connection[Any], add_channel: AddChannel
) -> None:
    theirs = api.enter()
    their_alert = _insert_alert(admin, theirs["id"], _first_update(db, theirs["id"]))
    my_channel = add_channel(other_admin)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_tx(other_admin.verified) as conn:
        conn.execute(
            "insert into alert_deliveries (alert_id, channel_id, payload) values (%s, %s, '{}')",
            (their_alert, my_channel),
        )


def test_own_updates_and_alerts_are_still_referenced(
    api: Api, admin: Admin, db: psycopg.Connection[Any], add_channel: AddChannel
) -> None:
    mine = api.enter()
    alert = _insert_alert(admin, mine["id"], _first_update(db, mine["id"]))
    with user_tx(admin.verified) as conn:
        conn.execute(
            "insert into alert_deliveries (alert_id, channel_id, payload) values (%s, %s, '{}')",
            (alert, add_channel(admin)),
        )
    assert db.execute("select count(*) from alert_deliveries where alert_id = %s", (alert,)).fetchone() == (1,)


def test_anon_has_no_access(db: psycopg.Connection[Any]) -> None:
    for table in ("trades", "trade_updates", "trade_channels", "alerts", "idempotency_keys"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            db.execute("set local role anon")
            db.execute(f"select 1 from honeydrip.{table}")  # noqa: S608


def test_deliveries_reference_alerts(db: psycopg.Connection[Any]) -> None:
    row = db.execute(
        "select confrelid::regclass::text as target from pg_constraint where conname = 'alert_deliveries_alert_fk'"
    ).fetchone()
    assert row == ("alerts",)
