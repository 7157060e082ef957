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

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.bulk import update_rows
from core.errors import DomainError
from core.inputs import check_document_date
from core.money import ZERO, ensure_fits, format_money, to_cents
from invoicing.allocation import AllocationError, propose_allocation, validate_allocation
from invoicing.ledger import credit_balance, lock_account, post_credit
from invoicing.models import (
    Account,
    CreditKind,
    CreditTransaction,
    DeliveryKind,
    EmailDelivery,
    Invoice,
    InvoiceLine,
    InvoiceLineItem,
    InvoiceStatus,
    InvoiceWriteOff,
    Remittance,
    RemittanceAllocation,
)
from invoicing.tasks import enqueue_delivery, send_invoice_email
from tickets.models import (
    PaymentKind,
    PaymentMethod,
    Ticket,
    TicketItem,
    TicketPayment,
    write_totals,
)
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


class InvalidIssueDate(DomainError):
    """An invoice is issued today or earlier, and never before its tickets existed."""


def _check_issue_date(issue_date: date, tickets: Iterable[Ticket]) -> None:
    """InvalidIssueDate (on issue_date) for a date after today, or before the newest of
    the tickets was created (its local date), naming that ticket."""
    today = timezone.localdate()
    if issue_date > today:
        raise InvalidIssueDate(
            f"The issue date {issue_date:%Y-%m-%d} is after today ({today:%Y-%m-%d}); "
            "an invoice is issued today or earlier.",
            field="issue_date",
        )
    newest = max(tickets, key=lambda t: (t.created_at, t.pk), default=None)
    if newest is not None:
        created_on = timezone.localdate(newest.created_at)
        if issue_date < created_on:
            raise InvalidIssueDate(
                f"The issue date {issue_date:%Y-%m-%d} is before {newest.number} was created "
                f"({created_on:%Y-%m-%d}).",
                field="issue_date",
            )


def snapshot_line(invoice: Invoice, ticket: Ticket) -> InvoiceLine:
    """The invoice line for `ticket`: what it bills (the balance due) and the ticket's words
    and figures as they stand now, so later edits to the ticket never alter the invoice."""
    agent = ticket.billing_agent
    return InvoiceLine(
        invoice=invoice,
        ticket=ticket,
        amount=ticket.balance_due,
        customer_name=ticket.customer.display_name if ticket.customer else "",
        description=ticket.device or ticket.get_kind_display(),
        reference_label=agent.reference_label if agent else "",
        reference=ticket.payer_reference,
        subtotal=ticket.subtotal,
        discount=ticket.discount_amount,
        tax=ticket.tax_amount,
        tax_rate_percent=ticket.location.tax_rate_percent,
        ticket_total=ticket.total,
        paid_before=ticket.amount_paid,
    )


def snapshot_items(lines: Iterable[InvoiceLine]) -> list[InvoiceLineItem]:
    """Copies of each saved line's ticket items (one query for all their tickets)."""
    lines = list(lines)
    by_ticket: dict[int, list[TicketItem]] = {}
    for item in TicketItem.objects.filter(ticket_id__in=[line.ticket_id for line in lines]):
        by_ticket.setdefault(item.ticket_id, []).append(item)
    return [
        InvoiceLineItem(
            line=line,
            position=position,
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price,
            amount=item.amount,
            taxable=item.taxable,
        )
        for line in lines
        for position, item in enumerate(by_ticket.get(line.ticket_id, []), 1)
    ]


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
    + the payer's net terms. All or nothing. The issue date lies in the document window,
    is today or earlier and is not before the newest ticket was created (InvalidIssueDate).

    Race-safe: the tickets are locked in id order and re-checked inside the lock, so of two
    clerks invoicing the same tickets one wins and the other gets TicketsAlreadyInvoiced;
    the partial unique index on live lines backs this up. With `send_email`, each invoice's
    email is queued (invoicing.tasks sends it, PDF attached, once this commits).
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
        .select_related("customer", "location", "billing_agent")
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
    _check_issue_date(issue_date, tickets)

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
        snapshot_line(invoice, ticket)
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
    InvoiceLineItem.objects.bulk_create(snapshot_items(lines), batch_size=1000)
    move_tickets(tickets, Status.INVOICED, by=by, note="Invoiced")

    if send_email:
        # New invoices have no email queued yet (invoicing.delivery dedupes a resend).
        deliveries = EmailDelivery.objects.bulk_create(
            EmailDelivery(
                account=account,
                invoice=invoice,
                kind=DeliveryKind.INVOICE,
                to_address=account.email,
                requested_by=by if getattr(by, "pk", None) else None,
            )
            for invoice in invoices
        )
        for delivery in deliveries:
            enqueue_delivery(delivery, send_invoice_email)
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
    if invoice.status == InvoiceStatus.WRITTEN_OFF:
        raise InvoiceNotDeletable(
            f"{invoice.number} is written off; void the write-off before deleting it."
        )
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
    # Why the split cannot be recorded as it stands (a kept line over its balance, …).
    error: AllocationError | None = None


