"""Benchmark of the aging report (`/reports/aging/`, run by `make bench` on PostgreSQL).

Seeds 1,000 billing agents with 100 invoices each (100,000 invoices, two years of
history: most old invoices paid by a remittance with its allocation, some partly paid,
written off or paid and then voided; some agents hold credit), then measures the page as
of today (stored balances) and as of 30 days ago (balances rebuilt from the dated
payments, write-offs and voids), sorted by total and by name; then the same at 4x the
agents (4,000 agents, 400,000 invoices).

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for progress lines
and a freshly migrated throwaway database, and returns a markdown section.
"""

import os
import random
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.timing import measure_get
from billing_agents.models import BillingAgent
from core.roles import BILLING
from customers.models import Customer
from invoicing.aging import aging_rows, aging_totals
from invoicing.models import (
    BALANCE,
    Account,
    CreditKind,
    CreditTransaction,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceWriteOff,
    Remittance,
    RemittanceAllocation,
)
from tickets.models import Location, PaymentKind, PaymentMethod, Ticket, TicketItem, TicketPayment
from tickets.totals import Line, compute_totals, stored_figures
from tickets.transitions import Kind, Status

# BENCH_AGENTS lets a quick smoke run use fewer agents; the report shows the real counts.
AGENTS = int(os.environ.get("BENCH_AGENTS", "1000"))
INVOICES_PER_AGENT = 100
HISTORY_DAYS = 730
PAGE_URL = "/reports/aging/"
RUNS = 9
PAST_RUNS = 5
PAST_DAYS = 30
PRICES = [Decimal(p) for p in ("45.50", "89.00", "129.00", "185.25", "240.00", "612.80")]
TERMS = [15, 30, 30, 30, 45, 60]
WORDS = ["Harbor", "Summit", "Lakeside", "Pioneer", "Atlas", "Crescent", "Metro", "Bayview"]
KINDS = ["Insurance", "Schools", "Property", "Logistics", "Medical", "Realty", "Staffing"]


# --- seeding ---------------------------------------------------------------------------


def _outcome(rng: random.Random, days_past_due: int) -> str:
    """How an invoice ended, by how long ago it fell due: the older, the likelier paid."""
    if days_past_due < 0:
        weights = {"open": 60, "paid": 30, "partial": 10}
    elif days_past_due <= 30:
        weights = {"open": 30, "paid": 55, "partial": 10, "voided": 5}
    elif days_past_due <= 90:
        weights = {"open": 10, "paid": 80, "partial": 5, "voided": 3, "written_off": 2}
    else:
        weights = {"open": 2, "paid": 93, "partial": 1, "voided": 1, "written_off": 3}
    kinds, chances = zip(*weights.items(), strict=True)
    return rng.choices(kinds, chances)[0]


def _ticket_figures(price: Decimal, paid: Decimal) -> dict:
    totals = compute_totals(
        lines=[Line(Decimal(1), price, False)],
        discount_type="amount",
        discount_value=Decimal(0),
        tax_rate_percent=Decimal(0),
        payments=[paid] if paid else [],
    )
    return stored_figures(totals)


