"""Opening-range breakout (index and ETF only): the first 1m close beyond the first 15 minutes' range."""

from __future__ import annotations

import math

from shared.signals.candidates import Candidate, Direction, Factor, known, relative_volume_factor, scaled
from shared.signals.detectors.gamma import view_gamma_factor
from shared.signals.series import MarketView

NAME = "opening_range_breakout"
ASSET_CLASSES = ("index", "etf")


def detect(view: MarketView) -> list[Candidate]:
    if view.series.asset_class not in ASSET_CLASSES or not view.same_session_as_previous():
        return []
    m, i = view.m, view.i
    top, bottom = float(m.or_high[i]), float(m.or_low[i])
    if not (math.isfinite(top) and math.isfinite(bottom)):
        return []
    close, previous = view.close, float(m.bars.c[i - 1])
    direction: Direction
    # The first close beyond: the bar before was still inside (a close on the line is inside).
    if close > top >= previous:
        direction = "long"
    elif close < bottom <= previous:
        direction = "short"
    else:
        return []
    atr = float(m.atr[i])
    vwap = float(m.vwap[i])
    width = (top - bottom) / atr if math.isfinite(atr) and atr > 0 else math.nan
    vwap_side = None
    if math.isfinite(vwap):  # an index has no volume, so no VWAP: the factor is left out, not failed
        with_vwap = close > vwap if direction == "long" else close < vwap
        vwap_side = Factor("vwap_side", "on the trade's side of VWAP" if with_vwap else "on the wrong side of VWAP",
                           100.0 if with_vwap else 0.0)
    factors = known(
        Factor("opening_range", f"first close beyond the opening range {bottom:g}-{top:g}", 100.0),
        relative_volume_factor(float(m.rvol[i]), weight=1.5),
        # A range of 2-6 1m ATRs is a real range; a sliver or a blow-out is not.
        Factor("range_width", f"range {width:.1f} ATR wide" if math.isfinite(width) else "range width n/a",
               scaled(width, 1.0, 2.0) if math.isfinite(width) and width <= 6 else scaled(width, 12.0, 6.0)),
        vwap_side,
        view_gamma_factor(view, direction, atr),
    )
    return [Candidate(NAME, direction, "scalp", view.bar_time_ms, close, tuple(factors))]
