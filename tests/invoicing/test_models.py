from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.forms import STATUS_FILTERS
from invoicing.models import (
    DISPLAY_STATUSES,
    Account,
    DisplayStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Remittance,
    invoiceable_tickets,
)
from tests.factories import (
    AccountFactory,
    BillingAgentFactory,
    CreditTransactionFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    LocationFactory,
    waiting_ticket,
)
from tickets.transitions import Status

D = Decimal
pytestmark = pytest.mark.django_db


def _status_of(**fields):
    today = timezone.localdate()
    invoice = InvoiceFactory(
        issue_date=today - timedelta(days=10), due_date=today + timedelta(days=5), **fields
    )
    return invoice.display_status


def test_display_status_covers_every_state():
    today = timezone.localdate()
    assert _status_of(total=D("10")) == "open"
    assert _status_of(total=D("10"), amount_paid=D("4")) == DisplayStatus.PARTIALLY_PAID
    assert _status_of(total=D("10"), amount_paid=D("10"), status="paid") == "paid"
    assert _status_of(status="deleted", deleted_at=timezone.now()) == "deleted"
    overdue = InvoiceFactory(
        total=D("10"), issue_date=today - timedelta(days=40), due_date=today - timedelta(days=1)
    )
    assert overdue.display_status == "overdue"


@pytest.mark.parametrize("status", DisplayStatus.values)
def test_status_filter_matches_display_status(status):
    today = timezone.localdate()
    made = [
        InvoiceFactory(total=D("10")),
        InvoiceFactory(total=D("10"), amount_paid=D("3")),
        InvoiceFactory(
            total=D("10"), issue_date=today - timedelta(days=40), due_date=today - timedelta(days=1)
        ),
        InvoiceFactory(total=D("10"), amount_paid=D("10"), status="paid"),
        InvoiceFactory(total=D("10"), status="deleted", deleted_at=timezone.now()),
        InvoiceFactory(total=D("10"), amount_paid=D("4"), written_off=D("6"), status="written_off"),
    ]
    found = set(Invoice.objects.with_display_status(status))
    assert found == {i for i in made if i.display_status == status}
    assert len(found) == 1


def test_each_display_status_has_exactly_one_label_condition_and_badge():
    assert set(DISPLAY_STATUSES) == set(DisplayStatus)
    badges = [status.badge for status in DisplayStatus]
    assert all(badges) and len(set(badges)) == len(badges)
    assert len(set(DisplayStatus.labels)) == len(DisplayStatus)
    # The list filter offers every display status, in order, plus three groupings.
    values = [value for value, _ in STATUS_FILTERS]
    assert [v for v in values if v in DisplayStatus.values] == DisplayStatus.values
    assert [v for v in values if v not in DisplayStatus.values] == ["", "unpaid", "all"]


# Every state an invoice can be in: stored status x how much is paid x due before, on or
# after today.
INVOICE_STATES = [
    (status, paid, due)
    for status in InvoiceStatus
    for paid in (D("0"), D("4"), D("10"))
    for due in (-1, 0, 1)
]


def test_property_and_sql_filter_agree_on_every_invoice_state():
    today = timezone.localdate()
    made = [
        InvoiceFactory(
            total=D("10"),
            amount_paid=paid,
            status=status,
            deleted_at=timezone.now() if status == InvoiceStatus.DELETED else None,
            issue_date=today - timedelta(days=40),
            due_date=today + timedelta(days=due),
        )
        for status, paid, due in INVOICE_STATES
    ]
    for invoice in made:
        assert [s for s in DisplayStatus if s.holds_for(invoice, today)] == [invoice.display_status]
    for status in DisplayStatus:
        assert set(Invoice.objects.with_display_status(status)) == {
            i for i in made if i.display_status == status
        }, status


