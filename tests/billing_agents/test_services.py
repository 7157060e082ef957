"""Removing customers and tickets from an agent: never deletes, refuses what is billed."""

import pytest
from django.utils import timezone

from customers.models import Customer
from customers.services import NotBilledThroughAgent, remove_customer_from_agent
from invoicing.agent_tickets import (
    TicketOnLiveInvoice,
    remove_ticket_from_agent,
    why_ticket_cannot_be_removed,
)
from invoicing.models import InvoiceStatus
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    UserFactory,
    agent_ticket,
)
from tickets.models import Ticket, TicketLocked
from tickets.transitions import Status

pytestmark = pytest.mark.django_db


def test_removing_a_customer_unlinks_it_and_keeps_it_and_its_tickets():
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    ticket = agent_ticket(agent, customer=customer)
    clerk = UserFactory()

    remove_customer_from_agent(agent=agent, customer=customer, by=clerk)

    customer.refresh_from_db()
    assert customer.billing_agent is None
    assert Customer.objects.filter(pk=customer.pk).exists()
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent  # the ticket's own agent is its own decision
    assert customer.history.first().history_user == clerk


def test_removing_a_customer_of_another_agent_is_refused():
    agent = BillingAgentFactory()
    other = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=other)

    with pytest.raises(NotBilledThroughAgent, match="not billed through"):
        remove_customer_from_agent(agent=agent, customer=customer, by=None)

    customer.refresh_from_db()
    assert customer.billing_agent == other


def test_removing_an_open_ticket_unlinks_it_and_keeps_it():
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent, deposits=["10.00"])
    clerk = UserFactory()

    remove_ticket_from_agent(agent=agent, ticket=ticket, by=clerk)

    ticket.refresh_from_db()
    assert ticket.billing_agent is None
    assert ticket.customer is not None
    assert ticket.amount_paid == 10
    assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert ticket.history.first().history_user == clerk


def test_a_ticket_on_a_live_invoice_cannot_be_removed_and_the_clerk_is_told_why():
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent, status=Status.WAITING_FOR_PAYMENT)
    line = InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))

    with pytest.raises(TicketOnLiveInvoice) as error:
        remove_ticket_from_agent(agent=agent, ticket=ticket, by=None)

    assert line.invoice.number in error.value.message
    assert "delete that invoice" in error.value.message
    assert why_ticket_cannot_be_removed(ticket=ticket) == error.value.message
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


def test_a_ticket_whose_invoice_was_deleted_can_be_removed():
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent, status=Status.WAITING_FOR_PAYMENT)
    invoice = InvoiceFactory(
        billing_agent=agent, status=InvoiceStatus.DELETED, deleted_at=timezone.now()
    )
    InvoiceLineFactory(ticket=ticket, invoice=invoice, is_live=False)

    assert why_ticket_cannot_be_removed(ticket=ticket) is None
    remove_ticket_from_agent(agent=agent, ticket=ticket, by=None)

    ticket.refresh_from_db()
    assert ticket.billing_agent is None


@pytest.mark.parametrize("status", [Status.INVOICED, Status.CLOSED, Status.CANCELLED])
def test_a_locked_ticket_cannot_be_removed(status):
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent, status=status, items=[])

    with pytest.raises(TicketLocked, match=ticket.number):
        remove_ticket_from_agent(agent=agent, ticket=ticket, by=None)

    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


def test_removing_a_ticket_of_another_agent_is_refused():
    agent = BillingAgentFactory()
    ticket = agent_ticket(BillingAgentFactory())

    with pytest.raises(NotBilledThroughAgent):
        remove_ticket_from_agent(agent=agent, ticket=ticket, by=None)


def test_removal_services_are_keyword_only():
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)

    with pytest.raises(TypeError):
        remove_customer_from_agent(agent, customer, None)  # type: ignore[misc]
