"""An option contract as admins send it, checked against its OCC symbol and ticker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.symbols import SymbolError, normalize_symbol, parse_occ, underlying_ticker
from shared.trades.lifecycle import InputError
from shared.trades.models import Side


@dataclass(frozen=True)
class ResolvedContract:
    """A contract whose symbol, ticker, strike, expiry and side agree."""

    ticker: str
    symbol: str
    underlying: str
    strike: Decimal
    expiry: date
    side: Side


def is_option_root_of(root: str, ticker: str) -> bool:
    """Whether an option on `ticker` may carry `root`: the ticker, its W or P root, or an adjusted SPY1."""
    bare = ticker.replace(".", "")
    if root in {bare, f"{ticker}W", f"{ticker}P"}:
        return True
    return root[:-1] == bare and root[-1:].isdigit() and root[-1:].isascii()


def resolve_contract(
    ticker: str, symbol: str, strike: Decimal | None = None, expiry: date | None = None, side: Side | None = None
) -> ResolvedContract:
    """Check the given parts against the symbol (a part not given is taken from it).

    InputError names the first part that disagrees."""
    try:
        display = underlying_ticker(normalize_symbol(ticker))
    except SymbolError as error:
        raise InputError("ticker", str(error)) from None
    try:
        parsed = parse_occ(symbol)
    except SymbolError as error:
        raise InputError("contract.symbol", str(error)) from None
    canonical = parsed.symbol
    if not is_option_root_of(parsed.underlying, display):
        raise InputError("contract.symbol", f"{canonical} is not an option on {display}")
    if strike is not None and parsed.strike != strike:
        raise InputError("contract.strike", f"{canonical} has strike {parsed.strike.normalize():f}, not {strike}")
    if expiry is not None and parsed.expiry != expiry:
        raise InputError("contract.expiry", f"{canonical} expires {parsed.expiry.isoformat()}, not {expiry}")
    if side is not None and parsed.side != side:
        raise InputError("contract.type", f"{canonical} is a {parsed.side}, not a {side}")
    return ResolvedContract(display, canonical, parsed.underlying, parsed.strike, parsed.expiry, parsed.side)
