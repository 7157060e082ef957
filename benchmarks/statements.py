"""Benchmark of the statement of account (statements.statements.build_statement and the
page /billing-agents/<id>/statement/).

One agent with 250 invoices over the last year (1x), then a second with 1,000 (4x), each
invoice issued through invoicing.services.create_invoices on its own day and paid by one
cheque through record_remittance about three weeks later; every 10th payment is voided,
every 7th is an overpayment and every 25th invoice is written off instead of paid. The
year's statement (every invoice and payment a line) and the last full month's are timed
as medians, with their query counts.

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for progress lines
and a freshly migrated throwaway database, and returns a markdown section.
"""

import os
import statistics
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from benchmarks.timing import measure_get, samples_ms
from billing_agents.models import BillingAgent
from core.roles import MANAGER
from customers.models import Customer
from invoicing import services
from invoicing.accounts import account_for
from statements.statements import build_statement, last_full_month
from tickets.models import Location, Ticket, TicketItem
from tickets.totals import Line, compute_totals, stored_figures
from tickets.transitions import Kind, Status

# BENCH_STATEMENT_INVOICES lets a smoke run use fewer invoices; the report shows the counts.
INVOICES = int(os.environ.get("BENCH_STATEMENT_INVOICES", "250"))
SCALES = (1, 4)
RUNS = 9
PRICE = Decimal("80.00")


def _tickets(agent: BillingAgent, location: Location, count: int, created) -> list[int]:
    """Waiting-for-Payment tickets with one item (totals from compute_totals), created
    a year ago so any issue date after that is allowed."""
    customer = Customer.objects.create(first_name="Bench", last_name="Driver", billing_agent=agent)
    totals = compute_totals(
        lines=[Line(Decimal(1), PRICE, True)],
        discount_type="amount",
        discount_value=Decimal(0),
        tax_rate_percent=location.tax_rate_percent,
        payments=[],
    )
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                kind=Kind.REPAIR,
                status=Status.WAITING_FOR_PAYMENT,
                location=location,
                customer=customer,
                billing_agent=agent,
                **stored_figures(totals),
            )
            for _ in range(count)
        ]
    )
    TicketItem.objects.bulk_create(
        [TicketItem(ticket=t, description="Bench repair", unit_price=PRICE) for t in tickets]
    )
    ids = [t.pk for t in tickets]
    Ticket.objects.filter(pk__in=ids).update(created_at=created)
    return ids


