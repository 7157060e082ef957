"""The one function that derives a ticket's money figures, and the one set of checks on them.

Stored totals on `Ticket` (the columns in TOTAL_FIELDS) are always written from
`compute_totals`, checked by `ensure_valid`, in the same transaction as the change that
affects them (`tickets.models.write_totals`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal

from core.errors import DomainError
from core.money import ZERO, ensure_fits, format_money, to_cents

PERCENT = "percent"
AMOUNT = "amount"


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_price: Decimal
    taxable: bool

    @property
    def amount(self) -> Decimal:
        return to_cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    balance_due: Decimal


# The Ticket column that stores each Totals figure, where the names differ.
_COLUMN = {"discount": "discount_amount", "tax": "tax_amount"}
# The stored figures on Ticket, in Totals order.
TOTAL_FIELDS: tuple[str, ...] = tuple(_COLUMN.get(f.name, f.name) for f in fields(Totals))


def stored_figures(totals: Totals) -> dict[str, Decimal]:
    """`totals` as Ticket column values, keyed by TOTAL_FIELDS."""
    return {_COLUMN.get(f.name, f.name): getattr(totals, f.name) for f in fields(Totals)}


class InvalidDiscount(DomainError):
    """A discount below zero, over 100 %, or over the subtotal."""


class PaidOverTotal(DomainError):
    """A change that would leave a ticket paid more than its total."""


def discount_for(subtotal: Decimal, discount_type: str, discount_value: Decimal) -> Decimal:
    """The discount in money: a fixed amount, or a percent of the subtotal (half-up to cents)."""
    if discount_type == PERCENT:
        return to_cents(subtotal * discount_value / Decimal(100))
    return to_cents(discount_value)


def compute_totals(
    *,
    lines: Iterable[Line],
    discount_type: str,
    discount_value: Decimal,
    tax_rate_percent: Decimal,
    payments: Iterable[Decimal],
) -> Totals:
    """Subtotal, discount, tax, total, paid and balance due, each rounded half-up to cents.

    Tax applies to the taxable lines after the discount is spread over all lines in
    proportion to their amounts, so a discount lowers tax only for its taxable share.
    """
    lines = list(lines)
    subtotal = sum((line.amount for line in lines), ZERO)
    taxable_subtotal = sum((line.amount for line in lines if line.taxable), ZERO)
    discount = discount_for(subtotal, discount_type, discount_value)
    taxable_base = taxable_subtotal
    if subtotal > 0 and discount:
        taxable_base = taxable_subtotal - discount * taxable_subtotal / subtotal
    tax = to_cents(taxable_base * tax_rate_percent / Decimal(100))
    total = subtotal - discount + tax
    amount_paid = sum((to_cents(p) for p in payments), ZERO)
    return Totals(
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        total=total,
        amount_paid=amount_paid,
        balance_due=total - amount_paid,
    )


def ensure_storable(totals: Totals, *, field: str | None = None) -> Totals:
    """`totals` if every figure fits the ticket's money columns, else AmountTooLarge."""
    for what, amount in (
        ("the ticket subtotal", totals.subtotal),
        ("the ticket tax", totals.tax),
        ("the ticket total", totals.total),
        ("the amount paid", totals.amount_paid),
    ):
        ensure_fits(amount, what=what, field=field)
    return totals


def ensure_discount_within_subtotal(totals: Totals, *, number: str) -> None:
    """Raise InvalidDiscount (on discount_value) when the discount is more than the subtotal."""
    if totals.discount > totals.subtotal:
        raise InvalidDiscount(
            f"The discount ({format_money(totals.discount)}) cannot be more than the subtotal "
            f"({format_money(totals.subtotal)}) of {number}.",
            field="discount_value",
        )


def ensure_not_paid_over_total(totals: Totals, *, number: str) -> None:
    """Raise PaidOverTotal when what was paid is more than the total."""
    if totals.balance_due < 0:
        raise PaidOverTotal(
            f"This change would leave {number} paid {format_money(-totals.balance_due)} more "
            "than its total."
        )


def ensure_valid(totals: Totals, *, number: str, field: str | None = None) -> Totals:
    """`totals` if the ticket `number` may store them, else the refusal: AmountTooLarge
    (on `field`), InvalidDiscount or PaidOverTotal."""
    ensure_storable(totals, field=field)
    ensure_discount_within_subtotal(totals, number=number)
    ensure_not_paid_over_total(totals, number=number)
    return totals
