"""Corrections (issue 10): void a payment, refund credit, write off a balance, void a
write-off. Each adds records; nothing that moved money is edited or deleted."""

from decimal import Decimal

import pytest

from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import InsufficientCredit, adjust_credit, credit_balance, refund_credit
from invoicing.models import (
    CreditKind,
    CreditTransaction,
    DisplayStatus,
    Invoice,
    InvoiceStatus,
    InvoiceWriteOff,
    Remittance,
)
from tests.factories import LocationFactory, waiting_ticket
from tickets.models import PaymentKind, PaymentMethod, Ticket, TicketPayment, fresh_totals
from tickets.totals import stored_figures
from tickets.transitions import Status

pytestmark = pytest.mark.django_db
D = Decimal


def _invoice(agent, by, *prices) -> Invoice:
    """One batch invoice of untaxed tickets at these prices."""
    untaxed = LocationFactory(name="Downtown", tax_rate_percent=D("0"))
    tickets = [
        waiting_ticket(agent, location=untaxed, items=[("Repair", 1, p, True)]) for p in prices
    ]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=by
    )
    return invoice


def _pay(invoice, amount, by, method=PaymentMethod.CHEQUE, reference="") -> Remittance:
    return services.record_remittance(
        invoice=invoice, amount=D(amount), method=method, reference=reference, by=by
    )


def _tickets(invoice) -> list[Ticket]:
    return list(Ticket.objects.filter(invoice_lines__invoice=invoice).order_by("pk"))


def _assert_stored_totals_fresh(tickets) -> None:
    tickets = [Ticket.objects.get(pk=t.pk) for t in tickets]
    for ticket, totals in zip(tickets, fresh_totals(tickets), strict=True):
        for name, value in stored_figures(totals).items():
            assert getattr(ticket, name) == value, (ticket.number, name)


# --- void a remittance -----------------------------------------------------------------


def test_void_reverses_allocations_on_tickets_reopens_invoice_and_reverses_overpayment(
    agent, location, manager_user
):
    invoice = _invoice(agent, manager_user, "637.12")
    wrong = _pay(invoice, "400637.12", manager_user, reference="CHQ 1001")
    assert credit_balance(account=invoice.account) == D("400000.00")
    assert [t.status for t in _tickets(invoice)] == [Status.CLOSED]

    voided = services.void_remittance(remittance=wrong, reason="Typo in amount", by=manager_user)

    assert voided.already_voided is False
    wrong.refresh_from_db()
    assert wrong.is_voided and wrong.voided_by == manager_user
    assert wrong.void_reason == "Typo in amount"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.amount_paid == 0
    assert invoice.lines.get().amount_paid == 0
    [ticket] = _tickets(invoice)
    assert ticket.status == Status.INVOICED
    assert ticket.balance_due == D("637.12")
    [reversal] = TicketPayment.objects.filter(kind=PaymentKind.REVERSAL)
    assert reversal.amount == D("-637.12")
    assert reversal.reverses == wrong.allocations.get().payment
    assert reversal.reason == "Typo in amount"
    assert credit_balance(account=invoice.account) == 0
    row = CreditTransaction.objects.get(kind=CreditKind.REVERSAL)
    assert row.reverses.kind == CreditKind.OVERPAYMENT and row.amount == D("-400000.00")
    _assert_stored_totals_fresh([ticket])


def test_voiding_twice_records_nothing_the_second_time(agent, location, manager_user):
    invoice = _invoice(agent, manager_user, "100.00")
    remittance = _pay(invoice, "40.00", manager_user)
    services.void_remittance(remittance=remittance, reason="Bounced", by=manager_user)
    payments = TicketPayment.objects.count()
    again = services.void_remittance(remittance=remittance, reason="Again", by=manager_user)
    assert again.already_voided is True
    assert TicketPayment.objects.count() == payments
    remittance.refresh_from_db()
    assert remittance.void_reason == "Bounced"
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0


