"""Ticket services: the agent follows the customer, items, discount, deposits, moves, and
stored totals that always equal a fresh computation."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape
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
    PaymentKind,
    Ticket,
    TicketItem,
    TicketLocked,
    TicketPayment,
    TicketStatusChange,
    write_totals,
)
from tickets.totals import (
    TOTAL_FIELDS,
    InvalidDiscount,
    Line,
    PaidOverTotal,
    compute_totals,
    stored_figures,
)
from tickets.transitions import STAFF, Kind, Status

pytestmark = pytest.mark.django_db

FIGURES = TOTAL_FIELDS


def figures(ticket: Ticket) -> dict:
    ticket.refresh_from_db()
    return {name: getattr(ticket, name) for name in FIGURES}


def assert_stored_totals_are_fresh(ticket: Ticket) -> None:
    ticket.refresh_from_db()
    assert figures(ticket) == stored_figures(ticket.fresh_totals())


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


# --- deposit refunds ----------------------------------------------------------------------


def _refund(ticket: Ticket, amount: str, *, by=None, reason: str = "Part not available"):
    return services.refund_deposit(
        ticket=ticket, amount=Decimal(amount), method="cash", reason=reason, by=by
    )


def test_a_refund_is_its_own_negative_row_and_the_totals_follow():
    clerk = UserFactory(role=MANAGER)
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["30.00"])
    deposit = ticket.payments.get()
    refund = services.refund_deposit(
        ticket=ticket,
        amount=Decimal("12.50"),
        method="card",
        reference=" auth 77 ",
        reason=" Customer brought their own part ",
        by=clerk,
    )
    refund.refresh_from_db()
    assert (refund.kind, refund.amount, refund.method, refund.reference, refund.reason) == (
        PaymentKind.REFUND,
        Decimal("-12.50"),
        "card",
        "auth 77",
        "Customer brought their own part",
    )
    assert refund.received_by == clerk and refund.reverses is None
    deposit.refresh_from_db()
    assert deposit.amount == Decimal("30.00")  # the deposit itself is never edited
    # The caller's object and the stored row both hold the fresh figures.
    assert (ticket.amount_paid, ticket.balance_due) == (Decimal("17.50"), Decimal("62.50"))
    assert_stored_totals_are_fresh(ticket)
    assert services.refundable_amount(ticket) == Decimal("17.50")


def test_a_refund_leaves_a_record_with_who_and_why():
    clerk = UserFactory(role=MANAGER, first_name="Morgan", last_name="Boss")
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["30.00"])
    refund = _refund(ticket, "30.00", by=clerk, reason="Repair not possible")
    record = refund.history.get()
    assert (record.history_type, record.history_user, record.amount, record.reason) == (
        "+",
        clerk,
        Decimal("-30.00"),
        "Repair not possible",
    )
    assert ticket.history.first().history_user == clerk  # the totals' change, by whom
    [entry] = [e for e in ticket_history(ticket) if e.subject == "payment" and "refund" in e.title]
    assert entry.title == "Deposit refund \N{MINUS SIGN}$30.00"
    assert entry.who == "Morgan Boss" and "why: Repair not possible" in entry.details


def test_refunding_more_than_was_deposited_is_refused_and_changes_nothing():
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["20.00", "10.00"])
    _refund(ticket, "25.00")
    before = figures(ticket)
    with pytest.raises(services.InvalidRefund) as raised:
        _refund(ticket, "5.01")
    assert raised.value.field == "amount"
    assert "cannot be more than what was paid at the counter" in raised.value.message
    assert "$5.00" in raised.value.message  # what is left to refund
    assert figures(ticket) == before
    assert ticket.payments.filter(kind=PaymentKind.REFUND).count() == 1


def test_a_remittance_share_is_never_refunded_as_a_deposit():
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["10.00"])
    TicketPayment.objects.create(
        ticket=ticket, kind=PaymentKind.REMITTANCE, amount=Decimal("50.00"), method="cheque"
    )
    ticket.recalculate_totals()
    assert services.refundable_amount(ticket) == Decimal("10.00")
    with pytest.raises(services.InvalidRefund):
        _refund(ticket, "10.01")
    _refund(ticket, "10.00")
    ticket.refresh_from_db()
    assert ticket.amount_paid == Decimal("50.00")


def test_nothing_to_refund_without_a_deposit():
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)])
    with pytest.raises(services.InvalidRefund, match="nothing to refund"):
        _refund(ticket, "1.00")
    assert not ticket.payments.exists()


@pytest.mark.parametrize(
    ("amount", "method", "reason", "field"),
    [
        ("0", "cash", "Why", "amount"),
        ("-5", "cash", "Why", "amount"),
        ("1.005", "cash", "Why", "amount"),
        ("5", "account_credit", "Why", "method"),
        ("5", "cash", "   ", "reason"),
        ("5", "cash", "x" * 301, "reason"),
    ],
)
def test_bad_refunds_are_refused_beside_the_field(amount, method, reason, field):
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["30.00"])
    with pytest.raises(services.InvalidRefund) as raised:
        services.refund_deposit(
            ticket=ticket, amount=Decimal(amount), method=method, reason=reason, by=None
        )
    assert raised.value.field == field
    assert ticket.payments.count() == 1


@pytest.mark.parametrize("status", [Status.INVOICED, Status.CLOSED])
def test_a_refund_on_an_invoiced_or_closed_ticket_is_refused_with_the_reason(status):
    ticket = TicketFactory(
        customer=CustomerFactory(), items=[("Screen", 1, "80.00", False)], deposits=["30.00"]
    )
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    ticket.refresh_from_db()
    before = figures(ticket)
    with pytest.raises(TicketLocked) as raised:
        _refund(ticket, "30.00")
    if status == Status.INVOICED:
        assert "delete the invoice first" in raised.value.message
    assert figures(ticket) == before
    assert ticket.payments.count() == 1


def test_a_fully_refunded_ticket_can_be_cancelled():
    clerk = UserFactory(role=MANAGER)
    ticket = TicketFactory(
        status=Status.IN_REPAIR, items=[("Screen", 1, "80.00", False)], deposits=["30.00"]
    )
    with pytest.raises(InvalidTransition, match="refund it before cancelling"):
        services.move_ticket(ticket=ticket, target=Status.CANCELLED, by=clerk)
    _refund(ticket, "20.00", by=clerk)
    assert Status.CANCELLED not in ticket.allowed_moves()  # $10.00 is still paid
    _refund(ticket, "10.00", by=clerk)
    assert ticket.amount_paid == Decimal("0.00")
    assert Status.CANCELLED in ticket.allowed_moves()
    services.move_ticket(ticket=ticket, target=Status.CANCELLED, by=clerk)
    ticket.refresh_from_db()
    assert ticket.status == Status.CANCELLED
    assert ticket.payments.count() == 3  # the deposit and both refunds stay on record
    assert_stored_totals_are_fresh(ticket)


def test_refunds_lock_the_ticket_row_before_reading_what_was_paid():
    ticket = TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["30.00"])
    with CaptureQueriesContext(connection) as captured:
        _refund(ticket, "5.00")
    sql = [q["sql"] for q in captured.captured_queries]
    locks = [i for i, q in enumerate(sql) if 'FROM "tickets_ticket"' in q and "FOR UPDATE" in q]
    reads = [i for i, q in enumerate(sql) if 'FROM "tickets_ticketpayment"' in q and "SUM" in q]
    if connection.vendor == "postgresql":
        assert locks and reads and locks[0] < reads[0]
    else:
        assert reads  # SQLite has no row locks; tests/tickets/test_races.py runs on PostgreSQL


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
        st.tuples(st.just("refund"), money),
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
    elif name == "refund":
        services.refund_deposit(
            ticket=ticket, amount=op[1], method="cash", reason="Changed their mind", by=None
        )


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


def test_ticket_history_names_the_customer_and_agent_changes_and_skips_totals_only_saves():
    clerk = UserFactory(role=FRONT_DESK, first_name="", last_name="", username="desk7")
    first, second = (
        BillingAgentFactory(company_name="Acme"),
        BillingAgentFactory(company_name="Zed"),
    )
    customer = CustomerFactory(first_name="Ann", last_name="Lee", billing_agent=first)
    ticket = services.create_ticket(kind=Kind.REPAIR, location=LocationFactory(), by=clerk)
    services.attach_customer(ticket=ticket, customer=customer, by=clerk)
    for price in ("10", "20", "30"):  # totals change: history records, no visible change
        services.add_item(
            ticket=ticket,
            description="Part",
            quantity=Decimal("1"),
            unit_price=Decimal(price),
            by=clerk,
        )
    services.set_billing_agent(ticket=ticket, agent=second, by=clerk)

    entries = [e for e in ticket_history(ticket) if e.subject == "ticket"]
    assert [e.action for e in entries] == ["changed", "changed", "created"]
    agent_change, attached, created = entries
    assert [(c.label, c.old, c.new) for c in agent_change.changes] == [
        ("Billing agent", "Acme", "Zed")
    ]
    assert [(c.label, c.old, c.new) for c in attached.changes] == [
        ("Customer", "—", customer.display_name),
        ("Billing agent", "—", "Acme"),
    ]
    assert created.who == "desk7"
    # Without billing agents on the plan, an agent-only change is no entry at all.
    without = [e for e in ticket_history(ticket, with_agent=False) if e.subject == "ticket"]
    assert [e.action for e in without] == ["changed", "created"]
    assert [c.label for c in without[0].changes] == ["Customer"]


# --- many tickets at once: move_tickets and write_totals ------------------------------------


def _waiting(count: int, **kwargs) -> list[Ticket]:
    location = LocationFactory(tax_rate_percent=Decimal("8.875"))
    customer = CustomerFactory()
    return [
        TicketFactory(
            status=Status.WAITING_FOR_PAYMENT,
            location=location,
            customer=customer,
            items=[("Screen", 1, "129.00", True)],
            **kwargs,
        )
        for _ in range(count)
    ]


def test_moving_tickets_in_bulk_records_one_status_change_and_history_per_ticket():
    clerk = UserFactory(role=MANAGER)
    tickets = _waiting(3)
    services.move_tickets(tickets, Status.INVOICED, by=clerk, note="Invoiced")
    for ticket in tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.INVOICED
        change = ticket.status_changes.get()
        assert (change.from_status, change.to_status, change.changed_by, change.note) == (
            Status.WAITING_FOR_PAYMENT,
            Status.INVOICED,
            clerk,
            "Invoiced",
        )
        record = ticket.history.latest()
        assert (record.status, record.history_user, record.history_type) == (
            Status.INVOICED,
            clerk,
            "~",
        )


def test_moving_tickets_in_bulk_refuses_all_when_check_move_refuses_one():
    tickets = _waiting(2)
    refused = TicketFactory(status=Status.READY_FOR_PICKUP, customer=CustomerFactory())
    with pytest.raises(InvalidTransition, match=refused.number):
        services.move_tickets([*tickets, refused], Status.INVOICED, by=None)
    assert set(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list("status", flat=True)
    ) == {Status.WAITING_FOR_PAYMENT}
    assert not TicketStatusChange.objects.filter(ticket__in=[*tickets, refused]).exists()


def test_moving_tickets_in_bulk_refuses_staff_moves_the_credit_limit_guards():
    tickets = [TicketFactory(status=Status.READY_FOR_PICKUP, customer=CustomerFactory())]
    with pytest.raises(ValueError, match="one at a time"):
        services.move_tickets(tickets, Status.WAITING_FOR_PAYMENT, by=None, via=STAFF)


def _queries(action) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        action()
    return [query["sql"].split(" WHERE ")[0] for query in ctx.captured_queries]


def test_bulk_moving_3_or_30_tickets_runs_the_same_queries():
    few, many = _waiting(3), _waiting(30)
    assert len(_queries(lambda: services.move_tickets(few, Status.INVOICED, by=None))) == len(
        _queries(lambda: services.move_tickets(many, Status.INVOICED, by=None))
    )


def test_writing_totals_of_3_or_30_tickets_runs_the_same_queries():
    few, many = _waiting(3, deposits=["10.00"]), _waiting(30, deposits=["10.00"])
    TicketPayment.objects.filter(ticket__in=[*few, *many]).update(amount=Decimal("20.00"))
    assert len(_queries(lambda: write_totals(few))) == len(_queries(lambda: write_totals(many)))


def test_recalculate_totals_is_write_totals_for_one_ticket():
    ticket = TicketFactory(items=[("Part", 2, "10.00", True)], deposits=["5.00"])
    TicketItem.objects.filter(ticket=ticket).update(unit_price=Decimal("15.00"))
    assert ticket.recalculate_totals() == ticket.fresh_totals() == write_totals([ticket])[0]
    assert figures(ticket) == stored_figures(ticket.fresh_totals())


def test_write_totals_stores_every_figure_even_when_the_object_in_hand_is_stale():
    ticket = TicketFactory(items=[("Part", 1, "40.00", False)])
    # The database row drifted behind the object's back; the object still looks right.
    Ticket.objects.filter(pk=ticket.pk).update(total=Decimal("1.00"), balance_due=Decimal("1.00"))
    write_totals([ticket])
    ticket.refresh_from_db()
    assert figures(ticket) == stored_figures(ticket.fresh_totals())


def test_one_discount_over_subtotal_message_from_the_service_the_form_and_bulk_writes(
    client,
):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    expected = (
        f"The discount ($60.00) cannot be more than the subtotal ($50.00) of {ticket.number}."
    )
    with pytest.raises(services.InvalidDiscount) as raised:
        services.set_discount(
            ticket=ticket, discount_type="amount", discount_value=Decimal("60"), by=None
        )
    assert (str(raised.value), raised.value.field) == (expected, "discount_value")

    client.force_login(UserFactory(role=FRONT_DESK))
    response = client.post(
        reverse("tickets:ticket_set_discount", args=[ticket.pk]),
        {"discount_type": "amount", "discount_value": "60"},
    )
    assert response.status_code == 422
    assert escape(expected) in response.content.decode()

    Ticket.objects.filter(pk=ticket.pk).update(discount_value=Decimal("60.00"))
    ticket.refresh_from_db()
    with pytest.raises(InvalidDiscount) as raised:
        write_totals([ticket])
    assert str(raised.value) == expected


def test_paid_over_total_is_refused_by_one_check_for_one_or_many_tickets():
    tickets = _waiting(2, deposits=["100.00"])
    TicketItem.objects.filter(ticket=tickets[1]).update(unit_price=Decimal("50.00"))
    before = [figures(t) for t in tickets]
    with pytest.raises(PaidOverTotal, match=rf"leave {tickets[1].number} paid \$45\.56 more"):
        write_totals(tickets)
    with pytest.raises(PaidOverTotal, match=rf"leave {tickets[1].number} paid \$45\.56 more"):
        tickets[1].recalculate_totals()
    assert [figures(t) for t in tickets] == before


def test_total_fields_are_the_totals_figures_as_ticket_columns():
    # Totals' figures in order, under the ticket's column names.
    assert TOTAL_FIELDS == (
        "subtotal",
        "discount_amount",
        "tax_amount",
        "total",
        "amount_paid",
        "balance_due",
    )
    assert {f.name for f in Ticket._meta.concrete_fields} >= set(TOTAL_FIELDS)


ticket_inputs = st.fixed_dictionaries(
    {
        "items": st.lists(st.tuples(quantities, money, st.booleans()), max_size=4),
        "discount": st.one_of(
            st.tuples(st.just("amount"), money),
            st.tuples(
                st.just("percent"),
                st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
            ),
        ),
        "payments": st.lists(
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
            max_size=3,
        ),
    }
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    inputs=st.lists(ticket_inputs, min_size=1, max_size=5),
    tax_rate=st.decimals(min_value=Decimal("0"), max_value=Decimal("25"), places=3),
)
def test_stored_figures_after_write_totals_equal_compute_totals_per_ticket(inputs, tax_rate):
    location = LocationFactory(name=f"Bulk {tax_rate}", tax_rate_percent=tax_rate)
    tickets, expected = [], []
    for spec in inputs:
        discount_type, discount_value = spec["discount"]
        ticket = TicketFactory(location=location)
        # Inputs land without a totals write; write_totals below is the one under test.
        Ticket.objects.filter(pk=ticket.pk).update(
            discount_type=discount_type, discount_value=discount_value
        )
        ticket.refresh_from_db()
        for quantity, price, taxable in spec["items"]:
            TicketItem.objects.create(
                ticket=ticket,
                description="Part",
                quantity=quantity,
                unit_price=price,
                taxable=taxable,
            )
        for amount in spec["payments"]:
            TicketPayment.objects.create(ticket=ticket, amount=amount, method="cash")
        tickets.append(ticket)
        expected.append(
            compute_totals(
                lines=[Line(q, p, t) for q, p, t in spec["items"]],
                discount_type=discount_type,
                discount_value=discount_value,
                tax_rate_percent=tax_rate,
                payments=spec["payments"],
            )
        )
    before = [figures(t) for t in tickets]
    refusable = any(t.discount > t.subtotal or t.balance_due < 0 for t in expected)
    try:
        assert write_totals(tickets) == expected
    except (InvalidDiscount, PaidOverTotal):
        assert refusable
        assert [figures(t) for t in tickets] == before  # nothing is written for any ticket
    else:
        assert not refusable
        assert [figures(t) for t in tickets] == [stored_figures(t) for t in expected]
