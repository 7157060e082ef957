"""The open-ticket tallies per status that the dashboard reads (issue 13, the dashboard at 4x).

Every change to a ticket's status or balance due inserts its delta in the same
transaction (tickets.models.record_tally_changes); a status's figure is the sum of its
rows. Each test compares the tallies with a fresh computation from the tickets. Folding
(tickets.tallies.fold_status_tallies) keeps the ledger short without changing a sum.
"""

import importlib
from collections import defaultdict
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from core.money import to_cents
from invoicing import services as invoicing
from invoicing.accounts import account_for
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    TicketFactory,
    UserFactory,
    agent_ticket,
    waiting_ticket,
)
from tickets import services
from tickets.models import (
    PaymentMethod,
    StatusTally,
    Ticket,
    record_tally_changes,
    write_totals,
)
from tickets.tallies import (
    fold_status_tallies,
    read_tallies,
    rebuild_status_tallies,
    status_tallies,
)
from tickets.transitions import FINAL_STATUSES, Kind, Status

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D("0.00")


def fresh() -> dict[str, tuple[int, Decimal]]:
    """Open tickets and their balance due per status, computed here from the tickets."""
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for status, due in Ticket.objects.values_list("status", "balance_due"):
        if status not in FINAL_STATUSES:
            counts[status] += 1
            sums[status] += due
    return {status: (counts[status], to_cents(sums[status])) for status in counts}


def tallied() -> dict[str, tuple[int, Decimal]]:
    """The ledger's sums, leaving out statuses whose rows cancel out to nothing."""
    return {status: figures for status, figures in status_tallies().items() if figures != (0, 0)}


def assert_kept() -> None:
    assert tallied() == fresh()


@pytest.fixture
def clerk():
    return UserFactory(username="tally-clerk", role="Manager")


@pytest.fixture
def location():
    return LocationFactory(name="Tally store", tax_rate_percent=D("0"))


def _quick_sale(location, clerk, price="20.00", customer=None) -> Ticket:
    ticket = services.create_ticket(
        kind=Kind.QUICK_SALE, location=location, customer=customer, by=clerk
    )
    services.add_item(
        ticket=ticket, description="Cable", quantity=D("1"), unit_price=D(price), by=clerk
    )
    return ticket


# --- the write points ---------------------------------------------------------------------


def test_a_new_repair_ticket_counts_in_new(location, clerk):
    services.create_ticket(kind=Kind.REPAIR, location=location, by=clerk)
    assert tallied() == {Status.NEW: (1, ZERO)}
    assert_kept()


def test_a_factory_ticket_counts_as_a_created_one_does(location):
    TicketFactory(status=Status.IN_REPAIR, location=location, items=[("Fan", 1, "15.00", False)])
    assert tallied() == {Status.IN_REPAIR: (1, D("15.00"))}


def test_changing_the_items_changes_the_due_of_the_tickets_status(location, clerk):
    ticket = _quick_sale(location, clerk, "20.00")
    assert tallied() == {Status.OPEN: (1, D("20.00"))}
    item = ticket.items.get()
    services.update_item(
        item=item,
        description="Cable",
        quantity=D("3"),
        unit_price=D("20.00"),
        taxable=False,
        by=clerk,
    )
    assert tallied() == {Status.OPEN: (1, D("60.00"))}
    services.remove_item(item=item, by=clerk)
    assert tallied() == {Status.OPEN: (1, ZERO)}


def test_a_deposit_lowers_the_due(location, clerk):
    ticket = _quick_sale(location, clerk, "20.00")
    services.add_deposit(ticket=ticket, amount=D("5.00"), method=PaymentMethod.CASH, by=clerk)
    assert tallied() == {Status.OPEN: (1, D("15.00"))}


def test_a_move_moves_the_count_and_the_balance_to_the_new_status(location, clerk):
    customer = CustomerFactory()
    ticket = _quick_sale(location, clerk, "20.00", customer=customer)
    services.move_ticket(ticket=ticket, target=Status.WAITING_FOR_PAYMENT, by=clerk)
    assert tallied() == {Status.WAITING_FOR_PAYMENT: (1, D("20.00"))}
    assert_kept()


