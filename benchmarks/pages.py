"""Benchmark of issue 13's pages at 1x and 4x the data (run by `make bench` on PostgreSQL).

Seeds the manage page's data (benchmarks.agent_list.seed: 1,000 agents / 50,000
customers / 250,000 tickets), invoices two Waiting-for-Payment tickets of every 4th active
agent (so the invoice list's payer filter grows with the data), adds a 10-line
and a 500-line invoice for one agent, and logs a Manager in through the test client (DEBUG
off, the configured middleware). Then, at 1x and again after seeding to 4x:

* every page of the issue's table: median of alternated GETs (each round requests every
  page once), its query count and SQL time;
* the agents CSV export: time to the first byte (the header line), to the first data row
  and to the last byte, and the peak of Python memory while it streams (tracemalloc);
* a remittance over a fresh 500-line invoice (invoicing.services.record_remittance);
* the invoice page, print page and remittance form at 10 and 500 lines: cost per line.

A page that does not answer 200 (a route that has not landed yet) becomes an error row.

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for progress lines
and a freshly migrated throwaway database, and returns a markdown section.
"""

import multiprocessing
import os
import random
import statistics
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks import documents, fresh
from benchmarks.agent_list import seed
from benchmarks.runner import section_database_url
from benchmarks.timing import (
    SqlTimer,
    StreamFigures,
    alternated_samples,
    settle,
    sql_figures,
    stream_get,
    timed_ms,
)
from billing_agents.models import BillingAgent
from core.errors import DomainError
from core.roles import MANAGER
from customers.models import Customer
from invoicing import services
from invoicing.accounts import account_for
from invoicing.models import Invoice
from tickets.models import Location, Ticket
from tickets.transitions import Status

AGENTS = int(os.environ.get("BENCH_AGENTS", "1000"))
RUNS = 15
WARMUP = 2
CSV_RUNS = 3
REMITTANCE_RUNS = 5
INVOICED_PER_AGENT = 2
# Every 4th active agent gets an invoice: create_invoices costs ~0.1 s a call, and the
# invoice list's payer filter still grows with the data.
INVOICED_AGENT_EVERY = 4
DOC_SIZES = (10, 500)
SCALE_GOAL = 1.3
P50_GOAL_MS = 30
CSV_FIRST_BYTE_GOAL_MS = 100
REMITTANCE_GOAL_MS = 500
PER_LINE_GOAL_MS = 0.15
HTMX_LOOKUP = {"HX-Request": "true", "HX-Current-URL": "http://testserver/customers/"}


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    headers: dict = field(default_factory=dict)


@dataclass
class PageFigures:
    median_ms: float | None = None
    queries: int | None = None
    sql_ms: float | None = None
    error: str = ""


@dataclass(frozen=True)
class Fixtures:
    """The rows the pages show, chosen once at 1x and kept for 4x."""

    ticket_id: int
    customer_id: int
    doc_invoices: dict[int, int]  # lines -> invoice id
    doc_agent_id: int
    location_id: int


def _pages(fx: Fixtures) -> list[Page]:
    return [
        Page("`/tickets/<id>/` (editable)", f"/tickets/{fx.ticket_id}/"),
        Page("`/tickets/`", "/tickets/"),
        Page("`/invoices/`", "/invoices/"),
        Page("`/customers/new/`", "/customers/new/"),
        Page("`/customers/<id>/edit/`", f"/customers/{fx.customer_id}/edit/"),
        Page("`/` dashboard", "/"),
        Page("`/customers/`", "/customers/"),
        Page("`/billing-agents/`", "/billing-agents/"),
        Page("`/billing-agents/?sort=-open_balance`", "/billing-agents/?sort=-open_balance"),
        Page("lookup `/customers/?q=jo` (htmx)", "/customers/?q=jo", HTMX_LOOKUP),
        Page(
            "lookup `/customers/?q=@example.org` (htmx)",
            "/customers/?q=%40example.org",
            HTMX_LOOKUP,
        ),
    ]


DOC_PAGES = {
    "invoice detail": "/invoices/{pk}/",
    "print page": "/invoices/{pk}/print/",
    "remittance form": "/invoices/{pk}/remittance/",
}
CSV_URL = "/billing-agents/export.csv"


