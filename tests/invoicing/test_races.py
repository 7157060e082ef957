"""Concurrency on a real PostgreSQL server: separate connections, real row locks.

The first two tests start both calls at the same moment and let the scheduler pick the
order. The others each guard one row lock and force the interleaving that lock exists
for, with `_HoldAfter`: the first call stops right after one chosen query, the second
call runs until it finishes or waits on a row lock, then the first goes on. With the lock
the second call queues behind the first and sees its result; without it the second call
works on what it read before the first committed, and the test's invariant breaks on the
first round. No fixed sleeps and no timing assertions: the window is a wait on pg_locks.
"""

import contextlib
import threading
import time
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from invoicing import ledger, services
from invoicing.accounts import account_for
from invoicing.models import (
    CreditKind,
    CreditTransaction,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Remittance,
    RemittanceAllocation,
)
from tests.concurrency import run_together
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)
from tickets import services as ticket_services
from tickets.models import PaymentKind, PaymentMethod, Ticket, TicketLocked, TicketPayment
from tickets.transitions import Status

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 50


def test_two_clerks_invoicing_the_same_tickets_one_wins_every_time():
    clerks = [UserFactory(username="clerk-a"), UserFactory(username="clerk-b")]
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    location = LocationFactory()
    for round_ in range(ROUNDS):
        tickets = [waiting_ticket(agent, customer=customer, location=location) for _ in range(3)]
        ids = [t.pk for t in tickets]
        # The second clerk ticks the same tickets in another order.
        outcomes = run_together(
            lambda ids=ids: services.create_invoices(
                account=account_for(agent), ticket_ids=ids, batch=True, by=clerks[0]
            ),
            lambda ids=ids: services.create_invoices(
                account=account_for(agent),
                ticket_ids=list(reversed(ids)),
                batch=False,
                by=clerks[1],
            ),
        )
        kinds = sorted(kind for kind, _ in outcomes)
        assert kinds == ["error", "ok"], (round_, outcomes)
        error = next(value for kind, value in outcomes if kind == "error")
        assert isinstance(error, services.TicketsAlreadyInvoiced), error
        assert set(error.numbers) == {t.number for t in tickets}
        for ticket in tickets:
            assert InvoiceLine.objects.filter(ticket=ticket, is_live=True).count() == 1
    assert connection.vendor == "postgresql"


def test_double_submitted_remittance_at_the_same_moment_records_one_payment():
    clerk = UserFactory(username="clerk-r")
    agent = BillingAgentFactory()
    tickets = [waiting_ticket(agent) for _ in range(2)]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=clerk
    )
    for _ in range(10):
        key = uuid.uuid4()

        def submit(key=key):
            return services.record_remittance(
                invoice=invoice,
                amount=Decimal("1.00"),
                method="cheque",
                idempotency_key=key,
                by=clerk,
            ).pk

        outcomes = run_together(submit, submit)
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
        assert outcomes[0][1] == outcomes[1][1]
        assert Remittance.objects.filter(idempotency_key=key).count() == 1
    assert TicketPayment.objects.filter(kind=PaymentKind.REMITTANCE).count() == 10
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("10.00")


# --- forced interleavings: one test per row lock ------------------------------------------

LOCK_ROUNDS = 10
WINDOW_TIMEOUT = 10  # seconds; only reached if a call hangs, never in a passing run


class _HoldAfter:
    """A query hook for the first call's connection: right after the first query that
    `matches`, hold that call (still inside its transaction, locks kept) until the second
    call has finished or is waiting on a lock another transaction holds."""

    def __init__(self, matches):
        self.matches = matches
        self.reached = threading.Event()
        self.second_done = threading.Event()
        self.used = False

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.used and self.matches(sql):
            self.used = True
            self.reached.set()
            self._wait_for_second(context["connection"])
        return result

    def _wait_for_second(self, conn):
        deadline = time.monotonic() + WINDOW_TIMEOUT
        while not self.second_done.is_set() and time.monotonic() < deadline:
            with conn.cursor() as cursor:
                # pg_locks is read live (not snapshotted per transaction).
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks"
                    " WHERE NOT granted AND pid <> pg_backend_pid())"
                )
                if cursor.fetchone()[0]:
                    return
            time.sleep(0.001)