def test_closing_a_ticket_takes_it_off_the_open_tallies(location, clerk):
    ticket = _quick_sale(location, clerk, "20.00")
    services.add_deposit(ticket=ticket, amount=D("20.00"), method=PaymentMethod.CARD, by=clerk)
    services.move_ticket(ticket=ticket, target=Status.CLOSED, by=clerk)
    assert tallied() == {}
    assert Status.CLOSED not in status_tallies()


def test_cancelling_a_ticket_takes_its_due_off_too(location, clerk):
    ticket = _quick_sale(location, clerk, "20.00")
    services.move_ticket(ticket=ticket, target=Status.CANCELLED, by=clerk)
    assert tallied() == {}


def test_bulk_invoicing_moves_the_tickets_from_waiting_to_invoiced(clerk):
    agent = BillingAgentFactory()
    tickets = [waiting_ticket(agent, items=[("Repair", 1, p, False)]) for p in ("100", "50")]
    invoicing.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=clerk
    )
    assert tallied()[Status.INVOICED] == (2, D("150.00"))
    assert Status.WAITING_FOR_PAYMENT not in tallied()
    assert_kept()


def test_a_remittance_lowers_the_invoiced_due_and_a_full_one_closes_the_tickets(clerk):
    agent = BillingAgentFactory()
    tickets = [waiting_ticket(agent, items=[("Repair", 1, p, False)]) for p in ("100", "50")]
    [invoice] = invoicing.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=clerk
    )
    invoicing.record_remittance(
        invoice=invoice, amount=D("30.00"), method=PaymentMethod.CHEQUE, by=clerk
    )
    assert tallied()[Status.INVOICED] == (2, D("120.00"))
    invoicing.record_remittance(
        invoice=invoice, amount=D("120.00"), method=PaymentMethod.CHEQUE, by=clerk
    )
    assert Status.INVOICED not in tallied()
    assert_kept()


def test_deleting_an_invoice_sends_its_tickets_back_to_waiting(clerk):
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent, items=[("Repair", 1, "80.00", False)])
    [invoice] = invoicing.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=clerk
    )
    invoicing.delete_invoice(invoice=invoice, by=clerk)
    assert tallied()[Status.WAITING_FOR_PAYMENT] == (1, D("80.00"))
    assert_kept()


def test_a_ticket_deleted_outside_the_app_is_drift_the_check_reports(location, capsys):
    """The shop never deletes tickets (the admin refuses; payments protect them); a delete
    from a shell leaves the tallies behind, which check_agent_figures reports."""
    TicketFactory(location=location, items=[("Fan", 1, "15.00", False)])
    gone = TicketFactory(location=location, items=[("Board", 1, "40.00", False)])
    Ticket.objects.filter(pk=gone.pk).delete()
    with pytest.raises(CommandError):
        call_command("check_agent_figures")
    assert "1 status tally drifted:" in capsys.readouterr().out
    call_command("check_agent_figures", "--fix")
    assert tallied() == {Status.NEW: (1, D("15.00"))}


def test_changing_the_billing_agent_records_nothing(clerk):
    old, new = BillingAgentFactory(), BillingAgentFactory()
    ticket = agent_ticket(old, items=[("Board", 1, "100.00", False)])
    rows = StatusTally.objects.count()
    services.set_billing_agent(ticket=ticket, agent=new, by=clerk)
    assert StatusTally.objects.count() == rows


def test_totals_written_again_unchanged_record_nothing(location, clerk):
    ticket = _quick_sale(location, clerk, "20.00")
    rows = StatusTally.objects.count()
    write_totals([Ticket.objects.get(pk=ticket.pk)])
    assert StatusTally.objects.count() == rows


def test_recording_no_change_runs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        record_tally_changes([(Status.NEW, D("5.00"))], [(Status.NEW, D("5.00"))])
        record_tally_changes([(Status.CLOSED, D("0.00"))], [(Status.CANCELLED, D("0.00"))])
        record_tally_changes([], [])


