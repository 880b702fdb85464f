"""The scanner end to end: stored bars plus the fake Massive REST server, signals in the database,
alerts on the fake Discord; once and only once however often or concurrently it runs."""

from __future__ import annotations

import io
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.bars.store import upsert_bars
from shared.config import Settings
from shared.jobs import PartialFailure
from shared.market import calendar
from shared.massive.models import Bar
from shared.massive.rest import MassiveRest
from shared.signals.scanner import Scanner
from tests.conftest import Admin, MakeToken
from tests.delivery.conftest import insert_channel
from tests.fakes.discord import FakeDiscord, fake_discord
from tests.fakes.massive_rest import FakeMassiveRest
from tests.signals.synthetic import MINUTE, TODAY, bar, flat_sessions, open_ms, today_minutes

__all__ = ["fake_discord"]

OPEN = open_ms(TODAY)
# 26 seconds into minute 26: the last closed 1m bar is minute 25 (the breakout), minute 26 still forms.
NOW = datetime.fromtimestamp((OPEN + 26 * MINUTE + 26_000) / 1000, tz=UTC)
BREAKOUT = bar(0, 101.0, h=101.2, lo=100.4, v=2000)
FLAT = [bar(0, 100.0) for _ in range(25)]


def store_history(symbol: str) -> None:
    """Ten flat sessions of 1m bars and their 15m bars (ATR 1.0), as ingestion would have stored them."""
    from shared.db import service_tx

    minutes = flat_sessions(10)
    fifteen = [bar(m["t"], 100.0) for m in minutes if (m["t"] - minutes[0]["t"]) % (15 * MINUTE) == 0]
    with service_tx() as conn:
        upsert_bars(conn, symbol, "1m", [Bar.model_validate(b) for b in minutes])
        upsert_bars(conn, symbol, "15m", [Bar.model_validate(b) for b in fifteen])


def seed_settings(db: psycopg.Connection[Any]) -> None:
    """The seeded thresholds (the `db` fixture empties every table), the stock minimum lowered to 60:
    the breakout here scores 64.1."""
    db.execute(
        "insert into signal_settings (asset_class, min_score, min_rr, cooldown_minutes, expires_minutes) values"
        " ('index', 60, 1.5, 15, 60), ('etf', 60, 1.5, 15, 60), ('stock', 60, 1.5, 30, 60)"
    )


def serve_today(massive: FakeMassiveRest, symbol: str, bars: list[dict[str, Any]]) -> None:
    massive.add_bars(symbol, 1, "minute", today_minutes(bars))


def watch(db: psycopg.Connection[Any], user: uuid.UUID, *symbols: str) -> None:
    for symbol in symbols:
        db.execute("insert into watchlist (user_id, symbol) values (%s, %s)", (user, symbol))


def scanner(rest: MassiveRest | None, now: datetime = NOW) -> Scanner:
    return Scanner(rest, now=lambda: now)


@pytest.fixture
def setup(
    settings: Settings, db: psycopg.Connection[Any], massive: FakeMassiveRest, fake_discord: FakeDiscord,
    make_token: MakeToken,
) -> dict[str, Any]:
    """AAPL: history stored, today's bars on the fake Massive (a breakout at minute 25, minute 26 forming).

    Admin A has a channel default for `signal`; admin B watches AAPL with a channel for `enter` only.
    """
    seed_settings(db)
    store_history("AAPL")
    serve_today(massive, "AAPL", [*FLAT, BREAKOUT, bar(0, 90.0, v=50_000)])
    a, b = Admin(*make_token()), Admin(*make_token())
    hook_a, hook_b = fake_discord.add_webhook(), fake_discord.add_webhook()
    insert_channel(a, hook_a, default_for=["signal"])
    insert_channel(b, hook_b, default_for=["enter"])
    watch(db, a.user_id, "AAPL")
    watch(db, b.user_id, "AAPL")
    return {"a": a, "b": b, "hook_a": hook_a, "hook_b": hook_b}


def signals(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        "select user_id, symbol, detector, direction, style, score, entry, stop, targets, rr, bar_time, alerted_at"
        " is not null from composite_signals order by user_id"
    ).fetchall()


