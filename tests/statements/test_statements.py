"""The statement of account (statements.statements): its lines, running balance and the
identity closing = Σ invoice balances as of the end - unapplied credit then."""

import contextlib
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from invoicing import services
from invoicing.models import Account, Invoice, Remittance
from statements.statements import (
    Aging,
    LineKind,
    account_aging,
    build_statement,
    last_full_month,
)
from tests.factories import BillingAgentFactory, CustomerFactory, UserFactory
from tests.statements.conftest import History, days_ago, noon

pytestmark = pytest.mark.django_db

D = Decimal
ZERO = D("0.00")


def owed_as_of(account: Account, day: date) -> Decimal:
    """Σ balance_as_of of Invoice.objects.owing_as_of(day) - the credit then: the identity."""
    owing = Invoice.objects.owing_as_of(day).filter(account=account)
    owed = owing.aggregate(s=Sum("balance_as_of"))["s"] or ZERO
    credit = Account.objects.with_credit_as_of(day).get(pk=account.pk).credit_as_of
    return (owed - credit).quantize(D("0.01"))


def kinds(statement) -> list[str]:
    return [line.kind for line in statement.lines]


# --- period ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        (date(2025, 3, 15), date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 1, 1), date(2024, 12, 1), date(2024, 12, 31)),
        (date(2024, 3, 31), date(2024, 2, 1), date(2024, 2, 29)),
    ],
)
def test_the_default_period_is_the_last_full_calendar_month(today, start, end):
    assert last_full_month(today) == (start, end)


# --- lines and running balance ---------------------------------------------------------


def test_an_invoice_and_its_payment_make_two_lines_with_a_running_balance(history):
    start, end = days_ago(40), days_ago(10)
    invoice = history.invoice(days_ago(30), "100.00", "50.00")
    history.pay(invoice, "60.00", days_ago(20), reference="CHQ 881")

    statement = build_statement(account=history.account, start=start, end=end)

    assert statement.opening == ZERO
    assert kinds(statement) == [LineKind.INVOICE, LineKind.PAYMENT]
    issued, paid = statement.lines
    assert (issued.day, issued.effect, issued.balance) == (days_ago(30), D("150.00"), D("150.00"))
    assert issued.reference == invoice.number
    assert (paid.day, paid.effect, paid.balance) == (days_ago(20), D("-60.00"), D("90.00"))
    assert paid.reference == "CHQ 881"
    assert paid.description == f"Cheque payment · applied to {invoice.number}"
    assert statement.closing == D("90.00") == owed_as_of(history.account, end)
    assert statement.credit == ZERO


def test_the_opening_balance_is_what_was_owed_the_day_before_minus_credit(history):
    old = history.invoice(days_ago(60), "100.00")
    history.pay(old, "130.00", days_ago(50))  # 30.00 left as credit
    history.invoice(days_ago(45), "80.00")

    statement = build_statement(account=history.account, start=days_ago(40), end=days_ago(1))

    assert statement.opening == D("50.00") == owed_as_of(history.account, days_ago(41))
    assert statement.lines == ()
    assert statement.closing == D("50.00")
    assert statement.credit == D("30.00")


def test_an_overpayment_lowers_the_balance_by_the_whole_amount(history):
    invoice = history.invoice(days_ago(10), "100.00")
    history.pay(invoice, "150.00", days_ago(5))

    statement = build_statement(account=history.account, start=days_ago(10), end=days_ago(1))

    payment = statement.lines[-1]
    assert payment.effect == D("-150.00")
    assert "$50.00 left as account credit" in payment.description
    assert statement.closing == D("-50.00") == owed_as_of(history.account, days_ago(1))
    assert statement.credit == D("50.00")
    assert statement.aging.total == ZERO


def test_a_back_dated_payment_shows_on_its_received_date(history):
    first = history.invoice(days_ago(30), "100.00")
    second = history.invoice(days_ago(12), "40.00")
    # Recorded today, received three weeks ago: it belongs between the two invoices.
    history.pay(first, "100.00", days_ago(21))

    statement = build_statement(account=history.account, start=days_ago(30), end=days_ago(1))

    assert [(line.kind, line.day) for line in statement.lines] == [
        (LineKind.INVOICE, days_ago(30)),
        (LineKind.PAYMENT, days_ago(21)),
        (LineKind.INVOICE, days_ago(12)),
    ]
    assert [line.balance for line in statement.lines] == [D("100.00"), ZERO, D("40.00")]
    assert statement.lines[-1].reference == second.number


