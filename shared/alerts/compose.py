"""Composing an action's alert: the one path both preview and send take.

`compose` applies the edited prices (the effective trade), runs the action through the
lifecycle, picks the field toggles and renders the payload fitted to Discord's limits. The
preview route returns its payload; the action route stores and sends the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.alerts.effective import PRICE_FIELDS, effective_trade
from shared.alerts.models import AlertBlock
from shared.alerts.presets import AlertAction, FieldKey, resolve_fields
from shared.alerts.render import render_alert
from shared.discord.limits import fit_payload
from shared.trades.lifecycle import Action, InputError, Step, apply_action, check_editable
from shared.trades.models import ActionInputs, Trade


def jsonb_order(value: Any) -> Any:
    """`value` with every object's keys in the order Postgres jsonb keeps them (shorter first, then bytes).

    The alert and its deliveries are stored as jsonb and sent from there; putting the preview's
    keys in the same order makes its bytes the bytes Discord receives.
    """
    if isinstance(value, dict):
        return {k: jsonb_order(value[k]) for k in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [jsonb_order(v) for v in value]
    return value


@dataclass(frozen=True)
class Composition:
    """An action's outcome and its alert: the payload exactly as it would be stored and sent."""

    step: Step
    payload: dict[str, Any]
    fields: dict[FieldKey, bool]
    preset: str | None
    comment: str | None


def _check_prices_editable(trade: Trade, block: AlertBlock | None) -> None:
    if block is None or block.prices is None or trade.state == "watching":
        return
    for name in block.prices.model_dump(exclude_none=True):
        try:
            check_editable(trade.state, {PRICE_FIELDS[name]})
        except InputError as error:
            raise InputError(f"alert.prices.{name}", error.message) from None


def compose(
    trade: Trade, action: Action, inputs: ActionInputs, block: AlertBlock | None, now: datetime
) -> Composition:
    """Apply `block`'s prices and `action` to `trade` and render its alert; raises TransitionError/InputError."""
    _check_prices_editable(trade, block)
    effective = effective_trade(trade, block.prices if block else None)
    step = apply_action(effective, action, inputs, now)
    alert_action: AlertAction = action.value  # type: ignore[assignment]
    preset = block.preset if block else None
    fields = resolve_fields(alert_action, preset, block.fields if block else None)
    comment = block.comment if block is not None and block.comment is not None else inputs.comment
    payload = fit_payload(render_alert(step.trade, alert_action, step.update, fields, comment, now))
    return Composition(
        step=step, payload=jsonb_order(payload.to_json_dict()), fields=fields, preset=preset, comment=comment
    )
