"""Builders for back-dated receivables histories, through the real services.

The services date voids, write-offs, credit adjustments and refunds "now" (neither
time-machine nor freezegun is installed), so `at(day)` moves what a step just wrote to
noon of that local day, the way it would have been written then.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, refund_credit
from invoicing.models import Account, CreditTransaction, Invoice, InvoiceWriteOff, Remittance
from tests.factories import BillingAgentFactory, LocationFactory, UserFactory, waiting_ticket
from tickets.models import PaymentMethod, Ticket

D = Decimal


def noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


class History:
    """One payer's receivables, written through invoicing.services, dated as asked."""

    def __init__(self, payer, *, by) -> None:
        self.payer = payer
        self.by = by
        self.account: Account = account_for(payer)
        self.location = LocationFactory(name="Statement store", tax_rate_percent=D("0"))

    def invoice(self, day: date, *prices: str) -> Invoice:
        """One batch invoice issued on `day` for new tickets of these prices."""
        tickets = [
            waiting_ticket(self.payer, location=self.location, items=[("Repair", 1, p, True)])
            for p in prices or ("100.00",)
        ]
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(created_at=noon(day))
        [invoice] = services.create_invoices(
            account=self.account,
            ticket_ids=[t.pk for t in tickets],
            batch=True,
            issue_date=day,
            by=self.by,
        )
        Invoice.objects.filter(pk=invoice.pk).update(created_at=noon(day))
        return invoice

    def pay(self, invoice: Invoice, amount: str, day: date, **kwargs) -> Remittance:
        remittance = services.record_remittance(
            invoice=invoice,
            amount=D(amount),
            method=kwargs.pop("method", PaymentMethod.CHEQUE),
            received_on=day,
            by=self.by,
            **kwargs,
        )
        return remittance

    def pay_account(self, amount: str, day: date, **kwargs) -> Remittance:
        return services.record_account_payment(
            account=self.account,
            amount=D(amount),
            method=kwargs.pop("method", PaymentMethod.ACH),
            received_on=day,
            by=self.by,
            **kwargs,
        )

    def pay_from_credit(self, invoice: Invoice, amount: str, day: date) -> Remittance:
        """A payment from account credit made on `day` (the service dates it today)."""
        remittance = services.record_remittance(
            invoice=invoice, amount=D(amount), method=PaymentMethod.ACCOUNT_CREDIT, by=self.by
        )
        Remittance.objects.filter(pk=remittance.pk).update(received_on=day)
        self._ledger_at(CreditTransaction.objects.filter(remittance=remittance), day)
        remittance.refresh_from_db()
        return remittance

    def void(self, remittance: Remittance, day: date) -> Remittance:
        before = set(CreditTransaction.objects.values_list("pk", flat=True))
        services.void_remittance(remittance=remittance, reason="Entered in error", by=self.by)
        Remittance.objects.filter(pk=remittance.pk).update(voided_at=noon(day))
        self._ledger_at(CreditTransaction.objects.exclude(pk__in=before), day)
        remittance.refresh_from_db()
        return remittance

    def write_off(self, invoice: Invoice, day: date) -> InvoiceWriteOff:
        write_off = services.write_off_invoice(invoice=invoice, reason="Uncollectable", by=self.by)
        InvoiceWriteOff.objects.filter(pk=write_off.pk).update(created_at=noon(day))
        write_off.refresh_from_db()
        return write_off

    def void_write_off(self, write_off: InvoiceWriteOff, day: date) -> InvoiceWriteOff:
        services.void_write_off(write_off=write_off, reason="Paid after all", by=self.by)
        InvoiceWriteOff.objects.filter(pk=write_off.pk).update(voided_at=noon(day))
        write_off.refresh_from_db()
        return write_off

    def adjust(self, amount: str, day: date) -> CreditTransaction:
        row = adjust_credit(account=self.account, amount=D(amount), reason="Goodwill", by=self.by)
        self._ledger_at(CreditTransaction.objects.filter(pk=row.pk), day)
        return row

    def refund(self, amount: str, day: date) -> CreditTransaction:
        row = refund_credit(
            account=self.account,
            amount=D(amount),
            method=PaymentMethod.CHEQUE,
            reference="R-1",
            reason="Paid back",
            by=self.by,
        )
        self._ledger_at(CreditTransaction.objects.filter(pk=row.pk), day)
        return row

    def delete(self, invoice: Invoice) -> None:
        services.delete_invoice(invoice=invoice, by=self.by)

    @staticmethod
    def _ledger_at(rows, day: date) -> None:
        rows.update(effective_on=day, created_at=noon(day))


@pytest.fixture
def clerk(db):
    return UserFactory(username="statement-manager", role="Manager")


@pytest.fixture
def agent(db):
    return BillingAgentFactory(
        company_name="Harbor Insurance",
        contact_first_name="Lee",
        contact_last_name="Park",
        email="ap@harbor.example",
        address_line1="1 Quay Street",
        city="Portsmouth",
        state="NH",
        postal_code="03801",
        net_terms_days=30,
        # Back-dated histories leave old invoices open: no credit hold on new tickets.
        credit_hold_days=365,
    )


@pytest.fixture
def history(agent, clerk):
    return History(agent, by=clerk)
