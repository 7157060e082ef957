"""The invoice as a document: what the invoice page, the print page, the PDF and the email
show, read from the lines' snapshots (never the live tickets) in a fixed number of queries.

Templates get `InvoiceDocument.context()`: `document`, `invoice`, `payer`, `lines`
(DocumentLine), `totals` and `letterhead` (the shop's name is `letterhead.name`). The email
templates (templates/invoicing/email/invoice.*) render with exactly that context, and
the PDF is `invoice_pdf(invoice)`. The invoice page shows `invoice_page_lines(lines)`
instead: each line's cells worked out once.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import F
from django.utils.html import format_html
from django.utils.safestring import SafeString

from billing_agents.models import BillingAgent
from core.links import row_url
from core.models import Letterhead
from core.money import ZERO, format_money
from core.pdf import render_pdf
from customers.models import Customer
from invoicing.models import Invoice, InvoiceLine, InvoiceLineItem, InvoiceStatus
from tickets.models import ticket_number
from tickets.transitions import Status

PRINT_TEMPLATE = "invoicing/invoice_print.html"
MINUS = "\N{MINUS SIGN}"


def quantity_text(quantity: Decimal) -> str:
    """An item's quantity as `{{ quantity|floatformat:"-2" }}` prints it (1 → "1",
    1.5 → "1.50"), for a two-place quantity, at a tenth of the filter's cost."""
    text = f"{quantity:.2f}"
    return text[:-3] if text.endswith(".00") else text


def percent(rate: Decimal) -> str:
    """A tax rate as printed: 8.250 → "8.25%", 10.000 → "10%", 0 → "0%"."""
    return f"{rate.normalize():f}%" if rate else "0%"


@dataclass(slots=True)
class DocumentItem:
    """One item of a line as billed (its InvoiceLineItem snapshot), read as plain values:
    building a model instance per item was more than half the cost of reading them."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal

    @property
    def quantity_shown(self) -> str:
        return quantity_text(self.quantity)


@dataclass(frozen=True)
class DocumentLine:
    """One ticket on the invoice, as billed: the line's snapshot and its items."""

    line: InvoiceLine
    items: list[DocumentItem]

    @property
    def ticket_id(self) -> int:
        return self.line.ticket_id

    @property
    def ticket_number(self) -> str:
        return ticket_number(self.line.ticket_id)

    @property
    def ticket_customer_id(self) -> int | None:
        """The ticket's customer now (invoice_document(live_tickets=True) only)."""
        return self.line.ticket_customer_id

    @property
    def ticket_status(self) -> str:
        """The ticket's status now, as shown (invoice_document(live_tickets=True) only)."""
        return Status(self.line.ticket_status).label

    @property
    def customer_name(self) -> str:
        return self.line.customer_name

    @property
    def description(self) -> str:
        return self.line.description

    @property
    def reference(self) -> str:
        """ "Claim # C-123" (the agent's label and the ticket's reference), or ""."""
        if not self.line.reference:
            return ""
        return f"{self.line.reference_label or 'Reference'} {self.line.reference}"

    @property
    def figures(self) -> str:
        """The line's sum as printed before what it bills: subtotal, discount (if any),
        tax with its rate, ticket total and paid before invoicing (if any), joined by " · ".
        One string, not nine template lookups per line: most of a long invoice's render."""
        parts = [f"Subtotal {format_money(self.subtotal)}"]
        if self.discount:
            parts.append(f"Discount {MINUS}{format_money(self.discount)}")
        parts.append(f"Tax {self.tax_rate} {format_money(self.tax)}")
        parts.append(f"Ticket total {format_money(self.ticket_total)}")
        if self.paid_before:
            parts.append(f"Paid before invoicing {MINUS}{format_money(self.paid_before)}")
        return " · ".join(parts)

    @property
    def subtotal(self) -> Decimal:
        return self.line.subtotal

    @property
    def discount(self) -> Decimal:
        return self.line.discount

    @property
    def tax(self) -> Decimal:
        return self.line.tax

    @property
    def tax_rate(self) -> str:
        return percent(self.line.tax_rate_percent)

    @property
    def ticket_total(self) -> Decimal:
        return self.line.ticket_total

    @property
    def paid_before(self) -> Decimal:
        """Deposits and payments taken at the counter before the ticket was invoiced."""
        return self.line.paid_before

    @property
    def amount(self) -> Decimal:
        """What the invoice bills for the ticket: its total less what was paid before."""
        return self.line.amount

    @property
    def amount_paid(self) -> Decimal:
        """Paid on this line since the invoice was issued (remittances)."""
        return self.line.amount_paid

    @property
    def balance(self) -> Decimal:
        return self.line.balance


