"""Golden payloads: one rendered alert per action and preset, stored as JSON under golden/.

A deliberate change to the embeds is recorded with
`HONEYDRIP_UPDATE_GOLDEN=1 .venv/bin/pytest tests/alerts/test_golden.py` and reviewed in the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.alerts.models import AlertBlock
from shared.alerts.presets import PresetName
from shared.discord.limits import limit_report
from shared.trades.lifecycle import Action
from tests.alerts.scenario import ACTION_CASES, composed, rich_trade

GOLDEN = Path(__file__).parent / "golden"
PRESETS: tuple[PresetName, ...] = ("full", "minimal", "scalp")
CASES = [(action, preset) for action in ACTION_CASES for preset in PRESETS]


@pytest.mark.parametrize(("action", "preset"), CASES, ids=[f"{a.value}-{p}" for a, p in CASES])
def test_rendered_payload_matches_its_golden_file(action: Action, preset: PresetName) -> None:
    state, inputs = ACTION_CASES[action]
    block = AlertBlock(preset=preset, comment=f"{action.value} with the {preset} preset")
    payload = composed(rich_trade(state), action, inputs, block).payload
    path = GOLDEN / f"{action.value}_{preset}.json"
    if os.environ.get("HONEYDRIP_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert payload == json.loads(path.read_text(encoding="utf-8"))
    assert limit_report(payload)["within_limits"]


def test_there_is_a_golden_file_for_every_action_and_preset_and_no_other() -> None:
    expected = {f"{a.value}_{p}.json" for a, p in CASES}
    assert {p.name for p in GOLDEN.glob("*.json")} == expected
