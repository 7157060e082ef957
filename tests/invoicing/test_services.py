import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import DomainError
from invoicing import delivery, services
from invoicing.accounts import account_for
from invoicing.allocation import AllocationError
from invoicing.ledger import InsufficientCredit, adjust_credit, credit_balance
from invoicing.models import (
    CreditKind,
    CreditTransaction,
    DeliveryStatus,
    DisplayStatus,
    EmailDelivery,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Remittance,
    RemittanceAllocation,
)
from tests.conftest import ON_POSTGRES
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    LocationFactory,
    TicketFactory,
    waiting_ticket,
)
from tickets.models import PaymentKind, Ticket, TicketPayment, TicketStatusChange
from tickets.totals import TOTAL_FIELDS, stored_figures
from tickets.transitions import INVOICING, Status

D = Decimal


def _invoice(agent, tickets, user, **kwargs):
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in tickets],
        batch=True,
        by=user,
        **kwargs,
    )
    return invoice


# --- create ----------------------------------------------------------------------------


def test_batch_invoice_has_a_line_per_ticket_holding_its_balance_due(agent, billing_user):
    location = LocationFactory(tax_rate_percent=D("10"))
    with_deposit = waiting_ticket(
        agent, location=location, items=[("Screen", 1, "200.00", True)], deposits=["50.00"]
    )
    with_discount = waiting_ticket(
        agent,
        location=location,
        items=[("Battery", 1, "100.00", True)],
        discount_type="percent",
        discount_value=D("10"),
    )
    invoice = _invoice(agent, [with_deposit, with_discount], billing_user)

    amounts = {line.ticket_id: line.amount for line in invoice.lines.all()}
    assert amounts == {with_deposit.pk: D("170.00"), with_discount.pk: D("99.00")}
    assert invoice.total == D("269.00")
    assert invoice.account.payer == agent
    assert invoice.status == InvoiceStatus.OPEN


def test_invoiced_tickets_move_to_invoiced_with_a_status_change_row(
    agent_tickets, agent, billing_user
):
    _invoice(agent, agent_tickets, billing_user)
    for ticket in agent_tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.INVOICED
        change = TicketStatusChange.objects.filter(ticket=ticket).last()
        assert (change.from_status, change.to_status) == (
            Status.WAITING_FOR_PAYMENT,
            Status.INVOICED,
        )
        assert change.changed_by == billing_user
        assert ticket.history.first().status == Status.INVOICED


def _created_days_ago(tickets, days: int) -> None:
    """Back-date the tickets' creation, as if they were opened `days` ago."""
    created = timezone.now() - timedelta(days=days)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(created_at=created)


def test_due_date_is_issue_date_plus_net_terms(agent_tickets, agent, billing_user):
    _created_days_ago(agent_tickets, 5)
    issued = timezone.localdate() - timedelta(days=3)
    invoice = _invoice(agent, agent_tickets, billing_user, issue_date=issued)
    assert invoice.issue_date == issued
    assert invoice.due_date == issued + timedelta(days=30)


def test_the_issue_date_cannot_be_after_today(agent_tickets, agent, billing_user):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(services.InvalidIssueDate) as raised:
        _invoice(agent, agent_tickets, billing_user, issue_date=tomorrow)
    assert raised.value.field == "issue_date"
    assert raised.value.message == (
        f"The issue date {tomorrow:%Y-%m-%d} is after today ({timezone.localdate():%Y-%m-%d}); "
        "an invoice is issued today or earlier."
    )
    assert not Invoice.objects.exists()
    assert all(
        Ticket.objects.get(pk=t.pk).status == Status.WAITING_FOR_PAYMENT for t in agent_tickets
    )


