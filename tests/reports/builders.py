"""Receivables histories for the aging tests, made by the app's own services.

Invoices are created by invoicing.services.create_invoices on Waiting-for-Payment tickets
(tests.factories.waiting_ticket) with a back-dated issue date (the ticket is dated the day
before, as create_invoices requires); payments by record_remittance with a back-dated
received_on. Voids and write-offs happen now, as the services record them.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from invoicing import services
from invoicing.accounts import account_for
from invoicing.models import Invoice, Remittance
from tests.factories import LocationFactory, UserFactory, waiting_ticket
from tickets.models import PaymentMethod, Ticket


def today() -> date:
    return timezone.localdate()


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


def clerk():
    return UserFactory(username="aging-clerk")


def tickets_for(payer, amounts: list[str]) -> list[Ticket]:
    """Waiting-for-Payment tickets of these amounts (one untaxed item each). Make them
    before invoicing anything long overdue: an agent on credit hold takes no new ones."""
    location = LocationFactory(name="Aging store", tax_rate_percent=Decimal("0"))
    return [
        waiting_ticket(payer, location=location, items=[("Repair", 1, amount, False)])
        for amount in amounts
    ]


def invoice_ticket(ticket: Ticket, *, issued: date, by=None) -> Invoice:
    """Invoice one ticket on `issued` (the ticket is dated the day before, as
    create_invoices requires of a back-dated invoice)."""
    created = timezone.make_aware(datetime.combine(issued - timedelta(days=1), time(12)))
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created)
    payer = ticket.billing_agent or ticket.customer
    [invoice] = services.create_invoices(
        account=account_for(payer),
        ticket_ids=[ticket.pk],
        batch=True,
        issue_date=issued,
        by=by or clerk(),
    )
    return invoice


def invoice_for(payer, *, issued: date, amount: str = "100.00", by=None) -> Invoice:
    """One invoice of `amount` (one untaxed ticket) issued to `payer` on `issued`."""
    [ticket] = tickets_for(payer, [amount])
    return invoice_ticket(ticket, issued=issued, by=by)


def _issued_for(payer, days: int, as_of: date | None) -> date:
    """The issue date that makes an invoice `days` past due on `as_of` (default today)."""
    due = (as_of or today()) - timedelta(days=days)
    return due - timedelta(days=payer.net_terms_days)


def invoice_past_due(payer, days: int, *, as_of: date | None = None, amount: str = "100.00"):
    """An invoice `days` past due on `as_of` (default today): due on as_of - days."""
    return invoice_for(payer, issued=_issued_for(payer, days, as_of), amount=amount)


def invoices_past_due(payer, amounts: dict[int, str], *, as_of: date | None = None) -> list:
    """One invoice per {days past due on as_of: amount}, the tickets made first."""
    tickets = tickets_for(payer, list(amounts.values()))
    return [
        invoice_ticket(ticket, issued=_issued_for(payer, days, as_of))
        for ticket, days in zip(tickets, amounts, strict=True)
    ]


def pay(invoice: Invoice, amount: str, *, received_on: date, by=None, **kwargs) -> Remittance:
    return services.record_remittance(
        invoice=invoice,
        amount=Decimal(amount),
        method=PaymentMethod.CHEQUE,
        reference=kwargs.pop("reference", ""),
        received_on=received_on,
        by=by or clerk(),
        **kwargs,
    )


def void(remittance: Remittance, *, by=None) -> Remittance:
    return services.void_remittance(remittance=remittance, reason="Bounced", by=by or clerk())


def write_off(invoice: Invoice, *, by=None):
    return services.write_off_invoice(invoice=invoice, reason="Uncollectable", by=by or clerk())
