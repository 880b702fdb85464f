"""The fills ledger: every dollar and percent checked against a figure computed by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.trades.ledger import (
    Fill,
    LedgerError,
    Quote,
    fee_for,
    make_fill,
    position_pnl,
    replay,
    slippage_for,
    trim_contracts,
)
from shared.trades.money import cents

D = Decimal


def buy(contracts: str | int | Decimal, price: str) -> Fill:
    return make_fill("buy", D(contracts), D(price))


def sell(contracts: str | int | Decimal, price: str) -> Fill:
    return make_fill("sell", D(contracts), D(price))


# 10 × QQQ 600P at 3.10, trim 50 % at 4.00, add 5 at 3.60, exit at 4.50.
ADDS_CASE = [buy(10, "3.10"), sell(5, "4.00"), buy(5, "3.60")]


def test_after_an_add_the_open_contracts_carry_their_average_cost() -> None:
    # Open: 5 at 3.10 + 5 at 3.60 = 10 at 3.35. Realized 5 × 0.90 × 100 = $450; at 3.60, unrealized
    # 10 × 0.25 × 100 = $250: gross $700 on $4,900 bought (3,100 + 1,800).
    figures = position_pnl(replay(ADDS_CASE), D("3.60"))
    assert (figures.open_quantity, figures.average_cost) == (D(10), D("3.3500"))
    assert (figures.realized, figures.unrealized, figures.gross) == (D("450.00"), D("250.00"), D("700.00"))
    assert (figures.cost_basis, figures.position_percent) == (D("4900.00"), D("14.29"))


def test_the_adds_case_closes_at_1600_gross_and_1523_50_net() -> None:
    # 5 sold at +0.90 ($450), then 10 at 3.35 sold at 4.50 ($1,150): $1,600.
    # Fees 6.50 + 3.25 + 3.25 + 6.50 = 19.50; slippage 0.5 % of each fill: 15.50 + 10.00 + 9.00 + 22.50 = 57.00.
    figures = position_pnl(replay([*ADDS_CASE, sell(10, "4.50")]), D("4.50"))
    assert figures.gross == D("1600.00")
    assert (figures.fees, figures.slippage, figures.net) == (D("19.50"), D("57.00"), D("1523.50"))
    # 1,600 / 4,900 = 32.653 %; 1,523.50 / 4,900 = 31.092 %; 15 of 15 contracts sold.
    assert (figures.position_percent, figures.net_percent, figures.trimmed_percent) == (
        D("32.65"), D("31.09"), D("100.00"),
    )
    assert (figures.open_quantity, figures.average_cost, figures.result) == (D(0), None, "win")


def test_a_winning_position_whose_last_leg_lost_is_a_win() -> None:
    # 4 at 1.00; 3 sold at 2.00 (+$300); the last 1 at 0.90 (−$10): +$290 on $400 = +72.50 %.
    figures = position_pnl(replay([buy(4, "1.00"), sell(3, "2.00"), sell(1, "0.90")]), D("0.90"))
    assert (figures.gross, figures.position_percent, figures.result) == (D("290.00"), D("72.50"), "win")
    # Fees 2.60 + 1.95 + 0.65; slippage 2.00 + 3.00 + 0.45: net 290 − 5.20 − 5.45 = 279.35 (69.84 %).
    assert (figures.fees, figures.slippage, figures.net, figures.net_percent) == (
        D("5.20"), D("5.45"), D("279.35"), D("69.84"),
    )


def test_dollars_come_from_prices_not_from_a_rounded_percentage() -> None:
    # 10 at 3.10 marked at 3.65: 10 × 0.55 × 100 = $550.00 exactly (17.74 % of $3,100).
    figures = position_pnl(replay([buy(10, "3.10")]), D("3.65"))
    assert (figures.unrealized, figures.gross, figures.position_percent) == (D("550.00"), D("550.00"), D("17.74"))


def test_a_one_contract_trade_trims_in_halves() -> None:
    # 1 at 2.00; half (0.5) sold at 3.00, half of the rest (0.25) at 4.00, the last 0.25 at 5.00:
    # 50 + 50 + 75 = $175 on $200 = 87.50 %.
    first = trim_contracts(D(1), D(50))
    second = trim_contracts(D(1) - first, D(50))
    fills = [buy(1, "2.00"), sell(first, "3.00"), sell(second, "4.00"), sell(D(1) - first - second, "5.00")]
    figures = position_pnl(replay(fills), D("5.00"))
    assert (first, second) == (D("0.5"), D("0.25"))
    assert (figures.gross, figures.position_percent) == (D("175.00"), D("87.50"))
    # Fees: 0.65 for the buy, the $0.50 minimum for each of the three partial sells.
    # Slippage: 1.00 + 0.75 + 0.50 + 0.625 → 0.63 (half-up): 2.88. Net 175 − 2.15 − 2.88 = 169.97.
    assert (figures.fees, figures.slippage, figures.net) == (D("2.15"), D("2.88"), D("169.97"))


def test_fees_are_65_cents_a_contract_and_at_least_50_cents_a_fill() -> None:
    assert (fee_for(D(10)), fee_for(D(1)), fee_for(D("0.5"))) == (D("6.50"), D("0.65"), D("0.50"))


def test_slippage_is_half_the_quoted_spread() -> None:
    # Bid 1.00, ask 1.10: 0.05 a share × 2 contracts × 100 = $10.00.
    assert slippage_for(D("1.10"), D(2), Quote(bid=D("1.00"), ask=D("1.10"))) == D("10.00")


def test_slippage_without_a_quote_is_half_a_percent_of_the_fill_price() -> None:
    # 0.5 % of 3.13 × 100 = 1.565 → $1.57 (half-up).
    assert slippage_for(D("3.13"), D(1)) == D("1.57")


def test_an_option_expiring_worthless_loses_the_premium_and_its_costs() -> None:
    # 1 at 0.50 ($50), sold at 0: −$50 gross; fees 0.65 + 0.65, slippage 0.25 + 0: net −$51.55 (−103.10 %).
    figures = position_pnl(replay([buy(1, "0.50"), sell(1, "0")]), D("0"))
    assert (figures.gross, figures.net, figures.net_percent, figures.result) == (
        D("-50.00"), D("-51.55"), D("-103.10"), "loss",
    )


def test_a_round_trip_at_the_same_price_is_flat() -> None:
    assert position_pnl(replay([buy(2, "1.00"), sell(2, "1.00")]), D("1.00")).result == "flat"


def test_selling_more_than_is_open_is_refused() -> None:
    with pytest.raises(LedgerError, match="2 are open"):
        replay([buy(2, "1.00"), sell(3, "1.10")])


def test_an_open_position_without_a_mark_has_no_gross() -> None:
    figures = position_pnl(replay([buy(1, "1.00")]), None)
    assert (figures.unrealized, figures.gross, figures.net) == (None, None, None)


# --- properties over any sequence of fills -------------------------------------------------------

PRICES = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)
STEPS = st.lists(
    st.tuples(st.booleans(), st.integers(min_value=1, max_value=99), PRICES), min_size=1, max_size=12
)


def _ledger(steps: list[tuple[bool, int, Decimal]]) -> list[Fill]:
    """Buys of 1-99 contracts, or sells of 1-99 % of what is open (never more than is open)."""
    fills: list[Fill] = []
    open_contracts = D(0)
    for is_buy, size, price in steps:
        if is_buy or open_contracts == 0:
            fills.append(make_fill("buy", D(size), price))
            open_contracts += size
        else:
            contracts = trim_contracts(open_contracts, D(size))
            fills.append(make_fill("sell", contracts, price))
            open_contracts -= contracts
    return fills


@given(STEPS, PRICES)
def test_realized_plus_unrealized_is_the_cash_flow_at_the_mark(
    steps: list[tuple[bool, int, Decimal]], mark: Decimal
) -> None:
    fills = _ledger(steps)
    position = replay(fills)
    cash = sum((f.price * f.contracts * (1 if f.side == "sell" else -1) for f in fills), D(0))
    expected = (cash + position.open_contracts * mark) * 100
    figures = position_pnl(position, mark)
    assert figures.gross is not None
    assert abs(figures.gross - expected) <= D("0.005")


@given(STEPS, PRICES)
def test_a_closed_trades_gross_does_not_depend_on_the_averaging_method(
    steps: list[tuple[bool, int, Decimal]], exit_price: Decimal
) -> None:
    fills = _ledger(steps)
    fills.append(make_fill("sell", replay(fills).open_contracts, exit_price))
    # First in, first out: each sell is matched against the oldest contracts still open.
    lots: list[list[Decimal]] = []
    fifo = D(0)
    for fill in fills:
        if fill.side == "buy":
            lots.append([fill.contracts, fill.price])
            continue
        left = fill.contracts
        while left > 0:
            taken = min(left, lots[0][0])
            fifo += (fill.price - lots[0][1]) * taken * 100
            lots[0][0] -= taken
            left -= taken
            if lots[0][0] == 0:
                lots.pop(0)
    assert position_pnl(replay(fills), exit_price).gross == cents(fifo)
