"""Benchmark of the itemized invoice documents (invoicing/documents.py, core/pdf.py).

Two batch invoices created through invoicing.services.create_invoices, of 10 and 500
lines; each ticket has a taxable part, untaxed labour and a $5 discount, a third of them a
deposit taken before invoicing, so every line prints its items, discount, tax and paid-
before figures. Timed as medians: `invoice_pdf` (WeasyPrint, the print page's template),
the same render with the garbage collector left running (what core.pdf pauses), and the
invoice page and print page through the Django test client, with their query counts and
the cost each extra line adds.

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for progress lines
and a freshly migrated throwaway database, and returns a markdown section.
"""

import contextlib
import io
import statistics
from decimal import Decimal

import pypdf
import weasyprint
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from benchmarks.timing import measure_get, samples_ms
from billing_agents.models import BillingAgent
from core import pdf
from core.roles import MANAGER
from customers.models import Customer
from invoicing import services
from invoicing.accounts import account_for
from invoicing.documents import invoice_document, invoice_pdf
from invoicing.models import Invoice
from tickets.models import Location, PaymentKind, PaymentMethod, Ticket, TicketItem, TicketPayment
from tickets.totals import Line, compute_totals, stored_figures
from tickets.transitions import Kind, Status

SIZES = (10, 500)
PDF_RUNS = 5
PAGE_RUNS = 7
# The goal of issue 12: a 500-line invoice renders in under 3 s.
GOAL_MS = 3000
ITEMS = [
    ("Screen assembly", Decimal(1), Decimal("120.00"), True),
    ("Labour", Decimal("1.5"), Decimal("40.00"), False),
]
DISCOUNT = Decimal("5.00")
DEPOSIT = Decimal("20.00")


def _tickets(agent: BillingAgent, location: Location, count: int) -> list[int]:
    """Waiting-for-Payment tickets with two items, a discount and (every third) a deposit;
    their stored totals from compute_totals, as the app writes them."""
    customer = Customer.objects.create(first_name="Ada", last_name="Bench", billing_agent=agent)
    lines = [Line(quantity, price, taxable) for _, quantity, price, taxable in ITEMS]

    def figures(deposit: bool) -> dict:
        totals = compute_totals(
            lines=lines,
            discount_type="amount",
            discount_value=DISCOUNT,
            tax_rate_percent=location.tax_rate_percent,
            payments=[DEPOSIT] if deposit else [],
        )
        return stored_figures(totals)

    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                kind=Kind.REPAIR,
                status=Status.WAITING_FOR_PAYMENT,
                location=location,
                customer=customer,
                billing_agent=agent,
                device="iPhone 13",
                payer_reference=f"C-{n:05d}",
                discount_value=DISCOUNT,
                **figures(n % 3 == 0),
            )
            for n in range(count)
        ]
    )
    TicketItem.objects.bulk_create(
        [
            TicketItem(
                ticket=t,
                description=description,
                quantity=quantity,
                unit_price=price,
                taxable=taxable,
            )
            for t in tickets
            for description, quantity, price, taxable in ITEMS
        ]
    )
    TicketPayment.objects.bulk_create(
        [
            TicketPayment(
                ticket=t, kind=PaymentKind.DEPOSIT, amount=DEPOSIT, method=PaymentMethod.CASH
            )
            for n, t in enumerate(tickets)
            if n % 3 == 0
        ]
    )
    return [t.pk for t in tickets]


def _invoice(agent: BillingAgent, location: Location, lines: int, user) -> Invoice:
    ids = _tickets(agent, location, lines)
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=ids, batch=True, by=user
    )
    return Invoice.objects.with_account().get(pk=invoice.pk)