def test_balances_and_overdue_agree_between_the_list_the_dashboard_and_the_account():
    today = timezone.localdate()
    agent = BillingAgentFactory()
    InvoiceFactory(billing_agent=agent, total=D("100.00"), amount_paid=D("25.50"))
    InvoiceFactory(
        billing_agent=agent,
        total=D("50.00"),
        amount_paid=D("20.00"),
        issue_date=today - timedelta(days=60),
        due_date=today - timedelta(days=30),
    )
    InvoiceFactory(billing_agent=agent, total=D("9.00"), amount_paid=D("9.00"), status="paid")
    invoices = Invoice.objects.filter(account=account_for(agent))
    account = Account.objects.with_figures().get(pk=account_for(agent).pk)
    figures = invoices.figures()

    assert sum(i.balance for i in invoices.unpaid()) == D("104.50") == account.open_balance
    assert sum(i.balance for i in invoices.overdue()) == D("30.00") == account.overdue_balance
    assert (figures["open_balance"], figures["overdue_balance"]) == (D("104.50"), D("30.00"))
    assert (figures["open_count"], figures["overdue_count"]) == (2, 1)
    assert Invoice.objects.none().figures()["open_balance"] == D("0")


def test_search_by_number_and_payer():
    agent = BillingAgentFactory(company_name="Greenfield University", email="ap@green.example")
    customer = CustomerFactory(
        first_name="Priya", last_name="Patel", email="priya@mail.example", net_terms_days=30
    )
    by_agent = InvoiceFactory(billing_agent=agent)
    by_customer = InvoiceFactory(billing_agent=None, customer=customer)
    assert list(Invoice.objects.search("greenfield")) == [by_agent]
    assert list(Invoice.objects.search("patel")) == [by_customer]
    assert list(Invoice.objects.search(by_customer.number)) == [by_customer]
    assert list(Invoice.objects.search(str(by_agent.pk))) == [by_agent]
    assert set(Invoice.objects.search("  ")) == {by_agent, by_customer}


def test_invoiceable_tickets_for_an_agent_and_a_direct_customer(billing_user):
    agent = BillingAgentFactory()
    customer = CustomerFactory(net_terms_days=30)
    agents_ticket = waiting_ticket(agent, customer=customer)
    own_ticket = waiting_ticket(customer)
    paid_up = waiting_ticket(customer, items=[("Case", 1, "5.00", False)], deposits=["5.00"])
    on_invoice = waiting_ticket(customer)
    services.create_invoices(
        account=account_for(customer), ticket_ids=[on_invoice.pk], batch=True, by=billing_user
    )

    invoiceable = invoiceable_tickets().invoiceable()
    assert list(invoiceable.for_account(Account.of(agent))) == [agents_ticket]
    assert list(invoiceable.for_account(Account.of(customer))) == [own_ticket]
    assert paid_up.status == Status.WAITING_FOR_PAYMENT


def test_invoiceable_tickets_filters_by_location_and_dates():
    agent = BillingAgentFactory()
    north, south = LocationFactory(name="N"), LocationFactory(name="S")
    a = waiting_ticket(agent, location=north)
    b = waiting_ticket(agent, location=south)
    qs = invoiceable_tickets().invoiceable().for_account(Account.of(agent))
    assert list(qs.at_location(north.pk)) == [a]
    assert set(qs.at_location(None)) == {a, b}
    today = timezone.localdate()
    assert set(qs.dated_between("created", today, today)) == {a, b}
    assert list(qs.dated_between("updated", today + timedelta(days=1))) == []


def test_database_refuses_a_ticket_on_two_live_invoices():
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))


def test_a_dead_line_does_not_block_a_new_live_one():
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    InvoiceLineFactory(ticket=ticket, is_live=False, invoice=InvoiceFactory(billing_agent=agent))
    InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))
    assert InvoiceLine.objects.filter(ticket=ticket).count() == 2