@dataclass(frozen=True)
class DocumentTotals:
    """The invoice's figures: the lines' snapshots added up, then what was paid since."""

    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    # The tax rate when every line has the same one ("8.25%"), else "".
    tax_rate: str
    tickets_total: Decimal
    paid_before: Decimal
    total: Decimal
    paid_since: Decimal
    written_off: Decimal
    balance: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    invoice: Invoice
    payer: BillingAgent | Customer
    lines: list[DocumentLine]
    totals: DocumentTotals
    terms_days: int
    letterhead: Letterhead

    @property
    def number(self) -> str:
        return self.invoice.number

    @property
    def due_date(self) -> date:
        return self.invoice.due_date

    @property
    def terms(self) -> str:
        """ "Net 30 days", or "Due on receipt" for an invoice due the day it was issued."""
        if self.terms_days == 0:
            return "Due on receipt"
        return f"Net {self.terms_days} day{'s' if self.terms_days != 1 else ''}"

    @property
    def mark(self) -> str:
        """The word stamped on the document: DELETED, PAID, WRITTEN OFF, or ""."""
        return {
            InvoiceStatus.DELETED: "DELETED",
            InvoiceStatus.PAID: "PAID",
            InvoiceStatus.WRITTEN_OFF: "WRITTEN OFF",
        }.get(self.invoice.status, "")

    @property
    def filename(self) -> str:
        return f"{self.invoice.number}.pdf"

    def context(self) -> dict:
        """What the print page, the PDF and the email templates render."""
        return {
            "document": self,
            "invoice": self.invoice,
            "payer": self.payer,
            "lines": self.lines,
            "totals": self.totals,
            "letterhead": self.letterhead,
        }


def _totals(invoice: Invoice, lines: list[DocumentLine]) -> DocumentTotals:
    def added(field: str) -> Decimal:
        return sum((getattr(row, field) for row in lines), ZERO)

    rates = {row.line.tax_rate_percent for row in lines}
    return DocumentTotals(
        subtotal=added("subtotal"),
        discount=added("discount"),
        tax=added("tax"),
        tax_rate=percent(rates.pop()) if len(rates) == 1 else "",
        tickets_total=added("ticket_total"),
        paid_before=added("paid_before"),
        total=invoice.total,
        paid_since=invoice.amount_paid,
        written_off=invoice.written_off,
        balance=invoice.balance,
    )


def _items_by_line(invoice: Invoice) -> dict[int, list[DocumentItem]]:
    """The invoice's items by line, in one query (a prefetch also builds a queryset for
    every line)."""
    items: dict[int, list[DocumentItem]] = defaultdict(list)
    rows = (
        InvoiceLineItem.objects.filter(line__invoice=invoice)
        .order_by("line_id", "position")
        .values_list("line_id", "description", "quantity", "unit_price", "amount")
    )
    for line_id, *values in rows:
        items[line_id].append(DocumentItem(*values))
    return items


def invoice_document(invoice: Invoice, *, live_tickets: bool = False) -> InvoiceDocument:
    """The invoice's document: three queries (lines, their items, the letterhead) however
    many lines, plus the account if `invoice` came without it
    (Invoice.objects.with_account()). The document reads the lines' snapshots only;
    `live_tickets` adds each ticket's status and customer now (the invoice page shows
    them), read with the lines."""
    rows = invoice.lines.order_by("ticket__created_at", "ticket_id")
    if live_tickets:
        rows = rows.annotate(
            ticket_status=F("ticket__status"), ticket_customer_id=F("ticket__customer_id")
        )
    rows = list(rows)
    items = _items_by_line(invoice)
    lines = [DocumentLine(line=line, items=items.get(line.pk, [])) for line in rows]
    return InvoiceDocument(
        invoice=invoice,
        payer=invoice.account.payer,
        lines=lines,
        totals=_totals(invoice, lines),
        terms_days=(invoice.due_date - invoice.issue_date).days,
        letterhead=Letterhead.current(),
    )


def invoice_page_lines(lines: list[DocumentLine]) -> list[dict]:
    """What each line of the invoice page shows, worked out here once: its cells as text
    ("—" for an empty one), its links and its items' cells. Looked up through DocumentLine
    with a filter or a tag each, the ~25 cells of a line were most of a long invoice's page.
    The customer cell links the ticket's customer now (invoice_document(live_tickets=True))."""
    shown = []
    for row in lines:
        line = row.line
        customer = line.customer_name or "—"
        if line.ticket_customer_id:
            url = row_url("customers:customer_detail", line.ticket_customer_id)
            customer = format_html('<a href="{}">{}</a>', url, customer)
        # Numbers, money and our own links hold no HTML characters: SafeString spares
        # their autoescape. What a clerk typed (names, descriptions, references) is escaped.
        shown.append(
            {
                "number": SafeString(ticket_number(line.ticket_id)),
                "ticket_url": SafeString(row_url("tickets:ticket_detail", line.ticket_id)),
                "customer": customer,
                "description": line.description or "—",
                "reference": row.reference or "—",
                "status": row.ticket_status,
                "billed": SafeString(format_money(line.amount)),
                "paid": SafeString(format_money(line.amount_paid)),
                "balance": SafeString(format_money(line.balance)),
                "figures": SafeString(row.figures),
                "items": [
                    {
                        "description": item.description,
                        "quantity": SafeString(item.quantity_shown),
                        "unit_price": SafeString(format_money(item.unit_price)),
                        "amount": SafeString(format_money(item.amount)),
                    }
                    for item in row.items
                ],
            }
        )
    return shown


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as a PDF: the print page's template rendered by WeasyPrint."""
    return document_pdf(invoice_document(invoice))


def document_pdf(document: InvoiceDocument) -> bytes:
    return render_pdf(PRINT_TEMPLATE, document.context())
