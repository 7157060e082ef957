"""How a remittance amount is spread over an invoice's lines: pure functions, no database.

Balances are given oldest ticket first. `propose_allocation` fills them in that order and
leaves the remainder as credit; `validate_allocation` checks a clerk's edited split.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.errors import DomainError
from core.money import ZERO, format_money, to_cents


class AllocationError(DomainError):
    """A remittance split that breaks a rule; `index` names the offending line, if one."""

    def __init__(self, message: str, *, field: str | None = None, index: int | None = None):
        super().__init__(message, field=field)
        self.index = index


@dataclass(frozen=True)
class Allocation:
    """The share of the amount for each line (same order as the balances) and the rest."""

    amounts: tuple[Decimal, ...]
    credit: Decimal

    @property
    def allocated(self) -> Decimal:
        return sum(self.amounts, ZERO)


def propose_allocation(
    balances: Sequence[Decimal], amount: Decimal, *, kept: Mapping[int, Decimal] | None = None
) -> Allocation:
    """Pay the oldest line first, the remainder to the next; what is left becomes credit.

    `kept` (line index -> share) are lines the clerk typed into: they keep their share as
    it is (validate_allocation judges it) and only the rest of the amount is proposed over
    the other lines, oldest first.
    """
    remaining = to_cents(amount)
    if remaining < 0:
        raise AllocationError("The amount cannot be negative.", field="amount")
    kept = {index: to_cents(share) for index, share in (kept or {}).items()}
    remaining -= sum(kept.values(), ZERO)
    amounts = []
    for index, balance in enumerate(balances):
        if index in kept:
            amounts.append(kept[index])
            continue
        share = min(max(remaining, ZERO), max(to_cents(balance), ZERO))
        amounts.append(share)
        remaining -= share
    return Allocation(amounts=tuple(amounts), credit=max(remaining, ZERO))


def validate_allocation(
    balances: Sequence[Decimal],
    amount: Decimal,
    amounts: Sequence[Decimal],
    *,
    allow_credit: bool = True,
) -> Allocation:
    """Check a clerk's split of `amount` over lines with these balances.

    Each share is between zero and its line's balance, the shares add up to no more than
    the amount, and (unless `allow_credit`) to exactly the amount. Returns the split with
    the remainder as credit; raises AllocationError naming the first bad line.
    """
    amount = to_cents(amount)
    if amount <= 0:
        raise AllocationError("Enter an amount greater than zero.", field="amount")
    if len(amounts) != len(balances):
        raise AllocationError("Give one amount for each invoice line.")
    shares = []
    for index, (share, balance) in enumerate(zip(amounts, balances, strict=True)):
        if share != share.quantize(Decimal("0.01")):
            raise AllocationError("Use whole cents.", index=index)
        share = to_cents(share)
        if share < 0:
            raise AllocationError("A line cannot take a negative amount.", index=index)
        if share > balance:
            raise AllocationError(
                f"This line has only {format_money(balance)} due; "
                f"{format_money(share)} is too much.",
                index=index,
            )
        shares.append(share)
    allocated = sum(shares, ZERO)
    if allocated > amount:
        raise AllocationError(
            f"The lines add up to {format_money(allocated)}, more than the amount of "
            f"{format_money(amount)}.",
            field="amount",
        )
    credit = amount - allocated
    if credit and not allow_credit:
        raise AllocationError(
            f"{format_money(credit)} is not allocated to any line; a payment from account "
            "credit must be allocated in full.",
            field="amount",
        )
    return Allocation(amounts=tuple(shares), credit=credit)
