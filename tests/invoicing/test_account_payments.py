"""One payment on the account across many invoices (issue 11): oldest due date first,
oldest ticket first within one invoice, the rest as credit; one payment record, many
allocations; replay-safe; voidable like any payment; credit applied where it is wanted."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import (
    CreditKind,
    CreditTransaction,
    Invoice,
    InvoiceStatus,
    Remittance,
    RemittanceAllocation,
)
from tests.factories import BillingAgentFactory, LocationFactory, waiting_ticket
from tickets.models import PaymentMethod
from tickets.transitions import Status

D = Decimal
pytestmark = pytest.mark.django_db


def _invoice(agent, prices, *, by, due_in=30, issued_days_ago=0):
    """One invoice of untaxed tickets, issued `issued_days_ago` with `due_in` days."""
    location = LocationFactory(tax_rate_percent=D("0"))
    tickets = [
        waiting_ticket(agent, location=location, items=[("Repair", 1, price, True)])
        for price in prices
    ]
    issue = timezone.localdate() - timedelta(days=issued_days_ago)
    for ticket in tickets:
        type(ticket).objects.filter(pk=ticket.pk).update(
            created_at=timezone.now() - timedelta(days=issued_days_ago + 1)
        )
    [invoice] = services.create_invoices(
        account=account_for(agent),
        ticket_ids=[t.pk for t in tickets],
        batch=True,
        issue_date=issue,
        by=by,
    )
    Invoice.objects.filter(pk=invoice.pk).update(due_date=issue + timedelta(days=due_in))
    invoice.refresh_from_db()
    return invoice


@pytest.fixture
def three_invoices(location, billing_user):
    """An agent with three open invoices of 100 (60 + 40), 40 and 80, due 50, 20 and 5
    days ago, created in another order so the due date (not the id) decides."""
    agent = BillingAgentFactory(company_name="Harbor Insurance", net_terms_days=30)
    middle = _invoice(agent, ["40.00"], by=billing_user, issued_days_ago=50, due_in=30)
    oldest = _invoice(agent, ["60.00", "40.00"], by=billing_user, issued_days_ago=80, due_in=30)
    newest = _invoice(agent, ["80.00"], by=billing_user, issued_days_ago=35, due_in=30)
    return agent, [oldest, middle, newest]


def test_account_payment_pays_oldest_due_date_first_and_leaves_the_rest_partly_paid(
    three_invoices, billing_user
):
    agent, (oldest, middle, newest) = three_invoices
    payment = services.record_account_payment(
        account=account_for(agent),
        amount=D("170.00"),
        method=PaymentMethod.CHEQUE,
        reference="CHQ-900",
        by=billing_user,
    )
    for invoice in (oldest, middle, newest):
        invoice.refresh_from_db()
    assert payment.invoice is None and payment.paid_for == "the account"
    assert oldest.status == InvoiceStatus.PAID and oldest.amount_paid == D("100.00")
    assert middle.status == InvoiceStatus.PAID and middle.amount_paid == D("40.00")
    assert newest.status == InvoiceStatus.OPEN and newest.amount_paid == D("30.00")
    assert Remittance.objects.count() == 1
    assert RemittanceAllocation.objects.filter(remittance=payment).count() == 4
    assert [i.number for i in payment.invoices_paid] == [
        oldest.number,
        middle.number,
        newest.number,
    ]
    assert set(oldest.lines.values_list("ticket__status", flat=True)) == {Status.CLOSED}
    assert set(newest.lines.values_list("ticket__status", flat=True)) == {Status.INVOICED}


def test_within_one_invoice_the_oldest_ticket_is_paid_first(three_invoices, billing_user):
    agent, (oldest, _, _) = three_invoices
    services.record_account_payment(
        account=account_for(agent), amount=D("70.00"), method="cheque", by=billing_user
    )
    first, second = oldest.lines.order_by("ticket__created_at", "ticket_id")
    assert (first.amount_paid, second.amount_paid) == (D("60.00"), D("10.00"))


def test_what_is_left_after_every_open_invoice_becomes_account_credit(three_invoices, billing_user):
    agent, invoices = three_invoices
    account = account_for(agent)
    payment = services.record_account_payment(
        account=account, amount=D("250.00"), method="ach", by=billing_user
    )
    assert payment.credit == D("30.00")
    assert credit_balance(account=account) == D("30.00")
    row = CreditTransaction.objects.get(remittance=payment)
    assert row.kind == CreditKind.OVERPAYMENT and row.invoice is None
    assert row.effective_on == payment.received_on
    assert all(Invoice.objects.get(pk=i.pk).status == InvoiceStatus.PAID for i in invoices)


def test_a_payment_with_no_open_invoice_is_all_account_credit(billing_user):
    agent = BillingAgentFactory()
    payment = services.record_account_payment(
        account=account_for(agent), amount=D("25.00"), method="cheque", by=billing_user
    )
    assert payment.credit == D("25.00") and payment.allocations.count() == 0


def test_clerk_allocations_across_invoices_are_kept_and_checked(three_invoices, billing_user):
    agent, (oldest, middle, newest) = three_invoices
    [newest_line] = newest.lines.all()
    [middle_line] = middle.lines.all()
    payment = services.record_account_payment(
        account=account_for(agent),
        amount=D("100.00"),
        method="cheque",
        allocations={newest_line.pk: D("80.00"), middle_line.pk: D("20.00")},
        by=billing_user,
    )
    newest.refresh_from_db()
    oldest.refresh_from_db()
    assert newest.status == InvoiceStatus.PAID
    assert oldest.amount_paid == 0
    assert payment.credit == 0


def test_no_line_is_allocated_beyond_its_balance(three_invoices, billing_user):
    agent, (_, middle, _) = three_invoices
    [line] = middle.lines.all()
    with pytest.raises(services.AllocationError) as refused:
        services.record_account_payment(
            account=account_for(agent),
            amount=D("100.00"),
            method="cheque",
            allocations={line.pk: D("41.00")},
            by=billing_user,
        )
    assert refused.value.field == f"line-{line.pk}"
    assert Remittance.objects.count() == 0


def test_a_line_of_another_payer_cannot_be_allocated(three_invoices, billing_user, location):
    agent, _ = three_invoices
    other = _invoice(BillingAgentFactory(), ["10.00"], by=billing_user)
    [foreign] = other.lines.all()
    with pytest.raises(services.AllocationError):
        services.record_account_payment(
            account=account_for(agent),
            amount=D("10.00"),
            method="cheque",
            allocations={foreign.pk: D("10.00")},
            by=billing_user,
        )


def test_the_same_form_submitted_twice_records_one_payment(three_invoices, billing_user):
    agent, _ = three_invoices
    key = uuid.uuid4()
    kwargs = dict(account=account_for(agent), amount=D("50.00"), method="cheque", by=billing_user)
    first = services.record_account_payment(idempotency_key=key, **kwargs)
    again = services.record_account_payment(idempotency_key=key, **kwargs)
    assert again.pk == first.pk and again.already_recorded
    assert Remittance.objects.count() == 1


def test_a_reused_key_for_another_payment_is_refused(three_invoices, billing_user):
    agent, _ = three_invoices
    key = uuid.uuid4()
    account = account_for(agent)
    services.record_account_payment(
        account=account, amount=D("50.00"), method="cheque", idempotency_key=key, by=billing_user
    )
    with pytest.raises(services.IdempotencyKeyReused):
        services.record_account_payment(
            account=account,
            amount=D("60.00"),
            method="cheque",
            idempotency_key=key,
            by=billing_user,
        )


def test_back_then_submit_with_the_same_cheque_asks_before_recording_it_again(
    three_invoices, billing_user
):
    agent, _ = three_invoices
    account = account_for(agent)
    first = services.record_account_payment(
        account=account,
        amount=D("50.00"),
        method="cheque",
        reference="CHQ-77",
        confirmed=services.Confirmations(),
        by=billing_user,
    )
    with pytest.raises(services.PaymentNeedsConfirmation) as asked:
        services.record_account_payment(
            account=account,
            amount=D("50.00"),
            method="cheque",
            reference="chq-77",
            confirmed=services.Confirmations(),
            by=billing_user,
        )
    assert asked.value.earlier.pk == first.pk
    assert "for the account" in asked.value.duplicate_message


def test_a_large_unapplied_remainder_asks_for_confirmation(three_invoices, billing_user):
    agent, _ = three_invoices
    with pytest.raises(services.PaymentNeedsConfirmation) as asked:
        services.record_account_payment(
            account=account_for(agent),
            amount=D("400.00"),
            method="cheque",
            confirmed=services.Confirmations(),
            by=billing_user,
        )
    assert asked.value.credit == D("180.00")


def test_a_payment_cannot_pay_an_invoice_issued_after_it_was_received(three_invoices, billing_user):
    agent, (oldest, _, _) = three_invoices
    with pytest.raises(services.DomainError) as refused:
        services.record_account_payment(
            account=account_for(agent),
            amount=D("10.00"),
            method="cheque",
            received_on=oldest.issue_date - timedelta(days=1),
            by=billing_user,
        )
    assert refused.value.field == "received_on"
    assert oldest.number in refused.value.message


def test_voiding_an_account_payment_reopens_every_invoice_it_paid(
    three_invoices, billing_user, manager_user
):
    agent, invoices = three_invoices
    account = account_for(agent)
    payment = services.record_account_payment(
        account=account, amount=D("250.00"), method="cheque", by=billing_user
    )
    services.void_remittance(remittance=payment, reason="Cheque bounced", by=manager_user)
    for invoice in invoices:
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.OPEN and invoice.amount_paid == 0
        assert set(invoice.lines.values_list("ticket__status", flat=True)) == {Status.INVOICED}
    assert credit_balance(account=account) == 0
    assert Remittance.objects.get(pk=payment.pk).is_voided


def test_voiding_an_account_payment_whose_credit_was_spent_is_refused(
    three_invoices, billing_user, manager_user
):
    agent, _ = three_invoices
    account = account_for(agent)
    payment = services.record_account_payment(
        account=account, amount=D("250.00"), method="cheque", by=billing_user
    )
    later = _invoice(agent, ["30.00"], by=billing_user)
    services.record_remittance(
        invoice=later, amount=D("30.00"), method=PaymentMethod.ACCOUNT_CREDIT, by=billing_user
    )
    with pytest.raises(services.CreditAlreadySpent) as refused:
        services.void_remittance(remittance=payment, reason="Bounced", by=manager_user)
    assert later.number in refused.value.message


def test_apply_credit_to_oldest_invoices_names_each_invoice_on_the_ledger(
    three_invoices, billing_user, manager_user
):
    agent, (oldest, middle, _) = three_invoices
    account = account_for(agent)
    adjust_credit(account=account, amount=D("120.00"), reason="Goodwill", by=manager_user)
    payment = services.record_account_payment(
        account=account, amount=D("120.00"), method=PaymentMethod.ACCOUNT_CREDIT, by=billing_user
    )
    rows = CreditTransaction.objects.filter(remittance=payment).order_by("id")
    assert [(r.invoice_id, r.amount) for r in rows] == [
        (oldest.pk, D("-100.00")),
        (middle.pk, D("-20.00")),
    ]
    assert credit_balance(account=account) == 0
    assert payment.received_on == timezone.localdate()


def test_credit_applied_on_one_invoice_links_that_invoice(
    three_invoices, billing_user, manager_user
):
    agent, (_, middle, _) = three_invoices
    account = account_for(agent)
    adjust_credit(account=account, amount=D("15.00"), reason="Goodwill", by=manager_user)
    payment = services.record_remittance(
        invoice=middle, amount=D("15.00"), method=PaymentMethod.ACCOUNT_CREDIT, by=billing_user
    )
    row = CreditTransaction.objects.get(remittance=payment)
    assert row.invoice_id == middle.pk and row.kind == CreditKind.CREDIT_APPLIED


def test_credit_cannot_pay_more_than_is_due(three_invoices, billing_user, manager_user):
    agent, _ = three_invoices
    account = account_for(agent)
    adjust_credit(account=account, amount=D("500.00"), reason="Goodwill", by=manager_user)
    with pytest.raises(services.AllocationError):
        services.record_account_payment(
            account=account,
            amount=D("300.00"),
            method=PaymentMethod.ACCOUNT_CREDIT,
            by=billing_user,
        )


def test_every_cent_received_on_the_account_is_allocated_or_credit(three_invoices, billing_user):
    agent, _ = three_invoices
    account = account_for(agent)
    for amount in ("33.33", "90.00", "150.00"):
        services.record_account_payment(
            account=account, amount=D(amount), method="cheque", by=billing_user
        )
    received = Remittance.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    allocated = RemittanceAllocation.objects.filter(remittance__account=account).aggregate(
        s=Sum("amount")
    )["s"]
    paid = Invoice.objects.filter(account=account).aggregate(s=Sum("amount_paid"))["s"]
    assert allocated == paid
    assert received == allocated + credit_balance(account=account)


def test_a_payment_cannot_be_dated_before_a_void_on_the_invoice_it_pays(
    three_invoices, billing_user, manager_user
):
    _, (oldest, _, _) = three_invoices
    yesterday = timezone.localdate() - timedelta(days=1)
    wrong = services.record_remittance(
        invoice=oldest, amount=D("10.00"), method="cheque", received_on=yesterday, by=billing_user
    )
    services.void_remittance(remittance=wrong, reason="Wrong amount", by=manager_user)
    with pytest.raises(services.DomainError) as refused:
        services.record_remittance(
            invoice=oldest,
            amount=D("12.00"),
            method="cheque",
            received_on=yesterday,
            by=billing_user,
        )
    assert refused.value.field == "received_on" and "voided on" in refused.value.message
    services.record_remittance(invoice=oldest, amount=D("12.00"), method="cheque", by=billing_user)
