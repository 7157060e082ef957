"""The list count costs what the page shows: capped for searches, estimated for huge tables."""

import pytest

from core import paging
from core.paging import COUNT_CAP, ShopPaginator
from customers.models import Customer
from tests.conftest import ON_POSTGRES


def _customers(count: int) -> None:
    Customer.objects.bulk_create(Customer(first_name=f"C{n}") for n in range(count))


@pytest.mark.django_db
def test_a_filtered_list_counts_exactly_up_to_the_cap():
    _customers(30)
    paginator = ShopPaginator(Customer.objects.all(), 25, filtered=True)
    assert (paginator.count, paginator.count_label, paginator.num_pages) == (30, "30", 2)
    assert not paginator.is_capped and not paginator.is_estimate


@pytest.mark.django_db
def test_a_filtered_list_past_the_cap_says_more_than(django_assert_num_queries):
    _customers(COUNT_CAP + 5)
    paginator = ShopPaginator(Customer.objects.all(), 25, filtered=True)
    with django_assert_num_queries(1):
        assert paginator.count == COUNT_CAP
    assert paginator.is_capped
    assert paginator.count_label == "more than 1,000"
    assert paginator.num_pages == COUNT_CAP // 25


@pytest.mark.django_db
def test_an_unfiltered_list_of_a_huge_table_shows_the_estimate(monkeypatch):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 50_123)
    paginator = ShopPaginator(Customer.objects.all(), 25, filtered=False)
    assert paginator.count == 50_123 and paginator.is_estimate
    assert paginator.count_label == "about 50,100"


@pytest.mark.django_db
def test_an_unfiltered_small_table_counts_exactly(monkeypatch):
    monkeypatch.setattr(paging, "estimated_rows", lambda queryset: 900)
    _customers(3)
    paginator = ShopPaginator(Customer.objects.all(), 25, filtered=False)
    assert (paginator.count, paginator.is_estimate) == (3, False)


@pytest.mark.django_db
def test_the_estimate_comes_from_postgresql_statistics_only():
    estimate = paging.estimated_rows(Customer.objects.all())
    if ON_POSTGRES:
        assert estimate is None or estimate >= 0
    else:
        assert estimate is None