def open_lines(invoice: Invoice) -> list[InvoiceLine]:
    """The invoice's lines with something still due, oldest ticket first."""
    lines = invoice.lines.select_related("ticket__customer").order_by(
        "ticket__created_at", "ticket_id"
    )
    return [line for line in lines if line.balance > 0]


def payment_order(invoices: Iterable[Invoice]) -> list[Invoice]:
    """The order a payment on the account pays invoices in: oldest due date first."""
    return sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.issue_date, invoice.pk))


def open_invoices(account: Account) -> list[Invoice]:
    """The account's open invoices in payment_order()."""
    return payment_order(Invoice.objects.for_account(account).filter(status=InvoiceStatus.OPEN))


def account_open_lines(account: Account) -> list[InvoiceLine]:
    """Every line with something due on the account's open invoices: oldest due date
    first and, within one invoice, oldest ticket first (the order a payment fills)."""
    invoices = open_invoices(account)
    rank = {invoice.pk: index for index, invoice in enumerate(invoices)}
    lines = (
        InvoiceLine.objects.filter(invoice__in=invoices)
        .select_related("ticket__customer", "invoice")
        .order_by("ticket__created_at", "ticket_id")
    )
    ordered = sorted(lines, key=lambda line: rank[line.invoice_id])
    return [line for line in ordered if line.balance > 0]


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
    *,
    invoice: Invoice | None = None,
    account: Account | None = None,
    amount: Decimal,
    allocations: dict[int, Decimal] | None = None,
    kept: dict[int, Decimal] | None = None,
    lines: list[InvoiceLine] | None = None,
) -> RemittancePlan:
    """The split the form shows: oldest first for `amount`, or the clerk's edits checked,
    over one invoice's open lines or (given `account`) over every open invoice's lines.

    `kept` (line id -> share) are the lines the clerk typed into: they keep that share and
    only the other lines are proposed, oldest first, from what is left of the amount. Such
    a plan never raises; a split that cannot be recorded carries the reason in `error`.
    `lines`: open_lines() / account_open_lines() when the caller read them already.
    """
    if lines is None:
        lines = open_lines(invoice) if invoice is not None else account_open_lines(account)
    amount = to_cents(amount)
    if kept is None:
        split = _split(lines, amount, allocations, from_credit=False)
        return RemittancePlan(lines=lines, amounts=split.amounts, credit=split.credit)
    position = {line.pk: index for index, line in enumerate(lines)}
    split = propose_allocation(
        [line.balance for line in lines],
        amount,
        kept={position[pk]: share for pk, share in kept.items() if pk in position},
    )
    try:
        _split(
            lines,
            amount,
            {line.pk: share for line, share in zip(lines, split.amounts, strict=True)},
            from_credit=False,
        )
    except AllocationError as error:
        return RemittancePlan(lines, split.amounts, split.credit, error=error)
    return RemittancePlan(lines=lines, amounts=split.amounts, credit=split.credit)


# --- slips caught before they land: large overpayments, repeated references ----------

# Credit above the smaller of these is a likely slip (400 typed before 637.12): the
# clerk confirms it. docs/decisions.md, "Corrections".
OVERPAYMENT_ALLOWANCE = Decimal("50.00")
OVERPAYMENT_SHARE = Decimal("0.10")
# An earlier payment with the same payer, reference and amount recorded this recently is
# most likely the same cheque entered twice.
DUPLICATE_WINDOW = timedelta(days=90)


def overpayment_allowance(balance: Decimal) -> Decimal:
    """The most credit a payment on an invoice with this balance creates without the clerk
    confirming it: $50.00 or 10 % of the balance, whichever is smaller."""
    return min(OVERPAYMENT_ALLOWANCE, to_cents(max(balance, ZERO) * OVERPAYMENT_SHARE))