def _second_inside_first(first, second, *, after):
    """Run `first`, and `second` inside `first`'s window right after the query `after`
    matches. Returns both outcomes as ("ok", value) / ("error", exception)."""
    hold = _HoldAfter(after)

    def run_first():
        try:
            with connection.execute_wrapper(hold):
                return first()
        finally:
            hold.reached.set()  # never leave the second call waiting

    def run_second():
        try:
            assert hold.reached.wait(WINDOW_TIMEOUT), "the first call never reached its window"
            return second()
        finally:
            hold.second_done.set()

    return run_together(run_first, run_second)


def _selects_tickets(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "tickets_ticket"' in sql


def _locks_tickets(sql: str) -> bool:
    # A payment locks the tickets in the same read as the invoice lines that name them.
    return (_selects_tickets(sql) and "FOR UPDATE" in sql) or (
        sql.startswith("SELECT") and 'FOR UPDATE OF "tickets_ticket"' in sql
    )


def _reads_credit_balance(sql: str) -> bool:
    return 'FROM "invoicing_credittransaction"' in sql and "SUM(" in sql


def _untaxed_location():
    return LocationFactory(name="Race store", tax_rate_percent=Decimal("0"))


def _ticket_of(agent, price: str, location) -> Ticket:
    return waiting_ticket(agent, location=location, items=[("Repair", 1, price, True)])


def _assert_books_agree(invoice: Invoice) -> None:
    """Every cent allocated shows once on its line, its ticket and the invoice, and
    every cent received is either allocated or overpayment credit."""
    invoice.refresh_from_db()
    allocated = RemittanceAllocation.objects.filter(remittance__invoice=invoice)
    total_allocated = allocated.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    assert invoice.amount_paid == total_allocated, (invoice.number, "invoice vs allocations")
    assert invoice.amount_paid <= invoice.total
    for line in invoice.lines.select_related("ticket"):
        line_allocated = allocated.filter(invoice_line=line).aggregate(s=Sum("amount"))["s"]
        assert line.amount_paid == (line_allocated or Decimal("0")), (line.pk, "line vs allocs")
        assert line.amount - line.amount_paid == line.ticket.balance_due, (
            line.pk,
            "line vs ticket",
        )
    received = Remittance.objects.filter(invoice=invoice).aggregate(s=Sum("amount"))["s"]
    credit = CreditTransaction.objects.filter(
        remittance__invoice=invoice, kind=CreditKind.OVERPAYMENT
    ).aggregate(s=Sum("amount"))["s"]
    assert (received or 0) == total_allocated + (credit or 0), (invoice.number, "received")


# (a) create_invoices locks the ticket rows.
def test_a_deposit_taken_while_invoicing_is_never_billed_again():
    clerk = UserFactory(username="clerk-inv")
    counter = UserFactory(username="clerk-counter")
    agent = BillingAgentFactory()
    location = _untaxed_location()
    for round_ in range(LOCK_ROUNDS):
        ticket = _ticket_of(agent, "100.00", location)
        outcomes = _second_inside_first(
            lambda ticket=ticket: services.create_invoices(
                account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=clerk
            ),
            lambda ticket=ticket: ticket_services.add_deposit(
                ticket=Ticket.objects.get(pk=ticket.pk),
                amount=Decimal("40.00"),
                method=PaymentMethod.CASH,
                by=counter,
            ),
            after=_selects_tickets,
        )
        ticket.refresh_from_db()
        line = InvoiceLine.objects.get(ticket=ticket, is_live=True)
        # The invoice bills what the ticket still owes: a deposit is never billed twice.
        assert line.amount == ticket.balance_due, (round_, line.amount, ticket.balance_due)
        assert line.invoice.total == line.amount
        assert ticket.status == Status.INVOICED
        assert outcomes[0][0] == "ok", (round_, outcomes)
        # Invoiced first, so the counter is told the ticket is on an invoice.
        assert outcomes[1][0] == "error" and isinstance(outcomes[1][1], TicketLocked), outcomes


# (b) record_remittance locks the invoice row.
@pytest.mark.parametrize(
    ("first", "second"),
    [("30.00", "30.00"), ("70.00", "70.00")],
    ids=["within-balance", "beyond-balance"],
)
def test_two_remittances_on_one_invoice_are_each_counted_once(first, second):
    clerks = [UserFactory(username="clerk-r1"), UserFactory(username="clerk-r2")]
    agent = BillingAgentFactory()
    location = _untaxed_location()
    for round_ in range(LOCK_ROUNDS):
        tickets = [_ticket_of(agent, "60.00", location), _ticket_of(agent, "40.00", location)]
        [invoice] = services.create_invoices(
            account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=clerks[0]
        )

        def pay(amount, clerk, invoice=invoice):
            return services.record_remittance(
                invoice=invoice, amount=Decimal(amount), method="cheque", by=clerk
            )

        outcomes = _second_inside_first(
            lambda: pay(first, clerks[0]), lambda: pay(second, clerks[1]), after=_locks_tickets
        )
        # Both payments are taken; what the invoice no longer owes becomes credit.
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], (round_, outcomes)
        _assert_books_agree(invoice)
        received = Decimal(first) + Decimal(second)
        assert invoice.amount_paid == min(received, invoice.total), round_
        credit = CreditTransaction.objects.filter(remittance__invoice=invoice).aggregate(
            s=Sum("amount")
        )["s"]
        assert (credit or 0) == max(Decimal("0"), received - invoice.total), round_


