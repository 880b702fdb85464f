"""A trade in each state, rich in every field an alert can show, for the alert tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared.alerts.compose import Composition, compose
from shared.alerts.models import AlertBlock
from shared.trades.ledger import Fill, make_fill
from shared.trades.lifecycle import Action
from shared.trades.models import ActionInputs, Confluence, Greeks, Trade

D = Decimal
NOW = datetime(2025, 12, 5, 15, 30, tzinfo=UTC)


def rich_trade(state: str = "loaded", **kw: Any) -> Trade:
    values: dict[str, Any] = {
        "ticker": "SPY",
        "contract": "O:SPY251219C00650000",
        "underlying": "SPY",
        "strike": D(650),
        "expiry": date(2025, 12, 19),
        "side": "call",
        "trade_type": "Day",
        "state": state,
        "quantity": 2,
        "current_price": D("1.20"),
        "target_price": D("2.40"),
        "stop_loss": D("0.60"),
        "target_underlying": D("655"),
        "stop_underlying": D("645.5"),
        "setup_type": "Breakout",
        "notes": "Above VWAP, volume rising",
        "confluence": Confluence(score=82, factors={"trend": True, "volume": "high", "gex": 0.7}),
        "greeks": Greeks(delta=0.45, gamma=0.021, theta=-0.15, vega=0.1, iv=0.225),
    }
    if state in ("entered", "exited"):
        values["entry_price"] = D("1.20")
    if state == "exited":
        values.update(exit_price=D("1.80"))
    values.update(kw)
    return Trade(**values)


def ledger_of(trade: Trade) -> list[Fill]:
    """The fills a scenario trade has: its entry; once exited, half trimmed at 1.50 and the rest sold at the exit."""
    if trade.state not in ("entered", "exited") or trade.entry_price is None:
        return []
    fills = [make_fill("buy", D(trade.quantity), trade.entry_price)]
    if trade.state == "exited" and trade.exit_price is not None:
        half = D(trade.quantity) / 2
        fills += [make_fill("sell", half, D("1.50")), make_fill("sell", half, trade.exit_price)]
    return fills


def composed(
    trade: Trade, action: Action, inputs: ActionInputs, block: AlertBlock | None = None, fills: list[Fill] | None = None
) -> Composition:
    """`compose` on a scenario trade with its ledger (or the fills given)."""
    return compose(trade, ledger_of(trade) if fills is None else fills, action, inputs, block, NOW)


# For each alert action: the state it starts from and the inputs that make it happen.
ACTION_CASES: dict[Action, tuple[str, ActionInputs]] = {
    Action.LOAD: ("watching", ActionInputs(price=D("1.20"))),
    Action.ENTER: ("loaded", ActionInputs(price=D("1.25"))),
    Action.TRIM: ("entered", ActionInputs(price=D("1.80"), trim_percent=D(50))),
    Action.ADD: ("entered", ActionInputs(price=D("0.90"), quantity=1)),
    Action.UPDATE_SL: ("entered", ActionInputs(stop_loss=D("1.00"))),
    Action.TRAIL_STOP: ("entered", ActionInputs(stop_loss=D("1.10"))),
    Action.UPDATE: ("entered", ActionInputs(price=D("1.50"))),
    Action.EXIT: ("entered", ActionInputs(price=D("2.40"))),
    Action.SHARE_EXIT: ("exited", ActionInputs()),
}