def credit_payable(*, invoice: Invoice | None = None, account: Account | None = None) -> Decimal:
    """What account credit can pay now on the invoice (or on all the account's open
    invoices): the credit balance or what is due, whichever is smaller (never below 0)."""
    if invoice is not None:
        account, due = invoice.account, invoice.balance
    else:
        due = Invoice.objects.for_account(account).figures()["open_balance"]
    return max(min(credit_balance(account=account), to_cents(due)), ZERO)


def earlier_payment(*, account: Account, reference: str, amount: Decimal) -> Remittance | None:
    """The latest live (not voided) payment from the account with this reference (any
    case) and amount, recorded within DUPLICATE_WINDOW; None for an empty reference."""
    reference = (reference or "").strip()
    if not reference or account.pk is None:
        return None
    return (
        Remittance.objects.filter(
            account=account,
            reference__iexact=reference,
            amount=to_cents(amount),
            voided_at__isnull=True,
            created_at__gte=timezone.now() - DUPLICATE_WINDOW,
        )
        .select_related("invoice")
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class Confirmations:
    """What the clerk ticked on the form: the credit they agreed to create and the earlier
    payment they agreed to repeat. A confirmation holds only for exactly that figure."""

    credit: Decimal | None = None
    duplicate_of: int | None = None


class PaymentNeedsConfirmation(DomainError):
    """A payment that looks like a slip: it would create a large credit (`credit`) or
    repeats an earlier payment (`earlier`). Nothing was recorded."""

    def __init__(self, *, credit: Decimal | None, earlier: Remittance | None, payer: str):
        self.credit = credit
        self.earlier = earlier
        self.credit_message = (
            f"This records {format_money(credit)} as account credit for {payer}. Tick to confirm."
            if credit is not None
            else ""
        )
        self.duplicate_message = (
            f"{earlier.get_method_display()} {earlier.reference} for "
            f"{format_money(earlier.amount)} was already recorded on "
            f"{earlier.received_on:%Y-%m-%d} for {earlier.paid_for}. "
            "Tick to record it again as a second payment."
            if earlier is not None
            else ""
        )
        super().__init__(" ".join(m for m in (self.credit_message, self.duplicate_message) if m))


def _check_slips(
    *,
    account: Account,
    balance: Decimal,
    amount: Decimal,
    reference: str,
    credit: Decimal,
    confirmed: Confirmations,
) -> None:
    """PaymentNeedsConfirmation unless every slip the payment shows is confirmed. With a
    reference the account is locked first (after the invoices and their tickets, as
    always), so the same cheque recorded twice at one moment is still seen twice."""
    if reference.strip():
        lock_account(account=account)
    large = credit if credit > overpayment_allowance(balance) else None
    earlier = earlier_payment(account=account, reference=reference, amount=amount)
    if (large is None or confirmed.credit == large) and (
        earlier is None or confirmed.duplicate_of == earlier.pk
    ):
        return
    raise PaymentNeedsConfirmation(credit=large, earlier=earlier, payer=account.name)


def _replayed(
    existing: Remittance,
    *,
    account: Account,
    invoice: Invoice | None,
    amount: Decimal,
    method: str,
) -> Remittance:
    """The remittance a reused key already recorded, if this call is that same payment.

    Account, invoice (none for a payment on the account), amount and method say which
    money moved; reference and date only describe it, so a resubmitted form with a
    corrected reference is still the same payment.
    """
    if (
        existing.account_id != account.pk
        or existing.invoice_id != (invoice.pk if invoice is not None else None)
        or existing.amount != to_cents(amount)
        or existing.method != method
    ):
        raise IdempotencyKeyReused(
            f"This payment form already recorded {existing.get_method_display().lower()} "
            f"{format_money(existing.amount)} for {existing.paid_for}; "
            "nothing was recorded now. "
            "Open the remittance form again to record another payment."
        )
    existing.already_recorded = True
    return existing


def _check_payment(
    *, amount: Decimal, method: str, received_on: date | None, credit_to_use: Decimal | None
) -> tuple[Decimal, date]:
    """The amount in cents and the payment date, or the clerk-readable reason why not.

    Credit is applied on the day it is applied: a payment from account credit is dated
    today, so the credit a statement shows on any day is never below zero.
    """
    if method not in PaymentMethod.values:
        raise InvalidRemittance("Choose how the payment was made.", field="method")
    amount = to_cents(amount)
    if amount <= 0:
        raise InvalidRemittance("Enter an amount greater than zero.", field="amount")
    today = timezone.localdate()
    if method == PaymentMethod.ACCOUNT_CREDIT:
        if credit_to_use is not None and to_cents(credit_to_use) != amount:
            raise DomainError(
                "When paying from account credit, the amount is the credit to use.",
                field="amount",
            )
        return amount, today
    if credit_to_use:
        raise DomainError(
            "To use account credit, record it as its own payment with method Account credit.",
            field="method",
        )
    received_on = check_document_date(received_on or today, field="received_on")
    if received_on > today:
        raise DomainError("The payment date cannot be in the future.", field="received_on")
    return amount, received_on


def _last_voids(invoice_ids: set[int]) -> dict[int, date]:
    """The local day of the latest void of a payment or write-off on each invoice."""
    days: dict[int, date] = {}
    payments = (
        RemittanceAllocation.objects.filter(
            invoice_line__invoice_id__in=invoice_ids, remittance__voided_at__isnull=False
        )
        .values_list("invoice_line__invoice_id")
        .annotate(last=Max("remittance__voided_at"))
    )
    write_offs = (
        InvoiceWriteOff.objects.filter(invoice_id__in=invoice_ids, voided_at__isnull=False)
        .values_list("invoice_id")
        .annotate(last=Max("voided_at"))
    )
    for invoice_id, moment in [*payments, *write_offs]:
        day = timezone.localdate(moment)
        days[invoice_id] = max(day, days.get(invoice_id, day))
    return days


def _check_payment_date(lines: list[InvoiceLine], shares, received_on: date) -> None:
    """A payment cannot pay an invoice issued after the day it was received, nor be dated
    before a void on that invoice: between the two days the invoice would count as paid
    twice on statements and aging (the voided money and this)."""
    paid = [line.invoice for line, share in zip(lines, shares, strict=True) if share]
    for invoice in paid:
        if invoice.issue_date > received_on:
            raise DomainError(
                f"{invoice.number} was issued on {invoice.issue_date:%Y-%m-%d}, "
                f"after this payment's date ({received_on:%Y-%m-%d}); a payment cannot pay "
                "an invoice issued after it was received.",
                field="received_on",
            )
    voids = _last_voids({invoice.pk for invoice in paid}) if paid else {}
    for invoice in paid:
        if invoice.pk in voids and voids[invoice.pk] > received_on:
            raise DomainError(
                f"A payment or write-off on {invoice.number} was voided on "
                f"{voids[invoice.pk]:%Y-%m-%d}; date this payment on or after that day.",
                field="received_on",
            )


def _pay(
    *,
    account: Account,
    invoices: list[Invoice],
    invoice: Invoice | None,
    amount: Decimal,
    method: str,
    reference: str,
    received_on: date,
    allocations: dict[int, Decimal] | None,
    key: uuid.UUID,
    confirmed: Confirmations | None,
    by,
) -> Remittance:
    """Record one payment over the open lines of `invoices` (locked, in payment order);
    `invoice` is the one invoice a per-invoice remittance names (None: on the account)."""
    from_credit = method == PaymentMethod.ACCOUNT_CREDIT
    by_id = {inv.pk: inv for inv in invoices}
    rank = {inv.pk: index for index, inv in enumerate(invoices)}
    # One read of the lines with their tickets, which it locks in id order (as everywhere).
    all_lines = list(
        InvoiceLine.objects.select_for_update(of=("ticket",))
        .filter(invoice__in=invoices)
        .select_related("ticket__location")
        .order_by("ticket_id")
    )
    # Payment order: the invoices as given, oldest ticket first within one.
    all_lines.sort(key=lambda line: (rank[line.invoice_id], line.ticket.created_at, line.ticket_id))
    for line in all_lines:
        line.invoice = by_id[line.invoice_id]
    tickets = sorted((line.ticket for line in all_lines), key=lambda ticket: ticket.pk)
    ticket_by_id = {t.pk: t for t in tickets}
    lines = [line for line in all_lines if line.balance > 0]
    split = _split(lines, amount, allocations, from_credit=from_credit)
    _check_payment_date(lines, split.amounts, received_on)
    if confirmed is not None:
        _check_slips(
            account=account,
            balance=sum((line.balance for line in lines), ZERO),
            amount=amount,
            reference=reference,
            credit=ZERO if from_credit else split.credit,
            confirmed=confirmed,
        )

    try:
        with transaction.atomic():
            remittance = Remittance.objects.create(
                invoice=invoice,
                account=account,
                amount=amount,
                method=method,
                reference=reference.strip(),
                received_on=received_on,
                idempotency_key=key,
                recorded_by=by,
            )
    except IntegrityError:
        existing = Remittance.objects.get(idempotency_key=key)
        return _replayed(existing, account=account, invoice=invoice, amount=amount, method=method)

    paid = [(line, share) for line, share in zip(lines, split.amounts, strict=True) if share]
    paid_per_invoice: dict[int, Decimal] = {}
    for line, share in paid:
        paid_per_invoice[line.invoice_id] = paid_per_invoice.get(line.invoice_id, ZERO) + share
    if from_credit:
        # One credit-applied row per invoice paid, so the ledger names each invoice.
        for invoice_id, share in paid_per_invoice.items():
            post_credit(
                account=account,
                kind=CreditKind.CREDIT_APPLIED,
                amount=-share,
                reason=f"Applied to {by_id[invoice_id].number}",
                remittance=remittance,
                invoice=by_id[invoice_id],
                effective_on=received_on,
                by=by,
            )

    payments = bulk_create_with_history(
        [
            TicketPayment(
                ticket_id=line.ticket_id,
                kind=PaymentKind.REMITTANCE,
                amount=share,
                method=method,
                reference=(reference.strip() or line.invoice.number)[:100],
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
    update_rows([line for line, _ in paid], ["amount_paid"])
    write_totals([ticket_by_id[line.ticket_id] for line, _ in paid], by=by)

    for paid_invoice in invoices:
        if paid_invoice.pk not in paid_per_invoice:
            continue
        paid_invoice.amount_paid += paid_per_invoice[paid_invoice.pk]
        if all(line.balance == 0 for line in all_lines if line.invoice_id == paid_invoice.pk):
            paid_invoice.status = InvoiceStatus.PAID
            ids = {line.ticket_id for line in all_lines if line.invoice_id == paid_invoice.pk}
            move_tickets(
                [t for t in tickets if t.pk in ids],
                Status.CLOSED,
                by=by,
                note=f"{paid_invoice.number} paid in full",
            )
        paid_invoice._history_user = by
        paid_invoice.save(update_fields=["amount_paid", "status", "updated_at"])

    if split.credit and not from_credit:
        post_credit(
            account=account,
            kind=CreditKind.OVERPAYMENT,
            amount=split.credit,
            reason=f"Overpayment on {invoice.number}" if invoice else "Unapplied payment",
            remittance=remittance,
            invoice=invoice,
            effective_on=received_on,
            by=by,
        )
    remittance.already_recorded = False
    remittance.credit = split.credit if not from_credit else ZERO
    remittance.invoices_paid = [by_id[pk] for pk in paid_per_invoice]
    return remittance


def _key(idempotency_key: uuid.UUID | str | None) -> uuid.UUID:
    return uuid.UUID(str(idempotency_key)) if idempotency_key else uuid.uuid4()


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
    confirmed: Confirmations | None = None,
    by,
) -> Remittance:
    """Record a payment against one invoice: record_account_payment() limited to its
    lines, oldest ticket first unless the clerk gave `allocations` (line id -> amount).
    Each share becomes a ticket payment; what is left becomes overpayment credit on the
    payer's ledger. Paid in full: the invoice is Paid and its tickets Closed.

    A clerk's form passes `confirmed` (what was ticked): a payment that would create more
    credit than overpayment_allowance(), or repeats an earlier_payment(), then raises
    PaymentNeedsConfirmation until exactly that credit / that earlier payment is
    confirmed. Callers that are not a clerk typing (imports, the demo seed) pass None.

    Method `account_credit` pays from the payer's credit ledger: `credit_to_use` (the
    amount, if not given) is drawn with a credit-applied row and must be allocated in full.

    The same `idempotency_key` twice records one remittance: the second call returns the
    first's result with `already_recorded = True` when it is the same payment (same
    invoice, amount and method); any other payment under that key is refused.
    """
    key = _key(idempotency_key)
    invoice = Invoice.objects.select_for_update(of=("self",)).with_account().get(pk=invoice.pk)
    existing = Remittance.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replayed(
            existing, account=invoice.account, invoice=invoice, amount=amount, method=method
        )
    if invoice.status == InvoiceStatus.DELETED:
        raise InvoiceNotPayable(f"{invoice.number} is deleted and takes no payments.")
    if invoice.status == InvoiceStatus.PAID:
        raise InvoiceNotPayable(f"{invoice.number} is already paid in full.")
    if invoice.status == InvoiceStatus.WRITTEN_OFF:
        raise InvoiceNotPayable(
            f"{invoice.number} is written off; void the write-off to take a payment."
        )
    amount, received_on = _check_payment(
        amount=amount, method=method, received_on=received_on, credit_to_use=credit_to_use
    )
    return _pay(
        account=invoice.account,
        invoices=[invoice],
        invoice=invoice,
        amount=amount,
        method=method,
        reference=reference,
        received_on=received_on,
        allocations=allocations,
        key=key,
        confirmed=confirmed,
        by=by,
    )


@transaction.atomic
def record_account_payment(
    *,
    account: Account,
    amount: Decimal,
    method: str,
    reference: str = "",
    received_on: date | None = None,
    allocations: dict[int, Decimal] | None = None,
    idempotency_key: uuid.UUID | str | None = None,
    confirmed: Confirmations | None = None,
    by,
) -> Remittance:
    """Record one payment (a cheque or transfer covering many invoices) on the account:
    spread over every open invoice's lines, oldest due date first and oldest ticket first
    within one, unless the clerk gave `allocations` (line id -> amount, any invoice of the
    account). What is left becomes account credit. One Remittance (no `invoice`), one
    allocation per line paid; each invoice paid in full becomes Paid, its tickets Closed.

    Locks the account's open invoices in id order, then their tickets, then the account,
    the same order as a per-invoice remittance, so the two queue instead of deadlocking;
    a line paid meanwhile has less due and an edited share over it is refused.
    Method `account_credit` applies the account's credit (all of `amount`) to the
    invoices, one credit-applied ledger row per invoice. `confirmed` and
    `idempotency_key` work as in record_remittance().
    """
    key = _key(idempotency_key)
    if account.pk is None:
        raise PayerNotBillable(f"{account.name} has no receivables account yet.")
    existing = Remittance.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replayed(existing, account=account, invoice=None, amount=amount, method=method)
    amount, received_on = _check_payment(
        amount=amount, method=method, received_on=received_on, credit_to_use=None
    )
    invoices = payment_order(
        Invoice.objects.select_for_update(of=("self",))
        .filter(account=account, status=InvoiceStatus.OPEN)
        .order_by("pk")
    )
    for invoice in invoices:
        invoice.account = account
    return _pay(
        account=account,
        invoices=invoices,
        invoice=None,
        amount=amount,
        method=method,
        reference=reference,
        received_on=received_on,
        allocations=allocations,
        key=key,
        confirmed=confirmed,
        by=by,
    )


# --- corrections: void a payment, write off a balance, void a write-off ----------------
#
# Nothing that moved money is edited: each correction adds reversing rows (ticket
# payments, ledger rows) and marks what it undoes with who, when and why. Locks follow
# record_remittance: the invoice row, then its tickets, then the account (ledger).


class CorrectionRefused(DomainError):
    """A void or write-off that would break a rule, with the reason for the clerk."""


class CreditAlreadySpent(CorrectionRefused):
    """The credit a payment left on the ledger was used since: voiding it would take the
    balance below zero."""


def _reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CorrectionRefused(message, field="reason")
    return reason[:300]


def _lock_invoice(invoice_id: int) -> Invoice:
    return Invoice.objects.select_for_update(of=("self",)).with_account().get(pk=invoice_id)


def _lock_tickets(*invoices: Invoice) -> list[Ticket]:
    """The invoices' tickets, locked in id order (after the invoices, as everywhere); each
    invoice's own ticket ids are left on it as `ticket_ids`."""
    pairs = list(
        InvoiceLine.objects.filter(invoice__in=invoices).values_list("invoice_id", "ticket_id")
    )
    for invoice in invoices:
        invoice.ticket_ids = {ticket for owner, ticket in pairs if owner == invoice.pk}
    ticket_ids = [ticket for _, ticket in pairs]
    return list(
        Ticket.objects.select_for_update(of=("self",))
        .select_related("location")
        .filter(pk__in=ticket_ids)
        .order_by("pk")
    )


def _paid_invoice_ids(remittance: Remittance) -> list[int]:
    """The invoices a payment touches: the one it names and every one it paid lines on."""
    ids = set(remittance.allocations.values_list("invoice_line__invoice_id", flat=True).distinct())
    if remittance.invoice_id:
        ids.add(remittance.invoice_id)
    return sorted(ids)


def _spent_message(row: CreditTransaction, balance: Decimal, number: str) -> str:
    """Name what used the credit `row` added: later live draws on the ledger."""
    later = (
        CreditTransaction.objects.filter(account_id=row.account_id, amount__lt=0)
        .filter(reversed_by__isnull=True)
        .exclude(pk=row.pk)
        .filter(created_at__gte=row.created_at)
        .select_related("invoice", "remittance__invoice")
        .order_by("created_at", "id")
    )
    users: list[str] = []
    for entry in later:
        if entry.created_at == row.created_at and entry.pk < row.pk:
            continue
        if entry.kind == CreditKind.CREDIT_APPLIED and entry.invoice_id:
            used = entry.invoice.number
        elif entry.kind == CreditKind.CREDIT_APPLIED and entry.remittance_id:
            used = entry.remittance.paid_for
        elif entry.kind == CreditKind.REFUND:
            used = f"a refund to the payer on {entry.created_at:%Y-%m-%d}"
        else:
            used = f"a {entry.get_kind_display().lower()} on {entry.created_at:%Y-%m-%d}"
        if used not in users:
            users.append(used)
    by = f" by {', '.join(users)}" if users else ""
    return (
        f"This payment left {format_money(row.amount)} of credit, which was used since{by}; "
        f"only {format_money(balance)} is left, so voiding it would take the credit below "
        f"zero. Void the payment on {users[0] if users else 'the invoice that used it'} "
        f"first, then this one ({number})."
    )


def _invoice_refuses_void(invoice: Invoice) -> str:
    if invoice.status == InvoiceStatus.DELETED:
        return (
            f"{invoice.number} is deleted and its tickets may be billed again; "
            "its payments cannot be voided."
        )
    if invoice.status == InvoiceStatus.WRITTEN_OFF:
        return f"{invoice.number} is written off; void the write-off before voiding a payment."
    return ""


def _credit_rows(remittance: Remittance) -> list[CreditTransaction]:
    """The ledger rows the payment posted that are not reversed yet."""
    return list(
        remittance.credit_transactions.filter(
            kind__in=[CreditKind.OVERPAYMENT, CreditKind.CREDIT_APPLIED],
            reversed_by__isnull=True,
        ).order_by("id")
    )


def _credit_refuses_void(row: CreditTransaction, remittance: Remittance) -> str:
    balance = credit_balance(account=remittance.account)
    if balance - row.amount < 0:
        return _spent_message(row, balance, remittance.paid_for)
    return ""


def why_remittance_cannot_be_voided(*, remittance: Remittance) -> str:
    """Why void_remittance would refuse this payment now ("" when it would not): the same
    checks, without locks, for the confirm dialog."""
    if remittance.is_voided:
        return (
            f"This payment was already voided on {remittance.voided_at:%Y-%m-%d %H:%M} "
            f"by {remittance.voided_by or 'someone'}."
        )
    for invoice in Invoice.objects.filter(pk__in=_paid_invoice_ids(remittance)).order_by("pk"):
        refusal = _invoice_refuses_void(invoice)
        if refusal:
            return refusal
    for row in _credit_rows(remittance):
        refusal = _credit_refuses_void(row, remittance)
        if refusal:
            return refusal
    return ""


@transaction.atomic
def void_remittance(*, remittance: Remittance, reason: str, by) -> Remittance:
    """Void a recorded payment: a reversal ticket payment for each of its allocations,
    the lines and the invoice paid that much less (a paid invoice opens again and its
    tickets go back to Invoiced), and the credit it posted (overpayment, or credit applied
    when it paid from account credit) reversed on the ledger. The payment stays on
    record, marked voided with who, when and why.

    Refused with CreditAlreadySpent, naming the invoice that used it, when its
    overpayment credit was spent since; refused on a deleted or written-off invoice.
    Voiding a voided payment records nothing (`already_voided = True`).
    """
    reason = _reason(reason, "Say why the payment is being voided.")
    invoices = list(
        Invoice.objects.select_for_update(of=("self",))
        .with_account()
        .filter(pk__in=_paid_invoice_ids(remittance))
        .order_by("pk")
    )
    remittance = (
        Remittance.objects.select_for_update(of=("self",))
        .select_related("account__billing_agent", "account__customer", "invoice")
        .get(pk=remittance.pk)
    )
    if remittance.is_voided:
        remittance.already_voided = True
        return remittance
    for invoice in invoices:
        refusal = _invoice_refuses_void(invoice)
        if refusal:
            raise CorrectionRefused(refusal)
    tickets = _lock_tickets(*invoices)
    ticket_by_id = {t.pk: t for t in tickets}
    account = remittance.account

    credit_rows = _credit_rows(remittance)
    if credit_rows:
        lock_account(account=account)
    for row in credit_rows:
        refusal = _credit_refuses_void(row, remittance)
        if refusal:
            raise CreditAlreadySpent(refusal)
        post_credit(
            account=account,
            kind=CreditKind.REVERSAL,
            amount=-row.amount,
            reason=f"Payment on {remittance.paid_for} voided: {reason}"[:300],
            remittance=remittance,
            invoice=row.invoice,
            reverses=row,
            by=by,
        )

    allocations = list(remittance.allocations.select_related("payment", "invoice_line"))
    bulk_create_with_history(
        [
            TicketPayment(
                ticket_id=a.payment.ticket_id,
                kind=PaymentKind.REVERSAL,
                amount=-a.amount,
                method=a.payment.method,
                reference=a.payment.reference,
                reverses=a.payment,
                reason=reason,
                received_by=by,
            )
            for a in allocations
        ],
        TicketPayment,
        default_user=by,
    )
    lines = []
    for allocation in allocations:
        line = allocation.invoice_line
        line.amount_paid -= allocation.amount
        lines.append(line)
    update_rows(lines, ["amount_paid"])
    write_totals([ticket_by_id[line.ticket_id] for line in lines], by=by)

    for invoice in invoices:
        undone = [a for a in allocations if a.invoice_line.invoice_id == invoice.pk]
        if not undone:
            continue
        invoice.amount_paid -= sum((a.amount for a in undone), ZERO)
        if invoice.status == InvoiceStatus.PAID:
            invoice.status = InvoiceStatus.OPEN
            closed = [
                t for t in tickets if t.status == Status.CLOSED and t.pk in invoice.ticket_ids
            ]
            move_tickets(closed, Status.INVOICED, by=by, note=f"Payment on {invoice.number} voided")
        invoice._history_user = by
        invoice.save(update_fields=["amount_paid", "status", "updated_at"])

    remittance.voided_at = timezone.now()
    remittance.voided_by = by
    remittance.void_reason = reason
    remittance.save(update_fields=["voided_at", "voided_by", "void_reason"])
    remittance.already_voided = False
    return remittance


@transaction.atomic
def write_off_invoice(*, invoice: Invoice, reason: str, by) -> InvoiceWriteOff:
    """Write off what an open invoice still owes: an InvoiceWriteOff row for the balance,
    the invoice settled as Written off (its `written_off` figure, never `amount_paid`),
    and its tickets Closed. Refused for an invoice that is not open."""
    reason = _reason(reason, "Say why the balance is being written off.")
    invoice = _lock_invoice(invoice.pk)
    if invoice.status != InvoiceStatus.OPEN:
        state = InvoiceStatus(invoice.status).label.lower()
        raise CorrectionRefused(
            f"{invoice.number} is {state}; only an open invoice can be written off."
        )
    amount = invoice.balance
    if amount <= 0:
        raise CorrectionRefused(f"{invoice.number} has nothing due to write off.")
    tickets = _lock_tickets(invoice)
    write_off = InvoiceWriteOff.objects.create(
        invoice=invoice, amount=amount, reason=reason, created_by=by
    )
    invoiced = [t for t in tickets if t.status == Status.INVOICED]
    move_tickets(
        invoiced, Status.CLOSED, by=by, note=f"{invoice.number} written off", written_off=True
    )
    invoice.written_off = amount
    invoice.status = InvoiceStatus.WRITTEN_OFF
    invoice._history_user = by
    invoice.save(update_fields=["written_off", "status", "updated_at"])
    return write_off


@transaction.atomic
def void_write_off(*, write_off: InvoiceWriteOff, reason: str, by) -> InvoiceWriteOff:
    """Undo a write-off: the row stays, marked voided with who, when and why; the invoice
    owes its balance again (Open) and its tickets go back to Invoiced. A second void
    records nothing (`already_voided = True`)."""
    reason = _reason(reason, "Say why the write-off is being voided.")
    invoice = _lock_invoice(write_off.invoice_id)
    write_off = InvoiceWriteOff.objects.select_for_update(of=("self",)).get(pk=write_off.pk)
    if write_off.is_voided:
        write_off.already_voided = True
        return write_off
    tickets = _lock_tickets(invoice)
    closed = [t for t in tickets if t.status == Status.CLOSED]
    move_tickets(closed, Status.INVOICED, by=by, note=f"Write-off of {invoice.number} voided")
    invoice.written_off -= write_off.amount
    invoice.status = InvoiceStatus.OPEN
    invoice._history_user = by
    invoice.save(update_fields=["written_off", "status", "updated_at"])
    write_off.voided_at = timezone.now()
    write_off.voided_by = by
    write_off.void_reason = reason
    write_off.save(update_fields=["voided_at", "voided_by", "void_reason"])
    write_off.already_voided = False
    return write_off
