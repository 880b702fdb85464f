"""The one rounding rule for what a trader reads: half-up, dollars to the cent, percentages to the hundredth.

Every figure is computed exactly from prices and contracts and rounded once, here, when it is shown or
stored; nothing is rebuilt from an already rounded figure.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
CONTRACT_MULTIPLIER = Decimal(100)
_CENT = Decimal("0.01")
# Premiums are stored to the ten-thousandth (numeric(12, 4)).
_PREMIUM_PLACES = Decimal("0.0001")


def cents(value: Decimal) -> Decimal:
    """Dollars to the cent, half-up: 549.945 → 549.95."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def hundredths(value: Decimal) -> Decimal:
    """A percentage or ratio to the hundredth, half-up: 32.6530… → 32.65."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def premium(value: Decimal) -> Decimal:
    """A per-share price (an average cost) to the ten-thousandth, half-up."""
    return value.quantize(_PREMIUM_PLACES, rounding=ROUND_HALF_UP)


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    """part / whole × 100 to the hundredth; `whole` must be positive."""
    if whole <= 0:
        raise ValueError("whole must be greater than 0")
    return hundredths(part / whole * HUNDRED)
