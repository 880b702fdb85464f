"""Identifiers: NFKC, then ASCII; case folded on ASCII only; names that show nothing refused."""

from __future__ import annotations

import pytest

from shared.identifiers import IdentifierError, display_name
from shared.symbols import SymbolError, normalize_symbol, normalize_ticker


@pytest.mark.parametrize("typed", ["ß", "STRAßE", "ﬀ", "ı", "ſPY", "SP\u0130", "ＳＰΥ", "SPY\u200b"])
def test_a_ticker_that_case_folding_or_nfkc_would_turn_into_another_is_refused(typed: str) -> None:
    with pytest.raises(SymbolError):
        normalize_ticker(typed)


@pytest.mark.parametrize(("typed", "ticker"), [("spy", "SPY"), ("ＳＰＹ", "SPY"), (" brk.b ", "BRK.B")])
def test_ascii_and_full_width_tickers_are_upper_cased_on_ascii_letters_only(typed: str, ticker: str) -> None:
    assert normalize_ticker(typed) == ticker


@pytest.mark.parametrize("typed", ["ß", "ﬀ", "ı", "ſpy"])
def test_the_watchlist_never_stores_a_folded_look_alike(typed: str) -> None:
    with pytest.raises(SymbolError):
        normalize_symbol(typed)


@pytest.mark.parametrize(
    "name",
    ["\u200b", "\u200b\u200c\u200d", "\u3164", "\u2800\u2800", "\ufeff", " \u00a0 ", "\u115f\u1160"],
)
def test_a_name_of_only_invisible_characters_is_refused(name: str) -> None:
    with pytest.raises(IdentifierError):
        display_name(name)


def test_a_name_hiding_a_zero_width_or_bidi_character_is_refused() -> None:
    for name in ("alerts\u200b", "ale\u202erts"):
        with pytest.raises(IdentifierError):
            display_name(name)


def test_a_readable_name_is_kept_in_its_nfkc_form() -> None:
    assert display_name("  Général ｄｅｓｋ ") == "Général desk"
