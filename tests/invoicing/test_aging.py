"""The aging read model (invoicing.aging): buckets, a past day, write-offs, deletions and
credit, on histories made by the real services (tests.reports.builders)."""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import OuterRef
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from invoicing import services
from invoicing.accounts import account_for
from invoicing.aging import BUCKETS, aging_rows, aging_totals, overdue_balance, with_accounts
from invoicing.ledger import adjust_credit
from invoicing.models import Account, CreditTransaction, Invoice, RemittanceAllocation
from tests.factories import BillingAgentFactory, CustomerFactory
from tests.reports.builders import (
    clerk,
    days_ago,
    invoice_for,
    invoice_past_due,
    invoice_ticket,
    invoices_past_due,
    pay,
    tickets_for,
    today,
    void,
    write_off,
)

D = Decimal
ZERO = D("0.00")


def rows_by_account(as_of, q="", sort="-total") -> dict:
    return {row.account.pk: row for row in with_accounts(aging_rows(as_of, q, sort))}


def figures(row) -> dict:
    return {b.key: amount for b, amount in row.buckets}


@pytest.fixture
def agent(db):
    return BillingAgentFactory(company_name="Lakeside Schools", net_terms_days=30)


# --- buckets -----------------------------------------------------------------------------


@pytest.mark.parametrize("as_of_days_ago", [0, 10], ids=["today", "a past day"])
def test_days_past_due_0_1_30_31_60_61_90_91_fall_in_their_buckets(agent, as_of_days_ago):
    as_of = days_ago(as_of_days_ago)
    # Each invoice's amount names its days past due on `as_of` (cents keep them apart).
    days = (-5, 0, 1, 30, 31, 60, 61, 90, 91)
    invoices_past_due(agent, {d: f"{100 + d}.00" for d in days}, as_of=as_of)

    [row] = with_accounts(aging_rows(as_of))

    assert figures(row) == {
        "current": D("95.00") + D("100.00"),
        "d1_30": D("101.00") + D("130.00"),
        "d31_60": D("131.00") + D("160.00"),
        "d61_90": D("161.00") + D("190.00"),
        "over_90": D("191.00"),
    }
    assert row.total == sum(figures(row).values())
    assert row.oldest_due == as_of - timedelta(days=91)
    assert row.credit == ZERO


def test_an_invoice_issued_after_the_day_is_not_counted_on_it(agent):
    invoice_for(agent, issued=days_ago(5))
    assert rows_by_account(days_ago(6)) == {}
    assert rows_by_account(days_ago(5))[account_for(agent).pk].current == D("100.00")


def test_partly_paid_invoice_ages_by_what_it_still_owes(agent):
    invoice = invoice_past_due(agent, 45)
    pay(invoice, "30.00", received_on=days_ago(3))

    row = rows_by_account(today())[invoice.account_id]

    assert row.d31_60 == row.total == D("70.00")


# --- a past day --------------------------------------------------------------------------


def test_a_past_day_counts_a_back_dated_payment_and_a_later_void_from_their_own_dates(agent):
    invoice = invoice_for(agent, issued=days_ago(60))  # due 30 days ago
    pay(invoice, "40.00", received_on=days_ago(20))  # recorded today, dated 20 days ago
    second = pay(invoice, "60.00", received_on=days_ago(10))
    void(second)  # voided today: it still counted at the end of every earlier day
    account = invoice.account_id

    def owed(days):
        row = rows_by_account(days_ago(days)).get(account)
        return row.total if row else None

    assert rows_by_account(days_ago(35))[account].current == D("100.00")  # due in 5 days
    assert owed(25) == D("100.00")
    assert owed(15) == D("60.00")
    assert owed(5) is None  # paid in full then: not listed
    assert owed(0) == D("60.00")  # the void reopened it today
    assert rows_by_account(today())[account].d1_30 == D("60.00")


def test_an_invoice_paid_since_owed_on_the_days_before_the_payments_date(agent):
    invoice = invoice_past_due(agent, 20, amount="100.00")
    pay(invoice, "100.00", received_on=days_ago(10))  # paid in full: settled today

    assert rows_by_account(days_ago(11))[invoice.account_id].d1_30 == D("100.00")
    assert rows_by_account(days_ago(10)) == {}
    assert rows_by_account(today()) == {}


def test_a_written_off_invoice_owes_until_the_day_it_was_written_off(agent):
    invoice = invoice_past_due(agent, 70, amount="80.00")
    write_off(invoice)

    assert rows_by_account(today()) == {}
    assert rows_by_account(days_ago(1))[invoice.account_id].d61_90 == D("80.00")


def test_a_voided_write_off_owes_again(agent):
    invoice = invoice_past_due(agent, 70, amount="80.00")
    services.void_write_off(write_off=write_off(invoice), reason="Found", by=clerk())

    assert rows_by_account(today())[invoice.account_id].d61_90 == D("80.00")