# --- seeding ---------------------------------------------------------------------------


def _manager():
    user = get_user_model().objects.create_user("bench-pages")
    user.groups.add(Group.objects.get(name=MANAGER))
    return user


def _invoice_agents(first_agent_pk: int, user) -> int:
    """Invoice INVOICED_PER_AGENT Waiting-for-Payment tickets of every
    INVOICED_AGENT_EVERY-th active agent from first_agent_pk on, in one batch invoice each
    (through the service); returns how many agents were invoiced."""
    made = 0
    agents = BillingAgent.objects.filter(pk__gte=first_agent_pk, is_active=True).order_by("pk")
    for n, agent in enumerate(agents.iterator(chunk_size=500)):
        if n % INVOICED_AGENT_EVERY:
            continue
        ids = list(
            Ticket.objects.filter(billing_agent=agent, status=Status.WAITING_FOR_PAYMENT)
            .order_by("pk")
            .values_list("pk", flat=True)[:INVOICED_PER_AGENT]
        )
        if not ids:
            continue
        try:
            account = account_for(agent)
            services.create_invoices(account=account, ticket_ids=ids, batch=True, by=user)
        except DomainError:
            continue  # e.g. an agent on credit hold: the list just has one payer fewer
        made += 1
    return made


def _fixtures(user) -> Fixtures:
    ticket = (
        Ticket.objects.filter(
            status__in=[Status.NEW, Status.IN_REPAIR], billing_agent__is_active=True
        )
        .order_by("pk")
        .first()
    )
    customer = Customer.objects.filter(billing_agent__is_active=True).order_by("pk").first()
    location = Location.objects.create(name="Bench documents", tax_rate_percent=Decimal("8.25"))
    agent = BillingAgent.objects.create(
        company_name="Bench Documents Insurance",
        email="claims@bench-documents.example",
        reference_label="Claim #",
    )
    doc_invoices = {
        lines: documents._invoice(agent, location, lines, user).pk for lines in DOC_SIZES
    }
    return Fixtures(
        ticket_id=ticket.pk,
        customer_id=customer.pk,
        doc_invoices=doc_invoices,
        doc_agent_id=agent.pk,
        location_id=location.pk,
    )


# --- measuring -------------------------------------------------------------------------


def _getter(client: Client, page: Page) -> Callable[[], None]:
    def get() -> None:
        response = client.get(page.url, headers=page.headers)
        if response.status_code != 200:
            raise AssertionError(f"HTTP {response.status_code}")

    return get


def measure_pages(client: Client, pages: list[Page], out, label: str) -> dict[str, PageFigures]:
    """Alternated medians of the pages that answer; an error row for those that do not."""
    figures: dict[str, PageFigures] = {}
    getters = {}
    for page in pages:
        get = _getter(client, page)
        try:
            get()
        except Exception as error:  # a page that fails must not stop the others
            figures[page.label] = PageFigures(error=f"{type(error).__name__}: {error}"[:120])
            out.write(f"  {label}: {page.label} failed: {figures[page.label].error}\n")
            continue
        getters[page.label] = get
    out.write(f"  {label}: {len(getters)} pages x {RUNS} alternated rounds\n")
    samples = alternated_samples(getters, RUNS, WARMUP)
    for name, get in getters.items():
        queries, sql_ms = sql_figures(get)
        figures[name] = PageFigures(
            median_ms=statistics.median(samples[name]), queries=queries, sql_ms=sql_ms
        )
    return {page.label: figures[page.label] for page in pages}


@dataclass(frozen=True)
class CsvFigures:
    stream: StreamFigures | None
    queries: int | None
    peak_mib: float | None
    error: str = ""