def test_a_payment_on_the_account_is_one_line_naming_every_invoice_it_paid(history):
    a = history.invoice(days_ago(20), "100.00")
    b = history.invoice(days_ago(15), "50.00")
    history.pay_account("170.00", days_ago(5), reference="ACH-77")

    statement = build_statement(account=history.account, start=days_ago(20), end=days_ago(1))

    payment = statement.lines[-1]
    assert payment.kind == LineKind.PAYMENT
    assert payment.effect == D("-170.00")
    assert a.number in payment.description and b.number in payment.description
    assert statement.closing == D("-20.00") == owed_as_of(history.account, days_ago(1))


def test_credit_applied_to_an_invoice_is_a_line_with_no_effect(history):
    first = history.invoice(days_ago(20), "100.00")
    history.pay(first, "140.00", days_ago(18))  # 40.00 credit
    second = history.invoice(days_ago(10), "60.00")
    history.pay_from_credit(second, "40.00", days_ago(5))

    statement = build_statement(account=history.account, start=days_ago(20), end=days_ago(1))

    applied = statement.lines[-1]
    assert applied.kind == LineKind.CREDIT_APPLIED
    assert applied.effect == ZERO
    assert applied.description == f"Credit applied to {second.number}"
    assert statement.closing == D("20.00") == owed_as_of(history.account, days_ago(1))
    assert statement.credit == ZERO


def test_a_void_in_the_period_puts_the_amount_back_on_its_own_date(history):
    invoice = history.invoice(days_ago(30), "100.00")
    payment = history.pay(invoice, "100.00", days_ago(25))
    history.void(payment, days_ago(10))

    statement = build_statement(account=history.account, start=days_ago(30), end=days_ago(1))

    assert kinds(statement) == [LineKind.INVOICE, LineKind.PAYMENT, LineKind.PAYMENT_VOID]
    void = statement.lines[-1]
    assert (void.day, void.effect, void.balance) == (days_ago(10), D("100.00"), D("100.00"))
    assert "Entered in error" in void.description
    assert statement.closing == D("100.00") == owed_as_of(history.account, days_ago(1))


def test_a_void_after_the_period_leaves_the_period_as_it_was_then(history):
    invoice = history.invoice(days_ago(30), "100.00")
    payment = history.pay(invoice, "130.00", days_ago(25))
    history.void(payment, days_ago(5))

    statement = build_statement(account=history.account, start=days_ago(30), end=days_ago(10))

    assert kinds(statement) == [LineKind.INVOICE, LineKind.PAYMENT]
    assert statement.closing == D("-30.00") == owed_as_of(history.account, days_ago(10))
    assert statement.credit == D("30.00")
    later = build_statement(account=history.account, start=days_ago(9), end=days_ago(1))
    assert later.opening == D("-30.00")
    assert [line.effect for line in later.lines] == [D("130.00")]
    assert later.closing == D("100.00") == owed_as_of(history.account, days_ago(1))


def test_voiding_credit_applied_has_no_effect(history):
    first = history.invoice(days_ago(20), "100.00")
    history.pay(first, "150.00", days_ago(18))
    second = history.invoice(days_ago(10), "80.00")
    applied = history.pay_from_credit(second, "50.00", days_ago(8))
    history.void(applied, days_ago(4))

    statement = build_statement(account=history.account, start=days_ago(20), end=days_ago(1))

    void = statement.lines[-1]
    assert void.kind == LineKind.PAYMENT_VOID and void.effect == ZERO
    assert statement.closing == D("30.00") == owed_as_of(history.account, days_ago(1))
    assert statement.credit == D("50.00")


def test_a_write_off_and_its_void_are_lines_on_their_own_dates(history):
    invoice = history.invoice(days_ago(40), "100.00")
    history.pay(invoice, "30.00", days_ago(35))
    write_off = history.write_off(invoice, days_ago(20))
    history.void_write_off(write_off, days_ago(10))

    statement = build_statement(account=history.account, start=days_ago(40), end=days_ago(1))

    assert [(line.kind, line.day, line.effect) for line in statement.lines] == [
        (LineKind.INVOICE, days_ago(40), D("100.00")),
        (LineKind.PAYMENT, days_ago(35), D("-30.00")),
        (LineKind.WRITE_OFF, days_ago(20), D("-70.00")),
        (LineKind.WRITE_OFF_VOID, days_ago(10), D("70.00")),
    ]
    assert statement.closing == D("70.00") == owed_as_of(history.account, days_ago(1))
    middle = build_statement(account=history.account, start=days_ago(25), end=days_ago(15))
    assert middle.closing == ZERO == owed_as_of(history.account, days_ago(15))


