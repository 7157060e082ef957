"""Money helpers: Decimal only, rounded half-up to cents."""

from decimal import ROUND_HALF_UP, Decimal

from core.errors import DomainError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value: Decimal | int | str) -> Decimal:
    """Round a money amount half-up to whole cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(value: Decimal | int | str | None) -> str:
    """$1,234.50; a U+2212 minus sign when negative; empty for None: how a clerk reads money
    in pages, messages, dialogs and the CSV export."""
    if value is None or value == "":
        return ""
    amount = to_cents(value)
    sign = "\N{MINUS SIGN}" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


# What every money column (max_digits=12, decimal_places=2) can hold.
MAX_MONEY = Decimal("9999999999.99")


class AmountTooLarge(DomainError):
    """An amount or a total a change would produce does not fit the money columns."""


def ensure_fits(amount: Decimal, *, what: str, field: str | None = None) -> Decimal:
    """`amount` if a money column can hold it, else AmountTooLarge naming `what`."""
    if abs(amount) > MAX_MONEY:
        raise AmountTooLarge(
            f"That is too large: {what} would be {format_money(amount)}, more than the "
            f"{format_money(MAX_MONEY)} the books can hold.",
            field=field,
        )
    return amount
