"""The worker side of email delivery: django-tasks tasks that send one EmailDelivery each.

`run_delivery` is the one runner every kind of email goes through (the statements app has
its own task that passes its own message builder, so no layer imports upward): it locks
the delivery row, sends only a queued one, and records the outcome on the row: sent;
refused by the mail server (retried after settings.EMAIL_RETRY_DELAYS, then failed); or
cancelled when the email should no longer go out (a reminder for an invoice paid since).

The row lock is held while the message is sent, so a second task for the same delivery
(a clerk's retry of one that looked stuck) waits and then finds it sent: never two emails.
"""

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tasks import task
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend

from invoicing.documents import document_pdf, invoice_document
from invoicing.models import DeliveryKind, DeliveryStatus, EmailDelivery, Invoice, InvoiceStatus

logger = logging.getLogger(__name__)

# How much of a mail server's error the invoice page keeps.
ERROR_LENGTH = 500
# Seconds to wait on the mail server when settings.EMAIL_TIMEOUT is not set.
SEND_TIMEOUT = 30


class DeliveryCancelled(Exception):
    """A message builder's answer when the email should no longer go out; the text says why."""


MessageBuilder = Callable[[EmailDelivery], EmailMultiAlternatives]


def enqueue_delivery(delivery: EmailDelivery, task_: Task, *, run_after: datetime | None = None):
    """Hand the delivery to the worker. On the database backend the task row is written
    in the caller's transaction, so it commits (or rolls back) with the delivery row; on
    any other backend (the immediate one of the tests) it is enqueued once the
    transaction commits, so nothing goes out for a change that was rolled back."""
    if isinstance(task_.get_backend(), DatabaseBackend):
        (task_.using(run_after=run_after) if run_after else task_).enqueue(delivery.pk)
        return
    # The immediate backend cannot defer: a retry runs at once.
    transaction.on_commit(lambda: task_.enqueue(delivery.pk), robust=True)


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text[:ERROR_LENGTH]


def _send_timeout() -> float:
    """Seconds before a silent mail server counts as refusing (the row stays locked meanwhile)."""
    return getattr(settings, "EMAIL_TIMEOUT", None) or SEND_TIMEOUT


def _finish(delivery: EmailDelivery, status: str, why: str) -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.last_error = why[:ERROR_LENGTH]
    delivery.save()


def _record_sent(delivery: EmailDelivery, now: datetime) -> None:
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = now
    delivery.next_attempt_at = None
    delivery.last_error = ""
    if delivery.kind == DeliveryKind.INVOICE:
        # Read again under its lock, briefly: the history row copies every column.
        invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=delivery.invoice_id)
        invoice.sent_at = now
        invoice.sent_to = delivery.to_address
        # The invoice's history names the clerk who asked for the email.
        invoice._history_user = delivery.requested_by
        invoice.save(update_fields=["sent_at", "sent_to", "updated_at"])


def _record_refused(delivery: EmailDelivery, error: BaseException, now: datetime, task_: Task):
    delivery.last_error = _error_text(error)
    delays = settings.EMAIL_RETRY_DELAYS
    if delivery.attempts <= len(delays):
        delivery.next_attempt_at = now + timedelta(seconds=delays[delivery.attempts - 1])
        enqueue_delivery(delivery, task_, run_after=delivery.next_attempt_at)
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None


