"""Alert presets and the field toggles each action shows by default."""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

FieldKey = Literal[
    "expiry",
    "trade_type",
    "entry",
    "current",
    "target",
    "stop",
    "exit",
    "pnl",
    "risk_reward",
    "greeks",
    "underlying",
    "setup",
    "confluence",
    "notes",
    "dte",
    "challenge",
]
FIELD_KEYS: Final[tuple[FieldKey, ...]] = get_args(FieldKey)

PresetName = Literal["full", "minimal", "scalp"]
AlertAction = Literal["load", "enter", "trim", "add", "update_sl", "trail_stop", "update", "exit", "share_exit"]
ALERT_ACTIONS: Final[tuple[AlertAction, ...]] = get_args(AlertAction)

PRESET_FIELDS: Final[dict[PresetName, frozenset[FieldKey]]] = {
    "full": frozenset(FIELD_KEYS),
    "minimal": frozenset({"entry", "target", "stop", "dte"}),
    "scalp": frozenset(FIELD_KEYS) - {"greeks", "confluence"},
}

_LOAD: Final[frozenset[FieldKey]] = frozenset(
    {"current", "target", "stop", "risk_reward", "greeks", "underlying", "setup", "expiry", "trade_type", "dte"}
)
_STOP: Final[frozenset[FieldKey]] = frozenset({"stop", "pnl", "underlying", "dte"})
_SIZE: Final[frozenset[FieldKey]] = frozenset({"current", "pnl", "dte"})
_EXIT: Final[frozenset[FieldKey]] = frozenset({"entry", "exit", "pnl", "dte", "challenge"})

ACTION_DEFAULTS: Final[dict[AlertAction, frozenset[FieldKey]]] = {
    "load": _LOAD,
    # The 🏆 line of a trade in a challenge (shared/challenges/line.py): entries and exits.
    "enter": _LOAD | {"entry", "challenge"},
    "update_sl": _STOP,
    "trail_stop": _STOP,
    "trim": _SIZE,
    "add": _SIZE,
    "update": frozenset({"current", "target", "stop", "pnl", "underlying", "dte"}),
    "exit": _EXIT,
    "share_exit": _EXIT,
}


def toggles(enabled: frozenset[FieldKey]) -> dict[FieldKey, bool]:
    """Every field key mapped to whether it is in `enabled`, in display order."""
    return {key: key in enabled for key in FIELD_KEYS}


def resolve_fields(
    action: AlertAction, preset: PresetName | None, overrides: dict[FieldKey, bool] | None
) -> dict[FieldKey, bool]:
    """The toggles an alert uses: the preset's (or the action's defaults), then the admin's overrides."""
    enabled = PRESET_FIELDS[preset] if preset is not None else ACTION_DEFAULTS[action]
    result = toggles(enabled)
    result.update(overrides or {})
    return result


def presets_document() -> dict[str, Any]:
    """What `GET /api/alerts/presets` returns: the presets and each action's default toggles."""
    return {
        "fields": list(FIELD_KEYS),
        "presets": {name: toggles(fields) for name, fields in PRESET_FIELDS.items()},
        "defaults": {action: toggles(fields) for action, fields in ACTION_DEFAULTS.items()},
    }
