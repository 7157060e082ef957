"""Figures for the dashboard, each read with one query."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils import timezone

from billing_runs.queries import due_payer_count
from core.money import ZERO
from invoicing.models import Invoice
from tickets.tallies import Tallies, read_tallies
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
    # What the figures were read from, so the view can fold a long ledger.
    ledger: Tallies


def open_tickets() -> OpenTickets:
    """The open tickets per status and what the Waiting for Payment ones still owe, from the
    stored tallies (tickets.tallies): one query over a ledger that folding keeps short,
    whatever the number of tickets. `ledger` says whether the view should fold it."""
    tallies = read_tallies()
    found = {status: figures for status, figures in tallies.by_status.items() if figures[0]}
    waiting_count, waiting_due = found.get(Status.WAITING_FOR_PAYMENT, (0, ZERO))
    return OpenTickets(
        by_status=[(s.value, s.label, found[s.value][0]) for s in Status if s.value in found],
        waiting_count=waiting_count,
        waiting_due=waiting_due or ZERO,
        ledger=tallies,
    )


def invoice_figures() -> InvoiceFigures:
    return InvoiceFigures(**Invoice.objects.figures())


def payers_due_for_billing(today: date | None = None) -> int:
    """Payers a billing run would list today (billing_runs.queries)."""
    return due_payer_count(today or timezone.localdate())
