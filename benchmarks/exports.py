"""Benchmark of the bookkeeping CSV exports (`/invoices/export.csv` and
`/invoices/payments/export.csv`, run by `make bench` on PostgreSQL).

Seeds the aging benchmark's data (benchmarks.aging.seed: invoices with one ticket each,
most paid by a remittance with its allocation, some voided or written off), gives every
line a claim reference, and downloads both exports through the Django test client at
10,000 and then 100,000 invoices: time to the first byte, time to the last, the queries,
and the peak of Python memory allocated while the stream is consumed (tracemalloc, in a
separate run so its overhead stays out of the timings).

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for progress lines
and a freshly migrated throwaway database, and returns a markdown section.
"""

import os
import random
import statistics
import time
import tracemalloc
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from benchmarks.aging import INVOICES_PER_AGENT, seed
from core.roles import BILLING
from invoicing.models import Invoice, InvoiceLine, Remittance, RemittanceAllocation

# BENCH_EXPORT_AGENTS lets a quick smoke run use fewer agents; the report shows the counts.
SMALL_AGENTS = int(os.environ.get("BENCH_EXPORT_AGENTS", "100"))
LARGE_FACTOR = 10
RUNS = 3
FIRST_BYTE_TARGET_MS = 100
MEMORY_GROWTH_TARGET = 1.5


@dataclass(frozen=True)
class Download:
    first_byte_ms: float
    first_row_ms: float
    total_ms: float
    rows: int
    megabytes: float
    queries: int
    peak_mib: float


class _QueryCounter:
    """A connection.execute_wrapper that counts the statements sent."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _client() -> Client:
    user = get_user_model().objects.create_user("bench-exports")
    user.groups.add(Group.objects.get(name=BILLING))
    client = Client()
    client.force_login(user)
    return client


def _label_lines() -> None:
    """A claim number on every line that has none (one UPDATE)."""
    InvoiceLine.objects.filter(reference="").update(
        reference=Concat(Value("CLM-"), Cast("id", CharField()))
    )


def _download(client: Client, url: str) -> tuple[float, float, float, int, int]:
    """(first byte ms, first data row ms, total ms, rows, bytes) of one streamed download,
    consumed here; the stream yields the header line first, then one line per row."""
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    chunks = iter(response.streaming_content)
    header = next(chunks)
    first_byte = time.perf_counter()
    size, rows = len(header), 0
    first_row = None
    for chunk in chunks:
        if first_row is None:
            first_row = time.perf_counter()
        size += len(chunk)
        rows += 1
    done = time.perf_counter()
    response.close()
    first_row = first_row or done

    def ms(moment: float) -> float:
        return (moment - started) * 1000

    return ms(first_byte), ms(first_row), ms(done), rows, size


def measure(client: Client, url: str) -> Download:
    """Median timings of RUNS downloads (after one warm-up), then one counted and one
    traced download for the queries and the memory peak."""
    _download(client, url)
    samples = [_download(client, url) for _ in range(RUNS)]
    queries = _QueryCounter()
    with connection.execute_wrapper(queries):
        _download(client, url)
    tracemalloc.start()
    try:
        _download(client, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Download(
        first_byte_ms=statistics.median(s[0] for s in samples),
        first_row_ms=statistics.median(s[1] for s in samples),
        total_ms=statistics.median(s[2] for s in samples),
        rows=samples[0][3],
        megabytes=samples[0][4] / 1_000_000,
        queries=queries.count,
        peak_mib=peak / 2**20,
    )


def _cases() -> list[tuple[str, str]]:
    invoices = reverse("invoicing:invoice_export")
    return [
        ("invoices, all (status=all)", f"{invoices}?status=all"),
        ("invoices, the list's default (live)", invoices),
        ("payments with allocations", reverse("invoicing:payment_export")),
    ]


def _measure_all(client: Client, out, label: str) -> dict[str, Download]:
    figures = {}
    for name, url in _cases():
        out.write(f"  {label}: {name}\n")
        figures[name] = measure(client, url)
    return figures


def _counts() -> dict[str, int]:
    return {
        "invoices": Invoice.objects.count(),
        "lines": InvoiceLine.objects.count(),
        "payments": Remittance.objects.count(),
        "allocations": RemittanceAllocation.objects.count(),
    }


def run(out) -> str:
    """Seed at 1x, measure, seed to 10x, measure; return the markdown section."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The exports benchmark runs on PostgreSQL only.")
    rng = random.Random(20261212)
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        small_invoices = SMALL_AGENTS * INVOICES_PER_AGENT
        out.write(f"Seeding {small_invoices:,} invoices...\n")
        seeded = seed(agents=SMALL_AGENTS, first_agent=1, rng=rng)
        _label_lines()
        small_counts = _counts()
        client = _client()
        out.write("Measuring the small set...\n")
        small = _measure_all(client, out, "small")
        more = SMALL_AGENTS * (LARGE_FACTOR - 1)
        out.write(f"Seeding {more * INVOICES_PER_AGENT:,} more invoices...\n")
        seeded_more = seed(agents=more, first_agent=SMALL_AGENTS + 1, rng=rng)
        _label_lines()
        large_counts = _counts()
        out.write("Measuring the large set...\n")
        large = _measure_all(client, out, "large")
    seconds = seeded["seconds"] + seeded_more["seconds"]
    return _report(small_counts, large_counts, small, large, seconds)


