"""A billing agent that requires its reference number gets no ticket to bill without one."""

import pytest

from invoicing import services
from invoicing.accounts import account_for
from tests.factories import BillingAgentFactory, agent_ticket, waiting_ticket
from tickets.models import InvalidTransition
from tickets.transitions import Status


@pytest.fixture
def strict_agent(db):
    return BillingAgentFactory(
        company_name="Harbor Insurance", reference_label="Claim #", reference_required=True
    )


def test_ticket_without_required_reference_cannot_wait_for_payment(strict_agent):
    ticket = agent_ticket(strict_agent, status=Status.READY_FOR_PICKUP)
    with pytest.raises(InvalidTransition) as refused:
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None, override_credit_limit=True)
    assert "Harbor Insurance requires a Claim # on every ticket" in str(refused.value)
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP
    assert (Status.WAITING_FOR_PAYMENT, refused.value.message) in ticket.refused_moves()


def test_ticket_with_the_reference_may_wait_for_payment(strict_agent):
    ticket = agent_ticket(strict_agent, status=Status.READY_FOR_PICKUP, payer_reference="C-1")
    ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None, override_credit_limit=True)
    assert ticket.status == Status.WAITING_FOR_PAYMENT


def test_blank_reference_counts_as_missing(strict_agent):
    ticket = agent_ticket(strict_agent, status=Status.READY_FOR_PICKUP, payer_reference="   ")
    assert ticket.needs_payer_reference
    assert Status.WAITING_FOR_PAYMENT not in ticket.allowed_moves()


def test_agent_not_requiring_a_reference_lets_the_ticket_through(db):
    agent = BillingAgentFactory(reference_required=False)
    ticket = agent_ticket(agent, status=Status.READY_FOR_PICKUP)
    assert not ticket.needs_payer_reference
    assert Status.WAITING_FOR_PAYMENT in ticket.allowed_moves()


def test_deleting_an_invoice_returns_its_tickets_even_without_the_reference(billing_user):
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=billing_user
    )
    # The agent starts requiring references after the ticket was invoiced.
    agent.reference_required = True
    agent.save()
    services.delete_invoice(invoice=invoice, by=billing_user)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_PAYMENT
