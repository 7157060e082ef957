"""Billing runs: who is due (queries), setting a cycle, and one run over many payers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from billing_runs.cycles import days_for, is_due
from billing_runs.queries import due_accounts, due_payer_count, due_payers
from billing_runs.services import (
    InvalidBillingCycle,
    Outcome,
    run_billing,
    set_billing_cycle,
)
from invoicing import services as invoicing_services
from invoicing.models import Account, BillingCycle, Invoice
from tests.billing_runs.conftest import tickets_for, with_cycle
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    waiting_ticket,
)
from tickets.models import Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db
D = Decimal


def _seen(payers):
    return {row.account.pk: row.ticket_ids for row in payers}


def _by_name(results):
    return {result.account.name: result for result in results}


# --- who is due ------------------------------------------------------------------------


def test_due_payers_lists_due_payers_with_tickets_by_name(three_payers, location):
    _, tickets = three_payers
    rows = due_payers(timezone.localdate())
    assert [row.account.name for row in rows] == [
        "Acme Insurance",
        "Blue Co",
        "Dana Direct",
    ]
    acme = rows[0]
    assert (acme.ticket_count, acme.amount) == (2, D("300.00"))
    assert acme.ticket_ids == tuple(sorted(t.pk for t in tickets["acme"]))
    assert acme.next_billing_date == timezone.localdate()
    assert acme.cycle.startswith("Weekly on ")
    assert due_payer_count(timezone.localdate()) == 3


def test_payers_not_due_or_without_tickets_or_cycle_are_not_listed(db, location):
    today = timezone.localdate()
    no_cycle = BillingAgentFactory(company_name="No Cycle")
    tickets_for(no_cycle, location, "10.00")
    with_cycle(no_cycle, BillingCycle.NONE)
    billed_today = BillingAgentFactory(company_name="Billed Today")
    tickets_for(billed_today, location, "10.00")
    with_cycle(billed_today, last_billed_on=today)
    no_tickets = BillingAgentFactory(company_name="No Tickets")
    with_cycle(no_tickets)
    # A customer who lost direct-billing terms is no payer of a run.
    former = CustomerFactory(net_terms_days=15)
    tickets_for(former, location, "10.00")
    with_cycle(former)
    former.net_terms_days = None
    former.save(update_fields=["net_terms_days"])
    # A ticket already on an invoice does not count.
    invoiced = BillingAgentFactory(company_name="Invoiced")
    [ticket] = tickets_for(invoiced, location, "10.00")
    invoicing_services.create_invoices(
        account=with_cycle(invoiced), ticket_ids=[ticket.pk], batch=True, by=None
    )
    assert due_payers(today) == []
    assert due_payer_count(today) == 0


def test_a_customer_under_an_agent_counts_only_its_own_direct_tickets(db, location):
    agent = BillingAgentFactory(company_name="Agent")
    customer = CustomerFactory(billing_agent=agent, net_terms_days=10, last_name="Zed")
    tickets_for(agent, location, "40.00")
    waiting_ticket(agent, customer=customer, location=location)  # billed to the agent
    waiting_ticket(customer, location=location, items=[("Own", 1, "7.00", True)])
    with_cycle(customer)
    [row] = due_payers(timezone.localdate())
    assert row.account.customer == customer
    assert (row.ticket_count, row.amount) == (1, D("7.00"))


# The SQL filter is built from the rule's threshold; this checks the database agrees with
# the Python rule for random cycles, days and last billing dates.
class TestDueConditionMatchesTheRule(HypothesisTestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(
                    [(c, d) for c in BillingCycle.values if c for d in days_for(c)] + [("", None)]
                ),
                st.one_of(st.none(), st.integers(min_value=-70, max_value=3)),
            ),
            min_size=1,
            max_size=6,
        )
    )
    def test_due_accounts_equal_is_due(self, specs):
        today = timezone.localdate()
        location = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
        expected = set()
        for (cycle, day), offset in specs:
            agent = BillingAgentFactory()
            tickets_for(agent, location, "10.00")
            last = None if offset is None else today + timedelta(days=offset)
            account = with_cycle(agent, cycle, day, last)
            if is_due(cycle, day, last, today):
                expected.add(account.pk)
        assert {a.pk for a in due_accounts(today)} == expected


# --- setting a cycle -------------------------------------------------------------------


def test_set_billing_cycle_creates_the_account_when_needed(db, billing_user):
    agent = BillingAgentFactory()
    account = set_billing_cycle(
        account=Account.of(agent), cycle=BillingCycle.MONTHLY, day=1, by=billing_user
    )
    stored = Account.objects.get(billing_agent=agent)
    assert stored.pk == account.pk
    assert (stored.billing_cycle, stored.billing_day) == ("monthly", 1)


def test_no_fixed_cycle_clears_the_day_and_keeps_the_last_billing(db):
    agent = BillingAgentFactory()
    yesterday = timezone.localdate() - timedelta(days=1)
    account = with_cycle(agent, BillingCycle.WEEKLY, 4, yesterday)
    set_billing_cycle(account=account, cycle="", day=4, by=None)
    account.refresh_from_db()
    assert (account.billing_cycle, account.billing_day) == ("", None)
    assert account.last_billed_on == yesterday


@pytest.mark.parametrize(
    ("cycle", "day", "field"),
    [
        ("weekly", None, "weekday"),
        ("weekly", 7, "weekday"),
        ("biweekly", -1, "weekday"),
        ("monthly", None, "day_of_month"),
        ("monthly", 0, "day_of_month"),
        ("monthly", 29, "day_of_month"),
        ("yearly", 1, "cycle"),
    ],
)
def test_a_day_that_does_not_fit_the_cycle_is_refused_beside_its_field(db, cycle, day, field):
    agent = BillingAgentFactory()
    with pytest.raises(InvalidBillingCycle) as refused:
        set_billing_cycle(account=Account.of(agent), cycle=cycle, day=day, by=None)
    assert refused.value.field == field
    assert not Account.objects.filter(billing_agent=agent).exists()  # nothing written


def test_a_customer_without_direct_terms_gets_no_cycle(db):
    customer = CustomerFactory(net_terms_days=None)
    with pytest.raises(InvalidBillingCycle, match="no direct-billing terms"):
        set_billing_cycle(account=Account.of(customer), cycle="monthly", day=1, by=None)


# --- the run ---------------------------------------------------------------------------


def test_run_invoices_three_payers_by_their_invoice_method(three_payers, billing_user):
    accounts, tickets = three_payers
    today = timezone.localdate()
    payers = due_payers(today)
    results = run_billing(
        accounts=[row.account for row in payers], email=False, by=billing_user, seen=_seen(payers)
    )
    assert [r.message for r in results] == [
        "Acme Insurance: 2 tickets, 1 invoice, $300.00",
        "Blue Co: 2 tickets, 2 invoices, $75.00",
        "Dana Direct: 1 ticket, 1 invoice, $80.00",
    ]
    assert {r.outcome for r in results} == {Outcome.INVOICED}
    [acme_invoice] = Invoice.objects.for_account(accounts["acme"])
    assert acme_invoice.lines.count() == 2
    assert acme_invoice.created_by == billing_user
    assert acme_invoice.issue_date == today
    assert Invoice.objects.for_account(accounts["blue"]).count() == 2
    assert Invoice.objects.for_account(accounts["dana"]).get().due_date == today + timedelta(15)
    for account in accounts.values():
        account.refresh_from_db()
        assert account.last_billed_on == today
    every_ticket = [t.pk for group in tickets.values() for t in group]
    assert set(Ticket.objects.filter(pk__in=every_ticket).values_list("status", flat=True)) == {
        Status.INVOICED
    }


def test_a_payer_whose_tickets_were_taken_meanwhile_is_reported_and_the_others_succeed(
    three_payers, billing_user
):
    accounts, tickets = three_payers
    payers = due_payers(timezone.localdate())
    # Another clerk invoices one of Blue Co's tickets after the list was shown.
    taken = tickets["blue"][0]
    invoicing_services.create_invoices(
        account=accounts["blue"], ticket_ids=[taken.pk], batch=True, by=billing_user
    )
    results = _by_name(
        run_billing(
            accounts=[row.account for row in payers],
            email=False,
            by=billing_user,
            seen=_seen(payers),
        )
    )
    blue = results["Blue Co"]
    assert blue.outcome == Outcome.FAILED
    assert blue.message == (
        f"Blue Co: its tickets were invoiced meanwhile ({taken.number}); nothing created."
    )
    assert Invoice.objects.for_account(accounts["blue"]).count() == 1  # only the other clerk's
    assert Ticket.objects.get(pk=tickets["blue"][1].pk).status == Status.WAITING_FOR_PAYMENT
    accounts["blue"].refresh_from_db()
    assert accounts["blue"].last_billed_on is None
    assert results["Acme Insurance"].outcome == Outcome.INVOICED
    assert results["Dana Direct"].outcome == Outcome.INVOICED


def test_a_ticket_no_longer_invoiceable_fails_only_its_payer(three_payers, billing_user):
    accounts, tickets = three_payers
    payers = due_payers(timezone.localdate())
    moved = tickets["acme"][0]
    Ticket.objects.filter(pk=moved.pk).update(status=Status.READY_FOR_PICKUP)
    results = _by_name(
        run_billing(
            accounts=[r.account for r in payers], email=False, by=billing_user, seen=_seen(payers)
        )
    )
    acme = results["Acme Insurance"]
    assert acme.outcome == Outcome.FAILED
    assert moved.number in acme.message
    assert acme.message.endswith("Nothing created.")
    assert not Invoice.objects.for_account(accounts["acme"]).exists()
    assert results["Blue Co"].outcome == Outcome.INVOICED


def test_emailing_sends_each_invoice_and_reports_a_payer_without_email(
    three_payers, location, billing_user, django_capture_on_commit_callbacks
):
    silent = BillingAgentFactory(company_name="Silent Partners", email="")
    tickets_for(silent, location, "30.00")
    with_cycle(silent)
    payers = due_payers(timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        results = _by_name(
            run_billing(
                accounts=[r.account for r in payers],
                email=True,
                by=billing_user,
                seen=_seen(payers),
            )
        )
    assert results["Silent Partners"].outcome == Outcome.INVOICED
    assert results["Silent Partners"].message.endswith("not emailed: no email address")
    assert results["Acme Insurance"].message.endswith("email queued to ap@acme.example")
    # Acme one batch invoice, Blue Co two, Dana one: four emails, none to Silent Partners.
    recipients = sorted(message.to[0] for message in mail.outbox)
    assert recipients == [
        "ap@acme.example",
        "billing@blue.example",
        "billing@blue.example",
        "dana@mail.example",
    ]
    assert Invoice.objects.filter(sent_at__isnull=False).count() == 4


def test_without_email_nothing_is_sent(
    three_payers, billing_user, django_capture_on_commit_callbacks
):
    payers = due_payers(timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        run_billing(accounts=[r.account for r in payers], email=False, by=billing_user)
    assert mail.outbox == []


def test_a_second_run_finds_nothing_to_invoice(three_payers, billing_user):
    payers = due_payers(timezone.localdate())
    accounts = [row.account for row in payers]
    run_billing(accounts=accounts, email=False, by=billing_user, seen=_seen(payers))
    before = Invoice.objects.count()
    again = run_billing(accounts=accounts, email=False, by=billing_user, seen=_seen(payers))
    assert [r.outcome for r in again] == [Outcome.NOTHING] * 3
    assert again[0].message == "Acme Insurance: nothing to invoice (already billed today)."
    assert Invoice.objects.count() == before
    assert due_payers(timezone.localdate()) == []


def test_tickets_added_after_the_list_was_shown_are_left_for_later(
    three_payers, location, billing_user
):
    accounts, _ = three_payers
    payers = due_payers(timezone.localdate())
    acme_agent = accounts["acme"].billing_agent
    [late] = tickets_for(acme_agent, location, "999.00")
    results = _by_name(
        run_billing(
            accounts=[r.account for r in payers], email=False, by=billing_user, seen=_seen(payers)
        )
    )
    acme = results["Acme Insurance"]
    assert acme.message == (
        "Acme Insurance: 2 tickets, 1 invoice, $300.00; "
        f"left for later, added after the list was shown: {late.number}"
    )
    assert Ticket.objects.get(pk=late.pk).status == Status.WAITING_FOR_PAYMENT


def test_a_payer_not_due_is_not_invoiced(db, location, billing_user):
    agent = BillingAgentFactory(company_name="Later Ltd")
    tickets_for(agent, location, "10.00")
    today = timezone.localdate()
    upcoming = today + timedelta(days=4)
    account = with_cycle(agent, BillingCycle.WEEKLY, upcoming.weekday(), today - timedelta(days=3))
    [result] = run_billing(accounts=[account], email=False, by=billing_user)
    assert result.message == f"Later Ltd: nothing to invoice (not due until {upcoming:%Y-%m-%d})."
    assert not Invoice.objects.exists()


def test_without_seen_tickets_the_run_takes_every_invoiceable_one(three_payers, billing_user):
    accounts, _ = three_payers
    [result] = run_billing(accounts=[accounts["acme"]], email=False, by=billing_user)
    assert result.ticket_count == 2


def test_a_payer_missing_from_seen_has_nothing_to_invoice(three_payers, billing_user):
    accounts, _ = three_payers
    [result] = run_billing(accounts=[accounts["acme"]], email=False, by=billing_user, seen={})
    assert result.outcome == Outcome.NOTHING
    assert not Invoice.objects.exists()
