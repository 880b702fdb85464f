"""A symbol's asset class (index, ETF or stock): the settings and the opening-range detector depend on it."""

from __future__ import annotations

from typing import Literal

AssetClass = Literal["index", "etf", "stock"]
ASSET_CLASSES: tuple[AssetClass, ...] = ("index", "etf", "stock")

# The index-tracking and sector ETFs the community trades options on; everything else is a stock.
ETFS = frozenset({
    "SPY", "QQQ", "IWM", "DIA", "VOO", "IVV", "VTI", "TLT", "GLD", "SLV", "USO", "XLF", "XLE", "XLK", "XLV",
    "XLI", "XLY", "XLP", "XLU", "XLB", "XLC", "XLRE", "SMH", "SOXX", "ARKK", "EEM", "EFA", "HYG", "KRE",
    "XBI", "UVXY", "VXX", "TQQQ", "SQQQ", "SPXL", "SPXS", "SOXL", "SOXS",
})


def asset_class(symbol: str) -> AssetClass:
    """`I:` symbols are indices, the ETFS list are ETFs, the rest stocks."""
    if symbol.startswith("I:"):
        return "index"
    return "etf" if symbol in ETFS else "stock"
