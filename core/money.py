"""Money helpers: Decimal only, rounded half-up to cents."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value: Decimal | int | str) -> Decimal:
    """Round a money amount half-up to whole cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
