"""Changing a customer's billing agent, and with it (on request) its open tickets.

It lives in tickets, not customers, because it writes tickets: the lowest layer that
knows both (DESIGN: Layout). Keyword-only, one transaction with the rows it changes
locked, a DomainError subclass (customers.services.InactiveAgent) a clerk can read.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from billing_agents.models import BillingAgent
from customers.models import Customer
from customers.services import ensure_agent_choosable
from tickets.models import Ticket, TicketQuerySet, refresh_agent_figures

# Saved by save_customer from the form; the billing agent goes through change_customer_agent.
_PLAIN_FIELDS = [
    field.name
    for field in Customer._meta.concrete_fields
    if field.name not in {"id", "billing_agent", "created_at"}
]


def tickets_that_would_move(*, customer: Customer, agent: BillingAgent | None) -> TicketQuerySet:
    """The customer's tickets that change_customer_agent would move to `agent`.

    Open tickets that are not invoiced (any status but Invoiced, Closed and Cancelled)
    and are not on `agent` already.
    """
    tickets = Ticket.objects.filter(customer_id=customer.pk).editable()
    if agent is None:
        return tickets.exclude(billing_agent__isnull=True)
    return tickets.exclude(billing_agent_id=agent.pk)


@transaction.atomic
def change_customer_agent(
    *,
    customer: Customer,
    agent: BillingAgent | None,
    move_open_tickets: bool = False,
    by: AbstractBaseUser | None,
) -> int:
    """Bill `customer` through `agent` (or directly, for None); returns tickets moved.

    Only an active agent can be chosen (InactiveAgent otherwise). With
    `move_open_tickets`, the customer's open tickets that are not invoiced follow the
    customer to the new agent; without it (the default) no ticket changes. Nothing
    happens when the agent stays the same. Moved tickets keep the old agents' and the
    new agent's stored figures (refresh_agent_figures, once for all of them).
    """
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if (agent.pk if agent else None) == locked.billing_agent_id:
        return 0
    ensure_agent_choosable(agent, current_id=locked.billing_agent_id)
    locked.billing_agent = agent
    locked._history_user = by
    locked.save(update_fields=["billing_agent", "updated_at"])
    customer.billing_agent = agent
    moved = 0
    touched = {agent.pk if agent else None}
    if move_open_tickets:
        for ticket in (
            tickets_that_would_move(customer=locked, agent=agent).select_for_update().order_by("pk")
        ):
            touched.add(ticket.billing_agent_id)
            ticket.billing_agent = agent
            ticket._history_user = by
            ticket.save(update_fields=["billing_agent", "updated_at"])
            moved += 1
    if moved:
        refresh_agent_figures(touched)
    return moved


@transaction.atomic
def save_customer(
    *,
    customer: Customer,
    agent: BillingAgent | None,
    move_open_tickets: bool = False,
    by: AbstractBaseUser | None,
) -> int:
    """Create or update `customer` (fields already set on it) with `agent`.

    A new customer is saved with its agent in one step; an existing one saves its own
    fields and then changes its agent through change_customer_agent (which may move its
    open tickets too). Returns the number of tickets moved.
    """
    customer._history_user = by
    if customer.pk is None:
        ensure_agent_choosable(agent, current_id=None)
        customer.billing_agent = agent
        customer.save()
        return 0
    # Only the form's own fields: a concurrent agent change is not overwritten.
    customer.save(update_fields=_PLAIN_FIELDS)
    return change_customer_agent(
        customer=customer, agent=agent, move_open_tickets=move_open_tickets, by=by
    )