def test_a_scan_fires_the_breakout_for_every_watching_admin_and_alerts_their_signal_channels(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, fake_discord: FakeDiscord
) -> None:
    counts = scanner(rest).run()
    assert counts.symbols == 1 and counts.signals == 2 and counts.deliveries == 1
    bar_time = datetime.fromtimestamp((OPEN + 25 * MINUTE) / 1000, tz=UTC)
    rows = {r[0]: r[1:] for r in signals(db)}
    for admin, alerted in ((setup["a"], True), (setup["b"], False)):
        symbol, detector, direction, style, score, entry, stop, targets, rr, at, was_alerted = rows[admin.user_id]
        assert (symbol, detector, direction, style) == ("AAPL", "breakout", "long", "day")
        # Entry the last close; 15m ATR 1.0: stop 1 ATR, targets 2 and 3 ATR; R:R 2.
        assert (float(entry), float(stop), float(rr)) == (101.0, 100.0, 2.0)
        assert [float(t) for t in targets] == [103.0, 104.0]
        assert float(score) == 64.1
        assert at == bar_time  # the bar that triggered it, never the scan's time
        assert was_alerted is alerted
    posted = fake_discord.messages(setup["hook_a"].id)
    assert len(posted) == 1 and fake_discord.messages(setup["hook_b"].id) == []
    embed = posted[0].payload["embeds"][0]
    assert embed["title"] == "AAPL ▲ LONG · Breakout"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Entry"] == "101.00" and fields["Stop"] == "100.00" and fields["Targets"] == "103.00 / 104.00"
    assert fields["R:R"] == "2.00" and fields["Style"] == "day"
    assert "relative volume 2.00x: **50**" in fields["Factors"]


