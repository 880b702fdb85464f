"""Composing an action's alert: the one path both preview and send take.

`compose` hands the edited prices and the action to the lifecycle, which produces the new trade
and its fills; it then picks the field toggles and renders the payload from that step, fitted to
Discord's limits. The preview route returns its payload; the action route stores and sends the
same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.alerts.effective import FIELD_PRICES, price_edits
from shared.alerts.models import AlertBlock
from shared.alerts.presets import AlertAction, FieldKey, resolve_fields
from shared.alerts.render import render_alert
from shared.challenges.line import ChallengeBook, add_challenge_line
from shared.discord.limits import fit_payload
from shared.trades.ledger import Fill
from shared.trades.lifecycle import Action, InputError, Step, apply_action, edit
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


def _edit(trade: Trade, fills: Sequence[Fill], edits: dict[str, Decimal], now: datetime) -> Step:
    try:
        return edit(trade, fills, edits, now)
    except InputError as error:
        name = FIELD_PRICES.get(error.field)
        if name is None:
            raise
        # A composer price that cannot change is a bad input of this action (422), whatever PATCH would say.
        raise InputError(f"alert.prices.{name}", error.message) from None


def compose(
    trade: Trade,
    fills: Sequence[Fill],
    action: Action,
    inputs: ActionInputs,
    block: AlertBlock | None,
    now: datetime,
    challenges: Sequence[ChallengeBook] = (),
) -> Composition:
    """Apply `block`'s edited prices and `action` to `trade` and render its alert; raises TransitionError/InputError.

    The edited entry of an enter action is its fill price; every other edited price is an edit of the
    trade, made through the lifecycle before the action. `challenges` are the active challenges the
    trade is in: its entry and exit alerts carry their 🏆 line.
    """
    edits = price_edits(block.prices if block else None)
    if action is Action.ENTER and "entry_price" in edits:
        entry = edits.pop("entry_price")
        if inputs.price is not None and inputs.price != entry:
            raise InputError("alert.prices.entry", f"the edited entry {entry} differs from the price {inputs.price}")
        inputs = inputs.model_copy(update={"price": entry})
    edited = _edit(trade, fills, edits, now) if edits else Step(trade=trade, update=None, ledger=tuple(fills))
    acted = apply_action(edited.trade, edited.ledger, action, inputs, now)
    step = replace(acted, corrected=edited.corrected)
    alert_action: AlertAction = action.value  # type: ignore[assignment]
    preset = block.preset if block else None
    fields = resolve_fields(alert_action, preset, block.fields if block else None)
    comment = block.comment if block is not None and block.comment is not None else inputs.comment
    rendered = render_alert(step, alert_action, fields, comment, now)
    rendered = add_challenge_line(rendered, step, alert_action, fields.get("challenge", False), challenges)
    payload = fit_payload(rendered)
    return Composition(
        step=step, payload=jsonb_order(payload.to_json_dict()), fields=fields, preset=preset, comment=comment
    )
