"""Operations on a billing agent that touch other apps' records.

Each one is keyword-only, runs in one transaction with the rows it changes locked, and
raises a DomainError subclass whose message a clerk can read.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from billing_agents.models import BillingAgent
from core.errors import DomainError
from customers.models import Customer
from invoicing.models import InvoiceLine
from tickets.models import Ticket, TicketLocked


class NotBilledThroughAgent(DomainError):
    """The customer or ticket is not (or no longer) billed through this agent."""


class TicketOnLiveInvoice(DomainError):
    """The ticket is on a live invoice, so its payer cannot change."""


def _ticket_removal_refusal(ticket: Ticket) -> DomainError | None:
    """The error removing `ticket` from its agent would raise now, or None."""
    line = InvoiceLine.objects.filter(ticket=ticket, is_live=True).select_related("invoice").first()
    if line is not None:
        return TicketOnLiveInvoice(
            f"{ticket.number} is on invoice {line.invoice.number}, which bills "
            f"{line.invoice.payer}; delete that invoice first to take the ticket off the agent."
        )
    if ticket.is_locked:
        return TicketLocked(
            f"{ticket.number} is {ticket.get_status_display()} and can no longer change its "
            "billing agent."
        )
    return None


def why_ticket_cannot_be_removed(*, ticket: Ticket) -> str | None:
    """The clerk-readable reason the ticket must keep its agent, or None if it may go.

    A ticket on a live invoice is billed to the agent already; an invoiced, closed or
    cancelled ticket is locked (Ticket.is_locked).
    """
    refusal = _ticket_removal_refusal(ticket)
    return None if refusal is None else refusal.message


@transaction.atomic
def remove_customer_from_agent(
    *, agent: BillingAgent, customer: Customer, by: AbstractBaseUser | None
) -> Customer:
    """Stop billing `customer` through `agent` (customer.billing_agent = None).

    The customer and its tickets are kept; tickets keep the agent they already have.
    Raises NotBilledThroughAgent if the customer is not (any longer) under this agent.
    """
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.billing_agent_id != agent.pk:
        raise NotBilledThroughAgent(f"{locked} is not billed through {agent}.")
    locked.billing_agent = None
    locked._history_user = by
    locked.save(update_fields=["billing_agent", "updated_at"])
    return locked


@transaction.atomic
def remove_ticket_from_agent(
    *, agent: BillingAgent, ticket: Ticket, by: AbstractBaseUser | None
) -> Ticket:
    """Take `ticket` off `agent` (ticket.billing_agent = None); the ticket itself stays.

    Raises NotBilledThroughAgent if the ticket is not under this agent, TicketOnLiveInvoice
    if a live invoice bills it, and TicketLocked if it is invoiced, closed or cancelled.
    """
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if locked.billing_agent_id != agent.pk:
        raise NotBilledThroughAgent(f"{locked.number} is not billed through {agent}.")
    refusal = _ticket_removal_refusal(locked)
    if refusal is not None:
        raise refusal
    locked.billing_agent = None
    locked._history_user = by
    locked.save(update_fields=["billing_agent", "updated_at"])
    return locked