def test_credit_adjustments_and_refunds_are_lines_and_payment_credit_is_not(history):
    invoice = history.invoice(days_ago(20), "100.00")
    history.pay(invoice, "120.00", days_ago(15))  # its 20.00 credit is part of the payment
    history.adjust("25.00", days_ago(10))
    history.refund("30.00", days_ago(5))

    statement = build_statement(account=history.account, start=days_ago(20), end=days_ago(1))

    assert kinds(statement) == [
        LineKind.INVOICE,
        LineKind.PAYMENT,
        LineKind.CREDIT,
        LineKind.CREDIT,
    ]
    adjustment, refund = statement.lines[-2:]
    assert adjustment.effect == D("-25.00") and "Goodwill" in adjustment.description
    assert refund.effect == D("30.00") and "cheque R-1" in refund.description
    assert statement.credit == D("15.00")
    assert statement.closing == D("-15.00") == owed_as_of(history.account, days_ago(1))


def test_a_deleted_invoice_never_appears(history):
    kept = history.invoice(days_ago(20), "100.00")
    gone = history.invoice(days_ago(15), "60.00")
    history.delete(gone)

    statement = build_statement(account=history.account, start=days_ago(20), end=days_ago(1))

    assert [line.reference for line in statement.lines] == [kept.number]
    assert statement.closing == D("100.00") == owed_as_of(history.account, days_ago(1))


def test_a_payment_share_on_an_invoice_deleted_since_stays_with_its_tickets(history):
    invoice = history.invoice(days_ago(20), "100.00")
    history.pay(invoice, "40.00", days_ago(15))
    history.delete(invoice)

    statement = build_statement(account=history.account, start=days_ago(20), end=days_ago(1))

    assert [line.effect for line in statement.lines] == [ZERO]
    assert statement.closing == ZERO == owed_as_of(history.account, days_ago(1))


def test_events_on_one_day_follow_the_order_they_were_recorded(history):
    day = days_ago(3)
    invoice = history.invoice(day, "100.00")
    payment = history.pay(invoice, "100.00", day)
    Remittance.objects.filter(pk=payment.pk).update(created_at=noon(day) + timedelta(hours=1))
    second = history.invoice(day, "20.00")
    Invoice.objects.filter(pk=second.pk).update(created_at=noon(day) + timedelta(hours=2))

    statement = build_statement(account=history.account, start=day, end=day)

    assert [line.balance for line in statement.lines] == [D("100.00"), ZERO, D("20.00")]


def test_an_account_never_invoiced_has_an_empty_statement(db):
    agent = BillingAgentFactory()
    start, end = last_full_month()
    statement = build_statement(account=Account.of(agent), start=start, end=end)
    assert (statement.opening, statement.lines, statement.closing) == (ZERO, (), ZERO)
    assert statement.aging == Aging()


def test_a_direct_billed_customer_has_a_statement_like_an_agent(clerk):
    customer = CustomerFactory(net_terms_days=15)
    history = History(customer, by=clerk)
    invoice = history.invoice(days_ago(10), "75.00")
    history.pay(invoice, "25.00", days_ago(5))

    statement = build_statement(account=history.account, start=days_ago(10), end=days_ago(1))

    assert statement.closing == D("50.00") == owed_as_of(history.account, days_ago(1))


# --- aging -----------------------------------------------------------------------------


def test_aging_buckets_count_days_past_the_due_date_on_the_end_day(history):
    # Net 30: due 30 days after issue. On `end`, these are 0, 1, 31, 61 and 91 days late.
    end = days_ago(1)
    for late in (0, 1, 31, 61, 91):
        history.invoice(end - timedelta(days=30 + late), "10.00")
    history.invoice(end, "5.00")  # due in 30 days: current

    aging = account_aging(account=history.account, as_of=end)

    assert aging == Aging(
        current=D("15.00"),
        d1_30=D("10.00"),
        d31_60=D("10.00"),
        d61_90=D("10.00"),
        over_90=D("10.00"),
    )
    assert aging.total == D("55.00")