def measure_csv(client: Client) -> CsvFigures:
    """Median first byte / first row / last byte of CSV_RUNS downloads after a warm-up,
    then one counted and one traced download."""
    try:
        stream_get(client, CSV_URL)
    except Exception as error:
        return CsvFigures(None, None, None, error=f"{type(error).__name__}: {error}"[:120])
    runs = [stream_get(client, CSV_URL) for _ in range(CSV_RUNS)]
    counter = SqlTimer()
    with connection.execute_wrapper(counter):
        stream_get(client, CSV_URL)
    tracemalloc.start()
    try:
        stream_get(client, CSV_URL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    median = StreamFigures(
        first_byte_ms=statistics.median(r.first_byte_ms for r in runs),
        first_row_ms=statistics.median(r.first_row_ms for r in runs),
        last_byte_ms=statistics.median(r.last_byte_ms for r in runs),
        rows=runs[0].rows,
        size=runs[0].size,
    )
    return CsvFigures(median, counter.count, peak / 2**20)


@dataclass(frozen=True)
class RemittanceFigures:
    median_ms: float | None
    worst_ms: float | None
    queries: int | None
    error: str = ""


def measure_remittance(fx: Fixtures, user, out) -> RemittanceFigures:
    """record_remittance paying a fresh 500-line invoice in full: one counted warm-up, then
    REMITTANCE_RUNS timed runs, each on its own unpaid invoice made up front."""
    agent = BillingAgent.objects.get(pk=fx.doc_agent_id)
    location = Location.objects.get(pk=fx.location_id)
    lines = DOC_SIZES[-1]
    out.write(f"  making {REMITTANCE_RUNS + 1} unpaid {lines}-line invoices\n")
    invoices = [
        documents._invoice(agent, location, lines, user) for _ in range(REMITTANCE_RUNS + 1)
    ]

    def pay(invoice: Invoice) -> Callable[[], object]:
        return lambda: services.record_remittance(
            invoice=invoice, amount=invoice.total, method="cheque", by=user
        )

    try:
        counter = SqlTimer()
        with connection.execute_wrapper(counter):
            pay(invoices[0])()
        times = [timed_ms(pay(invoice))[1] for invoice in invoices[1:]]
    except Exception as error:
        return RemittanceFigures(None, None, None, error=f"{type(error).__name__}: {error}"[:120])
    return RemittanceFigures(statistics.median(times), max(times), counter.count)


def measure_documents(client: Client, fx: Fixtures, out, label: str) -> dict[str, PageFigures]:
    pages = [
        Page(f"{name}, {lines} lines", url.format(pk=fx.doc_invoices[lines]))
        for name, url in DOC_PAGES.items()
        for lines in DOC_SIZES
    ]
    return measure_pages(client, pages, out, f"{label} documents")


def measure_scale(fixtures: dict, user_id: int, label: str) -> dict:
    """Every measurement of one scale (benchmarks.fresh runs this in a fresh process)."""
    out = sys.stdout
    fx = Fixtures(**fixtures)
    user = get_user_model().objects.get(pk=user_id)
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        client = Client()
        client.force_login(user)
        out.write(f"Measuring {label} (in a fresh process, pid {os.getpid()})...\n")
        load_before = os.getloadavg()[0]
        figures = {
            "pages": measure_pages(client, _pages(fx), out, label),
            "csv": measure_csv(client),
            "documents": measure_documents(client, fx, out, label),
            # Last: its writes leave autovacuum work that would run beside other timings.
            "remittance": measure_remittance(fx, user, out),
            "load": (load_before, os.getloadavg()[0]),
        }
    out.flush()
    return figures


def _measure_fresh(fx: Fixtures, user, label: str) -> dict:
    """measure_scale in a new interpreter (why: benchmarks.fresh)."""
    database_url = section_database_url()
    connection.close()  # the child opens its own; this one would sit idle meanwhile
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fresh.measure_scale, (database_url, asdict(fx), user.pk, label))


