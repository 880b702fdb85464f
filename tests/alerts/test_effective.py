"""The effective trade: edited prices applied once, unset ones kept."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.alerts.effective import effective_trade
from shared.alerts.models import AlertPrices
from tests.alerts.scenario import rich_trade

D = Decimal


def test_every_edited_price_replaces_the_trades() -> None:
    prices = AlertPrices(
        entry=D("1.10"), current=D("1.30"), target=D("3"), stop=D("0.5"),
        target_underlying=D("660"), stop_underlying=D("640"),
    )
    trade = effective_trade(rich_trade("entered"), prices)
    assert (trade.entry_price, trade.current_price, trade.target_price, trade.stop_loss) == (
        D("1.10"), D("1.30"), D("3"), D("0.5"),
    )
    assert (trade.target_underlying, trade.stop_underlying) == (D("660"), D("640"))


def test_prices_left_unset_keep_the_trades_own() -> None:
    before = rich_trade("entered")
    after = effective_trade(before, AlertPrices(stop=D("0.90")))
    assert after.model_dump(exclude={"stop_loss"}) == before.model_dump(exclude={"stop_loss"})


def test_no_prices_is_the_trade_itself() -> None:
    trade = rich_trade()
    assert effective_trade(trade, None) is trade
    assert effective_trade(trade, AlertPrices()) is trade


@pytest.mark.parametrize("field", ["entry", "current", "target", "stop", "target_underlying"])
def test_a_price_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AlertPrices.model_validate({field: "0"})
