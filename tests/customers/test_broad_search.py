"""A lookup that matches more than the count cap ("@example.org") reads one page in index
order instead of sorting every match; it finds the same customers in the same
case-insensitive name order."""

import pytest
from django.db import connection

from core import paging
from customers import views
from customers.models import Customer
from tests.conftest import ON_POSTGRES
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = "/customers/"


@pytest.fixture
def many_at_one_domain():
    names = [("ann", "Zed"), ("Bo", "adams"), ("Cy", "Lee"), ("Di", "lee"), ("Ed", "Moss")]
    for first, last in names:
        CustomerFactory(first_name=first, last_name=last, email=f"{first}@example.org")
    CustomerFactory(first_name="Flo", last_name="Other", email="flo@elsewhere.example")


def _pks(queryset) -> list[int]:
    return list(queryset.values_list("pk", flat=True))


def test_a_broad_search_finds_the_same_customers_in_the_same_order(many_at_one_domain):
    for q in ["@example.org", "lee", "le", "zzqx", "ann zed", "e"]:
        narrow = Customer.objects.search(q)
        assert _pks(Customer.objects.search(q, broad=True)) == _pks(narrow), q


def test_a_search_past_the_cap_lists_its_first_page_by_name(
    front_desk_client, many_at_one_domain, monkeypatch
):
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    response = front_desk_client.get(URL, {"q": "@example.org"})
    assert response.context["page_obj"].paginator.is_capped
    assert [c.last_name for c in response.context["customers"]] == ["adams", "Lee"]
    assert "of more than 3 customers" in response.content.decode()


def test_a_search_under_the_cap_keeps_the_case_insensitive_name_order(
    front_desk_client, many_at_one_domain
):
    response = front_desk_client.get(URL, {"q": "@example.org"})
    names = [c.last_name for c in response.context["customers"]]
    assert names == ["adams", "Lee", "lee", "Moss", "Zed"]


def test_a_broad_search_page_is_the_same_number_of_queries(
    front_desk_client, many_at_one_domain, monkeypatch, htmx_headers, django_assert_max_num_queries
):
    monkeypatch.setattr(paging, "COUNT_CAP", 3)
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    # user, permissions, capped count, one page (session: the cache)
    with django_assert_max_num_queries(4):
        response = front_desk_client.get(URL, {"q": "@example.org"}, headers=htmx_headers)
    assert len(response.context["customers"]) == 2


@pytest.mark.skipif(not ON_POSTGRES, reason="plans are PostgreSQL's")
def test_a_broad_search_can_walk_the_upper_name_index():
    sql, params = Customer.objects.search("@example.org", broad=True)[:25].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # a tiny table: ask which index serves
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_upper_name_order" in plan