def run(out) -> str:
    """Seed 1x, measure, seed to 4x, measure; return the markdown section."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The pages benchmark runs on PostgreSQL only.")
    rng = random.Random(20261202)
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        out.write(f"Seeding {AGENTS:,} agents (1x)...\n")
        seeded = seed(agents=AGENTS, first_agent=1, rng=rng)
        user = _manager()
        invoiced, invoicing_ms = timed_ms(lambda: _invoice_agents(1, user))
        out.write(
            f"  seeded in {seeded['seconds']:.0f} s; {invoiced} agents invoiced in "
            f"{invoicing_ms / 1000:.0f} s\n"
        )
        fx = _fixtures(user)
        counts1 = _counts()
        settle(out)
        one = _measure_fresh(fx, user, "1x")

        out.write(f"Seeding {AGENTS * 3:,} more agents (to 4x)...\n")
        first_new = BillingAgent.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1
        seed(agents=AGENTS * 3, first_agent=AGENTS + 1, rng=rng)
        _invoice_agents(first_new, user)
        counts4 = _counts()
        settle(out)
        four = _measure_fresh(fx, user, "4x")
    return _report(counts1, counts4, one, four)


def _counts() -> dict[str, int]:
    return {
        "agents": BillingAgent.objects.count(),
        "customers": Customer.objects.count(),
        "tickets": Ticket.objects.count(),
        "invoices": Invoice.objects.count(),
    }


# --- report ----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _ms(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _page_rows(one: dict[str, PageFigures], four: dict[str, PageFigures]) -> list[str]:
    rows = []
    for name, a in one.items():
        b = four.get(name, PageFigures(error="not measured"))
        if a.error or b.error:
            rows.append(f"| {name} | error: {a.error or b.error} | | | | | | | | |")
            continue
        ratio = b.median_ms / a.median_ms
        rows.append(
            f"| {name} | {a.median_ms:.1f} | {a.queries} | {a.sql_ms:.1f} | {b.median_ms:.1f} "
            f"| {b.queries} | {b.sql_ms:.1f} | {ratio:.2f}x | {_verdict(ratio <= SCALE_GOAL)} "
            f"| {_verdict(a.median_ms <= P50_GOAL_MS)} |"
        )
    return rows


def _per_line(figures: dict[str, PageFigures], name: str) -> float | None:
    small, large = (figures.get(f"{name}, {lines} lines") for lines in DOC_SIZES)
    if not small or not large or small.error or large.error:
        return None
    return (large.median_ms - small.median_ms) / (DOC_SIZES[-1] - DOC_SIZES[0])


def _report(counts1: dict, counts4: dict, one: dict, four: dict) -> str:
    lines = [
        "## Pages at 1x and 4x",
        "",
        f"- Date: {timezone.localtime():%Y-%m-%d %H:%M %Z}; machine: {os.cpu_count()} CPUs "
        "(os.cpu_count()); load average (1 min) before / after measuring: "
        f"1x {one['load'][0]:.1f} / {one['load'][1]:.1f}, "
        f"4x {four['load'][0]:.1f} / {four['load'][1]:.1f} (other work on the machine "
        "counts against these figures).",
        "",
        "| data set | agents | customers | tickets | invoices |",
        "|---|---:|---:|---:|---:|",
        *[
            f"| {label} | {c['agents']:,} | {c['customers']:,} | {c['tickets']:,} | "
            f"{c['invoices']:,} |"
            for label, c in (("1x", counts1), ("4x", counts4))
        ],
        "",
        "Data: `benchmarks.agent_list.seed` (50 customers and 250 tickets per agent, 90 % of "
        f"agents active, 15 % of tickets open), {INVOICED_PER_AGENT} Waiting-for-Payment "
        f"tickets of every {INVOICED_AGENT_EVERY}th active agent invoiced through "
        "`invoicing.services.create_invoices`, "
        "and one agent with a 10- and a 500-line invoice (`benchmarks.documents`). The same "
        "ticket, customer and invoices are measured at 1x and 4x. Requests go through the "
        "Django test client as a Manager (DEBUG off, all middleware), each scale measured "
        "by a fresh Python process started for it (`benchmarks.fresh`: the process that "
        "seeded a million tickets is not what a server looks like) after a VACUUM ANALYZE, "
        "CHECKPOINT and sync of the load (`benchmarks.timing.settle`), the remittance last "
        "(its writes leave autovacuum work), "
        f"median of {RUNS} alternated rounds (each round requests every page once) after "
        f"{WARMUP} warm-up rounds; queries counted on one more request, SQL ms the median of "
        "three more. The lookups are htmx requests (the results partial).",
        "",
        "### Pages",
        "",
        f"Goals: 4x/1x ≤ {SCALE_GOAL} and median ≤ {P50_GOAL_MS} ms at 1x.",
        "",
        "| page | 1x ms | 1x queries | 1x SQL ms | 4x ms | 4x queries | 4x SQL ms | 4x/1x "
        f"| ≤ {SCALE_GOAL}x | ≤ {P50_GOAL_MS} ms at 1x |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
        *_page_rows(one["pages"], four["pages"]),
        "",
        f"### Agents CSV export (`{CSV_URL}`)",
        "",
        f"Median of {CSV_RUNS} downloads after a warm-up, consumed chunk by chunk through "
        "the test client; first byte is the header line, first row the first agent's line; "
        "peak memory is tracemalloc's peak of Python allocations during one more download "
        "(a separate run: tracing slows Python down).",
        "",
        "| data set | rows | size | first byte ms | first row ms | last byte ms | queries "
        "| peak memory |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, scale in (("1x", one), ("4x", four)):
        csv = scale["csv"]
        if csv.error:
            lines.append(f"| {label} | error: {csv.error} | | | | | | |")
            continue
        s = csv.stream
        lines.append(
            f"| {label} | {s.rows:,} | {s.size / 1024:,.0f} KB | {s.first_byte_ms:.1f} "
            f"| {s.first_row_ms:.1f} | {s.last_byte_ms:,.0f} | {csv.queries} "
            f"| {csv.peak_mib:.2f} MiB |"
        )
    csv1, csv4 = one["csv"], four["csv"]
    if not (csv1.error or csv4.error):
        growth = csv4.peak_mib / csv1.peak_mib
        lines += [
            "",
            f"- First byte < {CSV_FIRST_BYTE_GOAL_MS} ms at {csv4.stream.rows:,} agents: "
            f"{_verdict(csv4.stream.first_byte_ms < CSV_FIRST_BYTE_GOAL_MS)} "
            f"({csv4.stream.first_byte_ms:.1f} ms; the first data row after "
            f"{csv4.stream.first_row_ms:.0f} ms: "
            f"{_verdict(csv4.stream.first_row_ms < CSV_FIRST_BYTE_GOAL_MS)} for that "
            "stricter reading).",
            f"- Memory: peak {csv1.peak_mib:.2f} → {csv4.peak_mib:.2f} MiB from 1x to 4x "
            f"({growth:.2f}x; constant memory means about 1x).",
        ]
    lines += [
        "",
        "### Remittance over a 500-line invoice",
        "",
        f"`invoicing.services.record_remittance` paying a fresh unpaid {DOC_SIZES[-1]}-line "
        f"batch invoice in full (closes the tickets): median and worst of {REMITTANCE_RUNS} "
        "runs, each on its own invoice, after one warm-up run that counts the queries. "
        f"Goal < {REMITTANCE_GOAL_MS} ms.",
        "",
        "| data set | median ms | worst ms | queries | goal |",
        "|---|---:|---:|---:|---|",
    ]
    for label, scale in (("1x", one), ("4x", four)):
        r = scale["remittance"]
        if r.error:
            lines.append(f"| {label} | error: {r.error} | | | |")
            continue
        lines.append(
            f"| {label} | {r.median_ms:,.0f} | {r.worst_ms:,.0f} | {r.queries} "
            f"| {_verdict(r.median_ms < REMITTANCE_GOAL_MS)} |"
        )
    lines += [
        "",
        "### Documents: cost per line",
        "",
        f"The same alternated medians for the {DOC_SIZES[0]}- and {DOC_SIZES[-1]}-line "
        f"invoices; per line = (t{DOC_SIZES[-1]} - t{DOC_SIZES[0]}) / "
        f"{DOC_SIZES[-1] - DOC_SIZES[0]}. Goal ≤ {PER_LINE_GOAL_MS} ms per line.",
        "",
        "| page | data set | "
        + " | ".join(f"{n} lines ms (queries)" for n in DOC_SIZES)
        + " | ms per line | goal |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name in DOC_PAGES:
        for label, scale in (("1x", one), ("4x", four)):
            figures = scale["documents"]
            cells = []
            for n in DOC_SIZES:
                f = figures[f"{name}, {n} lines"]
                cells.append(f"error: {f.error}" if f.error else f"{f.median_ms:.1f} ({f.queries})")
            per_line = _per_line(figures, name)
            verdict = "" if per_line is None else _verdict(per_line <= PER_LINE_GOAL_MS)
            lines.append(
                f"| {name} | {label} | {' | '.join(cells)} | {_ms(per_line, 3)} | {verdict} |"
            )
    return "\n".join(lines) + "\n"