def test_a_deleted_invoice_is_left_out_even_on_a_day_before_it_was_deleted(agent):
    kept = invoice_past_due(agent, 10, amount="25.00")
    deleted = invoice_past_due(agent, 40, amount="75.00")
    services.delete_invoice(invoice=deleted, by=clerk())

    for day in (today(), days_ago(5)):
        row = rows_by_account(day)[kept.account_id]
        assert row.total == D("25.00")
        assert row.d31_60 == ZERO


# --- credit ------------------------------------------------------------------------------


def test_credit_column_is_the_credit_held_at_the_end_of_the_day(agent):
    invoice = invoice_for(agent, issued=days_ago(40), amount="100.00")
    pay(invoice, "110.00", received_on=days_ago(20))  # $10.00 overpaid, credit from that day
    account = invoice.account_id

    before = rows_by_account(days_ago(30))[account]
    assert (before.total, before.credit) == (D("100.00"), ZERO)
    after = rows_by_account(today())[account]
    # Nothing owed, but credit held: listed, with zero buckets and no oldest due date.
    assert (after.total, after.credit, after.oldest_due) == (ZERO, D("10.00"), None)
    assert set(figures(after).values()) == {ZERO}
    assert rows_by_account(days_ago(20))[account].credit == D("10.00")


def test_credit_added_today_is_not_held_yesterday(agent):
    account = account_for(agent)
    adjust_credit(account=account, amount=D("15.00"), reason="Goodwill", by=clerk())

    assert rows_by_account(today())[account.pk].credit == D("15.00")
    assert rows_by_account(days_ago(1)) == {}


def test_an_account_owing_and_holding_credit_shows_both(agent):
    invoice = invoice_past_due(agent, 5, amount="50.00")
    adjust_credit(account=invoice.account, amount=D("20.00"), reason="Goodwill", by=clerk())

    row = rows_by_account(today())[invoice.account_id]

    assert (row.d1_30, row.total, row.credit) == (D("50.00"), D("50.00"), D("20.00"))


# --- totals, search, the agent page's figure ----------------------------------------------


def test_totals_cover_every_matching_account(agent):
    other = BillingAgentFactory(company_name="Harbor Insurance", net_terms_days=30)
    direct = CustomerFactory(first_name="Dana", last_name="Direct", net_terms_days=15)
    invoice_past_due(agent, 10, amount="10.00")
    invoice_past_due(other, 100, amount="20.00")
    invoice_past_due(direct, -3, amount="30.00")
    adjust_credit(account=account_for(other), amount=D("5.00"), reason="Goodwill", by=clerk())
    credit_only = BillingAgentFactory(company_name="Pioneer Credit")
    adjust_credit(account=account_for(credit_only), amount=D("7.00"), reason="Goodwill", by=clerk())

    totals = aging_totals(today())

    assert totals == {
        "accounts": 4,
        "current": D("30.00"),
        "d1_30": D("10.00"),
        "d31_60": ZERO,
        "d61_90": ZERO,
        "over_90": D("20.00"),
        "total": D("60.00"),
        "credit": D("12.00"),
    }
    assert aging_rows(today()).count() == 4
    narrowed = aging_totals(today(), "harbor")
    assert (narrowed["accounts"], narrowed["total"], narrowed["credit"]) == (
        1,
        D("20.00"),
        D("5.00"),
    )
    assert [r.account.name for r in with_accounts(aging_rows(today(), "DIRECT"))] == ["Dana Direct"]


def test_search_needs_every_word_in_the_payer_name_or_email(agent):
    invoice_past_due(agent, 1)
    invoice_past_due(BillingAgentFactory(company_name="Lakeside Realty"), 1)

    names = [r.account.name for r in with_accounts(aging_rows(today(), "lakeside schools"))]

    assert names == ["Lakeside Schools"]
    assert [r.account.name for r in with_accounts(aging_rows(today(), agent.email))] == [
        "Lakeside Schools"
    ]


def test_overdue_balance_is_the_past_due_buckets_sum(agent):
    # Due today is current, not overdue.
    invoices_past_due(agent, {0: "1.00", 1: "2.00", 95: "4.00"})
    account = Account.objects.annotate(overdue=overdue_balance(today(), OuterRef("pk"))).get(
        billing_agent=agent
    )
    [row] = with_accounts(aging_rows(today()))

    assert account.overdue == D("6.00")
    assert account.overdue == sum(amount for b, amount in row.buckets if b.is_past_due)
    assert [b.key for b in BUCKETS if b.is_past_due] == ["d1_30", "d31_60", "d61_90", "over_90"]


# --- any history ---------------------------------------------------------------------------

PRICES = st.sampled_from(["10.00", "25.50", "100.00", "637.12"])
PAY = st.tuples(
    st.just("pay"),
    st.integers(0, 3),
    st.sampled_from(["5.00", "25.50", "60.00", "700.00"]),
    st.integers(0, 120),
)
OPERATIONS = st.lists(
    st.one_of(
        PAY,
        PAY,  # payments twice as often: most of what happens to an invoice
        st.tuples(st.just("void"), st.integers(0, 5)),
        st.tuples(st.just("void"), st.integers(0, 5)),
        st.tuples(st.just("write_off"), st.integers(0, 3)),
        st.tuples(st.just("void_write_off"), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.integers(0, 3)),
        st.tuples(st.just("credit"), st.sampled_from(["3.00", "40.00"])),
    ),
    min_size=2,
    max_size=10,
)
INVOICES = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 150), PRICES), min_size=1, max_size=4
)
EXAMPLES = {"count": 0}


