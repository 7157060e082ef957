"""Changing a customer's billing agent, and whether its open tickets follow."""

import pytest

from customers.models import Customer
from customers.services import InactiveAgent
from tests.factories import BillingAgentFactory, CustomerFactory, TicketFactory
from tickets.customer_agent import change_customer_agent, save_customer, tickets_that_would_move
from tickets.transitions import Status

pytestmark = pytest.mark.django_db

MOVABLE = [Status.NEW, Status.READY_FOR_PICKUP, Status.WAITING_FOR_PAYMENT]
STAYING = [Status.INVOICED, Status.CLOSED, Status.CANCELLED]


@pytest.fixture
def customer_with_tickets():
    old = BillingAgentFactory(company_name="Old Agent")
    customer = CustomerFactory(billing_agent=old)
    tickets = {
        status: TicketFactory(customer=customer, billing_agent=old, status=status)
        for status in MOVABLE + STAYING
    }
    return customer, old, tickets


def test_tickets_stay_unless_the_clerk_asks(customer_with_tickets):
    customer, old, tickets = customer_with_tickets
    new = BillingAgentFactory()
    moved = change_customer_agent(customer=customer, agent=new, by=None)
    assert moved == 0
    customer.refresh_from_db()
    assert customer.billing_agent == new
    for ticket in tickets.values():
        ticket.refresh_from_db()
        assert ticket.billing_agent == old


def test_open_tickets_that_are_not_invoiced_follow_when_asked(customer_with_tickets):
    customer, old, tickets = customer_with_tickets
    new = BillingAgentFactory()
    assert tickets_that_would_move(customer=customer, agent=new).count() == len(MOVABLE)
    moved = change_customer_agent(customer=customer, agent=new, move_open_tickets=True, by=None)
    assert moved == len(MOVABLE)
    for status, ticket in tickets.items():
        ticket.refresh_from_db()
        assert ticket.billing_agent == (new if status in MOVABLE else old), status


def test_moving_to_no_agent_takes_open_tickets_off_the_agent(customer_with_tickets):
    customer, _old, tickets = customer_with_tickets
    moved = change_customer_agent(customer=customer, agent=None, move_open_tickets=True, by=None)
    assert moved == len(MOVABLE)
    tickets[Status.NEW].refresh_from_db()
    assert tickets[Status.NEW].billing_agent is None


def test_tickets_already_on_the_new_agent_are_not_counted():
    new = BillingAgentFactory()
    customer = CustomerFactory()
    TicketFactory(customer=customer, billing_agent=new)
    TicketFactory(customer=customer)
    TicketFactory(customer=customer, billing_agent=BillingAgentFactory())
    assert tickets_that_would_move(customer=customer, agent=new).count() == 2


def test_an_unchanged_agent_moves_nothing(customer_with_tickets):
    customer, old, _ = customer_with_tickets
    assert change_customer_agent(customer=customer, agent=old, move_open_tickets=True, by=None) == 0


def test_an_inactive_agent_cannot_be_chosen(customer_with_tickets):
    customer, old, _ = customer_with_tickets
    with pytest.raises(InactiveAgent) as raised:
        change_customer_agent(customer=customer, agent=BillingAgentFactory(inactive=True), by=None)
    assert raised.value.field == "billing_agent"
    customer.refresh_from_db()
    assert customer.billing_agent == old


def test_a_deactivated_agent_can_be_kept():
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    agent.deactivate()
    customer.city = "Springfield"
    save_customer(customer=customer, agent=agent, by=None)
    customer.refresh_from_db()
    assert (customer.city, customer.billing_agent) == ("Springfield", agent)


def test_a_new_customer_cannot_start_with_an_inactive_agent():
    with pytest.raises(InactiveAgent):
        save_customer(
            customer=Customer(first_name="Ann"),
            agent=BillingAgentFactory(inactive=True),
            by=None,
        )
    assert not Customer.objects.filter(first_name="Ann").exists()


def test_saving_records_who_changed_the_customer():
    from tests.factories import UserFactory

    user = UserFactory()
    agent = BillingAgentFactory()
    customer = Customer(first_name="Ann")
    save_customer(customer=customer, agent=agent, by=user)
    assert customer.history.latest().history_user == user
    assert customer.billing_agent == agent
