"""The gamma context factor: price against zero gamma and the walls, usable by any detector.

Pure: the latest snapshot's levels come in as plain numbers, so it works whatever stores them.
"""

from __future__ import annotations

import math

from shared.signals.candidates import Direction, Factor, scaled


def gamma_factor(
    direction: Direction,
    price: float,
    atr: float,
    *,
    zero_gamma: float | None,
    call_wall: float | None,
    put_wall: float | None,
) -> Factor | None:
    """Half regime, half room to run; None without a zero-gamma level or a real ATR.

    Regime: a long above zero gamma (dealers long gamma, pullbacks get bought) or a short below
    it (dealers short gamma, moves extend) earns 100, the other side 0. Room: the distance to
    the wall in the trade's way (call wall for a long, put wall for a short) in ATRs, 0 at half
    an ATR or less, 100 at 2 ATRs or more, or no wall in the way.
    """
    if zero_gamma is None or not math.isfinite(atr) or atr <= 0 or not math.isfinite(price):
        return None
    with_regime = price > zero_gamma if direction == "long" else price < zero_gamma
    regime = 100.0 if with_regime else 0.0
    wall = call_wall if direction == "long" else put_wall
    if wall is None:
        room = 100.0
    else:
        distance = (wall - price) if direction == "long" else (price - wall)
        room = 100.0 if distance < 0 else scaled(distance / atr, 0.5, 2.0)
    side = "above" if price > zero_gamma else "below"
    label = f"gamma: {side} zero gamma {zero_gamma:g}" + (f", wall {wall:g}" if wall is not None else "")
    return Factor("gamma", label, round((regime + room) / 2, 1))


def view_gamma_factor(view: object, direction: Direction, atr: float) -> Factor | None:
    """The gamma factor for a MarketView (None when the symbol has no snapshot)."""
    from shared.signals.series import MarketView

    assert isinstance(view, MarketView)
    levels = view.series.gamma
    if levels is None:
        return None
    return gamma_factor(direction, view.close, atr, zero_gamma=levels.zero_gamma,
                        call_wall=levels.call_wall, put_wall=levels.put_wall)
