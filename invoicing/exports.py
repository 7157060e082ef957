"""The bookkeeping exports: invoices (with the list's filters) and payments with their
allocations, as CSV cells ready for core.spreadsheets.csv_download.

Rows are read as a stream (`.iterator()`) and taken CHUNK at a time (the first chunk
shorter): one query for the rows, one more per chunk for what each row lists (an
invoice's references, a payment's allocations). The query count grows with the chunks,
never with the rows, and memory holds one chunk whatever the export's length.
"""

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import TypeVar

from django.utils import timezone

from core.money import ZERO, to_cents
from core.spreadsheets import csv_safe
from invoicing.models import (
    Account,
    DisplayStatus,
    Invoice,
    InvoiceLine,
    InvoiceQuerySet,
    InvoiceStatus,
    Remittance,
    RemittanceAllocation,
)
from tickets.models import Ticket

CHUNK = 2000
# A short first chunk: the download's first rows leave before a whole chunk is read.
FIRST_CHUNK = 100
REFERENCE_SEPARATOR = "; "

INVOICE_HEADER = [
    "Invoice",
    "Issue date",
    "Due date",
    "Payer",
    "Payer kind",
    "Status",
    "Total",
    "Paid",
    "Written off",
    "Balance",
    "Days past due",
    "References",
    "Sent at",
]
PAYMENT_HEADER = [
    "Payment",
    "Received on",
    "Payer",
    "Payer kind",
    "Method",
    "Reference",
    "Payment amount",
    "Voided at",
    "Invoice",
    "Ticket",
    "Allocated",
]

# What Account.name reads: loading only these keeps each row's conversions few.
PAYER_FIELDS = (
    "account__billing_agent__company_name",
    "account__customer__first_name",
    "account__customer__last_name",
    "account__customer__company_name",
)
INVOICE_FIELDS = (
    "issue_date",
    "due_date",
    "total",
    "amount_paid",
    "written_off",
    "status",
    "sent_at",
    *PAYER_FIELDS,
)
PAYMENT_FIELDS = ("amount", "method", "reference", "received_on", "voided_at", *PAYER_FIELDS)

T = TypeVar("T")


def _chunks(rows: Iterable[T]) -> Iterator[list[T]]:
    """FIRST_CHUNK rows, then CHUNK rows at a time."""
    iterator = iter(rows)
    size = FIRST_CHUNK
    while chunk := list(islice(iterator, size)):
        yield chunk
        size = CHUNK


def _payer_kind(account: Account) -> str:
    return "Billing agent" if account.is_agent else "Customer"


def _moment(value: datetime | None) -> str:
    """A timestamp in the shop's time zone, to the minute; blank for none."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# --- invoices --------------------------------------------------------------------------


def _references(invoice_ids: list[int]) -> dict[int, list[str]]:
    """Each invoice's distinct line references, in line order: one query."""
    found: dict[int, list[str]] = {}
    lines = (
        InvoiceLine.objects.filter(invoice_id__in=invoice_ids)
        .exclude(reference="")
        .order_by("invoice_id", "id")
        .values_list("invoice_id", "reference")
    )
    for invoice_id, reference in lines:
        references = found.setdefault(invoice_id, [])
        if reference not in references:
            references.append(reference)
    return found


def _days_past_due(invoice: Invoice, today: date) -> int | str:
    """Days past the due date of an unpaid invoice (0 before it); blank once settled."""
    if invoice.status != InvoiceStatus.OPEN:
        return ""
    return max((today - invoice.due_date).days, 0)


def _invoice_cells(invoice: Invoice, references: list[str], today: date) -> list:
    account = invoice.account
    status = next(s for s in DisplayStatus if s.holds_for(invoice, today))
    return [
        invoice.number,
        invoice.issue_date.isoformat(),
        invoice.due_date.isoformat(),
        csv_safe(account.name),
        _payer_kind(account),
        status.label,
        # Plain numbers (no $, no thousands comma) so a spreadsheet can sum them.
        to_cents(invoice.total),
        to_cents(invoice.amount_paid),
        to_cents(invoice.written_off),
        to_cents(invoice.balance),
        _days_past_due(invoice, today),
        csv_safe(REFERENCE_SEPARATOR.join(references)),
        _moment(invoice.sent_at),
    ]


def invoice_rows(invoices: InvoiceQuerySet, *, today: date) -> Iterator[list]:
    """The CSV cells of each invoice, in the queryset's order (INVOICE_HEADER)."""
    stream = invoices.with_account().only(*INVOICE_FIELDS).iterator(chunk_size=CHUNK)
    for chunk in _chunks(stream):
        references = _references([invoice.pk for invoice in chunk])
        for invoice in chunk:
            yield _invoice_cells(invoice, references.get(invoice.pk, []), today)


# --- payments --------------------------------------------------------------------------


def payments_received(start: date | None, end: date | None):
    """Payments received from `start` to `end` (either open-ended), voided ones included,
    oldest first, with their payer."""
    remittances = (
        Remittance.objects.select_related("account__billing_agent", "account__customer")
        .only(*PAYMENT_FIELDS)
        .order_by("received_on", "id")
    )
    if start:
        remittances = remittances.filter(received_on__gte=start)
    if end:
        remittances = remittances.filter(received_on__lte=end)
    return remittances


def _allocations(remittance_ids: list[int]) -> dict[int, list[tuple[int, int, Decimal]]]:
    """(invoice id, ticket id, amount) of each payment's allocations, in order: one query."""
    found: dict[int, list[tuple[int, int, Decimal]]] = {}
    shares = (
        RemittanceAllocation.objects.filter(remittance_id__in=remittance_ids)
        .order_by("remittance_id", "id")
        .values_list(
            "remittance_id", "invoice_line__invoice_id", "invoice_line__ticket_id", "amount"
        )
    )
    for remittance_id, invoice_id, ticket_id, amount in shares:
        found.setdefault(remittance_id, []).append((invoice_id, ticket_id, amount))
    return found


def _payment_rows(remittance: Remittance, shares: list[tuple[int, int, Decimal]]) -> Iterator[list]:
    account = remittance.account
    payment = [
        remittance.pk,
        remittance.received_on.isoformat(),
        csv_safe(account.name),
        _payer_kind(account),
        remittance.get_method_display(),
        csv_safe(remittance.reference),
        to_cents(remittance.amount),
        _moment(remittance.voided_at),
    ]
    allocated = ZERO
    for invoice_id, ticket_id, amount in shares:
        allocated += amount
        yield [
            *payment,
            Invoice(pk=invoice_id).number,
            Ticket(pk=ticket_id).number,
            to_cents(amount),
        ]
    # What no invoice took stayed on the account as credit: its own row, without an invoice.
    if remittance.amount > allocated:
        yield [*payment, "", "", to_cents(remittance.amount - allocated)]


def payment_rows(remittances) -> Iterator[list]:
    """The CSV cells of each payment's allocations and unallocated credit (PAYMENT_HEADER)."""
    for chunk in _chunks(remittances.iterator(chunk_size=CHUNK)):
        shares = _allocations([remittance.pk for remittance in chunk])
        for remittance in chunk:
            yield from _payment_rows(remittance, shares.get(remittance.pk, []))
