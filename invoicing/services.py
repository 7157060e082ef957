"""Invoicing operations: create, delete, pay (remittance) and email invoices.

Each is one keyword-only function inside one transaction; rules a clerk can break raise a
DomainError subclass with a message for the clerk. Writes over many tickets use bulk
queries so an operation costs the same number of queries for 10 tickets as for 500.
"""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.errors import DomainError
from core.inputs import check_document_date
from core.money import ZERO, ensure_fits, format_money, to_cents
from invoicing.allocation import AllocationError, propose_allocation, validate_allocation
from invoicing.ledger import post_credit
from invoicing.models import (
    Account,
    CreditKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Remittance,
    RemittanceAllocation,
)
from tickets.models import PaymentKind, PaymentMethod, Ticket, TicketPayment, write_totals
from tickets.services import move_tickets
from tickets.transitions import Status

logger = logging.getLogger(__name__)


# --- errors ----------------------------------------------------------------------------


class PayerNotBillable(DomainError):
    """The chosen payer cannot receive invoices."""


class NoTicketsChosen(DomainError):
    """Creating an invoice needs at least one ticket."""


class TicketsNotInvoiceable(DomainError):
    """Some tickets are not this payer's, not Waiting for Payment, or have nothing due."""


class TicketsAlreadyInvoiced(DomainError):
    """Some tickets were put on another invoice first (e.g. by another clerk just now)."""

    def __init__(self, numbers: list[str], invoices: list[str] | None = None) -> None:
        on = f" (on {', '.join(invoices)})" if invoices else ""
        super().__init__(
            f"Already on another invoice{on}: {', '.join(numbers)}. "
            "They were taken off your selection; check the list and create again."
        )
        self.numbers = numbers
        self.invoices = invoices or []


class InvoiceNotDeletable(DomainError):
    """Only a live invoice that is not paid in full can be deleted."""


class InvoiceNotPayable(DomainError):
    """A deleted or fully paid invoice takes no more remittances."""


class NoEmailAddress(DomainError):
    """The payer has no email address to send the invoice to."""


class InvalidRemittance(DomainError):
    """A remittance needs a known payment method and an amount above zero."""


class IdempotencyKeyReused(DomainError):
    """A form's key already recorded a different payment (invoice, amount or method)."""


# --- create ----------------------------------------------------------------------------


def _check_account(account: Account | None) -> int:
    """The account's net terms in days, or PayerNotBillable."""
    if account is None:
        raise PayerNotBillable("Choose who pays: a billing agent or a customer.", field="payer")
    if not account.can_be_invoiced:
        raise PayerNotBillable(
            f"{account.name} has no direct-billing terms and cannot be invoiced.",
            field="payer",
        )
    return account.net_terms_days


def _taken_error(tickets: Iterable[Ticket]) -> TicketsAlreadyInvoiced | None:
    """Name the tickets that sit on a live invoice already, and those invoices."""
    tickets = list(tickets)
    lines = (
        InvoiceLine.objects.filter(ticket__in=tickets, is_live=True)
        .select_related("ticket", "invoice")
        .order_by("ticket_id")
    )
    numbers = [line.ticket.number for line in lines]
    invoices = sorted({line.invoice.number for line in lines})
    if not numbers:
        return None
    return TicketsAlreadyInvoiced(numbers, invoices)


