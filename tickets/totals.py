"""The one function that derives a ticket's money figures.

Stored totals on `Ticket` are always written from `compute_totals`, in the same
transaction as the change that affects them.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from core.money import ZERO, ensure_fits, to_cents

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
