"""Credit hold: a billing agent whose oldest open invoice is too far past its due date.

An agent is on hold while its account has an open invoice (status open, something still
owed) more than N days past due, where N is the agent's own `credit_hold_days` or else
the shop's `CREDIT_HOLD_DAYS` setting: days past due = today - due date, on hold when that
is more than N (61 days past due is on hold with N = 60; 60 is not). Nothing is stored: the
hold is read from the invoices each time, so it lifts by itself once that invoice is paid,
written off or deleted. Ticket.transition_to refuses a move to Waiting for Payment while the
ticket's agent is on hold, unless a manager overrides it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing_agents.models import BillingAgent

# The agent's invoices through its receivables account (invoicing.Account.billing_agent,
# related_name "account"): string lookups, because tickets may not import invoicing.
_INVOICE = "account__invoices"
_OPEN = "open"  # invoicing.models.InvoiceStatus.OPEN: what InvoiceQuerySet.unpaid() keeps
# The annotations credit_hold_annotations() adds and mark_holds() reads.
INVOICE_ID = "credit_hold_invoice_id"
DUE_DATE = "credit_hold_due_date"
HOLD_AFTER = "credit_hold_after_days"


@dataclass(frozen=True)
class CreditHold:
    """Why an agent is on hold: its oldest open invoice and how late it is."""

    invoice_id: int
    due_date: date
    days_past_due: int
    hold_after_days: int

    @property
    def invoice_number(self) -> str:
        """As invoicing.models.Invoice.number shows it ("INV-000012")."""
        return f"INV-{self.invoice_id:06d}"

    @property
    def reason(self) -> str:
        """One line for a badge's tooltip."""
        return (
            f"{self.invoice_number} is {self.days_past_due} days past due "
            f"(due {self.due_date:%Y-%m-%d}; the hold starts after {self.hold_after_days} days)."
        )

    def message(self, agent: BillingAgent) -> str:
        """The refusal a clerk reads when a move is refused."""
        return (
            f"{agent} is on credit hold: {self.invoice_number} is {self.days_past_due} days "
            "past due. A manager can override."
        )


def hold_after_days(agent: BillingAgent) -> int:
    """The days past due after which `agent` goes on hold: its own, else the shop's."""
    if agent.credit_hold_days is not None:
        return agent.credit_hold_days
    return settings.CREDIT_HOLD_DAYS


def _overdue_invoices(due_before: date) -> dict:
    """Filter (on BillingAgent) for its open invoices due before `due_before`, in one join."""
    return {
        f"{_INVOICE}__status": _OPEN,
        f"{_INVOICE}__due_date__lt": due_before,
        # Something is still owed: the invoice's BALANCE (total - paid - written off) > 0.
        f"{_INVOICE}__total__gt": F(f"{_INVOICE}__amount_paid") + F(f"{_INVOICE}__written_off"),
    }


def _hold(
    invoice_id: int | None, due_date: date | None, after: int, today: date
) -> CreditHold | None:
    if invoice_id is None or due_date is None:
        return None
    days = (today - due_date).days
    if days <= after:
        return None
    return CreditHold(
        invoice_id=invoice_id, due_date=due_date, days_past_due=days, hold_after_days=after
    )


def hold_for(agent: BillingAgent | None, today: date | None = None) -> CreditHold | None:
    """The agent's credit hold on `today` (default: the shop's today), or None; one query.

    The oldest open invoice decides (earliest due date, then lowest number): if any invoice
    is past the hold's days, that one is.
    """
    if agent is None or agent.pk is None:
        return None
    today = today or timezone.localdate()
    after = hold_after_days(agent)
    oldest = (
        BillingAgent.objects.filter(pk=agent.pk, **_overdue_invoices(today - timedelta(days=after)))
        .order_by(f"{_INVOICE}__due_date", f"{_INVOICE}__id")
        .values_list(f"{_INVOICE}__id", f"{_INVOICE}__due_date")
        .first()
    )
    if oldest is None:
        return None
    return _hold(*oldest, after, today)


def credit_hold_annotations(today: date | None = None) -> dict[str, models.Expression]:
    """For BillingAgent querysets, `.annotate(**credit_hold_annotations())`: each agent's
    oldest past-due open invoice and the days after which it goes on hold, which
    mark_holds() turns into `credit_hold`.

    Correlated subqueries, so a page of agents stays one query whatever its length.
    """
    today = today or timezone.localdate()
    oldest = BillingAgent.objects.filter(pk=OuterRef("pk"), **_overdue_invoices(today)).order_by(
        f"{_INVOICE}__due_date", f"{_INVOICE}__id"
    )
    return {
        INVOICE_ID: Subquery(oldest.values(f"{_INVOICE}__id")[:1]),
        DUE_DATE: Subquery(oldest.values(f"{_INVOICE}__due_date")[:1]),
        HOLD_AFTER: Coalesce(
            F("credit_hold_days"),
            Value(settings.CREDIT_HOLD_DAYS),
            output_field=models.IntegerField(),
        ),
    }


def mark_holds(agents: Iterable[BillingAgent], today: date | None = None) -> list[BillingAgent]:
    """Set `credit_hold` (a CreditHold, or None) on each agent from the annotations of
    credit_hold_annotations(), with no further query; the agents, as a list."""
    today = today or timezone.localdate()
    agents = list(agents)
    for agent in agents:
        agent.credit_hold = _hold(
            getattr(agent, INVOICE_ID), getattr(agent, DUE_DATE), getattr(agent, HOLD_AFTER), today
        )
    return agents