def _aware(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


def seed(*, agents: int, first_agent: int, rng: random.Random) -> dict:
    """Add `agents` agents with their invoices, payments, write-offs and credit."""
    started = time.perf_counter()
    location, _ = Location.objects.get_or_create(
        name="Downtown", defaults={"tax_rate_percent": Decimal("0")}
    )
    today = timezone.localdate()
    now = timezone.now()
    counts = dict.fromkeys(
        ("agents", "invoices", "owing", "remittances", "voided", "write_offs", "credit"), 0
    )
    for start in range(first_agent, first_agent + agents, 100):
        with transaction.atomic():
            batch = BillingAgent.objects.bulk_create(
                [
                    BillingAgent(
                        company_name=f"{rng.choice(WORDS)} {rng.choice(KINDS)} {i:05d}",
                        email=f"ap{i}@agent{i}.example",
                        net_terms_days=rng.choice(TERMS),
                    )
                    for i in range(start, min(start + 100, first_agent + agents))
                ]
            )
            customers = Customer.objects.bulk_create(
                [
                    Customer(first_name="Pat", last_name=f"Client {a.pk}", billing_agent=a)
                    for a in batch
                ]
            )
            accounts = Account.objects.bulk_create([Account(billing_agent=a) for a in batch])
            plans = []
            for agent, customer, account in zip(batch, customers, accounts, strict=True):
                # A few agents keep their books clean: everything paid, often with credit left.
                settled = rng.random() < 0.03
                for _ in range(INVOICES_PER_AGENT):
                    issued = today - timedelta(days=rng.randrange(HISTORY_DAYS))
                    due = issued + timedelta(days=agent.net_terms_days)
                    outcome = "paid" if settled else _outcome(rng, (today - due).days)
                    price = rng.choice(PRICES)
                    received = min(today, issued + timedelta(days=rng.randrange(3, 50)))
                    plans.append((agent, customer, account, issued, due, outcome, price, received))
            tickets, invoices, lines = [], [], []
            for agent, customer, account, issued, due, outcome, price, _ in plans:
                paid = {"paid": price, "partial": (price / 2).quantize(Decimal("0.01"))}.get(
                    outcome, Decimal(0)
                )
                closed = outcome in ("paid", "written_off")
                tickets.append(
                    Ticket(
                        kind=Kind.REPAIR,
                        status=Status.CLOSED if closed else Status.INVOICED,
                        location=location,
                        customer=customer,
                        billing_agent=agent,
                        device="Phone",
                        **_ticket_figures(price, paid),
                    )
                )
                invoices.append(
                    Invoice(
                        account=account,
                        issue_date=issued,
                        due_date=due,
                        total=price,
                        amount_paid=paid,
                        written_off=price if outcome == "written_off" else Decimal(0),
                        status={
                            "paid": InvoiceStatus.PAID,
                            "written_off": InvoiceStatus.WRITTEN_OFF,
                        }.get(outcome, InvoiceStatus.OPEN),
                    )
                )
            Ticket.objects.bulk_create(tickets, batch_size=5000)
            TicketItem.objects.bulk_create(
                [
                    TicketItem(ticket=t, description="Repair", unit_price=t.subtotal, taxable=False)
                    for t in tickets
                ],
                batch_size=5000,
            )
            Invoice.objects.bulk_create(invoices, batch_size=5000)
            lines = InvoiceLine.objects.bulk_create(
                [
                    InvoiceLine(
                        invoice=i,
                        ticket=t,
                        amount=i.total,
                        ticket_total=i.total,
                        amount_paid=i.amount_paid,
                    )
                    for i, t in zip(invoices, tickets, strict=True)
                ],
                batch_size=5000,
            )
            # Payments: one remittance per paid invoice (a voided one for "voided"), each
            # with its ticket payment and allocation, dated when it was received.
            remittances, payments, shares = [], [], []
            write_offs = []
            for plan, invoice, line, ticket in zip(plans, invoices, lines, tickets, strict=True):
                outcome, received = plan[5], plan[7]
                if outcome == "written_off":
                    write_offs.append(
                        InvoiceWriteOff(
                            invoice=invoice,
                            amount=invoice.total,
                            reason="Uncollectable",
                            created_at=_aware(min(today, invoice.due_date + timedelta(days=95))),
                        )
                    )
                    continue
                if outcome not in ("paid", "partial", "voided"):
                    continue
                voided = outcome == "voided"
                amount = invoice.total if voided else invoice.amount_paid
                remittances.append(
                    Remittance(
                        account=invoice.account,
                        invoice=invoice,
                        amount=amount,
                        method=PaymentMethod.ACH,
                        reference=f"ACH {invoice.pk}",
                        received_on=received,
                        voided_at=_aware(min(today, received + timedelta(days=7)))
                        if voided
                        else None,
                        void_reason="Bounced" if voided else "",
                    )
                )
                payments.append(
                    TicketPayment(
                        ticket=ticket,
                        kind=PaymentKind.REMITTANCE,
                        amount=amount,
                        method=PaymentMethod.ACH,
                    )
                )
                shares.append((line, amount))
                counts["voided"] += voided
            Remittance.objects.bulk_create(remittances, batch_size=5000)
            TicketPayment.objects.bulk_create(payments, batch_size=5000)
            TicketPayment.objects.bulk_create(
                [
                    TicketPayment(
                        ticket_id=p.ticket_id,
                        kind=PaymentKind.REVERSAL,
                        amount=-p.amount,
                        method=p.method,
                        reverses=p,
                        reason="Bounced",
                    )
                    for p, r in zip(payments, remittances, strict=True)
                    if r.voided_at
                ],
                batch_size=5000,
            )
            RemittanceAllocation.objects.bulk_create(
                [
                    RemittanceAllocation(remittance=r, invoice_line=line, payment=p, amount=amount)
                    for r, p, (line, amount) in zip(remittances, payments, shares, strict=True)
                ],
                batch_size=5000,
            )
            InvoiceWriteOff.objects.bulk_create(write_offs, batch_size=5000)
            credit = [
                CreditTransaction(
                    account=account,
                    kind=CreditKind.OVERPAYMENT,
                    amount=amount,
                    balance_after=amount,
                    effective_on=today - timedelta(days=rng.randrange(300)),
                    created_at=now,
                )
                for account in accounts
                if rng.random() < 0.15
                for amount in [Decimal(rng.randrange(1000, 25000)) / 100]
            ]
            CreditTransaction.objects.bulk_create(credit)
        counts["agents"] += len(batch)
        counts["invoices"] += len(invoices)
        counts["remittances"] += len(remittances)
        counts["write_offs"] += len(write_offs)
        counts["credit"] += len(credit)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    counts["owing"] = Invoice.objects.owing_as_of(today).count()
    counts["seconds"] = time.perf_counter() - started
    return counts


# --- measuring -------------------------------------------------------------------------


def _client() -> Client:
    user = get_user_model().objects.create_user("bench-billing")
    user.groups.add(Group.objects.get(name=BILLING))
    client = Client()
    client.force_login(user)
    return client


def _cases(today: date) -> list[tuple[str, str, dict, int]]:
    """(label, url, params, runs) of what is timed."""
    past = (today - timedelta(days=PAST_DAYS)).isoformat()
    return [
        ("today, by total due (default)", PAGE_URL, {}, RUNS),
        ("today, by payer", PAGE_URL, {"sort": "name"}, RUNS),
        ("today, search “harbor”", PAGE_URL, {"q": "harbor"}, RUNS),
        (f"{PAST_DAYS} days ago, by total due", PAGE_URL, {"as_of": past}, PAST_RUNS),
        (
            f"{PAST_DAYS} days ago, by oldest due, page 2",
            PAGE_URL,
            {"as_of": past, "sort": "oldest", "page": "2"},
            PAST_RUNS,
        ),
        ("agent manage page, by company (default)", "/billing-agents/", {}, RUNS),
        ("agent manage page, by overdue", "/billing-agents/", {"sort": "-overdue"}, RUNS),
    ]


def _set_jit(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET jit = {value}")


def measure(client: Client, out, label: str) -> dict:
    """Each case with the server's JIT setting; the report's cases again with JIT off."""
    figures = {}
    today = timezone.localdate()
    for name, url, params, runs in _cases(today):
        out.write(f"  {label}: {name}\n")
        figures[name] = measure_get(client, url, params, runs=runs)
        if url == PAGE_URL:
            _set_jit("off")
            try:
                figures[f"{name}, JIT off"] = measure_get(client, url, params, runs=runs)
            finally:
                _set_jit("default")
    return figures


def check_figures() -> dict:
    """The report's totals against plain sums over the invoices (today: stored balances;
    a past day: Invoice.objects.owing_as_of without the report's narrowing)."""
    today = timezone.localdate()
    past = today - timedelta(days=PAST_DAYS)
    checks = {}
    for day in (today, past):
        expected = Invoice.objects.owing_as_of(day).aggregate(s=Sum("balance_as_of"))["s"]
        got = aging_totals(day)["total"]
        if got != expected:
            raise AssertionError(f"Aging total as of {day} is {got}, the invoices say {expected}")
        checks[day] = got
    stored = Invoice.objects.unpaid().aggregate(s=Sum(BALANCE))["s"]
    if checks[today] != stored:
        raise AssertionError(f"Aging total today {checks[today]} != stored balances {stored}")
    rows = aging_rows(today).count()
    if rows != aging_totals(today)["accounts"]:
        raise AssertionError("The totals row counts other accounts than the rows")
    return checks


def _jit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


def run(out) -> str:
    """Seed, check, measure at 1x and 4x and return the markdown section."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The aging benchmark runs on PostgreSQL only.")
    rng = random.Random(20261201)
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        out.write(f"Seeding {AGENTS:,} agents x {INVOICES_PER_AGENT} invoices (1x)...\n")
        seeded = seed(agents=AGENTS, first_agent=1, rng=rng)
        out.write(f"  seeded in {seeded['seconds']:.0f} s\n")
        checked = check_figures()
        client = _client()
        out.write("Measuring 1x...\n")
        one = measure(client, out, "1x")
        out.write(f"Seeding {AGENTS * 3:,} more agents (to 4x)...\n")
        seeded4 = seed(agents=AGENTS * 3, first_agent=AGENTS + 1, rng=rng)
        out.write(f"  seeded in {seeded4['seconds']:.0f} s\n")
        checked4 = check_figures()
        out.write("Measuring 4x...\n")
        four = measure(client, out, "4x")
        jit = _jit()
    return _report(seeded, seeded4, checked, checked4, one, four, jit)


# --- report ----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _report(seeded, seeded4, checked, checked4, one, four, jit) -> str:
    total4 = {k: seeded[k] + seeded4[k] for k in seeded if k != "seconds"}
    lines = [
        "## Aging report (`/reports/aging/`)",
        "",
        "### Data",
        "",
        "| data set | agents | invoices | owing today | remittances | of them voided | "
        "write-offs | credit rows | seeding time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, counts, seconds in [
        ("1x", seeded, f"{seeded['seconds']:.0f} s"),
        ("4x", {**total4, "owing": seeded4["owing"]}, f"+{seeded4['seconds']:.0f} s"),
    ]:
        lines.append(
            f"| {label} | {counts['agents']:,} | {counts['invoices']:,} | {counts['owing']:,} | "
            f"{counts['remittances']:,} | {counts['voided']:,} | {counts['write_offs']:,} | "
            f"{counts['credit']:,} | {seconds} |"
        )
    lines += [
        "",
        f"{INVOICES_PER_AGENT} invoices per agent (one ticket each), issued over the last "
        f"{HISTORY_DAYS} days with 15 to 60 days' terms; the older an invoice, the likelier "
        "it is paid (a remittance with its ticket payment and allocation, dated when it "
        "arrived), partly paid, written off, or paid and then voided (the void a week "
        "later); 15 % of agents hold some credit (an overpayment row), 3 % owe nothing. "
        "Seeding uses `bulk_create` and ends with `VACUUM ANALYZE`. Before timing, the "
        "report's grand total was checked against plain sums: as of today "
        f"{checked[max(checked)]:,} (1x) / {checked4[max(checked4)]:,} (4x) = the stored "
        "balances of the open invoices; as of "
        f"{PAST_DAYS} days ago {checked[min(checked)]:,} / {checked4[min(checked4)]:,} = "
        "`Invoice.objects.owing_as_of(day)` summed without the report's narrowing.",
        "",
        "### Results (median milliseconds of the whole request through the Django test "
        "client; SQL = time in its queries)",
        "",
        f"PostgreSQL's `jit` setting here: `{jit}`. The report's rows are measured twice: "
        "with the server's setting, and with `SET jit = off` on the connection.",
        "",
        "| case | queries | 1x | 1x SQL | 4x | 4x SQL | 4x / 1x |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, first in one.items():
        fourth = four[name]
        lines.append(
            f"| {name} | {first.queries} / {fourth.queries} | {first.median_ms:.1f} | "
            f"{first.sql_ms:.1f} | {fourth.median_ms:.1f} | {fourth.sql_ms:.1f} | "
            f"{fourth.median_ms / first.median_ms:.2f}x |"
        )
    lines += ["", "### Targets", ""]
    same = all(one[n].queries == four[n].queries for n in one)
    lines.append(
        f"- A fixed number of queries per page whatever the accounts: {_verdict(same)} "
        f"({', '.join(sorted({str(f.queries) for f in one.values()}))} queries)."
    )
    for name in one:
        scale = four[name].median_ms / one[name].median_ms
        lines.append(f"- {name}: 4x / 1x ≤ 1.3 {_verdict(scale <= 1.3)} ({scale:.2f}x).")
    lines += [
        "",
        "### Why 4x / 1x ≤ 1.3 is out of reach for the report",
        "",
        "- The totals row covers every matching account, and every sort orders all "
        "accounts by a figure (total due, a bucket, credit, oldest due date): the database "
        "must read every invoice that owes something on the day, whatever the page, so the "
        "work grows with the owing invoices: 4x the agents is 4x the owing invoices. As of "
        "today that is an index read of the open invoices (the stored balance); on a past "
        "day each candidate invoice's balance is rebuilt from its dated payments and "
        "write-offs. The page itself (one grouped query, its accounts, two totals queries) "
        "stays at a fixed number of queries. Only figures kept per account as invoices "
        "change (a stored aging per account and day) would make it flat; not done here.",
        "- PostgreSQL's JIT compiler (on by default when the server has it) can cost more "
        "than the query itself: on a past day the planner's estimate for the correlated "
        "balance subqueries crosses `jit_above_cost`, and at 4x so does today's grouped "
        "query; compiling this many expressions takes longer than running them (compare "
        "the JIT-off rows). Turning JIT off for the application's connections (`OPTIONS: "
        "{'options': '-c jit=off'}` in DATABASES) is the usual fix for an OLTP application; "
        "it is a settings decision, not made here.",
    ]
    return "\n".join(lines) + "\n"