def test_the_issue_date_cannot_be_before_the_newest_ticket_was_created(
    agent_tickets, agent, billing_user
):
    oldest, middle, newest = agent_tickets
    _created_days_ago([oldest], 30)
    _created_days_ago([middle], 10)
    _created_days_ago([newest], 4)
    newest.refresh_from_db()
    created_on = timezone.localdate(newest.created_at)
    too_early = created_on - timedelta(days=1)
    with pytest.raises(services.InvalidIssueDate) as raised:
        _invoice(agent, agent_tickets, billing_user, issue_date=too_early)
    assert raised.value.field == "issue_date"
    assert raised.value.message == (
        f"The issue date {too_early:%Y-%m-%d} is before {newest.number} was created "
        f"({created_on:%Y-%m-%d})."
    )
    assert not Invoice.objects.exists()
    # The day the newest ticket was created (local date) is allowed, and so is today.
    invoice = _invoice(agent, agent_tickets, billing_user, issue_date=created_on)
    assert invoice.issue_date == created_on


def test_the_issue_date_rule_reads_the_local_date_of_creation(agent, billing_user, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    ticket = waiting_ticket(agent)
    # 03:00 UTC on the 10th is the evening of the 9th in Los Angeles.
    created = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
    invoice = _invoice(agent, [ticket], billing_user, issue_date=date(2026, 3, 9))
    assert invoice.issue_date.isoformat() == "2026-03-09"


def test_individual_invoices_make_one_invoice_per_ticket(agent_tickets, agent, billing_user):
    invoices = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in agent_tickets],
        batch=False,
        by=billing_user,
    )
    assert len(invoices) == 3
    assert sorted(i.total for i in invoices) == [D("25.00"), D("50.00"), D("100.00")]
    assert all(i.lines.count() == 1 for i in invoices)


def test_direct_customer_is_billed_only_for_tickets_without_an_agent(direct_customer, billing_user):
    own = waiting_ticket(direct_customer)
    other_agent = BillingAgentFactory()
    via_agent = waiting_ticket(other_agent, customer=direct_customer)
    with pytest.raises(services.TicketsNotInvoiceable, match=via_agent.number):
        services.create_invoices(
            account=account_for(direct_customer),
            ticket_ids=[own.pk, via_agent.pk],
            batch=True,
            by=billing_user,
        )
    [invoice] = services.create_invoices(
        account=account_for(direct_customer), ticket_ids=[own.pk], batch=True, by=billing_user
    )
    assert invoice.account.payer == direct_customer
    assert invoice.due_date == invoice.issue_date + timedelta(days=15)


def test_customer_without_terms_cannot_be_invoiced(billing_user):
    customer = CustomerFactory(net_terms_days=None)
    ticket = waiting_ticket(customer)
    with pytest.raises(services.PayerNotBillable):
        services.create_invoices(
            account=account_for(customer), ticket_ids=[ticket.pk], batch=True, by=billing_user
        )


def test_inactive_agent_can_still_be_invoiced(billing_user):
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    agent.deactivate()
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=billing_user
    )
    assert invoice.account.payer == agent


def test_another_agents_ticket_is_refused_and_nothing_is_written(agent, billing_user):
    mine = waiting_ticket(agent)
    theirs = waiting_ticket(BillingAgentFactory())
    with pytest.raises(services.TicketsNotInvoiceable, match=theirs.number):
        services.create_invoices(
            account=account_for(agent), ticket_ids=[mine.pk, theirs.pk], batch=True, by=billing_user
        )
    assert not Invoice.objects.exists()
    mine.refresh_from_db()
    assert mine.status == Status.WAITING_FOR_PAYMENT


def test_ticket_not_waiting_for_payment_is_refused(agent, billing_user):
    ready = TicketFactory(
        status=Status.READY_FOR_PICKUP,
        customer=CustomerFactory(billing_agent=agent),
        billing_agent=agent,
        items=[("Screen", 1, "10.00", True)],
    )
    with pytest.raises(services.TicketsNotInvoiceable, match="Waiting-for-Payment"):
        services.create_invoices(
            account=account_for(agent), ticket_ids=[ready.pk], batch=True, by=billing_user
        )


