"""The payer's credit ledger: append-only rows, balance = sum of amounts.

Every write locks the payer's row first, so two writers for one payer queue up and each
computes `balance_after` from the other's committed result; the database refuses a
negative `balance_after`, so credit can never be spent twice.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing_agents.models import BillingAgent
from core.errors import DomainError
from core.money import ZERO, ensure_fits, to_cents
from customers.models import Customer
from invoicing.models import CreditKind, CreditTransaction, Remittance


class InsufficientCredit(DomainError):
    """The payer's credit balance cannot cover the amount."""


def _payer_filter(billing_agent: BillingAgent | None, customer: Customer | None) -> dict:
    if (billing_agent is None) == (customer is None):
        raise ValueError("Give exactly one payer: a billing agent or a customer.")
    if billing_agent is not None:
        return {"billing_agent": billing_agent}
    return {"customer": customer}


def credit_balance(
    *, billing_agent: BillingAgent | None = None, customer: Customer | None = None
) -> Decimal:
    """The payer's credit balance: the sum of its ledger.

    Rounded to cents: SQLite sums decimal columns as floating point.
    """
    payer = _payer_filter(billing_agent, customer)
    total = CreditTransaction.objects.filter(**payer).aggregate(s=Sum("amount"))["s"]
    return to_cents(total or ZERO)


def lock_payer(*, billing_agent: BillingAgent | None = None, customer: Customer | None = None):
    """Lock the payer's row for the rest of the transaction (serialises ledger writes)."""
    if billing_agent is not None:
        return BillingAgent.objects.select_for_update().get(pk=billing_agent.pk)
    return Customer.objects.select_for_update().get(pk=customer.pk)


@transaction.atomic
def post_credit(
    *,
    billing_agent: BillingAgent | None = None,
    customer: Customer | None = None,
    kind: str,
    amount: Decimal,
    by,
    reason: str = "",
    remittance: Remittance | None = None,
    reverses: CreditTransaction | None = None,
) -> CreditTransaction:
    """Append one ledger row (positive adds credit, negative uses it).

    Raises InsufficientCredit when the row would take the balance below zero.
    """
    payer = _payer_filter(billing_agent, customer)
    amount = to_cents(ensure_fits(amount, what="the credit entry", field="amount"))
    if amount == 0:
        raise DomainError("A credit entry needs an amount other than zero.", field="amount")
    lock_payer(billing_agent=billing_agent, customer=customer)
    balance = credit_balance(billing_agent=billing_agent, customer=customer)
    if balance + amount < 0:
        raise InsufficientCredit(
            f"Only {balance} of credit is available; {-amount} was asked for.", field="amount"
        )
    ensure_fits(balance + amount, what="the credit balance", field="amount")
    return CreditTransaction.objects.create(
        **payer,
        kind=kind,
        amount=amount,
        balance_after=balance + amount,
        reason=reason,
        remittance=remittance,
        reverses=reverses,
        created_by=by,
    )


def adjust_credit(
    *,
    billing_agent: BillingAgent | None = None,
    customer: Customer | None = None,
    amount: Decimal,
    reason: str,
    by,
) -> CreditTransaction:
    """A manager's manual adjustment: a new ledger row with a reason, never an edit."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the credit is being adjusted.", field="reason")
    return post_credit(
        billing_agent=billing_agent,
        customer=customer,
        kind=CreditKind.ADJUSTMENT,
        amount=amount,
        reason=reason,
        by=by,
    )


@transaction.atomic
def reverse_entry(*, entry: CreditTransaction, by, reason: str = "") -> CreditTransaction:
    """Correct a mistake with a reversing row; the original row is never edited."""
    entry = CreditTransaction.objects.select_for_update().get(pk=entry.pk)
    if entry.kind == CreditKind.REVERSAL or hasattr(entry, "reversed_by"):
        raise DomainError("This entry has already been reversed or is itself a reversal.")
    return post_credit(
        billing_agent=entry.billing_agent,
        customer=entry.customer,
        kind=CreditKind.REVERSAL,
        amount=-entry.amount,
        reason=reason or f"Reverses entry #{entry.pk}",
        reverses=entry,
        by=by,
    )