@transaction.atomic
def create_invoices(
    *,
    account: Account,
    ticket_ids: Iterable[int],
    batch: bool,
    issue_date: date | None = None,
    by,
    send_email: bool = False,
) -> list[Invoice]:
    """Invoice the account (see invoicing.accounts.account_for) for these
    Waiting-for-Payment tickets: one batch invoice, or one invoice per ticket. Each line
    holds the ticket's balance due now; the tickets move to Invoiced; due date = issue date
    + the payer's net terms. All or nothing.

    Race-safe: the tickets are locked in id order and re-checked inside the lock, so of two
    clerks invoicing the same tickets one wins and the other gets TicketsAlreadyInvoiced;
    the partial unique index on live lines backs this up. With `send_email`, the invoice
    emails go out after the transaction commits.
    """
    terms = _check_account(account)
    ids = sorted({int(pk) for pk in ticket_ids})
    if not ids:
        raise NoTicketsChosen("Tick at least one ticket to invoice.", field="tickets")
    if send_email and not account.email:
        raise NoEmailAddress(
            f"{account.name} has no email address; untick “Email now” or add one.",
            field="send_email",
        )
    issue_date = check_document_date(issue_date or timezone.localdate(), field="issue_date")

    tickets = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("customer", "location")
        .filter(pk__in=ids)
        .order_by("pk")
    )
    missing = sorted(set(ids) - {t.pk for t in tickets})
    if missing:
        raise TicketsNotInvoiceable(
            f"No such ticket: {', '.join(f'T-{pk:06d}' for pk in missing)}.", field="tickets"
        )
    taken = [t for t in tickets if t.status in (Status.INVOICED, Status.CLOSED)]
    if taken:
        raise _taken_error(taken) or TicketsAlreadyInvoiced([t.number for t in taken])
    not_theirs = [t.number for t in tickets if not account.bills_ticket(t)]
    if not_theirs:
        raise TicketsNotInvoiceable(
            f"Not billed to {account.name}: {', '.join(not_theirs)}.", field="tickets"
        )
    not_waiting = [t.number for t in tickets if t.status != Status.WAITING_FOR_PAYMENT]
    if not_waiting:
        raise TicketsNotInvoiceable(
            f"Only Waiting-for-Payment tickets can be invoiced: {', '.join(not_waiting)}.",
            field="tickets",
        )
    nothing_due = [t.number for t in tickets if t.balance_due <= 0]
    if nothing_due:
        raise TicketsNotInvoiceable(
            f"Nothing is due on {', '.join(nothing_due)}; close them at the counter instead.",
            field="tickets",
        )

    # Oldest ticket first on each invoice, as the lines are shown and paid.
    tickets.sort(key=lambda t: (t.created_at, t.pk))
    groups = [tickets] if batch else [[t] for t in tickets]
    due_date = issue_date + timedelta(days=terms)
    totals = [
        ensure_fits(
            sum((t.balance_due for t in group), ZERO), what="the invoice total", field="tickets"
        )
        for group in groups
    ]
    invoices = bulk_create_with_history(
        [
            Invoice(
                account=account,
                issue_date=issue_date,
                due_date=due_date,
                total=total,
                created_by=by,
            )
            for total in totals
        ],
        Invoice,
        default_user=by,
    )
    lines = [
        InvoiceLine(invoice=invoice, ticket=ticket, amount=ticket.balance_due)
        for invoice, group in zip(invoices, groups, strict=True)
        for ticket in group
    ]
    try:
        with transaction.atomic():
            InvoiceLine.objects.bulk_create(lines)
    except IntegrityError as error:
        # Second line of defence: the partial unique index on live lines.
        taken_error = _taken_error(tickets)
        if taken_error is None:
            raise
        raise taken_error from error
    move_tickets(tickets, Status.INVOICED, by=by, note="Invoiced")

    if send_email:
        by_id = getattr(by, "pk", None)
        for invoice in invoices:
            transaction.on_commit(lambda pk=invoice.pk: _deliver(pk, by_id), robust=True)
    return invoices


# --- delete ----------------------------------------------------------------------------


@transaction.atomic
def delete_invoice(*, invoice: Invoice, by) -> Invoice:
    """Keep the invoice as a deleted record and send its tickets back to Waiting for
    Payment, payments intact. Refused once the invoice is paid in full."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.DELETED:
        raise InvoiceNotDeletable(f"{invoice.number} is already deleted.")
    if invoice.status == InvoiceStatus.PAID:
        raise InvoiceNotDeletable(f"{invoice.number} is paid in full and cannot be deleted.")
    ticket_ids = list(invoice.lines.values_list("ticket_id", flat=True))
    tickets = list(
        Ticket.objects.select_for_update(of=("self",)).filter(pk__in=ticket_ids).order_by("pk")
    )
    invoice.lines.update(is_live=False)
    move_tickets(tickets, Status.WAITING_FOR_PAYMENT, by=by, note=f"{invoice.number} deleted")
    invoice.status = InvoiceStatus.DELETED
    invoice.deleted_at = timezone.now()
    invoice.deleted_by = by
    invoice._history_user = by
    invoice.save(update_fields=["status", "deleted_at", "deleted_by", "updated_at"])
    return invoice


# --- remittance ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemittancePlan:
    """What a remittance form proposes: the open lines, the split, and the rest."""

    lines: list[InvoiceLine]
    amounts: tuple[Decimal, ...]
    credit: Decimal


def open_lines(invoice: Invoice) -> list[InvoiceLine]:
    """The invoice's lines with something still due, oldest ticket first."""
    lines = invoice.lines.select_related("ticket__customer").order_by(
        "ticket__created_at", "ticket_id"
    )
    return [line for line in lines if line.balance > 0]


def _line_field(line: InvoiceLine) -> str:
    return f"line-{line.pk}"


