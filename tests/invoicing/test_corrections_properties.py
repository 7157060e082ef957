"""Property test of the corrections (issue 10): any sequence of payments, voids, payments
from account credit, credit refunds, write-offs and voided write-offs keeps the books:

- every live payment is fully accounted for: its live allocations plus the credit it
  posted equal its amount (a voided one has every share and credit row reversed);
- no ticket owes less than zero, and its stored totals equal a fresh computation;
- the credit ledger never goes below zero and its balance is the sum of its rows;
- an invoice's (and each line's) amount paid is the sum of its live allocations, and its
  status (and its tickets' status) follows from paid, written off and total.
"""

import contextlib
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule

from core.errors import DomainError
from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import credit_balance, refund_credit
from invoicing.models import (
    CreditKind,
    CreditTransaction,
    Invoice,
    InvoiceStatus,
    InvoiceWriteOff,
    Remittance,
    RemittanceAllocation,
)
from tests.factories import BillingAgentFactory, LocationFactory, UserFactory, waiting_ticket
from tickets.models import PaymentKind, PaymentMethod, Ticket, TicketPayment, fresh_totals
from tickets.totals import stored_figures
from tickets.transitions import Status

D = Decimal
ZERO = D("0")
PRICES = st.sampled_from(["10.00", "25.50", "100.00", "637.12"])
AMOUNTS = st.one_of(
    st.decimals(min_value=D("0.01"), max_value=D("200"), places=2),
    st.sampled_from([D("10.00"), D("25.50"), D("637.12"), D("400637.12")]),
)
CASH_METHODS = st.sampled_from([PaymentMethod.CHEQUE, PaymentMethod.ACH, PaymentMethod.CASH])
EXAMPLES = {"count": 0}


def _sum(queryset, field="amount") -> Decimal:
    return queryset.aggregate(s=Sum(field))["s"] or ZERO


