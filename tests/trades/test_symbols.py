"""One OCC grammar for trades and the relay: roots of letters and digits, ASCII only."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from shared.symbols import OCC_BODY, SymbolError, occ_symbol, parse_occ
from shared.trades.contract import is_option_root_of

D = Decimal


def test_an_adjusted_root_with_a_digit_parses() -> None:
    contract = parse_occ("O:SPY1251219C00650000")
    assert (contract.underlying, contract.expiry, contract.side, contract.strike) == (
        "SPY1", date(2025, 12, 19), "call", D(650),
    )
    assert contract.symbol == "O:SPY1251219C00650000"


def test_the_root_is_what_comes_before_the_fixed_fifteen_characters() -> None:
    assert parse_occ("O:A2251219P00012500").underlying == "A2"
    assert parse_occ("O:SPXW251219P05000000").underlying == "SPXW"


@pytest.mark.parametrize(
    "symbol",
    ["O:1SPY251219C00650000", "O:SPYSPYS251219C00650000", "O:SPY251319C00650000", "O:ſPY251219C00650000",
     "O:SPY２51219C00650000"],
)
def test_what_is_not_an_occ_symbol_is_refused(symbol: str) -> None:
    with pytest.raises(SymbolError):
        parse_occ(symbol)


def test_the_relays_channel_grammar_is_the_same_pattern() -> None:
    assert re.fullmatch(OCC_BODY, "SPY1251219C00650000")
    assert not re.fullmatch(OCC_BODY, "1SPY251219C00650000")


def test_an_adjusted_root_is_an_option_on_its_ticker() -> None:
    assert is_option_root_of("SPY1", "SPY") and is_option_root_of("SPXW", "SPX") and is_option_root_of("BRKB", "BRK.B")
    assert not is_option_root_of("SPY12", "SPY") and not is_option_root_of("QQQ1", "SPY")


def test_occ_symbol_spells_an_adjusted_root() -> None:
    assert occ_symbol("SPY1", date(2025, 12, 19), "put", "650") == "O:SPY1251219P00650000"
