"""The composer's edited prices as the trade fields they change."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.alerts.effective import price_edits
from shared.alerts.models import AlertPrices

D = Decimal


def test_every_edited_price_names_the_trade_field_it_sets() -> None:
    prices = AlertPrices(
        entry=D("1.10"), current=D("1.30"), target=D("3"), stop=D("0.5"),
        target_underlying=D("660"), stop_underlying=D("640"),
    )
    assert price_edits(prices) == {
        "entry_price": D("1.10"), "current_price": D("1.30"), "target_price": D("3"), "stop_loss": D("0.5"),
        "target_underlying": D("660"), "stop_underlying": D("640"),
    }


def test_prices_left_unset_change_nothing() -> None:
    assert price_edits(AlertPrices(stop=D("0.90"))) == {"stop_loss": D("0.90")}
    assert price_edits(AlertPrices()) == {}
    assert price_edits(None) == {}


@pytest.mark.parametrize("field", ["entry", "current", "target", "stop", "target_underlying"])
def test_a_price_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        AlertPrices.model_validate({field: "0"})
