"""List pages build their row links without a reverse() per row (core.links.row_url): the
number of URL reversals of a page does not grow with its rows."""

import pytest
from django.urls.resolvers import URLResolver
from django.utils import timezone

from tests.factories import BillingAgentFactory, CustomerFactory, InvoiceFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reversals(monkeypatch):
    calls = []
    original = URLResolver._reverse_with_prefix

    def counting(self, lookup_view, _prefix, *args, **kwargs):
        calls.append(lookup_view)
        return original(self, lookup_view, _prefix, *args, **kwargs)

    monkeypatch.setattr(URLResolver, "_reverse_with_prefix", counting)
    return calls


def _agent(*, active: bool):
    if active:
        return BillingAgentFactory()
    return BillingAgentFactory(is_active=False, deactivated_at=timezone.now())


def _reversals_of(client, url, reversals) -> int:
    client.get(url)  # the first request fills core.links' cache
    reversals.clear()
    assert client.get(url).status_code == 200
    return len(reversals)


def _grows(client, url, reversals, add_rows) -> tuple[int, int]:
    add_rows(2)
    few = _reversals_of(client, url, reversals)
    add_rows(10)
    return few, _reversals_of(client, url, reversals)


def test_the_manage_page_reverses_no_url_per_row(manager_client, reversals):
    few, many = _grows(
        manager_client,
        "/billing-agents/?status=all",
        reversals,
        lambda n: [_agent(active=bool(i % 2)) for i in range(n)],
    )
    assert few == many


def test_the_customer_list_reverses_no_url_per_row(front_desk_client, reversals):
    few, many = _grows(
        front_desk_client, "/customers/", reversals, lambda n: CustomerFactory.create_batch(n)
    )
    assert few == many


def test_the_ticket_list_reverses_no_url_per_row(front_desk_client, reversals):
    few, many = _grows(
        front_desk_client, "/tickets/", reversals, lambda n: TicketFactory.create_batch(n)
    )
    assert few == many


def test_the_invoice_list_reverses_no_url_per_row(manager_client, reversals):
    def invoices(n):
        for _ in range(n):
            InvoiceFactory(billing_agent=BillingAgentFactory())

    few, many = _grows(manager_client, "/invoices/", reversals, invoices)
    assert few == many
