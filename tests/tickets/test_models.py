"""Ticket rules on the model: the transitions table, refusals, locking and list queries."""

from decimal import Decimal

import pytest

from tests.factories import BillingAgentFactory, CustomerFactory, TicketFactory, agent_ticket
from tickets.models import (
    CreditLimitExceeded,
    InvalidTransition,
    Ticket,
    TicketLocked,
    TicketStatusChange,
)
from tickets.transitions import INVOICING, STAFF, TRANSITIONS, Kind, Status

pytestmark = pytest.mark.django_db

ALL_MOVES = [
    (kind, source, target)
    for kind in Kind
    for source in TRANSITIONS[kind]
    for target in Status
    if target != source
]


def _ticket(kind: str, status: str, **kwargs) -> Ticket:
    """A ticket in `status` with a customer, nothing owed and nothing paid."""
    kwargs.setdefault("customer", CustomerFactory())
    return TicketFactory(kind=kind, status=status, **kwargs)


@pytest.mark.parametrize(("kind", "source", "target"), ALL_MOVES)
def test_every_staff_move_follows_the_transitions_table(kind, source, target):
    ticket = _ticket(kind, source)
    if TRANSITIONS[kind][source].get(target) == STAFF:
        change = ticket.transition_to(target, by=None)
        ticket.refresh_from_db()
        assert ticket.status == target
        assert (change.from_status, change.to_status) == (source, target)
    else:
        with pytest.raises(InvalidTransition):
            ticket.transition_to(target, by=None)
        ticket.refresh_from_db()
        assert ticket.status == source
        assert not TicketStatusChange.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize("source", list(TRANSITIONS[Kind.REPAIR]))
def test_repair_reaches_wfp_only_from_ready(source):
    ticket = _ticket(Kind.REPAIR, source)
    if source == Status.READY_FOR_PICKUP:
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
        assert ticket.status == Status.WAITING_FOR_PAYMENT
    else:
        with pytest.raises(InvalidTransition):
            ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)


def test_quick_sale_reaches_wfp_only_with_a_customer():
    ticket = TicketFactory(kind=Kind.QUICK_SALE)
    assert Status.WAITING_FOR_PAYMENT not in ticket.allowed_moves()
    with pytest.raises(InvalidTransition, match="Attach a customer"):
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
    ticket.customer = CustomerFactory()
    ticket.save()
    assert Status.WAITING_FOR_PAYMENT in ticket.allowed_moves()
    ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
    assert ticket.status == Status.WAITING_FOR_PAYMENT


def test_quick_sale_needs_no_items_for_wfp():
    ticket = _ticket(Kind.QUICK_SALE, Status.OPEN)
    assert ticket.items.count() == 0
    ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
    assert ticket.status == Status.WAITING_FOR_PAYMENT


@pytest.mark.parametrize(
    ("kind", "source"),
    [(Kind.REPAIR, Status.INVOICED), (Kind.QUICK_SALE, Status.INVOICED)],
)
@pytest.mark.parametrize("target", [Status.WAITING_FOR_PAYMENT, Status.CLOSED])
def test_invoicing_moves_are_refused_to_staff(kind, source, target):
    ticket = _ticket(kind, source)
    assert TRANSITIONS[kind][source][target] == INVOICING
    with pytest.raises(InvalidTransition, match="only through invoicing"):
        ticket.transition_to(target, by=None)
    assert target not in ticket.allowed_moves()


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("final", [Status.CLOSED, Status.CANCELLED])
def test_closed_and_cancelled_are_final(kind, final):
    ticket = _ticket(kind, final)
    assert ticket.allowed_moves() == []
    for target in Status:
        if target != final:
            with pytest.raises(InvalidTransition):
                ticket.transition_to(target, by=None)


def test_closing_needs_nothing_due():
    ticket = _ticket(Kind.QUICK_SALE, Status.OPEN, items=[("Cable", 1, "10.00", False)])
    assert Status.CLOSED not in ticket.allowed_moves()
    with pytest.raises(InvalidTransition, match="still has"):
        ticket.transition_to(Status.CLOSED, by=None)


def test_cancelling_needs_nothing_paid():
    ticket = _ticket(
        Kind.REPAIR, Status.NEW, items=[("Screen", 1, "50.00", False)], deposits=["10.00"]
    )
    assert Status.CANCELLED not in ticket.allowed_moves()
    with pytest.raises(InvalidTransition, match="refund"):
        ticket.transition_to(Status.CANCELLED, by=None)


def test_unknown_status_is_refused():
    ticket = _ticket(Kind.REPAIR, Status.NEW)
    with pytest.raises(InvalidTransition, match="not a ticket status"):
        ticket.transition_to("teleported", by=None)


def test_allowed_moves_are_the_tables_staff_moves_minus_refusals():
    ticket = TicketFactory(kind=Kind.QUICK_SALE, items=[("Case", 1, "5.00", True)])
    # No customer (no WFP) and something due (no Close): only Cancelled is left.
    assert ticket.allowed_moves() == [Status.CANCELLED]
    assert {target for target, _ in ticket.refused_moves()} == {
        Status.WAITING_FOR_PAYMENT,
        Status.CLOSED,
    }