def test_ticket_with_nothing_due_is_refused(agent, billing_user):
    paid = waiting_ticket(agent, items=[("Case", 1, "20.00", False)], deposits=["20.00"])
    with pytest.raises(services.TicketsNotInvoiceable, match="Nothing is due"):
        services.create_invoices(
            account=account_for(agent), ticket_ids=[paid.pk], batch=True, by=billing_user
        )


def test_no_tickets_chosen_is_refused(agent, billing_user):
    with pytest.raises(services.NoTicketsChosen):
        services.create_invoices(
            account=account_for(agent), ticket_ids=[], batch=True, by=billing_user
        )


def test_already_invoiced_tickets_are_named(agent_tickets, agent, billing_user):
    first = _invoice(agent, agent_tickets[:1], billing_user)
    with pytest.raises(services.TicketsAlreadyInvoiced) as caught:
        _invoice(agent, agent_tickets, billing_user)
    assert caught.value.numbers == [agent_tickets[0].number]
    assert first.number in str(caught.value)
    assert Invoice.objects.count() == 1
    agent_tickets[1].refresh_from_db()
    assert agent_tickets[1].status == Status.WAITING_FOR_PAYMENT


def test_partial_unique_index_is_the_second_line_of_defence(agent, billing_user):
    """A ticket that is (wrongly) still Waiting for Payment but on a live line is refused
    by the database index, and the clerk is told which ticket."""
    ticket = waiting_ticket(agent)
    InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))
    with pytest.raises(services.TicketsAlreadyInvoiced, match=ticket.number):
        _invoice(agent, [ticket], billing_user)
    assert InvoiceLine.objects.filter(ticket=ticket).count() == 1


