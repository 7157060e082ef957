"""Reads and rules on BillingAgent: exact figures, search, filter, sort, credit limit."""

from decimal import Decimal

import pytest

from billing_agents.models import BillingAgent
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    UserFactory,
    agent_ticket,
)
from tickets.figures import agents_with_figures
from tickets.models import CreditLimitExceeded, Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db


def figures(agent):
    return agents_with_figures().get(pk=agent.pk)


def test_figures_do_not_multiply_customers_by_tickets():
    agent = BillingAgentFactory()
    customers = [CustomerFactory(billing_agent=agent) for _ in range(3)]
    balances = []
    for i in range(4):
        ticket = agent_ticket(
            agent,
            customer=customers[i % 3],
            items=[("Part", 2, f"{10 + i}.15", True), ("Labour", 1, "40.00", False)],
            deposits=["5.00"] if i % 2 else None,
        )
        balances.append(ticket.balance_due)
    agent_ticket(agent, customer=customers[0], status=Status.CLOSED, items=[])
    agent_ticket(agent, customer=customers[0], status=Status.CANCELLED, items=[])
    BillingAgentFactory()  # another agent's (empty) figures must not leak in
    other = BillingAgentFactory()
    agent_ticket(other, items=[("Other", 1, "999.99", True)])

    row = figures(agent)

    assert row.customer_count == 3
    assert row.open_ticket_count == 4
    assert row.open_balance == sum(balances, Decimal("0"))
    assert row.open_balance == sum(
        Ticket.objects.open().filter(billing_agent=agent).values_list("balance_due", flat=True)
    )


def test_agent_without_customers_or_tickets_has_zero_figures():
    row = figures(BillingAgentFactory())

    assert (row.customer_count, row.open_ticket_count) == (0, 0)
    assert row.open_balance == Decimal("0.00")
    assert row.last_ticket_at is None


def test_last_ticket_date_is_the_newest_ticket_of_any_status():
    agent = BillingAgentFactory()
    agent_ticket(agent)
    newest = agent_ticket(agent, status=Status.CANCELLED, items=[])

    assert figures(agent).last_ticket_at == newest.created_at


def test_search_matches_company_contact_email_and_phone():
    acme = BillingAgentFactory(
        company_name="Acme Insurance", contact_first_name="Jane", contact_last_name="Roe"
    )
    other = BillingAgentFactory(company_name="Harbor Schools", email="pay@harbor.example")
    phone = BillingAgentFactory(company_name="Zed", phone="555-777-1234")

    assert list(BillingAgent.objects.search("acme")) == [acme]
    assert list(BillingAgent.objects.search("jane roe")) == [acme]
    assert list(BillingAgent.objects.search("harbor.example")) == [other]
    assert list(BillingAgent.objects.search("777-12")) == [phone]
    assert list(BillingAgent.objects.search("jane harbor")) == []
    assert BillingAgent.objects.search("  ").count() == 3


def test_status_filter_defaults_to_active():
    active = BillingAgentFactory()
    inactive = BillingAgentFactory(inactive=True)

    assert list(BillingAgent.objects.with_status("active")) == [active]
    assert list(BillingAgent.objects.with_status("inactive")) == [inactive]
    assert set(BillingAgent.objects.with_status("all")) == {active, inactive}
    assert list(BillingAgent.objects.with_status("nonsense")) == [active]


def test_sorted_by_open_balance_and_customer_count_both_ways():
    small = BillingAgentFactory(company_name="A small")
    big = BillingAgentFactory(company_name="B big")
    none = BillingAgentFactory(company_name="C none")
    agent_ticket(small, items=[("x", 1, "10.00", False)])
    agent_ticket(big, items=[("x", 1, "500.00", False)])
    CustomerFactory(billing_agent=small)
    qs = agents_with_figures()

    assert list(qs.sorted_by("open_balance")) == [none, small, big]
    assert list(qs.sorted_by("-open_balance")) == [big, small, none]
    assert list(qs.sorted_by("-customers")) == [small, big, none]


def test_sorted_by_last_ticket_puts_agents_without_tickets_last_both_ways():
    old = BillingAgentFactory(company_name="Old")
    new = BillingAgentFactory(company_name="New")
    never = BillingAgentFactory(company_name="Aaa never")
    agent_ticket(old)
    agent_ticket(new)
    qs = agents_with_figures()

    assert list(qs.sorted_by("last_ticket")) == [old, new, never]
    assert list(qs.sorted_by("-last_ticket")) == [new, old, never]


def test_unknown_sort_key_sorts_by_company():
    b = BillingAgentFactory(company_name="Beta")
    a = BillingAgentFactory(company_name="Alpha")

    assert list(agents_with_figures().sorted_by("drop table")) == [a, b]
    assert list(BillingAgent.objects.sorted_by("-company")) == [b, a]


def test_deactivated_agent_is_not_offered_but_keeps_its_customers():
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)

    agent.deactivate()

    assert agent not in BillingAgent.objects.active()
    customer.refresh_from_db()
    assert customer.billing_agent == agent
    agent.reactivate()
    assert agent in BillingAgent.objects.active()


# --- credit limit (the check lives in Ticket.transition_to) ---------------------------


def ready_ticket(agent, amount):
    return agent_ticket(agent, status=Status.READY_FOR_PICKUP, items=[("x", 1, amount, False)])


def test_waiting_for_payment_past_the_credit_limit_is_refused():
    agent = BillingAgentFactory(credit_limit=Decimal("100.00"))
    ticket = ready_ticket(agent, "150.00")

    with pytest.raises(CreditLimitExceeded) as error:
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=UserFactory())

    assert error.value.open_balance == Decimal("150.00")
    assert error.value.credit_limit == Decimal("100.00")
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


def test_waiting_for_payment_within_the_credit_limit_is_allowed():
    agent = BillingAgentFactory(credit_limit=Decimal("100.00"))
    ticket = ready_ticket(agent, "100.00")

    change = ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=UserFactory())

    assert change.credit_limit_override is False


def test_credit_limit_override_moves_the_ticket_and_records_the_override():
    agent = BillingAgentFactory(credit_limit=Decimal("100.00"))
    agent_ticket(agent, items=[("other open ticket", 1, "60.00", False)])
    ticket = ready_ticket(agent, "50.00")
    manager = UserFactory()

    change = ticket.transition_to(
        Status.WAITING_FOR_PAYMENT, by=manager, override_credit_limit=True
    )

    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_PAYMENT
    assert change.credit_limit_override is True
    assert change.changed_by == manager
