"""Overdue reminders (dunning): which reminder each overdue invoice is due for.

settings.REMINDER_LEVELS lists the levels in order, each with the days past due it waits
for (7, 30, 60 by default). An invoice is due for the highest level it has reached, once:
not when the daily job (or a clerk) already sent that level or a higher one. Only open
invoices with a balance and an email address to send to get reminders, and not those of
a billing agent excluded from them (BillingAgent.send_reminders); customers billed
directly always get them.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db.models import IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Trim

from invoicing.models import (
    BALANCE,
    DeliveryKind,
    DeliveryStatus,
    EmailDelivery,
    Invoice,
    InvoiceStatus,
)


def level_reached(days_past_due: int) -> int:
    """The highest reminder level (1-based) whose days have passed; 0 for none."""
    reached = 0
    for level, entry in enumerate(settings.REMINDER_LEVELS, 1):
        if days_past_due >= entry["days"]:
            reached = level
    return reached


def clerk_reminder_level(invoice: Invoice, today: date) -> int:
    """The level a clerk's "Send reminder" sends: the level reached, or the first one for
    an invoice past due that has not reached it yet; 0 when it is not past due (or not
    open)."""
    if (
        invoice.status != InvoiceStatus.OPEN
        or invoice.due_date >= today
        or not settings.REMINDER_LEVELS
    ):
        return 0
    return max(level_reached((today - invoice.due_date).days), 1)


def _levels_sent() -> Coalesce:
    """The highest reminder level already sent or on its way for the outer invoice: any
    the job queued (whatever became of it: each level goes out once), and a clerk's that
    did not fail."""
    reminders = (
        EmailDelivery.objects.filter(invoice=OuterRef("pk"), kind=DeliveryKind.REMINDER)
        .filter(Q(scheduled=True) | Q(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENT]))
        .order_by()
        .values("invoice")
        .annotate(top=Max("reminder_level"))
        .values("top")
    )
    return Coalesce(Subquery(reminders, output_field=IntegerField()), Value(0))


def due_reminders(today: date) -> list[tuple[Invoice, int]]:
    """Each invoice due for a reminder on `today` and the level to send, oldest due date
    first, in one query."""
    if not settings.REMINDER_LEVELS:
        return []
    first_days = min(entry["days"] for entry in settings.REMINDER_LEVELS)
    has_email = ~Q(agent_email="") | ~Q(customer_email="")
    invoices = (
        Invoice.objects.unpaid()
        .with_account()
        .filter(due_date__lte=today - timedelta(days=first_days))
        .exclude(account__billing_agent__send_reminders=False)
        .annotate(
            open_balance=BALANCE,
            level_sent=_levels_sent(),
            agent_email=Coalesce(Trim("account__billing_agent__email"), Value("")),
            customer_email=Coalesce(Trim("account__customer__email"), Value("")),
        )
        .filter(has_email, open_balance__gt=0)
        .order_by("due_date", "pk")
    )
    due = []
    for invoice in invoices:
        level = level_reached((today - invoice.due_date).days)
        if level > invoice.level_sent:
            due.append((invoice, level))
    return due
