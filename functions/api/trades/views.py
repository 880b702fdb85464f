"""Trades, updates and alerts as the API shows them: JSON-ready dicts, money as decimal strings.

Money and percentages are strings ("1.20") so no client loses a cent to binary floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from shared.trades import pnl
from shared.trades.dte import is_expired, live_dte
from shared.trades.ledger import Fill
from shared.trades.lifecycle import mark_of, trade_pnl, trade_risk_reward
from shared.trades.models import Trade

# The figures of `trade.pnl`, each a decimal string (null before the trade is entered).
PNL_FIGURES = (
    "open_quantity", "average_cost", "cost_basis", "realized", "unrealized", "gross", "fees", "slippage", "net",
    "position_percent", "net_percent", "trimmed_percent",
)


def decimal_text(value: Decimal | None) -> str | None:
    """`1.2000` → "1.20"; extra digits kept only when they matter."""
    if value is None:
        return None
    if value == value.quantize(Decimal("0.01")):
        return f"{value:.2f}"
    return f"{value.normalize():f}"


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def pnl_summary(trade: Trade, fills: Sequence[Fill]) -> dict[str, Any]:
    """The position's P&L from its fills at the trade's mark (the exit once exited); figures null before entry."""
    mark = mark_of(trade)
    summary: dict[str, Any] = {"mark": decimal_text(mark), **dict.fromkeys(PNL_FIGURES), "result": None}
    if not fills:
        return summary
    figures = trade_pnl(trade, fills)
    summary.update({name: decimal_text(getattr(figures, name)) for name in PNL_FIGURES})
    summary["result"] = figures.result
    return summary


def risk_reward_view(trade: Trade) -> dict[str, Any] | None:
    """R:R from the entry (or current premium) to target and stop, with its rating; None unless both sides hold."""
    ratio = trade_risk_reward(trade)
    if ratio is None:
        return None
    return {"ratio": decimal_text(ratio), "rating": pnl.risk_reward_rating(ratio)}


def fill_view(row: dict[str, Any]) -> dict[str, Any]:
    """A fill as the API returns it."""
    return {
        "id": str(row["id"]),
        "update_id": str(row["trade_update_id"]) if row["trade_update_id"] else None,
        "side": row["side"],
        "contracts": decimal_text(row["contracts"]),
        "price": decimal_text(row["price"]),
        "fee": decimal_text(row["fee"]),
        "slippage": decimal_text(row["slippage"]),
        "at": _iso(row["at"]),
    }


def trade_view(trade: Trade, fills: Sequence[Fill], channel_ids: Sequence[UUID], now: datetime) -> dict[str, Any]:
    """A trade as the API returns it, its P&L from `fills`."""
    return {
        "id": str(trade.id),
        "ticker": trade.ticker,
        "contract": {
            "symbol": trade.contract,
            "strike": decimal_text(trade.strike),
            "expiry": trade.expiry.isoformat(),
            "type": trade.side,
        },
        "underlying": trade.underlying,
        "trade_type": trade.trade_type,
        "state": trade.state,
        "version": trade.version,
        "dte": live_dte(trade.expiry, now),
        "expired": is_expired(trade.expiry, now),
        "quantity": trade.quantity,
        "entry_price": decimal_text(trade.entry_price),
        "current_price": decimal_text(trade.current_price),
        "target_price": decimal_text(trade.target_price),
        "stop_loss": decimal_text(trade.stop_loss),
        "exit_price": decimal_text(trade.exit_price),
        "target_underlying": decimal_text(trade.target_underlying),
        "stop_underlying": decimal_text(trade.stop_underlying),
        "stop_mode": trade.stop_mode,
        "setup_type": trade.setup_type,
        "notes": trade.notes,
        "confluence": trade.confluence.model_dump(mode="json") if trade.confluence else None,
        "greeks": trade.greeks.model_dump(mode="json") if trade.greeks else None,
        "risk_reward": risk_reward_view(trade),
        "pnl": pnl_summary(trade, fills),
        "channel_ids": [str(c) for c in channel_ids],
        "created_at": _iso(trade.created_at),
        "updated_at": _iso(trade.updated_at),
        "loaded_at": _iso(trade.loaded_at),
        "entered_at": _iso(trade.entered_at),
        "exited_at": _iso(trade.exited_at),
    }


def update_view(row: dict[str, Any]) -> dict[str, Any]:
    """A trade-update row as the API returns it."""
    return {
        "id": str(row["id"]),
        "trade_id": str(row["trade_id"]),
        "type": row["type"],
        "price": decimal_text(row["price"]),
        "message": row["message"],
        "pnl_percent": decimal_text(row["pnl_percent"]),
        "trim_percent": decimal_text(row["trim_percent"]),
        "quantity": row["quantity"],
        "created_at": _iso(row["created_at"]),
    }


def alert_view(row: dict[str, Any], deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    """An alert with its payload exactly as sent and its deliveries' status."""
    return {
        "id": str(row["id"]),
        "trade_id": str(row["trade_id"]),
        "trade_update_id": str(row["trade_update_id"]) if row["trade_update_id"] else None,
        "action": row["action"],
        "payload": row["payload"],
        "preset": row["preset"],
        "fields": row["fields"],
        "channel_ids": [str(c) for c in row["channel_ids"]],
        "created_at": _iso(row["created_at"]),
        "deliveries": deliveries,
    }
