"""Taking a ticket off its billing agent: refused while a live invoice bills it.

It lives in invoicing, not billing_agents, because the refusal reads invoice lines: the
lowest layer that knows agents, tickets and invoices (DESIGN: Layout). Keyword-only, one
transaction with the ticket locked, a DomainError subclass a clerk can read.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from billing_agents.models import BillingAgent
from core.errors import DomainError
from customers.services import NotBilledThroughAgent
from invoicing.models import InvoiceLine
from tickets.models import Ticket, TicketLocked, refresh_agent_figures


class TicketOnLiveInvoice(DomainError):
    """The ticket is on a live invoice, so its payer cannot change."""


def _ticket_removal_refusal(ticket: Ticket) -> DomainError | None:
    """The error removing `ticket` from its agent would raise now, or None."""
    line = (
        InvoiceLine.objects.filter(ticket=ticket, is_live=True)
        .select_related("invoice__account__billing_agent", "invoice__account__customer")
        .first()
    )
    if line is not None:
        return TicketOnLiveInvoice(
            f"{ticket.number} is on invoice {line.invoice.number}, which bills "
            f"{line.invoice.account.name}; delete that invoice first to take the ticket off "
            "the agent."
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
def remove_ticket_from_agent(
    *, agent: BillingAgent, ticket: Ticket, by: AbstractBaseUser | None
) -> Ticket:
    """Take `ticket` off `agent` (ticket.billing_agent = None); the ticket itself stays.

    Raises NotBilledThroughAgent if the ticket is not under this agent, TicketOnLiveInvoice
    if a live invoice bills it, and TicketLocked if it is invoiced, closed or cancelled.
    Keeps the agent's stored figures.
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
    refresh_agent_figures([agent.pk])
    return locked
