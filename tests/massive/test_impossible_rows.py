"""Massive's impossible rows are refused at the edge, one at a time; the good rows of the page are kept."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.massive.models import Bar, OptionSnapshot, bar_check, screen
from shared.massive.rest import MassiveRest
from tests.fakes.massive_rest import FakeMassiveRest, minute_bars, option_contract

T0 = 1_764_086_400_000  # 2025-11-25T16:00Z, on every minute grid
GOOD = {"t": T0, "o": 10.5, "h": 11.0, "l": 10.0, "c": 10.75, "v": 1200, "vw": 10.6, "n": 42}


def bar(**change: Any) -> dict[str, Any]:
    return {**GOOD, **change}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"o": math.nan}, "o"),
        ({"h": math.inf}, "h"),
        ({"c": -1.0}, "c"),
        ({"l": 0.0}, "l"),
        ({"o": "10.5"}, "o"),  # a string number is not read as a number
        ({"v": -5}, "v"),
        ({"vw": math.nan}, "vw"),
        ({"h": 2e7, "c": 1.5e7}, "h"),  # ten million is past any listed price
        ({"v": 1e13}, "v"),
        ({"n": -1}, "n"),
        ({"t": "soon"}, "t"),
    ],
)
def test_a_bar_with_an_impossible_number_is_refused_naming_the_field(change: dict[str, Any], named: str) -> None:
    screened = screen([bar(**change)], Bar)
    assert screened.rows == [] and screened.refused == 1
    assert screened.reasons[0].startswith(f"{named}:")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"h": 9.0, "l": 10.0, "o": 9.5, "c": 9.5}, "low 10.0 is above high 9.0"),
        ({"o": 11.5}, "o 11.5 is outside [low 10.0, high 11.0]"),
        ({"c": 9.99}, "c 9.99 is outside [low 10.0, high 11.0]"),
    ],
)
def test_a_bar_whose_prices_contradict_each_other_is_refused(change: dict[str, Any], says: str) -> None:
    screened = screen([bar(**change)], Bar)
    assert screened.refused == 1 and says in screened.reasons[0]


def test_a_bar_after_the_requested_end_or_off_its_grid_is_refused() -> None:
    check = bar_check(300_000, T0 + 600_000)
    screened = screen([bar(), bar(t=T0 + 900_000), bar(t=T0 + 60_000), bar(t=T0 + 300_000)], Bar, check=check)
    assert [row.t for row in screened.rows] == [T0, T0 + 300_000]
    assert screened.refused == 2
    assert "after the requested end" in screened.reasons[0] and "not on the 300 s grid" in screened.reasons[1]


def test_a_possible_bar_passes_as_massive_sent_it() -> None:
    (row,) = screen([bar(v=0)], Bar).rows
    assert (row.o, row.h, row.l, row.c, row.v, row.vw, row.n) == (10.5, 11.0, 10.0, 10.75, 0.0, 10.6, 42)


def contract(**change: Any) -> dict[str, Any]:
    raw = option_contract("SPY", date(2025, 12, 19), "call", 600.0, spot=598.0, iv=0.2, gamma=0.05,
                          open_interest=1000.0)
    for path, value in change.items():
        target = raw
        *parents, leaf = path.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("open_interest", 1e308),
        ("open_interest", -3.0),
        ("implied_volatility", math.nan),
        ("greeks.gamma", math.inf),
        ("greeks.delta", 3.0),
        ("details.strike_price", -600.0),
        ("details.strike_price", "600"),
        ("details.expiration_date", "2025-13-45"),
        ("day.volume", -10.0),
        ("underlying_asset.price", math.nan),
    ],
)
def test_a_contract_with_an_impossible_value_is_refused(path: str, value: Any) -> None:
    screened = screen([contract(**{path: value})], OptionSnapshot)
    assert screened.refused == 1, path


def test_a_contract_missing_its_greeks_or_open_interest_is_kept_as_massive_sends_it() -> None:
    raw = option_contract("SPY", date(2025, 12, 19), "put", 500.0, spot=598.0, iv=None, gamma=None,
                          open_interest=None)
    (row,) = screen([raw], OptionSnapshot).rows
    assert row.greeks is None and row.open_interest is None


# ------------------------------------------------------------------ over real HTTP, from the fake Massive

def test_a_page_with_impossible_bars_keeps_its_good_ones_and_counts_the_rest(
    rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    good = minute_bars(T0, 3)
    hostile = [bar(t=T0 + 180_000, o=math.nan), bar(t=T0 + 240_000, h=9.0), bar(t=T0 + 300_000, c=-1.0)]
    massive.fail_next(200, body={"status": "OK", "results": good + hostile}, path_prefix="/v2/aggs/")
    bars = rest.aggregates("SPY", 1, "minute", T0, T0 + 3_600_000)
    assert [b.t for b in bars] == [T0, T0 + 60_000, T0 + 120_000]
    assert rest.refused == 3


def test_a_number_too_large_for_a_float_is_refused_not_read_as_infinity(
    rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    body = b'{"status": "OK", "results": [{"t": %d, "o": 1e999, "h": 1e999, "l": 1, "c": 1, "v": 1}]}' % T0
    massive.fail_next(200, body=body, path_prefix="/v2/aggs/")
    assert rest.aggregates("SPY", 1, "minute", T0, T0 + 60_000) == []
    assert rest.refused == 1


def test_a_bar_dated_after_the_requested_end_is_refused(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    year_2100 = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000)
    massive.fail_next(200, body={"results": [GOOD, bar(t=year_2100)]}, path_prefix="/v2/aggs/")
    assert [b.t for b in rest.aggregates("SPY", 1, "minute", T0, T0 + 60_000)] == [T0]
    assert rest.refused == 1


def test_an_option_chain_keeps_its_possible_contracts(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.chains["SPY"] = [contract(), contract(open_interest=1e308), contract(**{"greeks.gamma": math.nan})]
    assert len(rest.option_chain("SPY")) == 1
    assert rest.refused == 2


def test_an_index_with_an_impossible_value_is_refused(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.indices["I:SPX"] = {"ticker": "I:SPX", "value": math.inf}
    massive.indices["I:NDX"] = {"ticker": "I:NDX", "value": 21000.5}
    snapshots = rest.index_snapshot(["SPX", "NDX"])
    assert [s.ticker for s in snapshots] == ["I:NDX"]
    assert rest.refused == 1



def test_a_contract_as_massive_documents_it_on_a_down_day_is_kept() -> None:
    # Every field of docs/reference/massive.md (B): a negative day change, nanosecond timestamps, trade conditions.
    raw: dict[str, Any] = {
        "break_even_price": 651.2,
        "day": {"open": 1.5, "high": 1.6, "low": 1.1, "close": 1.2, "change": -0.35, "change_percent": -22.58,
                "previous_close": 1.55, "volume": 1520, "vwap": 1.31, "last_updated": 1_764_086_400_000_000_000},
        "details": {"contract_type": "call", "exercise_style": "american", "expiration_date": "2025-12-19",
                    "shares_per_contract": 100, "strike_price": 650, "ticker": "O:SPY251219C00650000"},
        "fmv": 1.21,
        "greeks": {"delta": 0.31, "gamma": 0.021, "theta": -0.24, "vega": 0.52},
        "implied_volatility": 0.18,
        "last_quote": {"bid": 1.18, "ask": 1.22, "bid_size": 40, "ask_size": 12, "midpoint": 1.2,
                       "timeframe": "REAL-TIME", "last_updated": 1_764_086_399_000_000_000},
        "last_trade": {"price": 1.2, "size": 3, "exchange": 65, "conditions": [209],
                       "sip_timestamp": 1_764_086_398_000_000_000, "timeframe": "REAL-TIME"},
        "open_interest": 18234,
        "underlying_asset": {"ticker": "SPY", "price": 640.12, "change_to_break_even": 11.08,
                             "last_updated": 1_764_086_400_000_000_000, "timeframe": "REAL-TIME"},
    }
    assert screen([raw], OptionSnapshot).refused == 0
    raw["underlying_asset"]["change_to_break_even"] = -3.5  # a put's break-even below the price
    raw["day"]["close"] = -1.2
    screened = screen([raw], OptionSnapshot)
    assert screened.refused == 1 and "day.close -1.2" in screened.reasons[0]
