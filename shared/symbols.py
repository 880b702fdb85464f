"""Ticker symbols: watchlist normalisation, index prefixes and OCC option symbols."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Literal

from shared.identifiers import IdentifierError, ascii_identifier, ascii_upper

# Indices as Massive names them ("I:SPX"); the aliases admins type map onto them.
INDEX_SYMBOLS = frozenset({"SPX", "NDX", "VIX", "RUT", "DJI"})
_INDEX_ALIASES = {"SPXW": "SPX", "NDXP": "NDX", "VIXW": "VIX", "RUTW": "RUT"}
_PLAIN_SYMBOL = re.compile(r"^[A-Z][A-Z.]{0,9}$")
# The OCC option root: letters, then letters or digits (adjusted contracts: SPY1, AAPL2), six at most.
OPTION_ROOT = r"[A-Z][A-Z0-9]{0,5}"
# An OCC symbol after its `O:` prefix: root, YYMMDD, C or P, strike × 1000 in eight digits. The root's
# length follows from the fixed fifteen characters after it, so a digit in the root is never ambiguous.
OCC_BODY = rf"{OPTION_ROOT}\d{{6}}[CP]\d{{8}}"
_OCC = re.compile(rf"^(?:O:)?({OPTION_ROOT})(\d{{2}})(\d{{2}})(\d{{2}})([CP])(\d{{8}})$")

Side = Literal["call", "put"]


class SymbolError(ValueError):
    """A symbol that is not one we can store or trade."""


def normalize_ticker(raw: str) -> str:
    """A ticker as typed, in one spelling: NFKC, ASCII only, ASCII letters upper-cased.

    "ＳＰＹ" (full width) is SPY; "ſPY", "ß", "ﬀ" and "ı" are refused rather than folded into
    real tickers (see shared/identifiers.py). The grammar of what follows is the caller's.
    """
    try:
        return ascii_upper(ascii_identifier(raw))
    except IdentifierError as error:
        raise SymbolError(str(error)) from None


def normalize_symbol(raw: str) -> str:
    """A watchlist symbol in stored form: uppercase, indices as `I:SPX`.

    Accepts `spy`, `BRK.B`, `SPX`, `$SPX`, `I:SPX`, `SPXW`; raises SymbolError otherwise.
    """
    text = normalize_ticker(raw)
    if text.startswith("I:"):
        text = text[2:]
        if text not in INDEX_SYMBOLS and text not in _INDEX_ALIASES:
            raise SymbolError(f"{raw!r} is not a supported index")
    text = text.removeprefix("$")
    text = _INDEX_ALIASES.get(text, text)
    if text in INDEX_SYMBOLS:
        return f"I:{text}"
    if not _PLAIN_SYMBOL.match(text) or text.endswith("."):
        raise SymbolError(f"{raw!r} is not a ticker: letters and dots, up to 10 characters")
    return text


def underlying_ticker(stored: str) -> str:
    """The bare ticker of a stored symbol: `I:SPX` → `SPX`."""
    return stored.removeprefix("I:")


@dataclass(frozen=True)
class OptionContract:
    """An option contract as its OCC symbol encodes it."""

    underlying: str
    expiry: date
    side: Side
    strike: Decimal

    @property
    def symbol(self) -> str:
        return occ_symbol(self.underlying, self.expiry, self.side, self.strike)


def parse_occ(symbol: str) -> OptionContract:
    """Parse `O:SPY251219C00650000` (the `O:` prefix optional) or raise SymbolError."""
    text = symbol.strip()
    # Only ASCII is uppercased: str.upper() folds "ſ" to "S" and "ﬀ" to "FF", which would change the contract.
    match = _OCC.match(text.upper()) if text.isascii() else None
    if not match:
        raise SymbolError(f"{symbol!r} is not an OCC option symbol like O:SPY251219C00650000")
    root, yy, mm, dd, side, strike = match.groups()
    try:
        expiry = date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        raise SymbolError(f"{symbol!r} has an impossible expiry date") from None
    return OptionContract(
        underlying=root,
        expiry=expiry,
        side="call" if side == "C" else "put",
        strike=Decimal(strike) / 1000,
    )


def occ_symbol(underlying: str, expiry: date, side: Side, strike: Decimal | float | str) -> str:
    """The Massive-style OCC symbol (`O:` prefixed) for a contract."""
    root = underlying_ticker(underlying.strip().upper())
    if not re.fullmatch(OPTION_ROOT, root):
        raise SymbolError(f"{underlying!r} is not an option root")
    try:
        millis = Decimal(str(strike)) * 1000
    except InvalidOperation:
        raise SymbolError(f"{strike!r} is not a strike") from None
    if millis <= 0 or millis != millis.to_integral_value() or millis >= Decimal(10) ** 8:
        raise SymbolError(f"{strike!r} is not a strike OCC can encode")
    letter = "C" if side == "call" else "P"
    return f"O:{root}{expiry:%y%m%d}{letter}{int(millis):08d}"