# --- report ----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _report(small_counts, large_counts, small, large, seconds) -> str:
    lines = [
        "## Bookkeeping exports (`/invoices/export.csv`, `/invoices/payments/export.csv`)",
        "",
        "### Data",
        "",
        "| data set | invoices | lines | payments | allocations |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, counts in (("small", small_counts), ("large", large_counts)):
        lines.append(
            f"| {label} | {counts['invoices']:,} | {counts['lines']:,} | "
            f"{counts['payments']:,} | {counts['allocations']:,} |"
        )
    lines += [
        "",
        "The aging benchmark's data (`benchmarks.aging.seed`, one ticket per invoice, two "
        "years of history, most invoices paid by a remittance with its allocation), every "
        f"line given a claim number; seeding took {seconds:.0f} s. Each download goes "
        "through the Django test client and is consumed chunk by chunk as a browser "
        "would; times are medians of "
        f"{RUNS} runs after a warm-up. First byte: the header line, which leaves before "
        "any query; first row: the first invoice or payment line, after the rows' query "
        "and the first chunk's second query. Memory is tracemalloc's peak of Python "
        "allocations during one more download (a separate run: tracing slows Python down).",
        "",
        "### Results",
        "",
        "| export | data set | rows | size | first byte | first row | total | queries "
        "| peak memory |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in small:
        for label, figures in (("small", small[name]), ("large", large[name])):
            lines.append(
                f"| {name} | {label} | {figures.rows:,} | {figures.megabytes:.1f} MB | "
                f"{figures.first_byte_ms:.1f} ms | {figures.first_row_ms:.0f} ms | "
                f"{figures.total_ms:,.0f} ms | "
                f"{figures.queries} | {figures.peak_mib:.1f} MiB |"
            )
    lines += ["", "### Targets", ""]
    for name in small:
        first = large[name].first_row_ms
        growth = large[name].peak_mib / small[name].peak_mib
        lines.append(
            f"- {name}: first data row under {FIRST_BYTE_TARGET_MS} ms at "
            f"{large[name].rows:,} rows {_verdict(first < FIRST_BYTE_TARGET_MS)} "
            f"({first:.0f} ms); memory flat from small to large (peak grows at most "
            f"{MEMORY_GROWTH_TARGET}x) {_verdict(growth <= MEMORY_GROWTH_TARGET)} "
            f"({small[name].peak_mib:.1f} → {large[name].peak_mib:.1f} MiB, {growth:.2f}x)."
        )
    lines += [
        "",
        "Queries: one streamed query for the rows (a server-side cursor), and one per "
        "2,000 rows for what they list (an invoice's references, a payment's "
        "allocations), plus the session, the user and the filter form's payer choices; "
        "so the count grows with the chunks, never per row.",
        "",
        "Where the first row's time goes: PostgreSQL sorts every matching row in the "
        "list's order (issue date, newest first; payments by received date) before it "
        "returns the first one. The indexes `invoice_list_order` and "
        "`remittance_received_order` serve that order, but with the joins to the payer the "
        "planner still prefers a hash join and a full sort for the whole result (a "
        "server-side cursor is planned for its first 10 % of rows, cursor_tuple_fraction). "
        "Not tried yet: a lower cursor_tuple_fraction for the export, or reading ids in "
        "index order and the payers per chunk.",
    ]
    return "\n".join(lines) + "\n"
