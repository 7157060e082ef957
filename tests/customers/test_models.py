"""Customer queries: the lookup search and the open balance."""

from decimal import Decimal

import pytest
from django.db import connection

from customers.models import Customer
from tests.factories import CustomerFactory, TicketFactory
from tickets.figures import customers_with_open_balance
from tickets.transitions import Status

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "q",
    [
        "ramírez",
        "ROSA",
        "Rosa",
        "acme",
        "555-0199",
        "0199",
        "rosa@",
        "rosa ramírez",
        "acme rosa",
    ],
)
def test_search_matches_name_company_phone_and_email(q):
    rosa = CustomerFactory(
        first_name="Rosa",
        last_name="Ramírez",
        company_name="Acme Plumbing",
        phone="555-0199",
        email="rosa@acme.example",
    )
    CustomerFactory(first_name="Bob", last_name="Stone", company_name="", phone="555-0100")
    assert list(Customer.objects.search(q)) == [rosa]


def test_search_needs_every_word():
    CustomerFactory(first_name="Rosa", last_name="Ramírez")
    assert list(Customer.objects.search("rosa stone")) == []


def test_an_empty_search_finds_everyone():
    CustomerFactory.create_batch(3)
    assert Customer.objects.search("   ").count() == 3


def test_open_balance_sums_balance_due_of_open_tickets_only():
    customer = CustomerFactory()
    TicketFactory(customer=customer, items=[("A", 1, "10.00", False)])
    TicketFactory(
        customer=customer,
        status=Status.WAITING_FOR_PAYMENT,
        items=[("B", 1, "30.00", False)],
        deposits=["5.00"],
    )
    TicketFactory(customer=customer, status=Status.CANCELLED, items=[("C", 1, "99.00", False)])
    TicketFactory(items=[("Someone else's", 1, "50.00", False)])
    other = CustomerFactory()
    balances = dict(customers_with_open_balance().values_list("pk", "open_balance"))
    assert balances[customer.pk] == Decimal("35.00")
    assert balances[other.pk] == Decimal("0.00")


@pytest.mark.postgres
def test_lookup_has_trigram_indexes_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'customers_customer' "
            "AND indexdef LIKE '%%gin_trgm_ops%%'"
        )
        names = {row[0] for row in cursor.fetchall()}
    assert names == {"customer_search_trgm"}


@pytest.mark.postgres
def test_postgresql_answers_the_lookup_from_the_trigram_indexes():
    CustomerFactory.create_batch(50)
    sql, params = Customer.objects.search("ramirez").order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_search_trgm" in plan, plan
