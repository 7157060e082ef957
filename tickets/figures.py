"""Figures about billing agents and customers that are read from their tickets.

They live here, in the lowest layer that knows agents, customers and tickets, so that
billing_agents and customers never import tickets (DESIGN: Layout). Each is a chainable
QuerySet subclass of the lower app's own, as invoicing.models.InvoiceableTicketQuerySet
extends TicketQuerySet: every filter and sort of the lower app still chains.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import F, Func, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing_agents.models import BillingAgent, BillingAgentQuerySet
from core.money import ZERO, to_cents
from customers.models import Customer, CustomerQuerySet
from tickets.models import Ticket, fresh_agent_figures, fresh_status_tallies
from tickets.tallies import status_tallies

MONEY = models.DecimalField(max_digits=14, decimal_places=2)


def _aggregate_subquery(
    queryset: models.QuerySet, function: str, field: str, output_field: models.Field
) -> Subquery:
    """`SELECT function(field) FROM queryset` as a scalar subquery.

    A plain aggregate without GROUP BY (Func is not an ORM aggregate, so Django adds no
    grouping): one row whatever the filter, cheaper than GROUP BY ... LIMIT 1.
    """
    value = Func(F(field), function=function, output_field=output_field)
    return Subquery(queryset.order_by().annotate(v=value).values("v"), output_field=output_field)


class BillingAgentFiguresQuerySet(BillingAgentQuerySet):
    """Billing agents with the manage page's figures; BillingAgentQuerySet's methods chain."""

    def with_figures(self) -> "BillingAgentFiguresQuerySet":
        """Annotate customer_count and last_ticket_at; open_ticket_count and open_balance are
        the agent's stored columns (tickets.models.refresh_agent_figures keeps them).

        Each annotation is its own correlated subquery, so counting customers never
        multiplies ticket rows, and a page of agents is one query.
        """
        agent = OuterRef("pk")
        count = models.IntegerField()
        customers = Customer.objects.filter(billing_agent_id=agent)
        last_ticket = (
            Ticket.objects.filter(billing_agent_id=agent)
            .order_by("-created_at")
            .values("created_at")[:1]
        )
        return self.annotate(
            customer_count=_aggregate_subquery(customers, "COUNT", "pk", count),
            last_ticket_at=Subquery(last_ticket, output_field=models.DateTimeField()),
        )


def agents_with_figures() -> BillingAgentFiguresQuerySet:
    """All billing agents with their figures (with_figures()), ready to filter and sort."""
    return BillingAgentFiguresQuerySet(model=BillingAgent).with_figures()


@dataclass(frozen=True)
class FigureDrift:
    """An agent whose stored open figures differ from a fresh computation."""

    agent_id: int
    company_name: str
    stored_balance: Decimal
    stored_count: int
    fresh_balance: Decimal
    fresh_count: int


def agent_figure_drift() -> list[FigureDrift]:
    """Every agent whose stored open balance or open-ticket count differs from a fresh
    computation (tickets.models.fresh_agent_figures), in id order: one query."""
    fresh = {f"fresh_{name}": value for name, value in fresh_agent_figures().items()}
    rows = (
        BillingAgent.objects.annotate(**fresh)
        .order_by("pk")
        .values_list(
            "pk",
            "company_name",
            "open_balance",
            "open_ticket_count",
            "fresh_open_balance",
            "fresh_open_ticket_count",
        )
    )
    drift = []
    for pk, name, balance, count, fresh_balance, fresh_count in rows.iterator(chunk_size=2000):
        # SQLite sums decimals as floats: compare in cents.
        balance, fresh_balance = to_cents(Decimal(balance)), to_cents(Decimal(fresh_balance))
        if balance != fresh_balance or count != fresh_count:
            drift.append(FigureDrift(pk, name, balance, count, fresh_balance, fresh_count))
    return drift


@dataclass(frozen=True)
class TallyDrift:
    """An open status whose tally (tickets.tallies) differs from a fresh computation."""

    status: str
    stored_count: int
    stored_due: Decimal
    fresh_count: int
    fresh_due: Decimal


def status_tally_drift() -> list[TallyDrift]:
    """Every open status whose tallied count or balance due differs from a fresh
    computation over the open tickets (fresh_status_tallies), in status order: two
    queries. Read while writers run, a change between the two reads shows as drift."""
    stored = status_tallies()
    fresh = {status: (n, to_cents(Decimal(str(due)))) for status, n, due in fresh_status_tallies()}
    drift = []
    for status in sorted(stored.keys() | fresh.keys()):
        stored_count, stored_due = stored.get(status, (0, ZERO))
        fresh_count, fresh_due = fresh.get(status, (0, ZERO))
        if (stored_count, stored_due) != (fresh_count, fresh_due):
            drift.append(TallyDrift(status, stored_count, stored_due, fresh_count, fresh_due))
    return drift


class CustomerFiguresQuerySet(CustomerQuerySet):
    """Customers with their open balance; CustomerQuerySet's methods chain."""

    def with_open_balance(self) -> "CustomerFiguresQuerySet":
        """Annotate `open_balance`: balance due summed over the customer's open tickets.

        A correlated subquery, so it never multiplies rows with another relation.
        """
        balances = (
            Ticket.objects.open()
            .filter(customer_id=OuterRef("pk"))
            .order_by()
            .values("customer_id")
            .annotate(s=Sum("balance_due"))
            .values("s")
        )
        return self.annotate(
            open_balance=Coalesce(
                Subquery(balances, output_field=MONEY), Value(ZERO), output_field=MONEY
            )
        )


def customers_with_open_balance() -> CustomerFiguresQuerySet:
    """All customers with their open balance (with_open_balance()), ready to chain."""
    return CustomerFiguresQuerySet(model=Customer).with_open_balance()