def _bucket_of(days_past_due: int) -> str:
    """The bucket by days past due, written out apart from invoicing.aging's filters."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "d1_30"
    if days_past_due <= 60:
        return "d31_60"
    if days_past_due <= 90:
        return "d61_90"
    return "over_90"


def _owed_then(invoice: Invoice, day) -> Decimal:
    """What the records say the invoice still owed at the end of `day`: payments from their
    received date until the day they were voided, write-offs from the day they were made
    until their void."""
    local = timezone.localdate

    def counts(start, voided_at) -> bool:
        return start <= day and (voided_at is None or local(voided_at) > day)

    paid = sum(
        (
            a.amount
            for a in RemittanceAllocation.objects.filter(
                invoice_line__invoice=invoice
            ).select_related("remittance")
            if counts(a.remittance.received_on, a.remittance.voided_at)
        ),
        ZERO,
    )
    written = sum(
        (w.amount for w in invoice.write_offs.all() if counts(local(w.created_at), w.voided_at)),
        ZERO,
    )
    return invoice.total - paid - written


def _apply(operation, invoices, remittances, accounts, by) -> None:
    """Run one operation as a clerk would; a refused one (DomainError) changes nothing."""
    kind, *args = operation
    with contextlib.suppress(DomainError):
        if kind == "pay":
            index, amount, ago = args
            invoice = invoices[index % len(invoices)]
            received = max(invoice.issue_date, days_ago(ago))
            remittances.append(pay(invoice, amount, received_on=received, by=by))
        elif kind == "void":
            if not remittances:
                return
            void(remittances[args[0] % len(remittances)], by=by)
        elif kind == "write_off":
            write_off(invoices[args[0] % len(invoices)], by=by)
        elif kind == "void_write_off":
            live = invoices[args[0] % len(invoices)].write_offs.filter(voided_at__isnull=True)
            if not live.exists():
                return
            services.void_write_off(write_off=live.get(), reason="Found", by=by)
        elif kind == "delete":
            services.delete_invoice(invoice=invoices[args[0] % len(invoices)], by=by)
        else:
            adjust_credit(account=accounts[0], amount=D(args[0]), reason="Goodwill", by=by)
        event(kind)  # --hypothesis-show-statistics: how often each one went through


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(specs=INVOICES, operations=OPERATIONS, past=st.integers(1, 200))
def test_any_history_ages_to_the_sum_of_what_each_invoice_owed(db, specs, operations, past):
    EXAMPLES["count"] += 1
    with transaction.atomic():
        by = clerk()
        payers = [BillingAgentFactory(net_terms_days=30), BillingAgentFactory(net_terms_days=15)]
        tickets = [tickets_for(payers[p], [price])[0] for p, _, price in specs]
        invoices = [
            invoice_ticket(ticket, issued=days_ago(ago), by=by)
            for ticket, (_, ago, _) in zip(tickets, specs, strict=True)
        ]
        accounts = [account_for(payer) for payer in payers]
        remittances = []
        for operation in operations:
            _apply(operation, invoices, remittances, accounts, by)

        # Today the day's balance is the stored one.
        for invoice in Invoice.objects.live():
            assert Invoice.objects.as_of(today()).get(pk=invoice.pk).balance_as_of == (
                invoice.balance
            )
        for day in (today(), days_ago(1), days_ago(past)):
            owing = list(Invoice.objects.owing_as_of(day))
            for invoice in owing:
                assert invoice.balance_as_of == _owed_then(invoice, day) > 0
            assert {i.pk for i in owing} == {
                i.pk
                for i in Invoice.objects.live().filter(issue_date__lte=day)
                if _owed_then(i, day) > 0
            }
            expected = {key: ZERO for key in (b.key for b in BUCKETS)}
            for invoice in owing:
                expected[_bucket_of((day - invoice.due_date).days)] += invoice.balance_as_of
            totals = aging_totals(day)
            rows = with_accounts(aging_rows(day))
            assert totals["total"] == sum((i.balance_as_of for i in owing), ZERO)
            assert {key: totals[key] for key in expected} == expected
            assert totals["accounts"] == len(rows)
            for row in rows:
                assert row.total == sum(figures(row).values())
                mine = [i for i in owing if i.account_id == row.account.pk]
                assert row.total == sum((i.balance_as_of for i in mine), ZERO)
                assert row.oldest_due == min((i.due_date for i in mine), default=None)
                ledger = CreditTransaction.objects.filter(
                    account=row.account, effective_on__lte=day
                )
                assert row.credit == sum((c.amount for c in ledger), ZERO)
            assert totals["credit"] == sum((row.credit for row in rows), ZERO)
        transaction.set_rollback(True)


def test_the_history_property_ran_examples():
    # Reported in the closing note: how many histories the property above tried.
    print(f"\nhypothesis: {EXAMPLES['count']} aging histories")
