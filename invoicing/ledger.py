"""An account's credit ledger: append-only rows, balance = sum of amounts.

Every write locks the account's row first, so two writers for one account queue up and
each computes `balance_after` from the other's committed result; the database refuses a
negative `balance_after`, so credit can never be spent twice.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core.errors import DomainError
from core.money import ZERO, ensure_fits, format_money, to_cents
from invoicing.models import Account, CreditKind, CreditTransaction, Invoice, Remittance
from tickets.models import PaymentMethod


class InsufficientCredit(DomainError):
    """The account's credit balance cannot cover the amount."""


def credit_balance(*, account: Account) -> Decimal:
    """The account's credit balance: the sum of its ledger (0 for an unsaved account).

    Rounded to cents: SQLite sums decimal columns as floating point.
    """
    if account.pk is None:
        return ZERO
    total = CreditTransaction.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    return to_cents(total or ZERO)


def lock_account(*, account: Account) -> Account:
    """Lock the account's row for the rest of the transaction (serialises ledger writes)."""
    return Account.objects.select_for_update().get(pk=account.pk)


@transaction.atomic
def post_credit(
    *,
    account: Account,
    kind: str,
    amount: Decimal,
    by,
    reason: str = "",
    remittance: Remittance | None = None,
    invoice: Invoice | None = None,
    effective_on: date | None = None,
    reverses: CreditTransaction | None = None,
    method: str = "",
    reference: str = "",
) -> CreditTransaction:
    """Append one ledger row (positive adds credit, negative uses it), counting from
    `effective_on` (default today) on statements and aging.

    Raises InsufficientCredit when the row would take the balance below zero.
    """
    amount = to_cents(ensure_fits(amount, what="the credit entry", field="amount"))
    if amount == 0:
        raise DomainError("A credit entry needs an amount other than zero.", field="amount")
    lock_account(account=account)
    balance = credit_balance(account=account)
    if balance + amount < 0:
        raise InsufficientCredit(
            f"Only {format_money(balance)} of credit is available; {format_money(-amount)} was "
            "asked for.",
            field="amount",
        )
    ensure_fits(balance + amount, what="the credit balance", field="amount")
    return CreditTransaction.objects.create(
        account=account,
        kind=kind,
        amount=amount,
        balance_after=balance + amount,
        reason=reason,
        remittance=remittance,
        invoice=invoice,
        effective_on=effective_on or timezone.localdate(),
        reverses=reverses,
        method=method,
        reference=reference,
        created_by=by,
    )


def adjust_credit(*, account: Account, amount: Decimal, reason: str, by) -> CreditTransaction:
    """A manager's manual adjustment: a new ledger row with a reason, never an edit."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the credit is being adjusted.", field="reason")
    return post_credit(
        account=account, kind=CreditKind.ADJUSTMENT, amount=amount, reason=reason, by=by
    )


# Credit goes back to the payer by these; account credit is not a way to pay it out.
REFUND_METHODS = [
    PaymentMethod.CHEQUE,
    PaymentMethod.ACH,
    PaymentMethod.CARD,
    PaymentMethod.CASH,
]


def refund_credit(
    *, account: Account, amount: Decimal, method: str, reason: str, by, reference: str = ""
) -> CreditTransaction:
    """Pay credit back to the payer: a `refund` row of its own (negative, with the method,
    reference and reason). Under the account lock, so two refunds at the same moment
    never take the balance below zero; the second is refused with InsufficientCredit.
    """
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the credit is being refunded.", field="reason")
    if method not in REFUND_METHODS:
        raise DomainError("Choose how the refund is paid out.", field="method")
    amount = to_cents(amount)
    if amount <= 0:
        raise DomainError("Enter an amount greater than zero.", field="amount")
    return post_credit(
        account=account,
        kind=CreditKind.REFUND,
        amount=-amount,
        reason=reason,
        method=method,
        reference=reference.strip()[:100],
        by=by,
    )
