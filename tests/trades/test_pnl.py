"""P&L: gross move, fees and slippage per side, trims, R:R."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.trades.pnl import (
    NetPnl,
    Quote,
    Trim,
    fee_per_side,
    gross_move_percent,
    net_pnl,
    position_percent,
    realized_percent,
    remaining_percent,
    risk_reward,
    risk_reward_rating,
    slippage_per_side,
    trimmed_percent,
)

D = Decimal


def test_gross_move_is_the_change_over_the_entry() -> None:
    assert gross_move_percent(D("1.20"), D("1.50")) == D("25.00")
    assert gross_move_percent(D("2.00"), D("1.00")) == D("-50.00")


def test_an_option_expiring_worthless_loses_everything() -> None:
    assert gross_move_percent(D("1.20"), D("0")) == D("-100.00")


def test_gross_move_rounds_half_up_to_the_hundredth() -> None:
    assert gross_move_percent(D("3"), D("4")) == D("33.33")
    assert gross_move_percent(D("8"), D("8.0005")) == D("0.01")


def test_gross_move_needs_a_positive_entry() -> None:
    with pytest.raises(ValueError, match="entry"):
        gross_move_percent(D("0"), D("1"))


def test_fees_are_65_cents_a_contract_per_side() -> None:
    assert fee_per_side(D(10)) == D("6.50")


def test_fees_are_at_least_50_cents_per_side() -> None:
    assert fee_per_side(D("0.5")) == D("0.50")
    assert fee_per_side(D(1)) == D("0.65")


def test_slippage_is_half_the_spread_when_quoted() -> None:
    assert slippage_per_side(D("1.00"), D(2), Quote(bid=D("0.95"), ask=D("1.05"))) == D("10.00")


def test_slippage_is_half_a_percent_of_mid_without_a_quote() -> None:
    assert slippage_per_side(D("2.00"), D(1)) == D("1.00")


def test_quote_mid_and_half_spread() -> None:
    quote = Quote(bid=D("1.00"), ask=D("1.10"))
    assert (quote.mid, quote.half_spread) == (D("1.05"), D("0.05"))


def test_net_pnl_subtracts_fees_and_slippage_on_both_sides() -> None:
    # 1 contract 1.00 → 1.50: gross $50, fees 2 × $0.65, slippage $0.50 + $0.75.
    assert net_pnl(D("1.00"), D("1.50"), D(1)) == NetPnl(
        gross=D("50.00"), fees=D("1.30"), slippage=D("1.25"), net=D("47.45"), net_percent=D("47.45")
    )


def test_net_pnl_uses_each_sides_quote() -> None:
    result = net_pnl(
        D("1.00"), D("2.00"), D(3),
        entry_quote=Quote(bid=D("0.98"), ask=D("1.02")),
        exit_quote=Quote(bid=D("1.90"), ask=D("2.10")),
    )
    # gross 300; fees 2 × 1.95; slippage 3 × 100 × (0.02 + 0.10) = 36.
    assert (result.gross, result.fees, result.slippage, result.net) == (D("300.00"), D("3.90"), D("36.00"), D("260.10"))
    assert result.net_percent == D("86.70")


def test_a_worthless_expiry_loses_the_premium_plus_costs() -> None:
    # $50 premium, $1.30 fees, $0.25 slippage on the way in, none on a $0 way out.
    result = net_pnl(D("0.50"), D("0"), D(1))
    assert (result.net, result.net_percent) == (D("-51.55"), D("-103.10"))


@pytest.mark.parametrize(("entry", "contracts"), [(D(0), D(1)), (D(1), D(0))])
def test_net_pnl_refuses_an_empty_position(entry: Decimal, contracts: Decimal) -> None:
    with pytest.raises(ValueError):
        net_pnl(entry, D(1), contracts)


def test_remaining_size_is_100_minus_the_trims() -> None:
    trims = [Trim(D(50), D(25)), Trim(D(25), D(40))]
    assert trimmed_percent(trims) == D(75)
    assert remaining_percent(trims) == D(25)


def test_nothing_trimmed_leaves_the_whole_position() -> None:
    assert remaining_percent([]) == D(100)
    assert realized_percent([]) == D("0.00")


def test_realized_pnl_sums_each_trims_share_of_its_move() -> None:
    assert realized_percent([Trim(D(50), D(25)), Trim(D(25), D(40))]) == D("22.50")


def test_position_pnl_adds_the_remainder_at_its_move() -> None:
    assert position_percent([Trim(D(50), D(25))], D(-10)) == D("7.50")


def test_risk_reward_is_reward_over_risk() -> None:
    assert risk_reward(D("1.00"), D("2.00"), D("0.70")) == D("3.33")


def test_risk_reward_works_for_either_direction() -> None:
    assert risk_reward(D("1.00"), D("0.50"), D("1.25")) == D("2.00")


def test_risk_reward_without_risk_is_undefined() -> None:
    assert risk_reward(D("1.00"), D("2.00"), D("1.00")) is None


@pytest.mark.parametrize(
    ("ratio", "rating"), [(D("3"), "excellent"), (D("2.99"), "good"), (D("2"), "good"), (D("1.99"), "poor")]
)
def test_risk_reward_rating(ratio: Decimal, rating: str) -> None:
    assert risk_reward_rating(ratio) == rating