def _pdf_figures(invoice: Invoice) -> dict:
    body = invoice_pdf(invoice)
    pages = len(pypdf.PdfReader(io.BytesIO(body)).pages)
    with CaptureQueriesContext(connection) as captured:
        invoice_document(invoice)
    paused = samples_ms(lambda: invoice_pdf(invoice), PDF_RUNS, warmup=1)
    # The same render with the cyclic garbage collector left running.
    with _collector_running():
        running = samples_ms(lambda: invoice_pdf(invoice), PDF_RUNS, warmup=1)
    return {
        "pages": pages,
        "kb": len(body) / 1024,
        "queries": len(captured.captured_queries),
        "median_ms": statistics.median(paused),
        "worst_ms": max(paused),
        "gc_median_ms": statistics.median(running),
    }


@contextlib.contextmanager
def _collector_running():
    saved = pdf._collector_paused
    pdf._collector_paused = contextlib.nullcontext
    try:
        yield
    finally:
        pdf._collector_paused = saved


def _client() -> Client:
    user = get_user_model().objects.create_user("bench-documents")
    user.groups.add(Group.objects.get(name=MANAGER))
    client = Client()
    client.force_login(user)
    return client


def run(out) -> str:
    """Create the 10- and 500-line invoices, time their PDF and pages, return the section."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The documents benchmark runs on PostgreSQL only.")
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    results = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        client = _client()
        user = get_user_model().objects.get(username="bench-documents")
        location = Location.objects.create(name="Bench", tax_rate_percent=Decimal("8.25"))
        agent = BillingAgent.objects.create(
            company_name="Bench Insurance", email="claims@bench.example", reference_label="Claim #"
        )
        for lines in SIZES:
            out.write(f"documents: a {lines}-line invoice...\n")
            invoice = _invoice(agent, location, lines, user)
            figures = _pdf_figures(invoice)
            out.write(
                f"  PDF {figures['median_ms']:.0f} ms median ({figures['pages']} pages), "
                f"{figures['gc_median_ms']:.0f} ms with the collector running\n"
            )
            figures["detail"] = measure_get(
                client, reverse("invoicing:invoice_detail", args=[invoice.pk]), runs=PAGE_RUNS
            )
            figures["print"] = measure_get(
                client, reverse("invoicing:invoice_print", args=[invoice.pk]), runs=PAGE_RUNS
            )
            results[lines] = figures
    small, large = results[SIZES[0]], results[SIZES[-1]]
    extra = SIZES[-1] - SIZES[0]

    def per_line(key) -> float:
        return (key(large) - key(small)) / extra

    rows = [
        f"| {lines} | {f['pages']} | {f['kb']:.0f} | {f['queries']} | {f['median_ms']:.0f} "
        f"| {f['worst_ms']:.0f} | {f['gc_median_ms']:.0f} | {f['detail'].queries} "
        f"| {f['detail'].median_ms:.0f} | {f['print'].queries} | {f['print'].median_ms:.0f} |"
        for lines, f in results.items()
    ]
    verdict = "meets" if large["median_ms"] < GOAL_MS else "MISSES"
    return "\n".join(
        [
            "## Invoice documents (PDF, invoice page, print page)",
            "",
            "Batch invoices of 10 and 500 lines created through the services; each ticket "
            "has two items (a taxable part, untaxed labour), a $5.00 discount and, every "
            "third, a $20.00 deposit, so each line prints its items, discount, tax and "
            "paid-before figures. PDF: `invoice_pdf` "
            f"(WeasyPrint {weasyprint.__version__}), median of {PDF_RUNS} runs after a "
            "warm-up, and the same with the garbage collector "
            f"left running; pages: median of {PAGE_RUNS} GETs through the test client "
            "(DEBUG off), queries including session and permissions.",
            "",
            "| lines | PDF pages | PDF KB | document queries | PDF median ms | PDF worst ms "
            "| PDF ms, collector running | invoice page queries | invoice page ms "
            "| print page queries | print page ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Per extra line: PDF {per_line(lambda f: f['median_ms']):.2f} ms, invoice page "
            f"{per_line(lambda f: f['detail'].median_ms):.2f} ms, print page "
            f"{per_line(lambda f: f['print'].median_ms):.2f} ms; the query counts do not "
            f"grow. The 500-line PDF {verdict} the {GOAL_MS / 1000:.0f} s goal.",
            "",
        ]
    )