def run_delivery(delivery_id: int, build_message: MessageBuilder, *, task_: Task) -> str:
    """Send one queued delivery with the message `build_message` makes for it, and record
    the outcome on the row; `task_` is the task that re-runs it after a refusal. Returns
    what happened, for the task's result ("sent", "retry", "failed", "cancelled" or why
    nothing was done)."""
    with transaction.atomic():
        delivery = (
            EmailDelivery.objects.select_for_update(of=("self",))
            .select_related("account__billing_agent", "account__customer", "requested_by")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "missing"
        if delivery.status != DeliveryStatus.QUEUED:
            return f"skipped: {delivery.status}"
        if delivery.invoice_id is not None:
            # Read, not locked: a payment never waits on a slow mail server.
            delivery.invoice = Invoice.objects.with_account().get(pk=delivery.invoice_id)
        try:
            message = build_message(delivery)
        except DeliveryCancelled as why:
            _finish(delivery, DeliveryStatus.CANCELLED, str(why))
            logger.info("Delivery %s cancelled: %s", delivery.pk, why)
            return "cancelled"
        except Exception as error:
            # A document that cannot be made is no mail-server hiccup: failed, retry by hand.
            logger.exception("Delivery %s: the message could not be made", delivery.pk)
            _finish(delivery, DeliveryStatus.FAILED, _error_text(error))
            return "failed"
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        message.connection = get_connection(timeout=_send_timeout())
        try:
            message.send()
        except (smtplib.SMTPException, OSError) as error:
            _record_refused(delivery, error, now, task_)
            delivery.save()
            logger.warning(
                "Delivery %s refused (attempt %s): %s", delivery.pk, delivery.attempts, error
            )
            return "retry" if delivery.status == DeliveryStatus.QUEUED else "failed"
        _record_sent(delivery, now)
        delivery.save()
        return "sent"


# --- invoice and reminder messages -----------------------------------------------------


def _message(
    *, subject: str, template: str, context: dict, delivery: EmailDelivery
) -> EmailMultiAlternatives:
    letterhead = context["letterhead"]
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[delivery.to_address],
        reply_to=[letterhead.email] if letterhead.email else None,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


def reminder_wording(level: int) -> dict | None:
    """Level n's entry of settings.REMINDER_LEVELS (1-based), or None when there is none."""
    levels = settings.REMINDER_LEVELS
    return levels[level - 1] if 1 <= level <= len(levels) else None


def reminder_refusal(invoice: Invoice) -> str:
    """Why no reminder goes out for this invoice now ("" when one may)."""
    if invoice.status != InvoiceStatus.OPEN or invoice.balance <= 0:
        state = InvoiceStatus(invoice.status).label.lower()
        return f"{invoice.number} is {state}; only an open invoice with a balance gets reminders."
    agent = invoice.account.billing_agent
    if agent is not None and not agent.send_reminders:
        return f"{agent.company_name} is excluded from overdue reminders."
    return ""


def _reminder(delivery: EmailDelivery, invoice: Invoice) -> tuple[str, dict]:
    """A reminder's subject and what its templates add to the invoice's context, or
    DeliveryCancelled when the invoice no longer gets one."""
    refusal = reminder_refusal(invoice)
    if refusal:
        raise DeliveryCancelled(refusal)
    wording = reminder_wording(delivery.reminder_level)
    if wording is None:
        raise DeliveryCancelled(f"There is no reminder level {delivery.reminder_level}.")
    extra = {
        "level": delivery.reminder_level,
        "wording": wording["message"].format(number=invoice.number),
        "days_past_due": max((timezone.localdate() - invoice.due_date).days, 0),
    }
    return wording["subject"].format(number=invoice.number), extra


def build_invoice_message(delivery: EmailDelivery) -> EmailMultiAlternatives:
    """The invoice email or an overdue reminder, with the invoice's PDF attached; both
    render the invoice document (invoicing.documents), the snapshot the invoice bills."""
    invoice = delivery.invoice
    if invoice.status == InvoiceStatus.DELETED:
        raise DeliveryCancelled(f"{invoice.number} was deleted before the email went out.")
    subject, extra, template = "", {}, "invoicing/email/invoice"
    if delivery.kind == DeliveryKind.REMINDER:
        subject, extra = _reminder(delivery, invoice)
        template = "invoicing/email/reminder"
    document = invoice_document(invoice)
    context = document.context() | extra
    subject = subject or f"{document.letterhead.name}: invoice {invoice.number}"
    message = _message(subject=subject, template=template, context=context, delivery=delivery)
    message.attach(document.filename, document_pdf(document), "application/pdf")
    return message


@task()
def send_invoice_email(delivery_id: int) -> str:
    """Send an invoice email or an overdue reminder (EmailDelivery `delivery_id`)."""
    return run_delivery(delivery_id, build_invoice_message, task_=send_invoice_email)
