"""Benchmark of the customer lookup at 50,000 customers (PostgreSQL).

Seeds CUSTOMERS customers with bulk_create, ANALYZEs the table, then times the lookup
the clerk uses (`GET /customers/?q=...` as an htmx request, through the Django test
client, so URL routing, middleware, the queries and template rendering all count) as the
median of repeated runs, for a handful of typical searches. EXPLAIN shows which index
PostgreSQL uses for a search word.

Protocol (see benchmarks/runner.py): `run(out) -> str` gets a writer for
progress lines and a freshly migrated throwaway database, and returns a markdown section.
`python -m benchmarks --only customer_lookup` runs it on its own.
"""

import os
import random
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import override_settings

from benchmarks.timing import measure_get
from core.roles import FRONT_DESK, ensure_role_groups
from customers.models import Customer

CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "50000"))
RUNS = 21
URL = "/customers/"
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/customers/"}
# (what the clerk types, why it is interesting)
SEARCHES = [
    ("", "no search: first page of everyone"),
    ("garcia", "a common last name"),
    ("rosa mart", "two words (first name + start of last name)"),
    ("0199", "part of a phone number"),
    ("harbor", "a company"),
    ("@example.org", "an email domain (matches many)"),
    ("jo", "two letters (too short for trigrams)"),
    ("zzqx", "no match"),
]

FIRST = [
    "Rosa", "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
    "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
    "Thomas", "Sarah", "Charles", "Karen", "Lisa", "Daniel", "Nancy", "Matthew", "Betty",
    "Anthony", "Sandra", "Mark", "Ashley", "Paul", "Emily", "Steven", "Donna", "Andrew",
    "Michelle", "Joshua", "Carol", "Kenneth", "Amanda", "Kevin", "Melissa", "Brian", "Deborah",
    "George", "Laura", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Sharon", "Wei",
    "Aiko", "Olu", "Priya", "Mateo", "Sofia", "Liam", "Noah", "Ava", "Mia", "Yusuf", "Ingrid",
]  # fmt: skip
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Okafor", "Tanaka", "Kowalski",
    "Schmidt", "Novak", "Rossi", "Dubois", "Silva", "Kim", "Chen", "Patel", "Singh", "Cohen",
]  # fmt: skip
COMPANY = ["Harbor", "Summit", "Lakeside", "Pioneer", "Atlas", "Crescent", "Metro", "Bayview"]
DOMAINS = ["example.com", "example.org", "mail.example", "shop.example"]


def _seed(rng: random.Random, count: int) -> None:
    batch = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = (
            f"{rng.choice(COMPANY)} {rng.choice(['LLC', 'Inc', 'Group'])}"
            if rng.random() < 0.2
            else ""
        )
        batch.append(
            Customer(
                first_name=first,
                last_name=last,
                company_name=company,
                email=f"{first}.{last}{n}@{rng.choice(DOMAINS)}".lower(),
                phone=f"555-{rng.randrange(1000):03d}-{rng.randrange(10000):04d}",
                city="Springfield",
            )
        )
        if len(batch) == 5000:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE customers_customer" if connection.vendor == "postgresql" else "ANALYZE"
        )


def _clerk():
    ensure_role_groups()
    user, _ = get_user_model().objects.get_or_create(username="bench-clerk")
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    return user


def _time(client: Client, q: str) -> tuple[float, float, int, float]:
    """Median and worst of RUNS requests (ms), the query count and SQL time of one (ms)."""
    figures = measure_get(client, URL, {"q": q} if q else {}, runs=RUNS, headers=HTMX)
    return figures.median_ms, figures.worst_ms, figures.queries, figures.sql_ms


def _plan(q: str) -> str:
    if connection.vendor != "postgresql":
        return "(EXPLAIN shown on PostgreSQL only)"
    sql, params = Customer.objects.search(q).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def run(out) -> str:
    rng = random.Random(20261124)
    out.write(f"seeding {CUSTOMERS:,} customers ...")
    started = time.perf_counter()
    _seed(rng, CUSTOMERS)
    out.write(f"  seeded in {time.perf_counter() - started:.1f} s")
    client = Client()
    client.force_login(_clerk())
    rows = []
    hosts = [*settings.ALLOWED_HOSTS, "testserver"]
    with override_settings(DEBUG=False, ALLOWED_HOSTS=hosts):
        for q, why in SEARCHES:
            matches = Customer.objects.search(q).count()
            median, worst, queries, sql_ms = _time(client, q)
            out.write(f"  q={q!r:16} {median:7.1f} ms median ({matches:,} matches)")
            rows.append(
                f"| `{q}` | {why} | {matches:,} | {median:.1f} | {worst:.1f} | "
                f"{queries} | {sql_ms:.1f} |"
            )
    plan = _plan("garcia")
    lines = [
        "## Customer lookup",
        "",
        f"{CUSTOMERS:,} customers on {connection.vendor}; `GET {URL}?q=…` as an htmx request "
        f"(the table partial, 25 rows and the count) through the Django test client, "
        f"median and worst of {RUNS} runs after 2 warm-up runs. Queries / SQL ms: one "
        "extra request with the queries captured (session, user, count, page).",
        "",
        "| search | what | matches | median ms | worst ms | queries | SQL ms |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Plan for `garcia` (EXPLAIN ANALYZE of the search filter alone):",
        "",
        "```",
        plan,
        "```",
        "",
    ]
    return "\n".join(lines)