def test_a_scan_after_the_prewarm_starts_warm_and_fires_the_same_signal(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    from shared.signals.prewarm import Prewarm

    yesterday = calendar.session_bounds(calendar.previous_session(TODAY))
    assert yesterday is not None
    Prewarm(rest, now=lambda: yesterday[1] + timedelta(hours=1)).run(["AAPL"])
    assert db.execute("select count(*) from indicator_state where timeframe = '15m'").fetchone() == (1,)
    assert scanner(rest).run().signals == 2
    rows = [r[1:10] for r in signals(db)]
    # The flat 15m history's state is ATR 1.0, as the window's: the same levels as without it.
    assert {(r[0], r[1], r[2], float(r[4]), float(r[5]), float(r[6]), float(r[8])) for r in rows} == {
        ("AAPL", "breakout", "long", 64.1, 101.0, 100.0, 2.0)
    }


def test_the_bars_since_the_last_stored_are_fetched_and_stored_but_a_forming_bar_never_triggers(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    scanner(rest).run()
    today = db.execute(
        "select count(*) from historical_bars where symbol = 'AAPL' and timeframe = '1m' and ts >= %s",
        (datetime.fromtimestamp(OPEN / 1000, tz=UTC),),
    ).fetchone()
    assert today is not None and today[0] == 27  # stored as fetched, the forming minute 26 included
    # The forming bar (a crash to 90 on 50x volume) would have been a short breakout: nothing short fired.
    assert db.execute("select count(*) from composite_signals where direction = 'short'").fetchone() == (0,)
    assert any(seen.path.startswith("/v2/aggs/ticker/AAPL/range/1/minute/") for seen in massive.seen)


def test_a_retried_scan_of_the_same_bar_fires_nothing_more(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, fake_discord: FakeDiscord
) -> None:
    scanner(rest).run()
    again = scanner(rest).run()
    assert again.signals == 0 and again.deliveries == 0
    assert len(signals(db)) == 2 and len(fake_discord.messages(setup["hook_a"].id)) == 1


def test_two_concurrent_scans_fire_one_signal_and_one_alert(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest,
    fake_discord: FakeDiscord,
) -> None:
    barrier = threading.Barrier(2)
    results: list[int] = []

    def scan() -> None:
        client = MassiveRest(massive.url, "test-key", timeout=(2.0, 2.0))
        try:
            barrier.wait(timeout=10)
            results.append(scanner(client).run().signals)
        finally:
            client.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 2]
    assert len(signals(db)) == 2
    assert db.execute("select count(*) from alert_deliveries").fetchone() == (1,)
    assert len(fake_discord.messages(setup["hook_a"].id)) == 1


def test_the_cooldown_holds_a_detector_back_on_the_next_bars(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    scanner(rest).run()
    # Minute 26 now closes as another breakout (above the new 20-bar high) on heavy volume.
    massive.bars[("AAPL", 1, "minute")] = today_minutes([*FLAT, BREAKOUT, bar(0, 102.0, h=102.1, lo=101.0, v=4000)])
    later = scanner(rest, NOW + timedelta(minutes=1)).run()
    assert later.signals == 0
    bar_25 = datetime.fromtimestamp((OPEN + 25 * MINUTE) / 1000, tz=UTC)
    until = db.execute("select distinct until from signal_cooldowns").fetchall()
    assert until == [(bar_25 + timedelta(minutes=30),)]  # the stock cooldown, counted from the bar
    assert [r[10] for r in signals(db)] == [datetime.fromtimestamp((OPEN + 25 * MINUTE) / 1000, tz=UTC)] * 2


def test_the_cooldown_ends_with_its_minutes(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    db.execute("update signal_settings set cooldown_minutes = 1 where asset_class = 'stock'")
    scanner(rest).run()
    massive.bars[("AAPL", 1, "minute")] = today_minutes([*FLAT, BREAKOUT, bar(0, 102.0, h=102.1, lo=101.0, v=4000)])
    assert scanner(rest, NOW + timedelta(minutes=1)).run().signals == 2


def test_a_massive_outage_still_scans_the_stored_bars_and_counts_the_failed_fetches(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    massive.fail_next(403, times=10)
    counts = scanner(rest).run()
    assert counts.fetch_errors == 3 and counts.signals == 0  # today's bars never arrived: nothing fresh to scan


def test_a_scan_within_the_same_minute_fetches_nothing_new(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    def minute_fetches() -> int:
        return sum(1 for seen in massive.seen if "/range/1/minute/" in seen.path)

    scanner(rest).run()
    before = minute_fetches()
    # The newest stored 1m bar (minute 26) is still forming at NOW + 20 s: nothing can have closed since.
    scanner(rest, NOW + timedelta(seconds=20)).run()
    assert minute_fetches() == before


def test_a_spent_budget_defers_the_remaining_symbols_and_rotates_which_go_first(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    watch(db, setup["a"].user_id, "MSFT", "NVDA")
    ticks = iter([0.0, 10.0])  # the first symbol starts in time, the second finds the budget spent
    first = Scanner(rest, now=lambda: NOW, deadline=5.0, clock=lambda: next(ticks))
    counts = first.run()
    assert (counts.symbols, counts.deferred) == (3, 2)
    scanned = {seen.path.split("/")[4] for seen in massive.seen}
    assert len(scanned) == 1
    ticks = iter([0.0, 10.0])
    Scanner(rest, now=lambda: NOW + timedelta(minutes=1), deadline=5.0, clock=lambda: next(ticks)).run()
    assert {seen.path.split("/")[4] for seen in massive.seen} - scanned  # another symbol went first


def test_a_symbol_is_computed_once_however_many_admins_watch_it(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    for _ in range(40):
        watch(db, uuid.uuid4(), "AAPL")
    counts = scanner(rest).run()
    assert counts.symbols == 1 and counts.signals == 42
    assert sum(1 for seen in massive.seen if "/AAPL/" in seen.path) == 3  # 1m, 5m, 15m: once each


def test_a_symbol_nobody_watches_is_not_scanned(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    scanner(rest).run()
    assert not any("/MSFT/" in seen.path for seen in massive.seen)


def snapshot(db: psycopg.Connection[Any], view: str, taken_at: datetime, zero_gamma: float, call_wall: float) -> None:
    """A gamma_snapshots row as the gamma job writes it (docs/gamma.md); only the levels matter here."""
    db.execute(
        "insert into gamma_snapshots (symbol, view, bucket, taken_at, spot, net_gex, call_gex, put_gex, call_wall,"
        " put_wall, zero_gamma, contracts, contracts_without_greeks, contracts_without_open_interest, strikes)"
        " values ('AAPL', %s, %s, %s, 101, 0, 0, 0, %s, 95, %s, 0, 0, 0, '{}')",
        (view, taken_at, taken_at, call_wall, zero_gamma),
    )


def test_the_latest_whole_chain_gamma_snapshot_adds_the_gamma_factor(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    snapshot(db, "all", NOW - timedelta(minutes=30), zero_gamma=120.0, call_wall=130.0)
    snapshot(db, "all", NOW - timedelta(minutes=5), zero_gamma=99.0, call_wall=110.0)
    snapshot(db, "nearest", NOW - timedelta(minutes=1), zero_gamma=105.0, call_wall=101.5)
    scanner(rest).run()
    row = db.execute("select factors, score from composite_signals limit 1").fetchone()
    assert row is not None
    gamma = [f for f in row[0] if f["key"] == "gamma"]
    # The newest `all` row: above zero gamma 99 with 9 ATRs to the call wall 110 → 100; score 72.1.
    assert gamma and gamma[0]["value"] == 100.0 and "zero gamma 99" in gamma[0]["label"]
    assert float(row[1]) == round((0.5 / (14.2 / 14) * 100 + 75 + 100 + 100) / 4.5, 1)


def test_a_day_old_gamma_snapshot_is_not_context(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    snapshot(db, "all", NOW - timedelta(hours=25), zero_gamma=99.0, call_wall=110.0)
    scanner(rest).run()
    row = db.execute("select factors from composite_signals limit 1").fetchone()
    assert row is not None and not [f for f in row[0] if f["key"] == "gamma"]


def test_without_the_gamma_snapshots_table_the_scan_runs_without_gamma_context(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    db.execute("alter table gamma_snapshots rename to gamma_snapshots_elsewhere")
    try:
        assert scanner(rest).run().signals == 2
    finally:
        db.execute("alter table gamma_snapshots_elsewhere rename to gamma_snapshots")


def test_a_failing_symbol_fails_the_run_but_not_the_other_symbols(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    store_history("MSFT")
    serve_today(massive, "MSFT", [*FLAT, BREAKOUT])
    watch(db, setup["a"].user_id, "MSFT")
    db.execute("alter table composite_signals add constraint no_aapl check (symbol <> 'AAPL')")
    try:
        with pytest.raises(PartialFailure, match="1 of 2 symbols"):
            scanner(rest).run()
        assert [r[1] for r in signals(db)] == ["MSFT"]
    finally:
        db.execute("alter table composite_signals drop constraint no_aapl")


def test_a_scan_marks_signals_past_their_expiry_expired(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    scanner(rest).run()
    # Expiry is the bar's time + 60 minutes (the stock setting): 14:55 + 1 h.
    later = scanner(rest, datetime.fromtimestamp((OPEN + 85 * MINUTE) / 1000, tz=UTC)).run()
    assert later.expired == 2
    assert db.execute("select distinct status from composite_signals").fetchall() == [("expired",)]


# --------------------------------------------------------------------------------------------- the job


def test_the_scanner_job_runs_under_the_frame_and_records_a_heartbeat(
    setup: dict[str, Any], db: psycopg.Connection[Any], massive_env: FakeMassiveRest
) -> None:
    from functions.jobs.scanner import run

    result = run(force=True)
    assert result.status in ("ok", "failed")
    assert db.execute("select job from job_heartbeats").fetchall() == [("scanner",)]


class LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return 50_000


def test_the_scanner_lambda_runs_one_forced_scan_and_reports_it(
    setup: dict[str, Any], db: psycopg.Connection[Any], massive_env: FakeMassiveRest
) -> None:
    from functions.jobs.scanner import handler

    result = handler({"force": True}, LambdaContext())
    assert set(result) == {"status", "counts", "error"}
    assert db.execute("select job from job_heartbeats").fetchall() == [("scanner",)]


def test_the_scanner_skips_outside_market_hours(settings: Settings, db: psycopg.Connection[Any]) -> None:
    from shared.jobs.frame import run_job
    from shared.jobs.specs import SCANNER

    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    result = run_job(SCANNER, lambda: {}, now=lambda: saturday)
    assert (result.status, result.error) == ("skipped", "market closed")


# --------------------------------------------------------------------------------------------- replay


def store_session(db: psycopg.Connection[Any]) -> None:
    """AAPL's history and TODAY: the breakout at minute 25, then a climb through T1 (103) by minute 40."""
    from shared.db import service_tx

    store_history("AAPL")
    climb = [bar(0, 101.0 + 0.15 * k, h=101.1 + 0.15 * k, lo=100.9 + 0.15 * k) for k in range(1, 30)]
    with service_tx() as conn:
        upsert_bars(conn, "AAPL", "1m", [Bar.model_validate(b) for b in today_minutes([*FLAT, BREAKOUT, *climb])])
    seed_settings(db)


def test_the_replay_prints_what_would_have_fired_with_its_outcome_and_writes_nothing(
    settings: Settings, db: psycopg.Connection[Any], make_token: MakeToken
) -> None:
    from functions.jobs.scanner import replay_session

    store_session(db)
    watch(db, Admin(*make_token()).user_id, "AAPL")
    out = io.StringIO()
    assert replay_session(TODAY, None, as_json=True, out=out) >= 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    first = lines[0]
    assert set(first) == {"symbol", "detector", "direction", "style", "score", "factors", "entry", "stop", "targets",
                          "rr", "bar_time", "outcome"}
    assert (first["symbol"], first["detector"], first["direction"]) == ("AAPL", "breakout", "long")
    assert first["entry"] == 101.0
    assert first["bar_time"] == datetime.fromtimestamp((OPEN + 25 * MINUTE) / 1000, tz=UTC).isoformat()
    # Highs climb 0.15 a minute from 101.25: T1 103 is reached at minute 38 (103.05), the stop 100 never.
    assert first["outcome"]["t1_reached"] is True and first["outcome"]["stop_hit_first"] is False
    # The lowest low after it is minute 26's 101.05: 0.05 in the trade's favour at worst.
    assert first["outcome"]["worst_excursion"] == pytest.approx(0.05)
    assert first["outcome"]["best_excursion"] == pytest.approx(101.1 + 0.15 * 29 - 101.0)
    assert db.execute("select count(*) from composite_signals").fetchone() == (0,)
    assert db.execute("select count(*) from signal_cooldowns").fetchone() == (0,)


def test_the_replay_command_prints_json_lines(
    settings: Settings, db: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.__main__ import main

    store_session(db)
    assert main(["run", "scanner", "--replay", TODAY.isoformat(), "--symbols", "AAPL", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and lines[0]["detector"] == "breakout"


def test_the_replay_prints_a_readable_line_per_signal_and_a_count(
    settings: Settings, db: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.__main__ import main

    store_session(db)
    assert main(["run", "scanner", "--replay", TODAY.isoformat(), "--symbols", "AAPL"]) == 0
    captured = capsys.readouterr()
    first = captured.out.splitlines()[0]
    assert "AAPL" in first and "breakout" in first and "entry 101.00 stop 100.00 T1 103.00 R:R 2.00" in first
    assert "T1 yes stop-first no" in first
    assert "signal(s) on 2026-11-24" in captured.err


def test_a_replay_of_a_symbol_that_is_not_one_is_refused(
    settings: Settings, db: psycopg.Connection[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.__main__ import main

    assert main(["run", "scanner", "--replay", TODAY.isoformat(), "--symbols", "NOT A SYMBOL!"]) == 2
    assert "--symbols" in capsys.readouterr().err


def test_the_replay_flag_belongs_to_the_scanner(capsys: pytest.CaptureFixture[str]) -> None:
    from functions.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "ingest", "--replay", "2026-11-24"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", "scanner", "--replay", "yesterday"])