def seed(*, invoices: int, name: str, user, location: Location) -> dict:
    """An agent with `invoices` invoices spread over the last year, paid through the
    services; returns the agent and what was recorded."""
    started = time.perf_counter()
    today = timezone.localdate()
    first = today - timedelta(days=364)
    agent = BillingAgent.objects.create(
        company_name=name, email="ap@bench.example", credit_hold_days=365
    )
    account = account_for(agent)
    ids = _tickets(agent, location, invoices, timezone.now() - timedelta(days=366))
    by_day: dict = {}
    for n, pk in enumerate(ids):
        by_day.setdefault(first + timedelta(days=n * 365 // invoices), []).append(pk)
    created = []
    for day, day_ids in sorted(by_day.items()):
        created += services.create_invoices(
            account=account, ticket_ids=day_ids, batch=False, issue_date=day, by=user
        )
    counts = {"payments": 0, "voids": 0, "write_offs": 0}
    for n, invoice in enumerate(created):
        if n % 25 == 24:
            services.write_off_invoice(invoice=invoice, reason="Bench", by=user)
            counts["write_offs"] += 1
            continue
        extra = Decimal("15.00") if n % 7 == 0 else Decimal(0)
        payment = services.record_remittance(
            invoice=invoice,
            amount=invoice.total + extra,
            method="cheque",
            reference=f"CHQ {n}",
            received_on=min(invoice.issue_date + timedelta(days=20), today),
            by=user,
        )
        counts["payments"] += 1
        if n % 10 == 9:
            services.void_remittance(remittance=payment, reason="Bounced", by=user)
            counts["voids"] += 1
    # Fresh statistics, as autovacuum would have them in a shop that grew this way.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "agent": agent,
        "account": account,
        "invoices": len(created),
        **counts,
        "seconds": time.perf_counter() - started,
    }


def _function_figures(account, start, end) -> dict:
    with CaptureQueriesContext(connection) as captured:
        statement = build_statement(account=account, start=start, end=end)
    timings = samples_ms(lambda: build_statement(account=account, start=start, end=end), RUNS)
    return {
        "lines": len(statement.lines),
        "queries": len(captured.captured_queries),
        "median_ms": statistics.median(timings),
    }


def _measure(client: Client, seeded: dict) -> dict:
    today = timezone.localdate()
    agent, account = seeded["agent"], seeded["account"]
    url = reverse("statements:agent_statement", args=[agent.pk])
    year = (today - timedelta(days=364), today)
    month = last_full_month(today)
    figures = {}
    for label, (start, end) in (("year", year), ("last full month", month)):
        params = {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}
        page = measure_get(client, url, params, runs=RUNS)
        figures[label] = {"page": page, "function": _function_figures(account, start, end)}
    return figures


def _client() -> Client:
    user = get_user_model().objects.create_user("bench-statements")
    user.groups.add(Group.objects.get(name=MANAGER))
    client = Client()
    client.force_login(user)
    return client


def run(out) -> str:
    """Seed 1x and 4x agents, measure their statements, return the markdown section."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The statement benchmark runs on PostgreSQL only.")
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    rows = []
    results = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        client = _client()
        user = get_user_model().objects.get(username="bench-statements")
        location = Location.objects.create(name="Bench", tax_rate_percent=Decimal("8.25"))
        for scale in SCALES:
            count = INVOICES * scale
            out.write(f"statements: seeding an agent with {count:,} invoices ({scale}x)...\n")
            seeded = seed(
                invoices=count, name=f"Bench agent {scale}x", user=user, location=location
            )
            out.write(f"  seeded in {seeded['seconds']:.0f} s\n")
            figures = _measure(client, seeded)
            results[scale] = figures
            for label, f in figures.items():
                page, function = f["page"], f["function"]
                rows.append(
                    f"| {scale}x | {seeded['invoices']:,} | {seeded['payments']:,} "
                    f"({seeded['voids']} voided) | {label} | {function['lines']:,} "
                    f"| {function['queries']} | {function['median_ms']:.1f} "
                    f"| {page.queries} | {page.median_ms:.1f} | {page.worst_ms:.1f} "
                    f"| {page.sql_ms:.1f} |"
                )
    ratios = {
        label: (
            results[4][label]["page"].median_ms / results[1][label]["page"].median_ms,
            results[4][label]["function"]["lines"] / max(results[1][label]["function"]["lines"], 1),
        )
        for label in ("year", "last full month")
    }
    return "\n".join(
        [
            "## Statement of account",
            "",
            f"One agent with {INVOICES:,} invoices in the last year (1x), then a second agent "
            f"with {INVOICES * SCALES[-1]:,} (4x) in the same database; each invoice issued "
            "through the services on its own day and paid by one cheque (every 10th voided, "
            "every 7th an overpayment, every 25th invoice written off instead). Medians of "
            f"{RUNS} runs after two warm-ups; the page through the Django test client "
            "(DEBUG off), its queries including session and permissions.",
            "",
            "| scale | invoices | payments | period | lines | function queries "
            "| function median ms | page queries | page median ms | page worst ms "
            "| page SQL ms |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            "Page time 4x / 1x: "
            + "; ".join(
                f"{label} {time_ratio:.2f} for {lines_ratio:.1f}x the lines"
                for label, (time_ratio, lines_ratio) in ratios.items()
            )
            + ". The statement shows every event of the period, so its time follows the "
            "lines; the query count does not (tests/statements/test_views.py compares two "
            "sizes). Seeding time includes `VACUUM ANALYZE`.",
            "",
        ]
    )