def test_aging_follows_what_was_owed_on_the_day(history):
    invoice = history.invoice(days_ago(100), "100.00")
    history.pay(invoice, "60.00", days_ago(20))

    before = account_aging(account=history.account, as_of=days_ago(21))
    after = account_aging(account=history.account, as_of=days_ago(1))

    # Due 70 days ago: 49 days late before the payment, 69 days late after it.
    assert before == Aging(d31_60=D("100.00"))
    assert after == Aging(d61_90=D("40.00"))


# --- no day on which an invoice counts as paid twice -----------------------------------


def test_a_payment_cannot_be_dated_before_a_void_on_its_invoice(history):
    """Payment voided on day -10 and entered again dated day -20: refused, since from day
    -20 to -11 the invoice would count as paid twice (the voided money and the new)."""
    invoice = history.invoice(days_ago(30), "100.00")
    wrong = history.pay(invoice, "100.00", days_ago(20))
    history.void(wrong, days_ago(10))
    with pytest.raises(DomainError) as refused:
        history.pay(invoice, "100.00", days_ago(20))
    assert refused.value.field == "received_on"
    assert days_ago(10).isoformat() in refused.value.message
    history.pay(invoice, "100.00", days_ago(10))
    assert owed_as_of(history.account, days_ago(15)) == ZERO
    assert (
        build_statement(account=history.account, start=days_ago(30), end=days_ago(1)).closing
        == ZERO
    )


# --- the identity, for random histories ------------------------------------------------

DAYS = 60  # the history runs over the last 60 days
PRICES = st.sampled_from(["10.00", "25.50", "100.00", "637.12"])
AMOUNTS = st.sampled_from(["5.00", "10.00", "25.50", "60.00", "100.00", "700.00"])
STEP = st.one_of(
    st.tuples(st.just("invoice"), st.lists(PRICES, min_size=1, max_size=2)),
    st.tuples(st.just("pay"), st.integers(0, 9), AMOUNTS, st.integers(0, 15)),
    st.tuples(st.just("pay_account"), AMOUNTS, st.integers(0, 15)),
    st.tuples(st.just("pay_from_credit"), st.integers(0, 9), AMOUNTS),
    st.tuples(st.just("void"), st.integers(0, 9)),
    # A voided payment entered again with its own (earlier) date, as a clerk corrects one.
    st.tuples(st.just("reenter"), st.integers(0, 9)),
    st.tuples(st.just("write_off"), st.integers(0, 9)),
    st.tuples(st.just("void_write_off"), st.integers(0, 9)),
    st.tuples(st.just("adjust"), st.sampled_from(["15.00", "-5.00", "40.00"])),
    st.tuples(st.just("refund"), AMOUNTS),
    st.tuples(st.just("delete"), st.integers(0, 9)),
)
# Each step happens on its own day: gaps of 0 to 6 days between steps.
HISTORY = st.lists(st.tuples(st.integers(0, 6), STEP), min_size=3, max_size=16)
# Invoices issued on the history's first day, so the first steps have something to pay.
FIRST_INVOICES = st.lists(PRICES, min_size=1, max_size=3)
EXAMPLES: dict = {"count": 0, "steps": 0, "kinds": Counter()}


def _pick(items: list, index: int):
    return items[index % len(items)] if items else None


def _play(history: History, first_invoices: list[str], steps) -> None:
    """Run the steps through the services, each dated on its day of the last DAYS days;
    a step the services refuse (nothing to pay, credit too low, …) is skipped."""
    day = timezone.localdate() - timedelta(days=DAYS)
    invoices: list[Invoice] = [history.invoice(day, price) for price in first_invoices]
    payments: list[Remittance] = []
    write_offs = []
    for gap, (kind, *args) in steps:
        day = min(day + timedelta(days=gap), timezone.localdate())
        with contextlib.suppress(DomainError), transaction.atomic():
            if _step(history, day, kind, args, invoices, payments, write_offs):
                EXAMPLES["steps"] += 1
                EXAMPLES["kinds"][kind] += 1


