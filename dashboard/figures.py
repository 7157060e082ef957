"""Figures for the dashboard, each read with one query."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from billing_runs.queries import due_payer_count
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
    return InvoiceFigures(**Invoice.objects.figures())


def payers_due_for_billing(today: date | None = None) -> int:
    """Payers a billing run would list today (billing_runs.queries)."""
    return due_payer_count(today or timezone.localdate())
