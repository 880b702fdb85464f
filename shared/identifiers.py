"""Text that names something (a ticker, a contract, a channel): one spelling per meaning.

An identifier is NFKC-normalised and must then be ASCII; case is folded on ASCII letters only.
`str.upper()` alone would turn "ß" into "SS", "ﬀ" into "FF" and "ı" into "I", and NFKC alone
would still turn the long "ſ" into "s": a look-alike would name a real ticker. So the only
compatibility mapping accepted is width (a full-width "ＳＰＹ" from a phone keyboard is SPY);
every other character must already be ASCII.
"""

from __future__ import annotations

import unicodedata

_ASCII_LOWER = "abcdefghijklmnopqrstuvwxyz"
_TO_UPPER = str.maketrans(_ASCII_LOWER, _ASCII_LOWER.upper())
# Characters that show nothing: controls, format characters (zero-width space, joiners, BOM,
# bidi marks), separators and the few "blank" letters Unicode lists as such.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")


class IdentifierError(ValueError):
    """Text that cannot be an identifier; the message says why."""


def _width_only(char: str) -> bool:
    return char.isascii() or unicodedata.decomposition(char).startswith(("<wide>", "<narrow>"))


def ascii_identifier(raw: str) -> str:
    """`raw` NFKC-normalised and stripped, refused unless it is then ASCII through width mapping only."""
    for char in raw:
        if not _width_only(char):
            shown = raw if len(raw) <= 40 else raw[:39] + "…"
            raise IdentifierError(f"{shown!r} holds {char!r} (U+{ord(char):04X}): use ASCII letters and digits")
    return unicodedata.normalize("NFKC", raw).strip()


def ascii_upper(text: str) -> str:
    """`text` with a-z made A-Z and nothing else changed (no "ß" → "SS")."""
    return text.translate(_TO_UPPER)


def is_invisible(char: str) -> bool:
    """Whether `char` shows nothing on screen."""
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES or char in _BLANK_LETTERS


def display_name(raw: str) -> str:
    """A name people read (a channel's): NFKC, trimmed; refused when it shows nothing or hides characters.

    Control and format characters (zero-width, bidi overrides) are refused anywhere: they make
    two names that look the same differ, or one name look like another.
    """
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text or all(is_invisible(char) for char in text):
        raise IdentifierError("the name must contain a visible character")
    hidden = next((c for c in text if unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"}), None)
    if hidden is not None:
        raise IdentifierError(f"the name holds an invisible or control character (U+{ord(hidden):04X})")
    return text