def _split(
    lines: list[InvoiceLine],
    amount: Decimal,
    allocations: dict[int, Decimal] | None,
    *,
    from_credit: bool,
):
    balances = [line.balance for line in lines]
    if allocations is None:
        split = propose_allocation(balances, amount)
        if from_credit and split.credit:
            raise AllocationError(
                f"Only {format_money(split.allocated)} is due; use at most that much credit.",
                field="amount",
            )
        return split
    known = {line.pk for line in lines}
    for line_id, share in allocations.items():
        if line_id not in known and share:
            raise AllocationError("That line has nothing left to pay.", field=f"line-{line_id}")
    amounts = [to_cents(allocations.get(line.pk) or ZERO) for line in lines]
    try:
        return validate_allocation(balances, amount, amounts, allow_credit=not from_credit)
    except AllocationError as error:
        if error.index is not None:
            raise AllocationError(error.message, field=_line_field(lines[error.index])) from None
        raise


def propose_remittance(
    *, invoice: Invoice, amount: Decimal, allocations: dict[int, Decimal] | None = None
) -> RemittancePlan:
    """The split the form shows: oldest first for `amount`, or the clerk's edits checked."""
    lines = open_lines(invoice)
    split = _split(lines, to_cents(amount), allocations, from_credit=False)
    return RemittancePlan(lines=lines, amounts=split.amounts, credit=split.credit)


def _replayed(
    existing: Remittance, *, invoice: Invoice, amount: Decimal, method: str
) -> Remittance:
    """The remittance a reused key already recorded, if this call is that same payment.

    Invoice, amount and method say which money moved; reference and date only describe it,
    so a resubmitted form with a corrected reference is still the same payment.
    """
    if (
        existing.invoice_id != invoice.pk
        or existing.amount != to_cents(amount)
        or existing.method != method
    ):
        raise IdempotencyKeyReused(
            f"This payment form already recorded {existing.get_method_display().lower()} "
            f"{format_money(existing.amount)} for {existing.invoice.number}; "
            "nothing was recorded now. "
            "Open the remittance form again to record another payment."
        )
    existing.already_recorded = True
    return existing