def test_void_needs_a_reason(agent, location, manager_user):
    invoice = _invoice(agent, manager_user, "100.00")
    remittance = _pay(invoice, "40.00", manager_user)
    with pytest.raises(services.CorrectionRefused) as caught:
        services.void_remittance(remittance=remittance, reason="  ", by=manager_user)
    assert caught.value.field == "reason"
    remittance.refresh_from_db()
    assert not remittance.is_voided


def test_void_is_refused_when_its_credit_was_spent_and_names_the_invoice_that_used_it(
    agent, location, manager_user
):
    first = _invoice(agent, manager_user, "100.00")
    second = _invoice(agent, manager_user, "80.00")
    over = _pay(first, "150.00", manager_user)  # 50 to credit
    _pay(second, "30.00", manager_user, method=PaymentMethod.ACCOUNT_CREDIT)
    with pytest.raises(services.CreditAlreadySpent) as caught:
        services.void_remittance(remittance=over, reason="Wrong cheque", by=manager_user)
    assert second.number in caught.value.message
    over.refresh_from_db()
    assert not over.is_voided
    assert credit_balance(account=first.account) == D("20.00")
    assert not TicketPayment.objects.filter(kind=PaymentKind.REVERSAL).exists()


def test_voiding_an_account_credit_payment_gives_the_credit_back(agent, location, manager_user):
    invoice = _invoice(agent, manager_user, "100.00")
    adjust_credit(account=invoice.account, amount=D("100.00"), reason="Goodwill", by=manager_user)
    from_credit = _pay(invoice, "100.00", manager_user, method=PaymentMethod.ACCOUNT_CREDIT)
    assert credit_balance(account=invoice.account) == 0
    services.void_remittance(remittance=from_credit, reason="Wrong invoice", by=manager_user)
    assert credit_balance(account=invoice.account) == D("100.00")
    applied = CreditTransaction.objects.get(kind=CreditKind.CREDIT_APPLIED)
    assert applied.reversed_by.amount == D("100.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.amount_paid == 0


def test_after_void_and_the_right_payment_the_books_are_as_if_the_wrong_one_never_happened(
    agent, location, manager_user
):
    invoice = _invoice(agent, manager_user, "637.12")
    wrong = _pay(invoice, "400637.12", manager_user)
    services.void_remittance(remittance=wrong, reason="Typo", by=manager_user)
    _pay(invoice, "637.12", manager_user)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_paid == D("637.12")
    assert credit_balance(account=invoice.account) == 0
    [ticket] = _tickets(invoice)
    assert ticket.status == Status.CLOSED and ticket.balance_due == 0
    _assert_stored_totals_fresh([ticket])


def test_payments_on_a_deleted_invoice_cannot_be_voided(agent, location, manager_user):
    invoice = _invoice(agent, manager_user, "100.00")
    remittance = _pay(invoice, "40.00", manager_user)
    services.delete_invoice(invoice=invoice, by=manager_user)
    with pytest.raises(services.CorrectionRefused):
        services.void_remittance(remittance=remittance, reason="Oops", by=manager_user)


# --- refund credit -----------------------------------------------------------------------


def test_refund_is_its_own_ledger_row_and_never_takes_credit_below_zero(agent, manager_user):
    account = account_for(agent)
    adjust_credit(account=account, amount=D("50.00"), reason="Goodwill", by=manager_user)
    row = refund_credit(
        account=account,
        amount=D("30.00"),
        method=PaymentMethod.CHEQUE,
        reference="CHQ 77",
        reason="Payer asked for it",
        by=manager_user,
    )
    assert row.kind == CreditKind.REFUND and row.amount == D("-30.00")
    assert row.method == PaymentMethod.CHEQUE and row.reference == "CHQ 77"
    assert credit_balance(account=account) == D("20.00")
    with pytest.raises(InsufficientCredit):
        refund_credit(
            account=account,
            amount=D("20.01"),
            method=PaymentMethod.CHEQUE,
            reason="Too much",
            by=manager_user,
        )
    assert credit_balance(account=account) == D("20.00")


def test_refund_needs_a_reason_and_a_payout_method(agent, manager_user):
    account = account_for(agent)
    adjust_credit(account=account, amount=D("50.00"), reason="Goodwill", by=manager_user)
    with pytest.raises(services.DomainError) as caught:
        refund_credit(account=account, amount=D("5"), method="cash", reason="", by=manager_user)
    assert caught.value.field == "reason"
    with pytest.raises(services.DomainError) as caught:
        refund_credit(
            account=account,
            amount=D("5"),
            method=PaymentMethod.ACCOUNT_CREDIT,
            reason="x",
            by=manager_user,
        )
    assert caught.value.field == "method"


def test_voiding_a_payment_whose_credit_was_refunded_is_refused(agent, location, manager_user):
    invoice = _invoice(agent, manager_user, "100.00")
    over = _pay(invoice, "150.00", manager_user)
    refund_credit(
        account=invoice.account, amount=D("50"), method="cheque", reason="Paid back", by=None
    )
    with pytest.raises(services.CreditAlreadySpent) as caught:
        services.void_remittance(remittance=over, reason="Wrong", by=manager_user)
    assert "refund" in caught.value.message


# --- write off -----------------------------------------------------------------------------


def test_write_off_settles_the_invoice_as_written_off_not_paid_and_closes_tickets(
    agent, location, manager_user
):
    invoice = _invoice(agent, manager_user, "100.00", "50.00")
    _pay(invoice, "60.00", manager_user)
    write_off = services.write_off_invoice(invoice=invoice, reason="Uncollectable", by=manager_user)
    assert write_off.amount == D("90.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    assert invoice.display_status == DisplayStatus.WRITTEN_OFF
    assert invoice.amount_paid == D("60.00") and invoice.written_off == D("90.00")
    assert invoice.balance == 0
    assert [t.status for t in _tickets(invoice)] == [Status.CLOSED, Status.CLOSED]
    assert Invoice.objects.with_display_status(DisplayStatus.PAID).count() == 0
    assert Invoice.objects.with_display_status(DisplayStatus.WRITTEN_OFF).get() == invoice
    with pytest.raises(services.InvoiceNotPayable):
        _pay(invoice, "1.00", manager_user)
    with pytest.raises(services.InvoiceNotDeletable):
        services.delete_invoice(invoice=invoice, by=manager_user)


def test_write_off_needs_a_reason_and_an_open_invoice(agent, location, manager_user):
    invoice = _invoice(agent, manager_user, "100.00")
    with pytest.raises(services.CorrectionRefused):
        services.write_off_invoice(invoice=invoice, reason="", by=manager_user)
    _pay(invoice, "100.00", manager_user)
    with pytest.raises(services.CorrectionRefused):
        services.write_off_invoice(invoice=invoice, reason="Paid anyway", by=manager_user)
    assert not InvoiceWriteOff.objects.exists()


def test_voiding_a_write_off_reopens_the_invoice_and_returns_tickets_to_invoiced(
    agent, location, manager_user
):
    invoice = _invoice(agent, manager_user, "100.00")
    write_off = services.write_off_invoice(invoice=invoice, reason="Lost", by=manager_user)
    services.void_write_off(write_off=write_off, reason="Found the cheque", by=manager_user)
    again = services.void_write_off(write_off=write_off, reason="Twice", by=manager_user)
    assert again.already_voided is True
    write_off.refresh_from_db()
    assert write_off.is_voided and write_off.void_reason == "Found the cheque"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.written_off == 0 and invoice.balance == D("100.00")
    assert [t.status for t in _tickets(invoice)] == [Status.INVOICED]
    _pay(invoice, "100.00", manager_user)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_a_payment_on_a_written_off_invoice_is_voided_only_after_the_write_off(
    agent, location, manager_user
):
    invoice = _invoice(agent, manager_user, "100.00")
    remittance = _pay(invoice, "30.00", manager_user)
    services.write_off_invoice(invoice=invoice, reason="Lost", by=manager_user)
    with pytest.raises(services.CorrectionRefused) as caught:
        services.void_remittance(remittance=remittance, reason="Bounced", by=manager_user)
    assert "write-off" in caught.value.message