# (c) delete_invoice locks the invoice row.
def test_deleting_an_invoice_while_it_is_paid_refuses_the_payment_cleanly():
    clerks = [UserFactory(username="clerk-d"), UserFactory(username="clerk-p")]
    agent = BillingAgentFactory()
    location = _untaxed_location()
    for round_ in range(LOCK_ROUNDS):
        tickets = [_ticket_of(agent, "60.00", location), _ticket_of(agent, "40.00", location)]
        [invoice] = services.create_invoices(
            account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=clerks[0]
        )
        outcomes = _second_inside_first(
            lambda invoice=invoice: services.delete_invoice(invoice=invoice, by=clerks[0]),
            lambda invoice=invoice: services.record_remittance(
                invoice=invoice, amount=Decimal("30.00"), method="cheque", by=clerks[1]
            ),
            after=_locks_tickets,
        )
        # Deleted first: the payment is refused as a payment on a deleted invoice, never a
        # database error (deadlock) and never recorded.
        assert outcomes[0][0] == "ok", (round_, outcomes)
        assert outcomes[1][0] == "error", (round_, outcomes)
        assert isinstance(outcomes[1][1], services.InvoiceNotPayable), (round_, outcomes[1][1])
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.DELETED
        assert not invoice.lines.filter(is_live=True).exists()
        assert not Remittance.objects.filter(invoice=invoice).exists()
        for ticket in tickets:
            ticket.refresh_from_db()
            assert ticket.status == Status.WAITING_FOR_PAYMENT
            assert ticket.balance_due == ticket.total


def _selects_invoice(sql: str) -> bool:
    return sql.startswith("SELECT") and 'FROM "invoicing_invoice"' in sql


def test_a_second_delete_never_frees_tickets_already_on_a_new_invoice():
    clerks = [UserFactory(username="clerk-d1"), UserFactory(username="clerk-d2")]
    agent = BillingAgentFactory()
    location = _untaxed_location()
    for round_ in range(LOCK_ROUNDS):
        tickets = [_ticket_of(agent, "60.00", location), _ticket_of(agent, "40.00", location)]
        ids = [t.pk for t in tickets]
        [invoice] = services.create_invoices(
            account=account_for(agent), ticket_ids=ids, batch=True, by=clerks[0]
        )

        def delete_then_invoice_again(invoice=invoice, ids=ids):
            with contextlib.suppress(services.InvoiceNotDeletable):  # deleted first by the other
                services.delete_invoice(invoice=invoice, by=clerks[1])
            return services.create_invoices(
                account=account_for(agent), ticket_ids=ids, batch=True, by=clerks[1]
            )

        outcomes = _second_inside_first(
            lambda invoice=invoice: services.delete_invoice(invoice=invoice, by=clerks[0]),
            delete_then_invoice_again,
            after=_selects_invoice,
        )
        assert [kind for kind, _ in outcomes] == ["ok", "ok"], (round_, outcomes)
        [[new_invoice]] = [outcomes[1][1]]
        # A ticket billed on a live invoice is Invoiced: never back to Waiting for Payment,
        # where it could be closed at the counter or billed again.
        for ticket in tickets:
            ticket.refresh_from_db()
            line = InvoiceLine.objects.get(ticket=ticket, is_live=True)
            assert line.invoice_id == new_invoice.pk
            assert ticket.status == Status.INVOICED, (round_, ticket.number, ticket.status)


