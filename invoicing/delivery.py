"""Queuing emails to payers: the invoice, an overdue reminder, a retry of a failed send.

Each service writes an EmailDelivery row (what the invoice page shows: queued, sent,
failed with the error) and hands it to the worker (invoicing.tasks); nothing is sent
inside the request. Asking again while an email of the same kind is still queued does
nothing the second time: the services look under a row lock, and partial unique indexes
back them up.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks.base import Task

from core.errors import DomainError
from invoicing.models import DeliveryKind, DeliveryStatus, EmailDelivery, Invoice, InvoiceStatus
from invoicing.reminders import clerk_reminder_level
from invoicing.services import NoEmailAddress
from invoicing.tasks import enqueue_delivery, reminder_refusal, reminder_wording, send_invoice_email

# A queued email this long past its due time is taken as lost (a worker stopped in the
# middle): the clerk may send it again. A second send of a live one finds it sent.
STUCK_AFTER = timedelta(minutes=15)


class DeliveryRefused(DomainError):
    """The email cannot be queued: a deleted invoice, a paid one (reminders), a payer
    excluded from reminders, or a retry of an email that did not fail."""


def _user(by):
    return by if getattr(by, "pk", None) else None


def _lock_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update(of=("self",)).with_account().get(pk=invoice.pk)


def _address(invoice: Invoice, what: str) -> str:
    address = invoice.account.email
    if not address:
        raise NoEmailAddress(f"{invoice.account.name} has no email address; add one to {what}.")
    return address


def _queued(delivery: EmailDelivery, *, already: bool) -> EmailDelivery:
    # The views word their message by it: "queued" or "already queued".
    delivery.already_queued = already
    return delivery


@transaction.atomic
def queue_invoice_email(*, invoice: Invoice, by) -> EmailDelivery:
    """Queue the invoice email (PDF attached) to the payer's address. While one is still
    queued, that one is returned (`already_queued = True`) and nothing new is written.
    Refused for a deleted invoice (DeliveryRefused) and a payer without email
    (NoEmailAddress)."""
    invoice = _lock_invoice(invoice)
    if invoice.status == InvoiceStatus.DELETED:
        raise DeliveryRefused(f"{invoice.number} is deleted and cannot be sent.")
    address = _address(invoice, "send the invoice")
    existing = invoice.deliveries.filter(
        kind=DeliveryKind.INVOICE, status=DeliveryStatus.QUEUED
    ).first()
    if existing is not None:
        return _queued(existing, already=True)
    delivery = EmailDelivery.objects.create(
        account=invoice.account,
        invoice=invoice,
        kind=DeliveryKind.INVOICE,
        to_address=address,
        requested_by=_user(by),
    )
    enqueue_delivery(delivery, send_invoice_email)
    return _queued(delivery, already=False)


@transaction.atomic
def queue_reminder(
    *, invoice: Invoice, level: int, by=None, scheduled: bool = False, today: date | None = None
) -> EmailDelivery | None:
    """Queue overdue reminder `level` (1-based, settings.REMINDER_LEVELS) for the invoice.

    Refused (DeliveryRefused) unless the invoice is open with a balance, past due, and its
    payer is not excluded from reminders; NoEmailAddress without an address. A clerk's
    reminder while the same level is queued returns that one (`already_queued`).

    `scheduled=True` is the daily job: each level goes out once per invoice, whoever runs
    the job on whichever machine. It returns None when that level (or a higher one) was
    queued by the job before, relying in the end on the unique index
    delivery_one_scheduled_reminder_per_level.
    """
    invoice = _lock_invoice(invoice)
    refusal = reminder_refusal(invoice)
    if refusal:
        raise DeliveryRefused(refusal)
    if reminder_wording(level) is None:
        raise DeliveryRefused(f"There is no reminder level {level}.")
    if invoice.due_date >= (today or timezone.localdate()):
        raise DeliveryRefused(
            f"{invoice.number} is not past due (due {invoice.due_date:%Y-%m-%d}); "
            "reminders are for overdue invoices."
        )
    address = _address(invoice, "send a reminder")
    reminders = invoice.deliveries.filter(kind=DeliveryKind.REMINDER)
    if scheduled and reminders.filter(scheduled=True, reminder_level__gte=level).exists():
        return None
    existing = reminders.filter(status=DeliveryStatus.QUEUED, reminder_level=level).first()
    if existing is not None:
        return None if scheduled else _queued(existing, already=True)
    try:
        with transaction.atomic():
            delivery = EmailDelivery.objects.create(
                account=invoice.account,
                invoice=invoice,
                kind=DeliveryKind.REMINDER,
                reminder_level=level,
                scheduled=scheduled,
                to_address=address,
                requested_by=_user(by),
            )
    except IntegrityError:
        # Another run queued this level between our look and our insert.
        if scheduled:
            return None
        raise
    enqueue_delivery(delivery, send_invoice_email)
    return _queued(delivery, already=False)


def is_stuck(delivery: EmailDelivery, now: datetime | None = None) -> bool:
    """A queued email that should have gone out STUCK_AFTER ago."""
    now = now or timezone.now()
    due = delivery.next_attempt_at or delivery.queued_at
    return delivery.status == DeliveryStatus.QUEUED and due < now - STUCK_AFTER


def can_retry(delivery: EmailDelivery, now: datetime | None = None) -> bool:
    """Whether a clerk may send the email again: it failed, or it is stuck (is_stuck)."""
    return delivery.status == DeliveryStatus.FAILED or is_stuck(delivery, now)


@transaction.atomic
def retry_delivery(
    *, delivery: EmailDelivery, by, task: Task = send_invoice_email
) -> EmailDelivery:
    """Send a failed email again (or one queued long ago that never went out, see
    STUCK_AFTER): the row is queued again and its attempts go on counting. `task` sends
    it (the statements app passes its own). Refused for any other email, and while
    another email of the same kind is queued for the invoice (or statement period)."""
    delivery = (
        EmailDelivery.objects.select_for_update(of=("self",))
        .select_related("invoice", "account__billing_agent", "account__customer")
        .get(pk=delivery.pk)
    )
    if delivery.kind == DeliveryKind.STATEMENT and task is send_invoice_email:
        raise ValueError("Statements are sent again by statements.services.retry_statement_email.")
    if not can_retry(delivery):
        state = DeliveryStatus(delivery.status).label.lower()
        raise DeliveryRefused(f"This email is {state}; only a failed one can be sent again.")
    if delivery.kind == DeliveryKind.STATEMENT:
        same = Q(period_start=delivery.period_start, period_end=delivery.period_end)
        others = EmailDelivery.objects.filter(same, account=delivery.account, kind=delivery.kind)
    else:
        others = EmailDelivery.objects.filter(
            invoice=delivery.invoice, kind=delivery.kind, reminder_level=delivery.reminder_level
        )
    if others.filter(status=DeliveryStatus.QUEUED).exclude(pk=delivery.pk).exists():
        raise DeliveryRefused("Another copy of this email is queued already; it goes out soon.")
    delivery.status = DeliveryStatus.QUEUED
    # Due now: what STUCK_AFTER counts from (queued_at is the first request's time).
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "next_attempt_at"])
    enqueue_delivery(delivery, task)
    return _queued(delivery, already=False)


# --- what the invoice page shows -------------------------------------------------------


@dataclass(frozen=True)
class InvoiceEmails:
    """The invoice page's Emails section: every delivery (newest first) and what the clerk
    may do now. `reminder_level` is the level "Send reminder" queues (0: not offered)."""

    invoice: Invoice
    deliveries: list[EmailDelivery]
    can_email: bool
    reminder_level: int
    # Why "Send reminder" is not offered on an overdue invoice ("" otherwise).
    no_reminder: str
    # Something is on its way: the section refreshes itself until it is sent.
    waiting: bool


def invoice_emails(invoice: Invoice, today: date | None = None) -> InvoiceEmails:
    """The deliveries of the invoice and the actions allowed now, in one query."""
    today = today or timezone.localdate()
    now = timezone.now()
    deliveries = list(
        invoice.deliveries.select_related("requested_by").order_by("-queued_at", "-id")
    )
    for delivery in deliveries:
        delivery.retryable = can_retry(delivery, now)
    has_email = bool(invoice.account.email)
    level = clerk_reminder_level(invoice, today)
    no_reminder = ""
    if level and not has_email:
        no_reminder = f"{invoice.account.name} has no email address."
    elif level and reminder_refusal(invoice):
        no_reminder = reminder_refusal(invoice)
    return InvoiceEmails(
        invoice=invoice,
        deliveries=deliveries,
        can_email=invoice.is_live and has_email,
        reminder_level=level if has_email and not no_reminder else 0,
        no_reminder=no_reminder,
        waiting=any(d.status == DeliveryStatus.QUEUED and not is_stuck(d, now) for d in deliveries),
    )