def test_idempotency_key_is_unique(billing_user):
    agent = BillingAgentFactory()
    invoice = InvoiceFactory(billing_agent=agent, total=D("10"))
    first = Remittance.objects.create(
        invoice=invoice, account=invoice.account, amount=D("1"), method="cash"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Remittance.objects.create(
            invoice=invoice,
            account=invoice.account,
            amount=D("1"),
            method="cash",
            idempotency_key=first.idempotency_key,
        )


def test_account_overdue_balance_counts_only_live_unpaid_invoices_past_due():
    agent = BillingAgentFactory()
    today = timezone.localdate()
    past = today - timedelta(days=40)
    InvoiceFactory(
        billing_agent=agent,
        issue_date=past,
        due_date=past + timedelta(days=10),
        total=Decimal("300.00"),
        amount_paid=Decimal("50.00"),
    )
    InvoiceFactory(  # not due yet
        billing_agent=agent, issue_date=today, due_date=today, total=Decimal("80.00")
    )
    InvoiceFactory(  # paid
        billing_agent=agent,
        issue_date=past,
        due_date=past,
        total=Decimal("70.00"),
        amount_paid=Decimal("70.00"),
        status=InvoiceStatus.PAID,
    )
    InvoiceFactory(  # deleted
        billing_agent=agent,
        issue_date=past,
        due_date=past,
        total=Decimal("90.00"),
        status=InvoiceStatus.DELETED,
        deleted_at=timezone.now(),
    )

    def overdue(payer):
        return Account.objects.with_figures().get(pk=account_for(payer).pk).overdue_balance

    assert overdue(agent) == Decimal("250.00")
    assert overdue(BillingAgentFactory()) == Decimal("0")


# --- accounts --------------------------------------------------------------------------


def test_an_account_has_exactly_one_payer():
    agent, customer = BillingAgentFactory(), CustomerFactory(net_terms_days=30)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(billing_agent=agent, customer=customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create()
    assert not Account.objects.exists()


def test_a_payer_has_at_most_one_account():
    agent = BillingAgentFactory()
    Account.objects.create(billing_agent=agent)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(billing_agent=agent)
    customer = CustomerFactory(net_terms_days=30)
    Account.objects.create(customer=customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(customer=customer)


def test_for_payer_creates_the_account_once():
    agent, customer = BillingAgentFactory(), CustomerFactory(net_terms_days=30)
    first = Account.objects.for_payer(agent)
    assert Account.objects.for_payer(agent) == first
    assert Account.objects.for_payer(customer) == Account.objects.for_payer(customer) != first
    assert Account.objects.count() == 2
    assert (first.billing_agent, first.customer) == (agent, None)


def test_for_payer_refuses_anything_but_an_agent_or_a_customer():
    with pytest.raises(TypeError):
        Account.objects.for_payer(LocationFactory())


def test_the_account_answers_for_its_payer():
    agent = BillingAgentFactory(
        company_name="Lakeside",
        email=" ap@lake.example ",
        net_terms_days=45,
        invoice_method="batch",
    )
    customer = CustomerFactory(first_name="Dana", last_name="Direct", email="", net_terms_days=15)
    by_agent, direct = account_for(agent), account_for(customer)
    assert (by_agent.payer, by_agent.name, by_agent.email) == (agent, "Lakeside", "ap@lake.example")
    assert (by_agent.net_terms_days, by_agent.prefers_batch, by_agent.token) == (
        45,
        True,
        f"agent-{agent.pk}",
    )
    assert by_agent.get_absolute_url() == agent.get_absolute_url()
    assert (direct.payer, direct.name, direct.email) == (customer, "Dana Direct", "")
    assert (direct.net_terms_days, direct.prefers_batch, direct.token) == (
        15,
        False,
        f"customer-{customer.pk}",
    )
    assert direct.get_absolute_url() == customer.get_absolute_url()
    assert by_agent.can_be_invoiced and direct.can_be_invoiced
    assert not Account.of(CustomerFactory(net_terms_days=None)).can_be_invoiced


def test_account_figures_never_multiply_invoices_by_ledger_rows():
    agent = BillingAgentFactory()
    today = timezone.localdate()
    past = today - timedelta(days=40)
    for _ in range(3):
        InvoiceFactory(billing_agent=agent, total=D("100.00"), amount_paid=D("25.00"))
    InvoiceFactory(billing_agent=agent, issue_date=past, due_date=past, total=D("40.00"))
    for amount in ("10.00", "5.00"):
        CreditTransactionFactory(billing_agent=agent, amount=D(amount), balance_after=D(amount))
    idle = AccountFactory()

    figures = {a.pk: a for a in Account.objects.with_figures()}

    mine = figures[account_for(agent).pk]
    assert mine.open_balance == D("265.00")
    assert mine.overdue_balance == D("40.00")
    assert mine.credit_balance == D("15.00")
    assert (figures[idle.pk].open_balance, figures[idle.pk].credit_balance) == (0, 0)
