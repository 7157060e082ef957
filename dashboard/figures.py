"""Figures for the dashboard, each read with one query."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from core.money import ZERO
from invoicing.models import Invoice
from tickets.models import Ticket
from tickets.transitions import Status


@dataclass(frozen=True)
class InvoiceFigures:
    open_count: int
    open_balance: Decimal
    overdue_count: int
    overdue_balance: Decimal


def open_tickets_by_status() -> list[tuple[str, str, int]]:
    """(status, label, count) for each open status that has tickets, in workflow order."""
    counts = dict(Ticket.objects.open().values_list("status").annotate(n=Count("id")).order_by())
    return [(s.value, s.label, counts[s.value]) for s in Status if counts.get(s.value)]


def waiting_for_payment() -> tuple[int, Decimal]:
    row = Ticket.objects.waiting_for_payment().aggregate(n=Count("id"), due=Sum("balance_due"))
    return row["n"], row["due"] or ZERO


def invoice_figures() -> InvoiceFigures:
    today = timezone.localdate()
    overdue = Q(due_date__lt=today)
    row = Invoice.objects.unpaid().aggregate(
        open_count=Count("id"),
        open_total=Sum("total"),
        open_paid=Sum("amount_paid"),
        overdue_count=Count("id", filter=overdue),
        overdue_total=Sum("total", filter=overdue),
        overdue_paid=Sum("amount_paid", filter=overdue),
    )
    return InvoiceFigures(
        open_count=row["open_count"],
        open_balance=(row["open_total"] or ZERO) - (row["open_paid"] or ZERO),
        overdue_count=row["overdue_count"],
        overdue_balance=(row["overdue_total"] or ZERO) - (row["overdue_paid"] or ZERO),
    )