def _step(history: History, day: date, kind: str, args, invoices, payments, write_offs) -> bool:
    """One step on `day`; False when there was nothing to do it to."""
    if kind == "invoice":
        invoices.append(history.invoice(day, *args[0]))
    elif kind == "pay" and invoices:
        invoice, amount, back = _pick(invoices, args[0]), args[1], args[2]
        received = max(day - timedelta(days=back), invoice.issue_date)
        payments.append(history.pay(invoice, amount, received))
    elif kind == "pay_account":
        payments.append(history.pay_account(args[0], day - timedelta(days=args[1])))
    elif kind == "pay_from_credit" and invoices:
        invoice = Invoice.objects.with_account().get(pk=_pick(invoices, args[0]).pk)
        amount = min(D(args[1]), services.credit_payable(invoice=invoice))
        if amount <= 0:
            return False
        payments.append(history.pay_from_credit(invoice, str(amount), day))
    elif kind == "void" and payments and _pick(payments, args[0]).voided_at is None:
        # Voiding twice changes nothing; the helper would only re-date the first void.
        history.void(_pick(payments, args[0]), day)
    elif kind == "reenter" and (voided := [p for p in payments if p.voided_at]):
        old = _pick(voided, args[0])
        if old.invoice_id:
            payments.append(history.pay(old.invoice, str(old.amount), old.received_on))
        else:
            payments.append(history.pay_account(str(old.amount), old.received_on))
    elif kind == "write_off" and invoices:
        write_offs.append(history.write_off(_pick(invoices, args[0]), day))
    elif kind == "void_write_off" and write_offs and _pick(write_offs, args[0]).voided_at is None:
        history.void_write_off(_pick(write_offs, args[0]), day)
    elif kind == "adjust":
        history.adjust(args[0], day)
    elif kind == "refund":
        history.refund(args[0], day)
    elif kind == "delete" and invoices:
        history.delete(_pick(invoices, args[0]))
    else:
        return False
    return True


def _every_invoice_as_of(account: Account, day: date) -> Decimal:
    """Σ balance_as_of over every live invoice (paid ones too) - the credit then."""
    owed = Invoice.objects.as_of(day).filter(account=account).aggregate(s=Sum("balance_as_of"))
    credit = Account.objects.with_credit_as_of(day).get(pk=account.pk).credit_as_of
    return ((owed["s"] or ZERO) - credit).quantize(D("0.01"))


def _check_identity(history: History) -> None:
    account = history.account
    today = timezone.localdate()
    first = today - timedelta(days=DAYS)
    periods = [(first, today), (first + timedelta(days=20), today - timedelta(days=20))]
    periods += [(first + timedelta(days=n), first + timedelta(days=n + 9)) for n in (0, 10, 25)]
    for start, end in periods:
        statement = build_statement(account=account, start=start, end=end)
        balance = statement.opening
        for line in statement.lines:
            assert start <= line.day <= end
            balance += line.effect
            assert line.balance == balance
        assert statement.closing == balance
        assert [line.day for line in statement.lines] == sorted(
            line.day for line in statement.lines
        )
        for day, figure in (
            (start - timedelta(days=1), statement.opening),
            (end, statement.closing),
        ):
            assert figure == _every_invoice_as_of(account, day), (start, end, day)
            # No invoice is ever paid beyond its total on a past day, so the invoices
            # still owing say the same.
            assert figure == owed_as_of(account, day), (start, end, day)
        credit = Account.objects.with_credit_as_of(end).get(pk=account.pk).credit_as_of
        assert statement.credit == credit


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(first_invoices=FIRST_INVOICES, steps=HISTORY)
def _identity_examples(first_invoices, steps):
    EXAMPLES["count"] += 1
    # Each example runs in a savepoint of the test's transaction, rolled back after.
    with contextlib.suppress(_Rollback), transaction.atomic():
        agent = BillingAgentFactory(net_terms_days=30, credit_hold_days=365)
        history = History(agent, by=UserFactory(username="statement-prop", role="Manager"))
        _play(history, first_invoices, steps)
        _check_identity(history)
        raise _Rollback


class _Rollback(Exception):
    pass


def test_closing_balance_is_what_the_invoices_owe_minus_credit_for_any_history():
    EXAMPLES.update(count=0, steps=0, kinds=Counter())
    _identity_examples()
    print(
        f"\nhypothesis: {EXAMPLES['count']} examples, {EXAMPLES['steps']} steps recorded; "
        f"steps by kind: {dict(EXAMPLES['kinds'].most_common())}"
    )
    assert EXAMPLES["count"] > 0
