"""Emailing a statement of account to the payer: queued, and sent by the worker."""

from django.db import transaction
from django.utils import timezone

from invoicing.delivery import can_retry, retry_delivery
from invoicing.models import Account, DeliveryKind, DeliveryStatus, EmailDelivery
from invoicing.services import NoEmailAddress
from invoicing.tasks import enqueue_delivery
from statements.statements import Statement
from statements.tasks import send_statement_email


@transaction.atomic
def queue_statement_email(*, statement: Statement, by) -> EmailDelivery:
    """Queue the statement (PDF attached) to the payer's address; the worker rebuilds it
    from the account and the period, so it shows the account as it stands when it goes.

    While the same period's statement is still queued for the account, that one is
    returned (`already_queued = True`) and nothing new is written. Raises NoEmailAddress
    when the payer has none.
    """
    shown = statement.account
    if not shown.email:
        raise NoEmailAddress(f"{shown.name} has no email address; add one to email the statement.")
    # A payer never invoiced gets its account now; its row lock serialises two clerks
    # emailing the same statement.
    saved = shown if shown.pk else Account.objects.for_payer(shown.payer)
    account = (
        Account.objects.select_for_update(of=("self",))
        .select_related("billing_agent", "customer")
        .get(pk=saved.pk)
    )
    address = account.email
    period = {"period_start": statement.start, "period_end": statement.end}
    existing = account.deliveries.filter(
        kind=DeliveryKind.STATEMENT, status=DeliveryStatus.QUEUED, **period
    ).first()
    if existing is not None:
        existing.already_queued = True
        return existing
    delivery = EmailDelivery.objects.create(
        account=account,
        kind=DeliveryKind.STATEMENT,
        to_address=address,
        requested_by=by if getattr(by, "pk", None) else None,
        **period,
    )
    enqueue_delivery(delivery, send_statement_email)
    delivery.already_queued = False
    return delivery


def retry_statement_email(*, delivery: EmailDelivery, by) -> EmailDelivery:
    """Send a failed statement email again (invoicing.delivery.retry_delivery's rules)."""
    return retry_delivery(delivery=delivery, by=by, task=send_statement_email)


STATEMENT_EMAILS_SHOWN = 10


def statement_emails(account: Account) -> list[EmailDelivery]:
    """The account's latest statement emails, newest first, each marked `retryable`."""
    if account.pk is None:  # a payer never invoiced nor emailed has no account row yet
        return []
    now = timezone.now()
    deliveries = list(
        EmailDelivery.objects.filter(account=account, kind=DeliveryKind.STATEMENT)
        .select_related("requested_by")
        .order_by("-queued_at", "-id")[:STATEMENT_EMAILS_SHOWN]
    )
    for delivery in deliveries:
        delivery.retryable = can_retry(delivery, now)
    return deliveries