def test_credit_limit_blocks_wfp_and_changes_nothing():
    agent = BillingAgentFactory(credit_limit=Decimal("100.00"))
    agent_ticket(agent, status=Status.WAITING_FOR_PAYMENT, items=[("Old", 1, "90.00", False)])
    ticket = agent_ticket(
        agent, status=Status.READY_FOR_PICKUP, items=[("Screen", 1, "20.00", False)]
    )
    with pytest.raises(CreditLimitExceeded) as raised:
        ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
    assert raised.value.open_balance == Decimal("110.00")
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP
    change = ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None, override_credit_limit=True)
    assert change.credit_limit_override is True


def test_credit_limit_allows_wfp_within_the_limit():
    agent = BillingAgentFactory(credit_limit=Decimal("100.00"))
    ticket = agent_ticket(
        agent, status=Status.READY_FOR_PICKUP, items=[("Screen", 1, "100.00", False)]
    )
    change = ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)
    assert change.credit_limit_override is False


@pytest.mark.parametrize("status", [Status.INVOICED, Status.CLOSED, Status.CANCELLED])
def test_invoiced_closed_and_cancelled_tickets_are_read_only(status):
    ticket = _ticket(Kind.REPAIR, status)
    with pytest.raises(TicketLocked):
        ticket.ensure_editable()


def test_open_tickets_are_editable():
    _ticket(Kind.REPAIR, Status.WAITING_FOR_PAYMENT).ensure_editable()
    assert set(Ticket.objects.editable().values_list("status", flat=True)) == {
        Status.WAITING_FOR_PAYMENT
    }


# --- list queries ----------------------------------------------------------------------


def test_search_finds_a_ticket_by_its_number_in_any_spelling():
    ticket = TicketFactory()
    TicketFactory()
    for q in (ticket.number, ticket.number.lower(), str(ticket.pk), f"T{ticket.pk}"):
        assert list(Ticket.objects.search(q)) == [ticket], q


def test_search_finds_tickets_by_customer():
    customer = CustomerFactory(first_name="Zelda", last_name="Quimby", company_name="Hyrule Co")
    ticket = TicketFactory(customer=customer)
    TicketFactory(customer=CustomerFactory(first_name="Other"))
    assert list(Ticket.objects.search("quimby")) == [ticket]
    assert list(Ticket.objects.search("zelda hyrule")) == [ticket]
    assert list(Ticket.objects.search("nobody")) == []


def test_filtered_combines_status_kind_location_and_agent():
    agent = BillingAgentFactory()
    wanted = agent_ticket(agent, status=Status.IN_REPAIR)
    TicketFactory(status=Status.IN_REPAIR)
    TicketFactory(kind=Kind.QUICK_SALE)
    result = Ticket.objects.filtered(
        status=Status.IN_REPAIR,
        kind=Kind.REPAIR,
        location_id=wanted.location_id,
        billing_agent_id=agent.pk,
    )
    assert list(result) == [wanted]


def test_open_filter_leaves_out_closed_and_cancelled():
    open_ticket = TicketFactory(status=Status.IN_REPAIR)
    TicketFactory(status=Status.CLOSED)
    TicketFactory(status=Status.CANCELLED)
    assert list(Ticket.objects.filtered(status="open_any")) == [open_ticket]


# --- check_move: the one check behind transition_to and the bulk mover ------------------------

INVOICING_MOVES = [
    (kind, source, target)
    for kind in Kind
    for source, targets in TRANSITIONS[kind].items()
    for target, who in targets.items()
    if who == INVOICING
]
STAFF_MOVES = [
    (kind, source, target)
    for kind in Kind
    for source, targets in TRANSITIONS[kind].items()
    for target, who in targets.items()
    if who == STAFF
]


@pytest.mark.parametrize(("kind", "source", "target"), INVOICING_MOVES)
def test_check_move_refuses_invoicing_only_moves_to_staff_with_the_reason(kind, source, target):
    ticket = _ticket(kind, source)
    with pytest.raises(InvalidTransition, match=f"{ticket.number} reaches .* only through"):
        ticket.check_move(target, via=STAFF)
    ticket.check_move(target, via=INVOICING)  # the same move is invoicing's to make


@pytest.mark.parametrize(("kind", "source", "target"), STAFF_MOVES)
def test_check_move_refuses_staff_only_moves_to_invoicing_with_the_reason(kind, source, target):
    ticket = _ticket(kind, source)
    with pytest.raises(InvalidTransition, match=f"{ticket.number} is moved to .* ticket page"):
        ticket.check_move(target, via=INVOICING)


def test_check_move_applies_the_rules_to_invoicing_moves_too():
    ticket = _ticket(Kind.REPAIR, Status.INVOICED, items=[("Screen", 1, "50.00", False)])
    with pytest.raises(InvalidTransition, match=r"still has \$50\.00 due"):
        ticket.check_move(Status.CLOSED, via=INVOICING)


@pytest.mark.parametrize(("kind", "source", "target"), STAFF_MOVES)
def test_the_page_offers_exactly_the_staff_moves_check_move_allows(kind, source, target):
    ticket = TicketFactory(kind=kind, status=source, items=[("Part", 1, "5.00", True)])
    try:
        ticket.check_move(target, via=STAFF)
    except InvalidTransition as refused:
        assert target not in ticket.allowed_moves()
        assert (target, str(refused)) in ticket.refused_moves()
    else:
        assert target in ticket.allowed_moves()