def test_a_move_of_many_tickets_records_one_row_per_status_in_one_insert(
    django_assert_num_queries,
):
    before = [(Status.WAITING_FOR_PAYMENT, D("10.00"))] * 30
    after = [(Status.INVOICED, D("10.00"))] * 30
    with django_assert_num_queries(1):
        record_tally_changes(before, after)
    rows = StatusTally.objects.values_list("status", "tickets", "balance_due")
    assert sorted(rows) == [
        (Status.INVOICED, 30, D("300.00")),
        (Status.WAITING_FOR_PAYMENT, -30, D("-300.00")),
    ]


# --- folding and rebuilding ---------------------------------------------------------------


def _many_rows(location, clerk) -> None:
    for price in ("10.00", "25.50", "99.75"):
        _quick_sale(location, clerk, price)
    services.create_ticket(kind=Kind.REPAIR, location=location, by=clerk)


def test_a_fold_keeps_the_sums_and_leaves_one_row_per_status(location, clerk):
    _many_rows(location, clerk)
    sums = status_tallies()
    assert StatusTally.objects.count() > 2
    folded = fold_status_tallies()
    assert folded > 2
    assert status_tallies() == sums
    assert sorted(StatusTally.objects.values_list("status", flat=True)) == [
        Status.NEW,
        Status.OPEN,
    ]
    assert_kept()


def test_a_fold_drops_a_status_whose_rows_cancel_out(location, clerk):
    ticket = _quick_sale(location, clerk, "20.00")
    services.move_ticket(ticket=ticket, target=Status.CANCELLED, by=clerk)
    fold_status_tallies()
    assert StatusTally.objects.count() == 0
    assert status_tallies() == {}


def test_two_folds_never_double_count(location, clerk):
    _many_rows(location, clerk)
    sums = status_tallies()
    stale = read_tallies().last_id  # what a second reader saw before the first fold
    fold_status_tallies(up_to=stale)
    assert fold_status_tallies(up_to=stale) == 0
    fold_status_tallies()
    assert status_tallies() == sums


def test_a_fold_leaves_the_rows_after_its_bound(location, clerk):
    _many_rows(location, clerk)
    bound = read_tallies().last_id
    _quick_sale(location, clerk, "5.00")
    fold_status_tallies(up_to=bound)
    assert StatusTally.objects.filter(pk__gt=bound).count() >= 2
    assert_kept()


def test_folding_an_empty_ledger_does_nothing():
    assert fold_status_tallies() == 0
    assert status_tallies() == {}


def test_rebuilding_replaces_wrong_rows_with_fresh_sums(location, clerk):
    _many_rows(location, clerk)
    StatusTally.objects.create(status=Status.ON_HOLD, tickets=7, balance_due=D("70.00"))
    rebuild_status_tallies()
    assert_kept()
    assert StatusTally.objects.count() == 2


def test_the_migration_fills_the_tallies_from_the_tickets(location):
    TicketFactory(location=location, items=[("Fan", 1, "15.00", False)])
    TicketFactory(location=location, status=Status.CANCELLED)
    StatusTally.objects.all().delete()
    migration = importlib.import_module("tickets.migrations.0010_statustally")
    migration.fill_tallies(django_apps, None)
    assert tallied() == {Status.NEW: (1, D("15.00"))}


# --- check_agent_figures ------------------------------------------------------------------


def test_check_agent_figures_says_the_tallies_agree_after_normal_use(location, clerk, capsys):
    _many_rows(location, clerk)
    call_command("check_agent_figures")
    out = capsys.readouterr().out
    assert "0 agents drifted." in out
    assert "Status tallies agree." in out


def test_check_agent_figures_reports_drifted_tallies_and_fix_rebuilds_them(location, clerk, capsys):
    _quick_sale(location, clerk, "20.00")
    StatusTally.objects.create(status=Status.OPEN, tickets=2, balance_due=D("5.00"))
    with pytest.raises(CommandError):
        call_command("check_agent_figures")
    out = capsys.readouterr().out
    assert "0 agents drifted." in out
    assert "1 status tally drifted:" in out
    assert "Open: stored 3 tickets / $25.00, fresh 1 tickets / $20.00" in out
    assert tallied() == {Status.OPEN: (3, D("25.00"))}  # reported, not touched

    call_command("check_agent_figures", "--fix")
    assert "Rebuilt the status tallies." in capsys.readouterr().out
    assert_kept()
    call_command("check_agent_figures")