def test_email_now_is_sent_after_commit_to_the_payer(
    agent_tickets, agent, billing_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice = _invoice(agent, agent_tickets, billing_user, send_email=True)
        assert mail.outbox == []  # nothing before the commit
    [message] = mail.outbox
    assert message.to == [agent.email]
    assert invoice.number in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for ticket in agent_tickets:
        assert ticket.number in message.body
        assert str(ticket.customer) in message.body
        assert str(ticket.customer) in html
    invoice.refresh_from_db()
    assert invoice.sent_to == agent.email
    assert invoice.sent_at is not None


def test_email_now_without_an_address_is_refused(billing_user):
    agent = BillingAgentFactory(email="")
    ticket = waiting_ticket(agent)
    with pytest.raises(services.NoEmailAddress):
        _invoice(agent, [ticket], billing_user, send_email=True)
    assert not Invoice.objects.exists()


def test_email_now_records_a_sent_delivery_per_invoice(
    agent_tickets, agent, billing_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoices = services.create_invoices(
            account=account_for(agent),
            ticket_ids=[t.pk for t in agent_tickets],
            batch=False,
            by=billing_user,
            send_email=True,
        )
    assert len(mail.outbox) == 3
    deliveries = EmailDelivery.objects.order_by("invoice_id")
    assert [d.invoice_id for d in deliveries] == [i.pk for i in invoices]
    assert {(d.status, d.to_address, d.requested_by) for d in deliveries} == {
        (DeliveryStatus.SENT, agent.email, billing_user)
    }


def test_queue_invoice_email_resends_and_records_it(
    agent_tickets, agent, billing_user, django_capture_on_commit_callbacks
):
    invoice = _invoice(agent, agent_tickets, billing_user)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.queue_invoice_email(invoice=invoice, by=billing_user)
    assert len(mail.outbox) == 1
    invoice.refresh_from_db()
    assert invoice.sent_to == agent.email


def test_deleted_invoice_cannot_be_sent(agent_tickets, agent, manager_user):
    invoice = _invoice(agent, agent_tickets, manager_user)
    services.delete_invoice(invoice=invoice, by=manager_user)
    with pytest.raises(DomainError, match="deleted"):
        delivery.queue_invoice_email(invoice=invoice, by=manager_user)


# --- delete ----------------------------------------------------------------------------


def test_delete_keeps_a_deleted_record_and_returns_tickets_with_payments(
    agent, manager_user, billing_user
):
    tickets = [
        waiting_ticket(agent, items=[("Screen", 1, "100.00", False)], deposits=["10.00"]),
        waiting_ticket(agent, items=[("Battery", 1, "60.00", False)]),
    ]
    invoice = _invoice(agent, tickets, billing_user)
    services.record_remittance(invoice=invoice, amount=D("30.00"), method="cheque", by=billing_user)
    services.delete_invoice(invoice=invoice, by=manager_user)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DELETED
    assert invoice.display_status == "deleted"
    assert invoice.deleted_by == manager_user and invoice.deleted_at is not None
    assert not invoice.lines.filter(is_live=True).exists()
    tickets[0].refresh_from_db()
    tickets[1].refresh_from_db()
    assert tickets[0].status == tickets[1].status == Status.WAITING_FOR_PAYMENT
    assert tickets[0].amount_paid == D("40.00")  # deposit 10 + remittance 30, intact
    assert tickets[0].balance_due == D("60.00")
    # They can be invoiced again, at their new balance.
    again = _invoice(agent, tickets, billing_user)
    assert again.total == D("120.00")


def test_paid_invoice_cannot_be_deleted(agent_tickets, agent, manager_user):
    invoice = _invoice(agent, agent_tickets, manager_user)
    services.record_remittance(invoice=invoice, amount=D("175.00"), method="ach", by=manager_user)
    with pytest.raises(services.InvoiceNotDeletable, match="paid in full"):
        services.delete_invoice(invoice=invoice, by=manager_user)


def test_deleting_twice_is_refused(agent_tickets, agent, manager_user):
    invoice = _invoice(agent, agent_tickets, manager_user)
    services.delete_invoice(invoice=invoice, by=manager_user)
    with pytest.raises(services.InvoiceNotDeletable, match="already deleted"):
        services.delete_invoice(invoice=invoice, by=manager_user)


# --- remittance ------------------------------------------------------------------------


def test_remittance_pays_oldest_ticket_first(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    remittance = services.record_remittance(
        invoice=invoice, amount=D("120.00"), method="cheque", reference="#1001", by=billing_user
    )
    paid = {a.invoice_line.ticket_id: a.amount for a in remittance.allocations.all()}
    assert paid == {agent_tickets[0].pk: D("100.00"), agent_tickets[1].pk: D("20.00")}
    payments = TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE)
    assert sorted(p.amount for p in payments) == [D("20.00"), D("100.00")]
    assert all(p.allocation.remittance == remittance for p in payments)
    for ticket in agent_tickets:
        ticket.refresh_from_db()
        fresh = ticket.fresh_totals()
        assert (ticket.amount_paid, ticket.balance_due) == (fresh.amount_paid, fresh.balance_due)
    assert [t.balance_due for t in agent_tickets] == [D("0.00"), D("30.00"), D("25.00")]
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("120.00")
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.display_status == DisplayStatus.PARTIALLY_PAID
    assert agent_tickets[0].status == Status.INVOICED  # closed only when the invoice is paid


def test_clerk_allocation_is_used_as_given(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    lines = {line.ticket_id: line for line in invoice.lines.all()}
    remittance = services.record_remittance(
        invoice=invoice,
        amount=D("60.00"),
        method="card",
        allocations={
            lines[agent_tickets[2].pk].pk: D("25.00"),
            lines[agent_tickets[1].pk].pk: D("35.00"),
        },
        by=billing_user,
    )
    paid = {a.invoice_line.ticket_id: a.amount for a in remittance.allocations.all()}
    assert paid == {agent_tickets[2].pk: D("25.00"), agent_tickets[1].pk: D("35.00")}


def test_allocation_above_a_line_balance_is_refused(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    line = invoice.lines.get(ticket=agent_tickets[2])
    with pytest.raises(AllocationError) as caught:
        services.record_remittance(
            invoice=invoice,
            amount=D("30.00"),
            method="cheque",
            allocations={line.pk: D("30.00")},
            by=billing_user,
        )
    assert caught.value.field == f"line-{line.pk}"
    assert not Remittance.objects.exists()


def test_allocations_above_the_amount_are_refused(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    line = invoice.lines.get(ticket=agent_tickets[0])
    with pytest.raises(AllocationError, match="more than the amount"):
        services.record_remittance(
            invoice=invoice,
            amount=D("10.00"),
            method="cheque",
            allocations={line.pk: D("20.00")},
            by=billing_user,
        )


def test_overpayment_becomes_credit_and_paid_invoice_closes_tickets(
    agent_tickets, agent, billing_user
):
    invoice = _invoice(agent, agent_tickets, billing_user)
    services.record_remittance(
        invoice=invoice, amount=D("100.00"), method="cheque", by=billing_user
    )
    remittance = services.record_remittance(
        invoice=invoice, amount=D("100.00"), method="ach", by=billing_user
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.amount_paid == invoice.total == D("175.00")
    credit = CreditTransaction.objects.get(remittance=remittance)
    assert (credit.kind, credit.amount, credit.balance_after) == (
        CreditKind.OVERPAYMENT,
        D("25.00"),
        D("25.00"),
    )
    assert credit_balance(account=account_for(agent)) == D("25.00")
    for ticket in agent_tickets:
        ticket.refresh_from_db()
        assert ticket.status == Status.CLOSED
        assert ticket.balance_due == 0
        assert ticket.status_changes.last().to_status == Status.CLOSED


def test_paid_invoice_takes_no_more_remittances(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    services.record_remittance(invoice=invoice, amount=D("175.00"), method="ach", by=billing_user)
    with pytest.raises(services.InvoiceNotPayable, match="already paid"):
        services.record_remittance(invoice=invoice, amount=D("1.00"), method="ach", by=billing_user)


def test_deleted_invoice_takes_no_remittances(agent_tickets, agent, manager_user):
    invoice = _invoice(agent, agent_tickets, manager_user)
    services.delete_invoice(invoice=invoice, by=manager_user)
    with pytest.raises(services.InvoiceNotPayable, match="deleted"):
        services.record_remittance(invoice=invoice, amount=D("1.00"), method="ach", by=manager_user)


def test_account_credit_draws_the_ledger_down(agent_tickets, agent, manager_user):
    adjust_credit(account=account_for(agent), amount=D("60.00"), reason="Goodwill", by=manager_user)
    invoice = _invoice(agent, agent_tickets, manager_user)
    remittance = services.record_remittance(
        invoice=invoice, amount=D("40.00"), method="account_credit", by=manager_user
    )
    assert credit_balance(account=account_for(agent)) == D("20.00")
    entry = CreditTransaction.objects.get(remittance=remittance)
    assert (entry.kind, entry.amount) == (CreditKind.CREDIT_APPLIED, D("-40.00"))
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("40.00")


def test_account_credit_cannot_go_below_zero(agent_tickets, agent, manager_user):
    adjust_credit(account=account_for(agent), amount=D("10.00"), reason="Goodwill", by=manager_user)
    invoice = _invoice(agent, agent_tickets, manager_user)
    with pytest.raises(InsufficientCredit):
        services.record_remittance(
            invoice=invoice, amount=D("40.00"), method="account_credit", by=manager_user
        )
    assert credit_balance(account=account_for(agent)) == D("10.00")
    assert not Remittance.objects.exists()
    assert not TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).exists()


def test_an_insufficient_credit_refusal_shows_dollar_amounts(agent_tickets, agent, manager_user):
    adjust_credit(
        account=account_for(agent), amount=D("1234.5"), reason="Goodwill", by=manager_user
    )
    with pytest.raises(InsufficientCredit) as refused:
        adjust_credit(account=account_for(agent), amount=D("-2000"), reason="Typo", by=manager_user)
    assert refused.value.message == (
        "Only $1,234.50 of credit is available; $2,000.00 was asked for."
    )


def test_account_credit_payment_never_creates_overpayment_credit(
    agent_tickets, agent, manager_user
):
    adjust_credit(
        account=account_for(agent), amount=D("500.00"), reason="Goodwill", by=manager_user
    )
    invoice = _invoice(agent, agent_tickets, manager_user)
    with pytest.raises(AllocationError, match="at most"):
        services.record_remittance(
            invoice=invoice, amount=D("200.00"), method="account_credit", by=manager_user
        )
    line = invoice.lines.first()
    with pytest.raises(AllocationError, match="allocated in full"):
        services.record_remittance(
            invoice=invoice,
            amount=D("50.00"),
            method="account_credit",
            allocations={line.pk: D("10.00")},
            by=manager_user,
        )
    assert not CreditTransaction.objects.filter(kind=CreditKind.OVERPAYMENT).exists()


def test_credit_to_use_must_match_the_amount(agent_tickets, agent, manager_user):
    adjust_credit(account=account_for(agent), amount=D("50.00"), reason="Goodwill", by=manager_user)
    invoice = _invoice(agent, agent_tickets, manager_user)
    with pytest.raises(DomainError):
        services.record_remittance(
            invoice=invoice,
            amount=D("50.00"),
            method="account_credit",
            credit_to_use=D("20.00"),
            by=manager_user,
        )
    with pytest.raises(DomainError, match="Account credit"):
        services.record_remittance(
            invoice=invoice,
            amount=D("50.00"),
            method="cheque",
            credit_to_use=D("20.00"),
            by=manager_user,
        )


def test_same_idempotency_key_records_one_payment(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    key = uuid.uuid4()
    first = services.record_remittance(
        invoice=invoice, amount=D("50.00"), method="cheque", idempotency_key=key, by=billing_user
    )
    second = services.record_remittance(
        invoice=invoice, amount=D("50.00"), method="cheque", idempotency_key=key, by=billing_user
    )
    assert second.pk == first.pk
    assert second.already_recorded and not first.already_recorded
    assert Remittance.objects.count() == 1
    assert TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("50.00")


def _cheque(invoice, amount, key, user, method="cheque"):
    return services.record_remittance(
        invoice=invoice, amount=D(amount), method=method, idempotency_key=key, by=user
    )


def test_a_key_used_on_one_invoice_is_refused_on_another(agent, location, billing_user):
    first_invoice = _invoice(agent, [waiting_ticket(agent, location=location)], billing_user)
    other_invoice = _invoice(agent, [waiting_ticket(agent, location=location)], billing_user)
    key = uuid.uuid4()
    first = _cheque(first_invoice, "50.00", key, billing_user)
    with pytest.raises(services.IdempotencyKeyReused, match=first_invoice.number):
        _cheque(other_invoice, "50.00", key, billing_user)
    assert list(Remittance.objects.all()) == [first]
    assert TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).count() == 1
    other_invoice.refresh_from_db()
    assert other_invoice.amount_paid == D("0.00")


def test_a_key_reused_with_another_amount_is_refused(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    key = uuid.uuid4()
    first = _cheque(invoice, "50.00", key, billing_user)
    with pytest.raises(services.IdempotencyKeyReused, match="nothing was recorded"):
        _cheque(invoice, "60.00", key, billing_user)
    assert list(Remittance.objects.all()) == [first]
    assert TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).count() == 1
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("50.00")


def test_a_key_reused_with_another_method_is_refused(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    key = uuid.uuid4()
    _cheque(invoice, "50.00", key, billing_user)
    with pytest.raises(services.IdempotencyKeyReused):
        _cheque(invoice, "50.00", key, billing_user, method="ach")
    assert Remittance.objects.count() == 1


def test_a_key_replayed_with_the_same_amount_in_other_notation_is_the_same_payment(
    agent_tickets, agent, billing_user
):
    invoice = _invoice(agent, agent_tickets, billing_user)
    key = uuid.uuid4()
    first = _cheque(invoice, "50.00", key, billing_user)
    second = _cheque(invoice, "50", key, billing_user)
    assert second.pk == first.pk and second.already_recorded
    assert Remittance.objects.count() == 1


def test_future_payment_date_is_refused(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    with pytest.raises(DomainError, match="future") as caught:
        services.record_remittance(
            invoice=invoice,
            amount=D("5.00"),
            method="cheque",
            received_on=timezone.localdate() + timedelta(days=1),
            by=billing_user,
        )
    assert caught.value.field == "received_on"


def test_stored_totals_after_remittance_equal_a_fresh_computation(agent, billing_user):
    location = LocationFactory(tax_rate_percent=D("8.875"))
    tickets = [
        waiting_ticket(
            agent,
            location=location,
            items=[("Screen", 1, "129.00", True), ("Labour", 1, "45.00", False)],
            discount_type="percent",
            discount_value=D("10"),
            deposits=["20.00"],
        ),
        waiting_ticket(agent, location=location, items=[("Cable", 3, "14.99", True)]),
    ]
    invoice = _invoice(agent, tickets, billing_user)
    services.record_remittance(invoice=invoice, amount=D("99.99"), method="cheque", by=billing_user)
    for ticket in Ticket.objects.filter(pk__in=[t.pk for t in tickets]):
        stored = {name: getattr(ticket, name) for name in TOTAL_FIELDS}
        assert stored == stored_figures(ticket.fresh_totals())


# --- query counts ----------------------------------------------------------------------

# SQLite splits bulk inserts into batches of 999 parameters, so there the "large" case
# stays below one batch; on PostgreSQL it is the full 500.
LARGE = 500 if ON_POSTGRES else 30


def _many_tickets(agent, count):
    location = LocationFactory(name="Bulk", tax_rate_percent=D("8.25"))
    customer = CustomerFactory(billing_agent=agent)
    return [
        waiting_ticket(
            agent, customer=customer, location=location, items=[("Fix", 1, "10.00", True)]
        )
        for _ in range(count)
    ]


def _count(func) -> int:
    with CaptureQueriesContext(connection) as ctx:
        func()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("batch", [True, False])
def test_creating_invoices_runs_the_same_queries_for_10_and_many_tickets(billing_user, batch):
    counts = []
    for size in (10, LARGE):
        agent = BillingAgentFactory()
        tickets = _many_tickets(agent, size)
        counts.append(
            _count(
                lambda a=agent, ts=tickets: services.create_invoices(
                    account=account_for(a),
                    ticket_ids=[t.pk for t in ts],
                    batch=batch,
                    by=billing_user,
                )
            )
        )
    assert counts[0] == counts[1]


def test_remittance_runs_the_same_queries_for_10_and_many_tickets(billing_user):
    counts = []
    for size in (10, LARGE):
        agent = BillingAgentFactory()
        tickets = _many_tickets(agent, size)
        invoice = _invoice(agent, tickets, billing_user)
        # Pays everything and overpays: closes every ticket and posts credit.
        counts.append(
            _count(
                lambda inv=invoice: services.record_remittance(
                    invoice=inv, amount=inv.total + D("5.00"), method="cheque", by=billing_user
                )
            )
        )
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        assert RemittanceAllocation.objects.filter(invoice_line__invoice=invoice).count() == size
    assert counts[0] == counts[1]


def test_delete_runs_the_same_queries_for_10_and_many_tickets(manager_user):
    counts = []
    for size in (10, LARGE):
        agent = BillingAgentFactory()
        invoice = _invoice(agent, _many_tickets(agent, size), manager_user)
        counts.append(
            _count(lambda inv=invoice: services.delete_invoice(invoice=inv, by=manager_user))
        )
    assert counts[0] == counts[1]


def test_invoicing_moves_are_only_those_the_table_gives_to_invoicing():
    """The bulk moves use the transitions table: Invoiced is reachable only via invoicing."""
    from tickets.transitions import TRANSITIONS

    for kind in TRANSITIONS:
        assert TRANSITIONS[kind][Status.WAITING_FOR_PAYMENT][Status.INVOICED] == INVOICING
        assert TRANSITIONS[kind][Status.INVOICED][Status.CLOSED] == INVOICING


# --- accounts: a directly billed customer's ledger, input guards, refusals ----------------


def test_direct_customer_overpayment_becomes_credit_that_pays_a_later_invoice(
    direct_customer, location, billing_user
):
    account = account_for(direct_customer)
    first, second = (
        waiting_ticket(direct_customer, location=location, items=[("Repair", 1, price, True)])
        for price in ("80.00", "30.00")
    )
    [overpaid] = services.create_invoices(
        account=account, ticket_ids=[first.pk], batch=True, by=billing_user
    )
    services.record_remittance(
        invoice=overpaid, amount=D("100.00"), method="cheque", by=billing_user
    )
    assert credit_balance(account=account) == D("20.00")
    assert CreditTransaction.objects.get(account=account).kind == CreditKind.OVERPAYMENT

    [later] = services.create_invoices(
        account=account, ticket_ids=[second.pk], batch=True, by=billing_user
    )
    services.record_remittance(
        invoice=later, amount=D("20.00"), method="account_credit", by=billing_user
    )
    later.refresh_from_db()
    assert credit_balance(account=account) == D("0.00")
    assert later.amount_paid == D("20.00") and later.balance == D("10.00")
    with pytest.raises(InsufficientCredit):
        services.record_remittance(
            invoice=later, amount=D("5.00"), method="account_credit", by=billing_user
        )


def test_remittance_with_an_unknown_method_is_refused(agent_tickets, agent, billing_user):
    invoice = _invoice(agent, agent_tickets, billing_user)
    with pytest.raises(services.InvalidRemittance, match="how the payment was made") as caught:
        services.record_remittance(
            invoice=invoice, amount=D("10.00"), method="bitcoin", by=billing_user
        )
    assert caught.value.field == "method"
    assert not Remittance.objects.exists()


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_remittance_of_zero_or_less_is_refused(agent_tickets, agent, billing_user, amount):
    invoice = _invoice(agent, agent_tickets, billing_user)
    with pytest.raises(services.InvalidRemittance, match="greater than zero") as caught:
        services.record_remittance(
            invoice=invoice, amount=D(amount), method="cheque", by=billing_user
        )
    assert caught.value.field == "amount"
    assert not Remittance.objects.exists()


def test_create_invoices_names_the_tickets_it_refuses(agent, billing_user):
    account = account_for(agent)
    ready = TicketFactory(
        status=Status.READY_FOR_PICKUP,
        customer=CustomerFactory(billing_agent=agent),
        billing_agent=agent,
        items=[("Screen", 1, "10.00", True)],
    )
    theirs = waiting_ticket(BillingAgentFactory())
    taken = waiting_ticket(agent)
    [earlier] = services.create_invoices(
        account=account, ticket_ids=[taken.pk], batch=True, by=billing_user
    )

    def refusal(ticket):
        with pytest.raises(DomainError) as caught:
            services.create_invoices(
                account=account, ticket_ids=[ticket.pk], batch=True, by=billing_user
            )
        return caught.value

    not_waiting = refusal(ready)
    assert isinstance(not_waiting, services.TicketsNotInvoiceable)
    assert "Waiting-for-Payment" in not_waiting.message and ready.number in not_waiting.message
    other_payer = refusal(theirs)
    assert isinstance(other_payer, services.TicketsNotInvoiceable)
    assert f"Not billed to {agent.company_name}: {theirs.number}" in other_payer.message
    on_invoice = refusal(taken)
    assert isinstance(on_invoice, services.TicketsAlreadyInvoiced)
    assert taken.number in on_invoice.message and earlier.number in on_invoice.message
    assert Invoice.objects.count() == 1
