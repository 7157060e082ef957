"""Benchmark of the invoicing services: invoicing 500 tickets and paying them.

`run(out)` builds fresh Waiting-for-Payment tickets for each repeat, times the services
and counts their queries, and returns a markdown section. Everything happens inside one
transaction that is rolled back at the end, so the database is left as it was.
"""

import statistics
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from benchmarks.timing import timed_ms
from billing_agents.models import BillingAgent
from customers.models import Customer
from invoicing import services
from invoicing.accounts import account_for
from tickets.models import Location, Ticket, TicketItem
from tickets.totals import Line, compute_totals, stored_figures
from tickets.transitions import Kind, Status

TICKETS = 500
REPEATS = 5


class _Rollback(Exception):
    pass


def _tickets(agent: BillingAgent, customer: Customer, location: Location, count: int) -> list:
    """Waiting-for-Payment tickets with one taxable item, totals from compute_totals."""
    price = Decimal("80.00")
    totals = compute_totals(
        lines=[Line(Decimal(1), price, True)],
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
        [TicketItem(ticket=t, description="Bench repair", unit_price=price) for t in tickets]
    )
    return tickets


def run(out) -> str:
    """Time invoice creation for 500 tickets (batch and per ticket) and one remittance
    over a 500-line invoice; return the figures as a markdown section."""
    vendor = connection.vendor
    if vendor == "postgresql":
        vendor = f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
    out.write(f"invoicing: {TICKETS} tickets, {REPEATS} repeats, on {vendor}\n")
    create_batch = f"create 1 batch invoice of {TICKETS} tickets"
    pay_all = f"remittance over {TICKETS} lines (pays all, closes the tickets, posts credit)"
    create_each = f"create {TICKETS} per-ticket invoices"
    times: dict[str, list[float]] = defaultdict(list)
    queries: dict[str, int | None] = {}

    def measure(name: str, func: Callable[[], object], *, warmup: bool):
        """Run func; the warm-up run counts queries, the others are timed."""
        if warmup:
            with CaptureQueriesContext(connection) as ctx:
                result = func()
            queries[name] = len(ctx.captured_queries)
            return result
        result, ms = timed_ms(func)
        times[name].append(ms)
        return result

    try:
        with transaction.atomic():
            user = get_user_model().objects.create(username="bench-invoicing")
            location = Location.objects.create(
                name="Bench location", tax_rate_percent=Decimal("8.25")
            )
            for repeat in range(REPEATS + 1):
                warmup = repeat == 0
                agent = BillingAgent.objects.create(
                    company_name=f"Bench agent {repeat}", email="ap@bench.example"
                )
                customer = Customer.objects.create(first_name="Bench", billing_agent=agent)
                account = account_for(agent)
                ids = [t.pk for t in _tickets(agent, customer, location, TICKETS)]
                [invoice] = measure(
                    create_batch,
                    lambda account=account, ids=ids: services.create_invoices(
                        account=account, ticket_ids=ids, batch=True, by=user
                    ),
                    warmup=warmup,
                )
                measure(
                    pay_all,
                    lambda invoice=invoice: services.record_remittance(
                        invoice=invoice,
                        amount=invoice.total + Decimal("10.00"),
                        method="cheque",
                        by=user,
                    ),
                    warmup=warmup,
                )
                ids = [t.pk for t in _tickets(agent, customer, location, TICKETS)]
                measure(
                    create_each,
                    lambda account=account, ids=ids: services.create_invoices(
                        account=account, ticket_ids=ids, batch=False, by=user
                    ),
                    warmup=warmup,
                )
                out.write(f"  repeat {repeat}{' (warm-up, counts queries)' if warmup else ''}\n")
            raise _Rollback
    except _Rollback:
        pass

    rows = []
    for name in (create_batch, pay_all, create_each):
        ms = times[name]
        rows.append(
            f"| {name} | {queries[name]} | {statistics.median(ms):.0f} | {min(ms):.0f} "
            f"| {max(ms):.0f} |"
        )
    return "\n".join(
        [
            "## Invoicing",
            "",
            f"Database: {vendor}. {TICKETS} fresh Waiting-for-Payment tickets per repeat; "
            f"{REPEATS} timed repeats after one warm-up that counts the queries; everything "
            "inside one transaction that is rolled back.",
            "",
            "| operation | queries | median ms | min ms | max ms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "The query counts do not depend on the number of tickets "
            "(tests/invoicing/test_services.py compares 10 with 500).",
            "",
        ]
    )