class Corrections(RuleBasedStateMachine):
    invoices = Bundle("invoices")
    remittances = Bundle("remittances")
    write_offs = Bundle("write_offs")

    def __init__(self):
        super().__init__()
        EXAMPLES["count"] += 1
        # Each example runs in a savepoint of the test's transaction, rolled back after.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.manager = UserFactory(username="prop-manager")
        self.agent = BillingAgentFactory()
        self.location = LocationFactory(name="Prop store", tax_rate_percent=D("0"))
        self.account = account_for(self.agent)

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- operations --------------------------------------------------------------------

    @rule(target=invoices, prices=st.lists(PRICES, min_size=1, max_size=2))
    def create_invoice(self, prices):
        tickets = [
            waiting_ticket(self.agent, location=self.location, items=[("Repair", 1, p, True)])
            for p in prices
        ]
        [invoice] = services.create_invoices(
            account=self.account, ticket_ids=[t.pk for t in tickets], batch=True, by=self.manager
        )
        return invoice

    @rule(target=remittances, invoice=invoices, amount=AMOUNTS, method=CASH_METHODS)
    def pay(self, invoice, amount, method):
        try:
            return services.record_remittance(
                invoice=invoice, amount=amount, method=method, by=self.manager
            )
        except DomainError:
            return multiple()

    @rule(target=remittances, invoice=invoices, amount=AMOUNTS)
    def pay_from_credit(self, invoice, amount):
        try:
            return services.record_remittance(
                invoice=invoice,
                amount=amount,
                method=PaymentMethod.ACCOUNT_CREDIT,
                by=self.manager,
            )
        except DomainError:
            return multiple()

    @rule(remittance=remittances)
    def void(self, remittance):
        with contextlib.suppress(DomainError):
            services.void_remittance(remittance=remittance, reason="Wrong", by=self.manager)

    @rule(amount=AMOUNTS, method=CASH_METHODS)
    def refund(self, amount, method):
        with contextlib.suppress(DomainError):
            refund_credit(
                account=self.account,
                amount=amount,
                method=method,
                reason="Paid back",
                by=self.manager,
            )

    @rule(target=write_offs, invoice=invoices)
    def write_off(self, invoice):
        try:
            return services.write_off_invoice(invoice=invoice, reason="Lost", by=self.manager)
        except DomainError:
            return multiple()

    @rule(write_off=write_offs)
    def void_write_off(self, write_off):
        services.void_write_off(write_off=write_off, reason="Found", by=self.manager)

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def every_payment_is_accounted_for(self):
        for remittance in Remittance.objects.filter(account=self.account):
            allocated = _sum(remittance.allocations.all())
            rows = CreditTransaction.objects.filter(remittance=remittance).exclude(
                kind=CreditKind.REVERSAL
            )
            posted = _sum(rows)
            if remittance.is_voided:
                assert not rows.filter(reversed_by__isnull=True).exists()
                payments = TicketPayment.objects.filter(allocation__remittance=remittance)
                assert not payments.filter(reversed_by__isnull=True).exists()
            elif remittance.method == PaymentMethod.ACCOUNT_CREDIT:
                assert allocated == remittance.amount == -posted
            else:
                assert allocated + posted == remittance.amount

    @invariant()
    def credit_never_below_zero_and_is_the_sum_of_the_ledger(self):
        running = ZERO
        for row in CreditTransaction.objects.filter(account=self.account).order_by(
            "created_at", "id"
        ):
            running += row.amount
            assert row.balance_after == running >= 0
        assert credit_balance(account=self.account) == running >= 0

    @invariant()
    def invoices_follow_their_live_allocations(self):
        live = RemittanceAllocation.objects.filter(remittance__voided_at__isnull=True)
        for invoice in Invoice.objects.filter(account=self.account):
            assert invoice.amount_paid == _sum(live.filter(invoice_line__invoice=invoice))
            for line in invoice.lines.all():
                assert line.amount_paid == _sum(live.filter(invoice_line=line))
            written_off = _sum(invoice.write_offs.filter(voided_at__isnull=True))
            assert invoice.written_off == written_off
            assert invoice.amount_paid + invoice.written_off <= invoice.total
            statuses = set(invoice.lines.values_list("ticket__status", flat=True))
            if written_off:
                assert invoice.status == InvoiceStatus.WRITTEN_OFF
                assert statuses == {Status.CLOSED}
            elif invoice.amount_paid == invoice.total:
                assert invoice.status == InvoiceStatus.PAID
                assert statuses == {Status.CLOSED}
            else:
                assert invoice.status == InvoiceStatus.OPEN
                assert statuses == {Status.INVOICED}

    @invariant()
    def tickets_owe_nothing_below_zero_and_stored_totals_are_fresh(self):
        tickets = list(Ticket.objects.filter(billing_agent=self.agent).order_by("pk"))
        for ticket, totals in zip(tickets, fresh_totals(tickets), strict=True):
            assert ticket.balance_due >= 0
            assert ticket.amount_paid == _sum(TicketPayment.objects.filter(ticket=ticket))
            for name, value in stored_figures(totals).items():
                assert getattr(ticket, name) == value, (ticket.number, name)
        reversals = TicketPayment.objects.filter(
            ticket__billing_agent=self.agent, kind=PaymentKind.REVERSAL
        )
        for reversal in reversals.select_related("reverses"):
            assert reversal.amount == -reversal.reverses.amount
        assert InvoiceWriteOff.objects.filter(voided_at__isnull=True).count() == (
            Invoice.objects.filter(status=InvoiceStatus.WRITTEN_OFF).count()
        )


Corrections.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.django_db
def test_corrections_keep_the_books_whatever_the_order():
    EXAMPLES["count"] = 0
    Corrections.TestCase("runTest").runTest()
    print(f"\nhypothesis: {EXAMPLES['count']} examples")
    assert EXAMPLES["count"] > 0
