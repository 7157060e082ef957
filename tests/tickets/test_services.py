"""Ticket services: the agent follows the customer, items, discount, deposits, moves, and
stored totals that always equal a fresh computation."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from core.roles import FRONT_DESK, MANAGER
from customers.services import InactiveAgent
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    TicketFactory,
    UserFactory,
    agent_ticket,
)
from tickets import services
from tickets.history import ticket_history
from tickets.models import (
    CreditLimitExceeded,
    InvalidTransition,
    Ticket,
    TicketItem,
    TicketLocked,
)
from tickets.transitions import Kind, Status

pytestmark = pytest.mark.django_db

FIGURES = ["subtotal", "discount_amount", "tax_amount", "total", "amount_paid", "balance_due"]


def figures(ticket: Ticket) -> dict:
    ticket.refresh_from_db()
    return {name: getattr(ticket, name) for name in FIGURES}


def assert_stored_totals_are_fresh(ticket: Ticket) -> None:
    ticket.refresh_from_db()
    fresh = ticket.fresh_totals()
    assert figures(ticket) == {
        "subtotal": fresh.subtotal,
        "discount_amount": fresh.discount,
        "tax_amount": fresh.tax,
        "total": fresh.total,
        "amount_paid": fresh.amount_paid,
        "balance_due": fresh.balance_due,
    }


# --- the agent follows the customer -----------------------------------------------------


def test_attaching_a_customer_attaches_its_active_agent():
    agent = BillingAgentFactory()
    ticket = TicketFactory(kind=Kind.QUICK_SALE)
    services.attach_customer(ticket=ticket, customer=CustomerFactory(billing_agent=agent), by=None)
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


def test_attaching_a_customer_with_an_inactive_agent_attaches_no_agent():
    agent = BillingAgentFactory(inactive=True)
    ticket = TicketFactory()
    services.attach_customer(ticket=ticket, customer=CustomerFactory(billing_agent=agent), by=None)
    ticket.refresh_from_db()
    assert ticket.customer is not None
    assert ticket.billing_agent is None


def test_attaching_a_customer_without_agent_clears_the_previous_agent():
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent)
    services.attach_customer(ticket=ticket, customer=CustomerFactory(), by=None)
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_create_ticket_for_a_customer_attaches_its_agent():
    agent = BillingAgentFactory()
    ticket = services.create_ticket(
        kind=Kind.REPAIR,
        location=LocationFactory(),
        device="Pixel 7",
        customer=CustomerFactory(billing_agent=agent),
        by=None,
    )
    assert ticket.status == Status.NEW
    assert ticket.billing_agent == agent


def test_create_quick_sale_starts_open():
    ticket = services.create_ticket(kind=Kind.QUICK_SALE, location=LocationFactory(), by=None)
    assert ticket.status == Status.OPEN
    assert ticket.customer is None


def test_staff_can_pick_another_active_agent_or_none():
    first, second = BillingAgentFactory(), BillingAgentFactory()
    ticket = agent_ticket(first)
    services.set_billing_agent(ticket=ticket, agent=second, by=None)
    ticket.refresh_from_db()
    assert ticket.billing_agent == second
    services.set_billing_agent(ticket=ticket, agent=None, by=None)
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_no_agent_without_a_customer():
    ticket = TicketFactory()
    with pytest.raises(services.AgentNeedsCustomer) as raised:
        services.set_billing_agent(ticket=ticket, agent=BillingAgentFactory(), by=None)
    assert raised.value.field == "billing_agent"
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_an_inactive_agent_cannot_be_picked():
    ticket = TicketFactory(customer=CustomerFactory())
    with pytest.raises(InactiveAgent):
        services.set_billing_agent(ticket=ticket, agent=BillingAgentFactory(inactive=True), by=None)
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_an_agent_deactivated_later_stays_on_its_ticket():
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent)
    agent.deactivate()
    services.set_billing_agent(ticket=ticket, agent=agent, by=None)  # unchanged: allowed
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


@pytest.mark.parametrize("status", [Status.INVOICED, Status.CLOSED, Status.CANCELLED])
def test_locked_tickets_refuse_every_change(status):
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer, status=status, items=[("Screen", 1, "10.00", True)])
    item = ticket.items.get()
    before = figures(ticket)
    attempts = [
        lambda: services.add_item(
            ticket=ticket, description="x", quantity=Decimal(1), unit_price=Decimal(1), by=None
        ),
        lambda: services.update_item(
            item=item,
            description="x",
            quantity=Decimal(2),
            unit_price=Decimal(1),
            taxable=True,
            by=None,
        ),
        lambda: services.remove_item(item=item, by=None),
        lambda: services.set_discount(
            ticket=ticket, discount_type="amount", discount_value=Decimal(1), by=None
        ),
        lambda: services.add_deposit(ticket=ticket, amount=Decimal(1), method="cash", by=None),
        lambda: services.attach_customer(ticket=ticket, customer=CustomerFactory(), by=None),
        lambda: services.set_billing_agent(ticket=ticket, agent=None, by=None),
    ]
    for attempt in attempts:
        with pytest.raises(TicketLocked):
            attempt()
    assert figures(ticket) == before
    assert ticket.items.count() == 1
    assert ticket.customer == customer


# --- items, discount, deposits -------------------------------------------------------------


def test_items_change_the_stored_totals():
    ticket = TicketFactory(location=LocationFactory(tax_rate_percent=Decimal("10")))
    item = services.add_item(
        ticket=ticket,
        description="Battery",
        quantity=Decimal("2"),
        unit_price=Decimal("25.00"),
        taxable=True,
        by=None,
    )
    assert (ticket.subtotal, ticket.tax_amount, ticket.total) == (
        Decimal("50.00"),
        Decimal("5.00"),
        Decimal("55.00"),
    )
    services.update_item(
        item=item,
        description="Battery",
        quantity=Decimal("1"),
        unit_price=Decimal("25.00"),
        taxable=False,
        by=None,
    )
    assert figures(ticket)["total"] == Decimal("25.00")
    services.remove_item(item=item, by=None)
    assert figures(ticket)["total"] == Decimal("0.00")


@pytest.mark.parametrize(
    ("quantity", "price", "field"),
    [("-1", "10", "quantity"), ("0", "10", "quantity"), ("1", "-0.01", "unit_price")],
)
def test_bad_quantity_or_price_is_refused_beside_the_field(quantity, price, field):
    ticket = TicketFactory()
    with pytest.raises(services.InvalidLineItem) as raised:
        services.add_item(
            ticket=ticket,
            description="Part",
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            by=None,
        )
    assert raised.value.field == field
    assert ticket.items.count() == 0


def test_discount_above_the_subtotal_is_refused_and_changes_nothing():
    ticket = TicketFactory(items=[("Part", 1, "40.00", True)])
    before = figures(ticket)
    with pytest.raises(services.InvalidDiscount) as raised:
        services.set_discount(
            ticket=ticket, discount_type="amount", discount_value=Decimal("40.01"), by=None
        )
    assert raised.value.field == "discount_value"
    ticket.refresh_from_db()
    assert ticket.discount_value == Decimal("0.00")
    assert figures(ticket) == before


@pytest.mark.parametrize(
    ("kind", "value"), [("percent", "100.01"), ("amount", "-1"), ("percent", "-5")]
)
def test_discount_out_of_range_is_refused(kind, value):
    ticket = TicketFactory(items=[("Part", 1, "40.00", True)])
    with pytest.raises(services.InvalidDiscount):
        services.set_discount(
            ticket=ticket, discount_type=kind, discount_value=Decimal(value), by=None
        )


def test_percent_discount_is_rounded_half_up_and_lowers_tax():
    ticket = TicketFactory(
        location=LocationFactory(tax_rate_percent=Decimal("10")),
        items=[("Part", 1, "10.05", True)],
    )
    services.set_discount(
        ticket=ticket, discount_type="percent", discount_value=Decimal("10"), by=None
    )
    # 10 % of 10.05 = 1.005 -> 1.01 (half up); tax 10 % of 9.04 = 0.904 -> 0.90.
    assert (ticket.discount_amount, ticket.tax_amount, ticket.total) == (
        Decimal("1.01"),
        Decimal("0.90"),
        Decimal("9.94"),
    )


def test_deposit_above_the_balance_is_refused_and_changes_nothing():
    ticket = TicketFactory(items=[("Part", 1, "40.00", False)])
    with pytest.raises(services.InvalidDeposit) as raised:
        services.add_deposit(ticket=ticket, amount=Decimal("40.01"), method="cash", by=None)
    assert raised.value.field == "amount"
    assert ticket.payments.count() == 0
    assert figures(ticket)["balance_due"] == Decimal("40.00")


@pytest.mark.parametrize(
    ("amount", "method", "field"),
    [("0", "cash", "amount"), ("-5", "card", "amount"), ("5", "account_credit", "method")],
)
def test_bad_deposits_are_refused(amount, method, field):
    ticket = TicketFactory(items=[("Part", 1, "40.00", False)])
    with pytest.raises(services.InvalidDeposit) as raised:
        services.add_deposit(ticket=ticket, amount=Decimal(amount), method=method, by=None)
    assert raised.value.field == field
    assert ticket.payments.count() == 0


def test_deposit_lowers_the_balance_and_records_who_took_it():
    user = UserFactory(role=FRONT_DESK)
    ticket = TicketFactory(items=[("Part", 1, "40.00", False)])
    payment = services.add_deposit(
        ticket=ticket, amount=Decimal("15.00"), method="card", reference="auth 123", by=user
    )
    assert payment.received_by == user
    assert (ticket.amount_paid, ticket.balance_due) == (Decimal("15.00"), Decimal("25.00"))


def test_removing_an_item_below_what_was_paid_is_refused():
    ticket = TicketFactory(
        items=[("Screen", 1, "40.00", False), ("Part", 1, "10.00", False)], deposits=["45.00"]
    )
    with pytest.raises(DomainError):
        services.remove_item(item=ticket.items.get(description="Screen"), by=None)
    assert ticket.items.count() == 2
    assert_stored_totals_are_fresh(ticket)


# --- moves ------------------------------------------------------------------------------


def test_move_ticket_records_who_moved_it():
    user = UserFactory(role=FRONT_DESK)
    ticket = TicketFactory(status=Status.IN_REPAIR)
    change = services.move_ticket(ticket=ticket, target=Status.READY_FOR_PICKUP, by=user)
    assert change.changed_by == user
    assert ticket.status == Status.READY_FOR_PICKUP


def test_move_ticket_refuses_a_move_the_table_does_not_allow():
    ticket = TicketFactory(status=Status.NEW, customer=CustomerFactory())
    with pytest.raises(InvalidTransition):
        services.move_ticket(ticket=ticket, target=Status.WAITING_FOR_PAYMENT, by=None)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def _over_limit_ticket() -> Ticket:
    agent = BillingAgentFactory(credit_limit=Decimal("50.00"))
    return agent_ticket(agent, status=Status.READY_FOR_PICKUP, items=[("Screen", 1, "80", False)])


def test_only_a_user_with_the_permission_may_override_the_credit_limit():
    ticket = _over_limit_ticket()
    clerk = UserFactory(role=FRONT_DESK)
    with pytest.raises(CreditLimitExceeded):
        services.move_ticket(ticket=ticket, target=Status.WAITING_FOR_PAYMENT, by=clerk)
    with pytest.raises(services.OverrideNotAllowed):
        services.move_ticket(
            ticket=ticket,
            target=Status.WAITING_FOR_PAYMENT,
            by=clerk,
            override_credit_limit=True,
        )
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP
    change = services.move_ticket(
        ticket=ticket,
        target=Status.WAITING_FOR_PAYMENT,
        by=UserFactory(role=MANAGER),
        override_credit_limit=True,
    )
    assert change.credit_limit_override is True


# --- stored totals always equal a fresh computation ------------------------------------------

money = st.decimals(min_value=Decimal("0"), max_value=Decimal("999.99"), places=2)
quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("20"), places=2)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), quantities, money, st.booleans()),
        st.tuples(st.just("update"), st.integers(0, 5), quantities, money, st.booleans()),
        st.tuples(st.just("remove"), st.integers(0, 5)),
        st.tuples(st.just("discount_amount"), money),
        st.tuples(
            st.just("discount_percent"),
            st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
        ),
        st.tuples(st.just("deposit"), money),
    ),
    max_size=12,
)


def _apply(ticket: Ticket, op: tuple) -> None:
    items = list(ticket.items.order_by("pk"))
    name = op[0]
    if name == "add":
        _, quantity, price, taxable = op
        services.add_item(
            ticket=ticket,
            description="Part",
            quantity=quantity,
            unit_price=price,
            taxable=taxable,
            by=None,
        )
    elif name == "update" and items:
        _, index, quantity, price, taxable = op
        services.update_item(
            item=items[index % len(items)],
            description="Changed",
            quantity=quantity,
            unit_price=price,
            taxable=taxable,
            by=None,
        )
    elif name == "remove" and items:
        services.remove_item(item=items[op[1] % len(items)], by=None)
    elif name == "discount_amount":
        services.set_discount(ticket=ticket, discount_type="amount", discount_value=op[1], by=None)
    elif name == "discount_percent":
        services.set_discount(ticket=ticket, discount_type="percent", discount_value=op[1], by=None)
    elif name == "deposit":
        services.add_deposit(ticket=ticket, amount=op[1], method="cash", by=None)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=operations,
    tax_rate=st.decimals(min_value=Decimal("0"), max_value=Decimal("25"), places=3),
)
def test_stored_totals_equal_a_fresh_computation_after_any_edits(ops, tax_rate):
    ticket = TicketFactory(
        location=LocationFactory(name=f"Tax {tax_rate}", tax_rate_percent=tax_rate)
    )
    for op in ops:
        before = figures(ticket)
        try:
            _apply(ticket, op)
        except DomainError:
            assert figures(ticket) == before  # a refused edit changes nothing
        assert_stored_totals_are_fresh(ticket)
        ticket.refresh_from_db()
        for name in FIGURES:
            value = getattr(ticket, name)
            assert value == value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert ticket.balance_due == ticket.total - ticket.amount_paid
        assert Decimal(0) <= ticket.discount_amount <= ticket.subtotal
        assert ticket.balance_due >= 0


# --- history of items and payments ---------------------------------------------------------


def test_adding_changing_and_removing_an_item_each_leave_a_record_with_the_user():
    clerk = UserFactory(role=FRONT_DESK)
    ticket = TicketFactory()
    item = services.add_item(
        ticket=ticket,
        description="Battery",
        quantity=Decimal("2"),
        unit_price=Decimal("25.00"),
        by=clerk,
    )
    services.update_item(
        item=item,
        description="Battery (OEM)",
        quantity=Decimal("1"),
        unit_price=Decimal("30.00"),
        taxable=False,
        by=clerk,
    )
    item_pk = item.pk
    services.remove_item(item=item, by=clerk)

    assert not ticket.items.exists()
    records = list(TicketItem.history.filter(id=item_pk).order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~", "-"]
    assert all(r.history_user == clerk for r in records)
    removed = records[-1]
    assert (removed.ticket_id, removed.description, removed.unit_price) == (
        ticket.pk,
        "Battery (OEM)",
        Decimal("30.00"),
    )


def test_a_deposit_leaves_a_record_with_the_user():
    clerk = UserFactory(role=FRONT_DESK)
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)])
    payment = services.add_deposit(ticket=ticket, amount=Decimal("20.00"), method="cash", by=clerk)
    record = payment.history.get()
    assert (record.history_type, record.history_user, record.amount) == (
        "+",
        clerk,
        Decimal("20.00"),
    )


def test_ticket_history_lists_item_payment_and_discount_changes_newest_first():
    clerk = UserFactory(role=FRONT_DESK, first_name="Dana", last_name="Clerk")
    ticket = services.create_ticket(
        kind=Kind.QUICK_SALE, location=LocationFactory(tax_rate_percent=0), by=clerk
    )
    item = services.add_item(
        ticket=ticket,
        description="Charger",
        quantity=Decimal("1"),
        unit_price=Decimal("20"),
        by=clerk,
    )
    services.update_item(
        item=item,
        description="Charger",
        quantity=Decimal("3"),
        unit_price=Decimal("20"),
        taxable=True,
        by=clerk,
    )
    services.set_discount(
        ticket=ticket, discount_type="amount", discount_value=Decimal("5"), by=clerk
    )
    services.add_deposit(ticket=ticket, amount=Decimal("10.00"), method="card", by=clerk)
    services.add_item(
        ticket=ticket,
        description="Cable",
        quantity=Decimal("1"),
        unit_price=Decimal("19"),
        by=clerk,
    )
    services.remove_item(item=item, by=None)

    entries = ticket_history(ticket)
    assert [(e.subject, e.action) for e in entries] == [
        ("item", "removed"),
        ("item", "added"),
        ("payment", "recorded"),
        ("ticket", "changed"),
        ("item", "changed"),
        ("item", "added"),
        ("ticket", "created"),
    ]
    removed, _cable, payment, discount, changed, added, _created = entries
    assert (removed.title, removed.who) == ("Charger", "System")
    assert payment.title == "Deposit $10.00" and payment.who == "Dana Clerk"
    assert [(c.label, c.old, c.new) for c in discount.changes] == [("Discount", "None", "$5.00")]
    assert [(c.label, c.old, c.new) for c in changed.changes] == [("Quantity", "1", "3")]
    assert added.who == "Dana Clerk" and added.details.startswith("1 ")
    assert len(ticket_history(ticket, limit=2)) == 2