# (d) post_credit locks the account row.
def test_two_account_credit_payments_never_spend_the_same_credit_twice():
    clerks = [UserFactory(username="clerk-c1"), UserFactory(username="clerk-c2")]
    manager = UserFactory(username="manager-c")
    agent = BillingAgentFactory()
    location = _untaxed_location()
    for round_ in range(LOCK_ROUNDS):
        ledger.adjust_credit(
            account=account_for(agent), amount=Decimal("50.00"), reason="Goodwill", by=manager
        )
        invoices = [
            services.create_invoices(
                account=account_for(agent),
                ticket_ids=[_ticket_of(agent, "100.00", location).pk],
                batch=True,
                by=clerks[0],
            )[0]
            for _ in range(2)
        ]

        def pay_from_credit(index, clerk, invoices=invoices):
            invoice = invoices[index]
            return services.record_remittance(
                invoice=invoice,
                amount=Decimal("30.00"),
                method=PaymentMethod.ACCOUNT_CREDIT,
                by=clerk,
            )

        outcomes = _second_inside_first(
            lambda: pay_from_credit(0, clerks[0]),
            lambda: pay_from_credit(1, clerks[1]),
            after=_reads_credit_balance,
        )
        # The ledger is one chain: each row's balance_after is the previous plus its
        # amount, and the last one is the sum of the ledger.
        rows = list(
            CreditTransaction.objects.filter(account__billing_agent=agent).order_by(
                "created_at", "id"
            )
        )
        running = Decimal("0")
        for row in rows:
            running += row.amount
            assert row.balance_after == running, (round_, row.pk, row.balance_after, running)
        assert ledger.credit_balance(account=account_for(agent)) == rows[-1].balance_after >= 0
        # 50 of credit pays one 30 once; the other is refused, not paid from thin air.
        assert outcomes[0][0] == "ok", (round_, outcomes)
        assert isinstance(outcomes[1][1], ledger.InsufficientCredit), (round_, outcomes)
        drawn = TicketPayment.objects.filter(method=PaymentMethod.ACCOUNT_CREDIT).aggregate(
            s=Sum("amount")
        )["s"]
        applied = CreditTransaction.objects.filter(
            account__billing_agent=agent, kind=CreditKind.CREDIT_APPLIED
        ).aggregate(s=Sum("amount"))["s"]
        assert drawn == -applied == Decimal("30.00") * (round_ + 1)
        for invoice in invoices:
            _assert_books_agree(invoice)
        # Spend the rest so every round starts from 50.
        ledger.adjust_credit(
            account=account_for(agent), amount=Decimal("-20.00"), reason="Reset", by=manager
        )


