from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from billing_agents.models import BillingAgent
from billing_runs.queries import due_payer_count
from core.models import Letterhead
from customers.models import Customer
from invoicing.aging import aging_totals
from invoicing.models import Account, Invoice, InvoiceLine, InvoiceLineItem
from statements.statements import build_statement, last_full_month
from tickets.credit_hold import hold_for
from tickets.models import Ticket
from tickets.transitions import TRANSITIONS, Kind


@pytest.mark.django_db
def test_seed_demo_runs_twice_and_covers_every_status():
    call_command("seed_demo", stdout=StringIO())
    counts = (BillingAgent.objects.count(), Customer.objects.count(), Ticket.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (
        BillingAgent.objects.count(),
        Customer.objects.count(),
        Ticket.objects.count(),
    ) == counts
    assert counts[0] >= 12 and counts[1] >= 100 and counts[2] >= 300
    for kind in Kind:
        seen = set(Ticket.objects.filter(kind=kind).values_list("status", flat=True))
        assert seen == set(TRANSITIONS[kind]), kind


@pytest.mark.django_db
def test_seeded_tickets_hold_totals_equal_to_a_fresh_computation():
    call_command("seed_demo", stdout=StringIO())
    for ticket in Ticket.objects.select_related("location")[:80]:
        fresh = ticket.fresh_totals()
        assert (ticket.total, ticket.amount_paid, ticket.balance_due) == (
            fresh.total,
            fresh.amount_paid,
            fresh.balance_due,
        )


@pytest.mark.django_db
def test_demo_logins_work_for_each_role():
    from demo.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS

    call_command("seed_demo", stdout=StringIO())
    for username, _, _, role in DEMO_USERS:
        request = RequestFactory().post("/accounts/login/")  # django-axes needs the request
        user = authenticate(request, username=username, password=DEMO_PASSWORD)
        assert user is not None and user.groups.filter(name=role).exists()


@pytest.mark.django_db
def test_every_seeded_invoice_is_issued_after_its_tickets_were_created_and_by_today():
    call_command("seed_demo", stdout=StringIO())
    today = timezone.localdate()
    invoices = list(Invoice.objects.prefetch_related("lines__ticket"))
    assert len(invoices) >= 6
    for invoice in invoices:
        assert invoice.issue_date <= today, invoice.number
        for line in invoice.lines.all():
            created_on = timezone.localdate(line.ticket.created_at)
            assert invoice.issue_date >= created_on, (invoice.number, line.ticket.number)


@pytest.mark.django_db
def test_the_seed_shows_a_month_of_receivables_at_first_login():
    """Last month's statement of Harbor Insurance has its invoices, a voided cheque and
    the payment that replaced it; every aging bucket has money; an agent is on hold; and
    payers are due for a billing run."""
    call_command("seed_demo", stdout=StringIO())
    today = timezone.localdate()
    harbor = Account.objects.get(billing_agent__company_name="Harbor Insurance Group")
    start, end = last_full_month(today)
    statement = build_statement(account=harbor, start=start, end=end)
    kinds = [line.kind for line in statement.lines]
    assert kinds.count("invoice") >= 2 and "payment_void" in kinds and "payment" in kinds, kinds
    totals = aging_totals(today)
    for bucket in ("current", "d1_30", "d31_60", "d61_90", "over_90"):
        assert totals[bucket] > 0, bucket
    atlas = BillingAgent.objects.get(company_name="Atlas Mutual Assurance")
    assert hold_for(atlas) is not None
    assert hold_for(BillingAgent.objects.get(company_name="Greenfield University")) is None
    assert due_payer_count(today) >= 3


@pytest.mark.django_db
def test_the_seed_prints_itemized_invoices_with_claim_numbers_on_a_letterhead():
    call_command("seed_demo", stdout=StringIO())
    letterhead = Letterhead.current()
    assert letterhead.pk and letterhead.tax_number and letterhead.remit_to
    assert letterhead.logo_data_uri.startswith("data:image/png;base64,")
    harbor = BillingAgent.objects.get(company_name="Harbor Insurance Group")
    assert (harbor.reference_label, harbor.reference_required) == ("Claim #", True)
    lines = InvoiceLine.objects.filter(invoice__account__billing_agent=harbor)
    assert lines.exists() and not lines.filter(reference="").exists()
    assert InvoiceLineItem.objects.filter(line__in=lines).exists()
    assert BillingAgent.objects.filter(send_reminders=False).exists()