@transaction.atomic
def record_remittance(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    reference: str = "",
    received_on: date | None = None,
    allocations: dict[int, Decimal] | None = None,
    credit_to_use: Decimal | None = None,
    idempotency_key: uuid.UUID | str | None = None,
    by,
) -> Remittance:
    """Record a payment against the invoice's lines, oldest ticket first unless the clerk
    gave `allocations` (line id -> amount). Each share becomes a ticket payment; what is
    left becomes overpayment credit on the payer's ledger. Paid in full: the invoice is
    Paid and its tickets Closed.

    Method `account_credit` pays from the payer's credit ledger: `credit_to_use` (the
    amount, if not given) is drawn with a credit-applied row and must be allocated in full.

    The same `idempotency_key` twice records one remittance: the second call returns the
    first's result with `already_recorded = True` when it is the same payment (same
    invoice, amount and method); any other payment under that key is refused.
    """
    key = uuid.UUID(str(idempotency_key)) if idempotency_key else uuid.uuid4()
    invoice = Invoice.objects.select_for_update(of=("self",)).with_account().get(pk=invoice.pk)
    existing = Remittance.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replayed(existing, invoice=invoice, amount=amount, method=method)
    if invoice.status == InvoiceStatus.DELETED:
        raise InvoiceNotPayable(f"{invoice.number} is deleted and takes no payments.")
    if invoice.status == InvoiceStatus.PAID:
        raise InvoiceNotPayable(f"{invoice.number} is already paid in full.")
    if method not in PaymentMethod.values:
        raise InvalidRemittance("Choose how the payment was made.", field="method")
    amount = to_cents(amount)
    if amount <= 0:
        raise InvalidRemittance("Enter an amount greater than zero.", field="amount")
    received_on = check_document_date(received_on or timezone.localdate(), field="received_on")
    if received_on > timezone.localdate():
        raise DomainError("The payment date cannot be in the future.", field="received_on")
    from_credit = method == PaymentMethod.ACCOUNT_CREDIT
    if from_credit:
        if credit_to_use is not None and to_cents(credit_to_use) != amount:
            raise DomainError(
                "When paying from account credit, the amount is the credit to use.",
                field="amount",
            )
    elif credit_to_use:
        raise DomainError(
            "To use account credit, record it as its own payment with method Account credit.",
            field="method",
        )

    all_lines = list(
        invoice.lines.select_related("ticket__location").order_by("ticket__created_at", "ticket_id")
    )
    tickets = list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(pk__in=[line.ticket_id for line in all_lines])
        .order_by("pk")
    )
    ticket_by_id = {t.pk: t for t in tickets}
    lines = [line for line in all_lines if line.balance > 0]
    split = _split(lines, amount, allocations, from_credit=from_credit)

    try:
        with transaction.atomic():
            remittance = Remittance.objects.create(
                invoice=invoice,
                account=invoice.account,
                amount=amount,
                method=method,
                reference=reference.strip(),
                received_on=received_on,
                idempotency_key=key,
                recorded_by=by,
            )
    except IntegrityError:
        existing = Remittance.objects.get(idempotency_key=key)
        return _replayed(existing, invoice=invoice, amount=amount, method=method)
    if from_credit:
        post_credit(
            account=invoice.account,
            kind=CreditKind.CREDIT_APPLIED,
            amount=-amount,
            reason=f"Applied to {invoice.number}",
            remittance=remittance,
            by=by,
        )

    paid = [(line, share) for line, share in zip(lines, split.amounts, strict=True) if share]
    payments = bulk_create_with_history(
        [
            TicketPayment(
                ticket_id=line.ticket_id,
                kind=PaymentKind.REMITTANCE,
                amount=share,
                method=method,
                reference=(reference.strip() or invoice.number)[:100],
                received_by=by,
            )
            for line, share in paid
        ],
        TicketPayment,
        default_user=by,
    )
    RemittanceAllocation.objects.bulk_create(
        [
            RemittanceAllocation(
                remittance=remittance, invoice_line=line, payment=payment, amount=share
            )
            for (line, share), payment in zip(paid, payments, strict=True)
        ]
    )
    for line, share in paid:
        line.amount_paid += share
    InvoiceLine.objects.bulk_update([line for line, _ in paid], ["amount_paid"])
    write_totals([ticket_by_id[line.ticket_id] for line, _ in paid], by=by)

    invoice.amount_paid += split.allocated
    if all(line.balance == 0 for line in all_lines):
        invoice.status = InvoiceStatus.PAID
        move_tickets(tickets, Status.CLOSED, by=by, note=f"{invoice.number} paid in full")
    invoice._history_user = by
    invoice.save(update_fields=["amount_paid", "status", "updated_at"])

    if split.credit and not from_credit:
        post_credit(
            account=invoice.account,
            kind=CreditKind.OVERPAYMENT,
            amount=split.credit,
            reason=f"Overpayment on {invoice.number}",
            remittance=remittance,
            by=by,
        )
    remittance.already_recorded = False
    remittance.credit = split.credit if not from_credit else ZERO
    return remittance


# --- email -----------------------------------------------------------------------------


def invoice_email_context(invoice: Invoice) -> dict:
    lines = list(
        invoice.lines.select_related("ticket__customer").order_by("ticket__created_at", "ticket_id")
    )
    return {
        "invoice": invoice,
        "payer": invoice.account.payer,
        "lines": lines,
        "SHOP_NAME": settings.SHOP_NAME,
    }


def _deliver(invoice_id: int, by_id: int | None) -> None:
    """Render and send one invoice email, then record when and to whom it went."""
    invoice = Invoice.objects.with_account().get(pk=invoice_id)
    address = invoice.account.email
    if not address:
        raise NoEmailAddress(f"{invoice.account.name} has no email address.")
    context = invoice_email_context(invoice)
    subject = f"{settings.SHOP_NAME}: invoice {invoice.number}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("invoicing/email/invoice.txt", context),
        to=[address],
    )
    message.attach_alternative(
        render_to_string("invoicing/email/invoice.html", context), "text/html"
    )
    message.send()
    invoice.sent_at = timezone.now()
    invoice.sent_to = address
    invoice._history_user = None
    if by_id is not None:
        from django.contrib.auth import get_user_model

        invoice._history_user = get_user_model().objects.filter(pk=by_id).first()
    invoice.save(update_fields=["sent_at", "sent_to", "updated_at"])


@transaction.atomic
def send_invoice_email(*, invoice: Invoice, by) -> None:
    """Email the invoice to the payer once the transaction commits, and record
    sent_at / sent_to. A mail-server error reaches the caller (nothing is recorded)."""
    invoice = Invoice.objects.with_account().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.DELETED:
        raise DomainError(f"{invoice.number} is deleted and cannot be sent.")
    if not invoice.account.email:
        raise NoEmailAddress(
            f"{invoice.account.name} has no email address; add one to send the invoice."
        )
    by_id = getattr(by, "pk", None)
    transaction.on_commit(lambda: _deliver(invoice.pk, by_id))