# (e) refund_credit (post_credit) locks the account row.
def test_two_credit_refunds_at_the_same_moment_never_take_the_credit_below_zero():
    managers = [UserFactory(username="manager-r1"), UserFactory(username="manager-r2")]
    agent = BillingAgentFactory()
    account = account_for(agent)
    for round_ in range(LOCK_ROUNDS):
        ledger.adjust_credit(
            account=account, amount=Decimal("100.00"), reason="Overpaid", by=managers[0]
        )

        def refund(manager):
            return ledger.refund_credit(
                account=account,
                amount=Decimal("60.00"),
                method=PaymentMethod.CHEQUE,
                reason="Paid back",
                by=manager,
            )

        outcomes = _second_inside_first(
            lambda: refund(managers[0]), lambda: refund(managers[1]), after=_reads_credit_balance
        )
        balance = ledger.credit_balance(account=account)
        assert balance >= 0, (round_, balance, outcomes)
        rows = list(CreditTransaction.objects.filter(account=account).order_by("created_at", "id"))
        running = Decimal("0")
        for row in rows:
            running += row.amount
            assert row.balance_after == running, (round_, row.pk, row.balance_after, running)
        # 100 of credit pays one 60 back; the other is refused, not paid from thin air.
        assert outcomes[0][0] == "ok", (round_, outcomes)
        assert isinstance(outcomes[1][1], ledger.InsufficientCredit), (round_, outcomes)
        assert balance == Decimal("40.00"), round_
        # Spend the rest so every round starts from 100 again.
        ledger.adjust_credit(account=account, amount=-balance, reason="Reset", by=managers[0])


# (i) record_account_payment locks the account's open invoices (then their tickets), the
# same order as a per-invoice remittance, so the two queue on the shared invoice.
def _assert_account_books_agree(account) -> None:
    """Every cent received on the account is allocated once or left as credit, and every
    line's paid figure is what its allocations say."""
    received = Remittance.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
    allocations = RemittanceAllocation.objects.filter(remittance__account=account)
    allocated = allocations.aggregate(s=Sum("amount"))["s"] or 0
    paid = Invoice.objects.filter(account=account).aggregate(s=Sum("amount_paid"))["s"] or 0
    assert paid == allocated, ("invoices vs allocations", paid, allocated)
    assert received == allocated + ledger.credit_balance(account=account), "received"
    for line in InvoiceLine.objects.filter(invoice__account=account).select_related("ticket"):
        line_allocated = allocations.filter(invoice_line=line).aggregate(s=Sum("amount"))["s"]
        assert line.amount_paid == (line_allocated or 0), (line.pk, "line vs allocations")
        assert line.amount - line.amount_paid == line.ticket.balance_due, (line.pk, "ticket")


def _two_invoices(agent, location, clerk):
    first = _ticket_of(agent, "60.00", location)
    second = _ticket_of(agent, "40.00", location)
    account = account_for(agent)
    older = services.create_invoices(account=account, ticket_ids=[first.pk], batch=True, by=clerk)[
        0
    ]
    newer = services.create_invoices(account=account, ticket_ids=[second.pk], batch=True, by=clerk)[
        0
    ]
    return account, older, newer


@pytest.mark.parametrize(
    "account_payment_first", [True, False], ids=["account-first", "invoice-first"]
)
def test_an_account_payment_and_a_remittance_on_one_of_its_invoices_never_pay_twice(
    account_payment_first,
):
    clerks = [UserFactory(username="clerk-acc"), UserFactory(username="clerk-inv")]
    location = _untaxed_location()
    for round_ in range(LOCK_ROUNDS):
        agent = BillingAgentFactory()
        account, older, newer = _two_invoices(agent, location, clerks[0])

        def on_account(account=account):
            return services.record_account_payment(
                account=account, amount=Decimal("100.00"), method="cheque", by=clerks[0]
            )

        def on_invoice(newer=newer):
            return services.record_remittance(
                invoice=newer, amount=Decimal("40.00"), method="cheque", by=clerks[1]
            )

        calls = (on_account, on_invoice) if account_payment_first else (on_invoice, on_account)
        outcomes = _second_inside_first(*calls, after=_locks_tickets)
        _assert_account_books_agree(account)
        newer.refresh_from_db()
        older.refresh_from_db()
        assert newer.amount_paid == newer.total == Decimal("40.00"), round_
        if account_payment_first:
            # The remittance waited for the invoice and found it paid.
            assert outcomes[0][0] == "ok", (round_, outcomes)
            assert isinstance(outcomes[1][1], services.InvoiceNotPayable), (round_, outcomes)
        else:
            # The account payment waited, saw the newer invoice paid: its 40 is credit.
            assert [kind for kind, _ in outcomes] == ["ok", "ok"], (round_, outcomes)
            assert older.status == InvoiceStatus.PAID, round_
            assert ledger.credit_balance(account=account) == Decimal("40.00"), round_
