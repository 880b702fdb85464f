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
from shared.trades.dte import days_to_expiry
from shared.trades.models import Trade


def decimal_text(value: Decimal | None) -> str | None:
    """`1.2000` → "1.20"; extra digits kept only when they matter."""
    if value is None:
        return None
    if value == value.quantize(Decimal("0.01")):
        return f"{value:.2f}"
    return f"{value.normalize():f}"


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def pnl_summary(trade: Trade) -> dict[str, Any]:
    """Move, trims and net P&L of the trade at its exit (or current) premium."""
    mark = trade.exit_price if trade.state == "exited" else trade.current_price
    remaining = pnl.HUNDRED - trade.trimmed_percent
    summary: dict[str, Any] = {
        "mark": decimal_text(mark),
        "move_percent": None,
        "position_percent": None,
        "realized_percent": decimal_text(trade.realized_percent),
        "trimmed_percent": decimal_text(trade.trimmed_percent),
        "remaining_percent": decimal_text(remaining),
        "net": None,
    }
    if trade.entry_price is None or mark is None or trade.state == "loaded":
        return summary
    move = pnl.gross_move_percent(trade.entry_price, mark)
    position = pnl.position_percent([pnl.Trim(trade.trimmed_percent, Decimal(0))], move) + trade.realized_percent
    # Trims closed at other prices: the round trip is priced at the blend the position achieved.
    blended = max(trade.entry_price * (1 + position / pnl.HUNDRED), Decimal(0))
    net = pnl.net_pnl(trade.entry_price, blended, Decimal(trade.quantity))
    summary.update(
        move_percent=decimal_text(move),
        position_percent=decimal_text(position),
        net={
            "gross": decimal_text(net.gross),
            "fees": decimal_text(net.fees),
            "slippage": decimal_text(net.slippage),
            "net": decimal_text(net.net),
            "net_percent": decimal_text(net.net_percent),
        },
    )
    return summary


def risk_reward_view(trade: Trade) -> dict[str, Any] | None:
    """R:R from the entry (or current premium) to target and stop, with its rating."""
    reference = trade.entry_price or trade.current_price
    if reference is None or trade.target_price is None or trade.stop_loss is None:
        return None
    ratio = pnl.risk_reward(reference, trade.target_price, trade.stop_loss)
    if ratio is None:
        return None
    return {"ratio": decimal_text(ratio), "rating": pnl.risk_reward_rating(ratio)}


def trade_view(trade: Trade, channel_ids: Sequence[UUID], now: datetime) -> dict[str, Any]:
    """A trade as the API returns it."""
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
        "dte": days_to_expiry(trade.expiry, now),
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
        "pnl": pnl_summary(trade),
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
