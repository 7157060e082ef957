"""Figures for the dashboard, each read with one query."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
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


@dataclass(frozen=True)
class OpenTickets:
    # (status, label, count) for each open status that has tickets, in workflow order.
    by_status: list[tuple[str, str, int]]
    waiting_count: int
    waiting_due: Decimal


def open_ticket_rows() -> QuerySet:
    """(status, count, balance due) per open status. COUNT(*), not COUNT(id): the id is not
    in the open-ticket index, and reading it would cost a heap visit per ticket."""
    return (
        Ticket.objects.open()
        .values_list("status")
        .annotate(n=Count("*"), due=Sum("balance_due"))
        .order_by()
    )


def open_tickets() -> OpenTickets:
    """The open tickets per status and what the Waiting for Payment ones still owe, in one
    query: an index-only scan of the open-ticket index (tickets migration 0009), which
    holds status and balance_due of open tickets only."""
    found = {status: (n, due) for status, n, due in open_ticket_rows()}
    waiting_count, waiting_due = found.get(Status.WAITING_FOR_PAYMENT, (0, ZERO))
    return OpenTickets(
        by_status=[(s.value, s.label, found[s.value][0]) for s in Status if s.value in found],
        waiting_count=waiting_count,
        waiting_due=waiting_due or ZERO,
    )


def invoice_figures() -> InvoiceFigures:
    return InvoiceFigures(**Invoice.objects.figures())


def payers_due_for_billing(today: date | None = None) -> int:
    """Payers a billing run would list today (billing_runs.queries)."""
    return due_payer_count(today or timezone.localdate())
