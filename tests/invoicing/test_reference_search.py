"""The invoice list finds an invoice by a line's payer reference (claim or PO number):
exact or by its start, in any case; the reference is the one the invoice line copied."""

import pytest
from django.urls import reverse

from invoicing import services
from invoicing.accounts import account_for
from invoicing.models import Invoice
from tests.factories import BillingAgentFactory, waiting_ticket

pytestmark = pytest.mark.django_db

LIST_URL = reverse("invoicing:invoice_list")


@pytest.fixture
def insurer():
    return BillingAgentFactory(company_name="Harbor Insurance", reference_label="Claim #")


def _invoice(agent, *references: str, by=None) -> Invoice:
    tickets = [waiting_ticket(agent, payer_reference=reference) for reference in references]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=by
    )
    return invoice


@pytest.mark.parametrize("text", ["CLM-2024-0042", "clm-2024-0042", "CLM-2024", "clm"])
def test_search_finds_the_invoice_by_a_line_reference_exact_or_prefix(insurer, text):
    found = _invoice(insurer, "PO-1", "CLM-2024-0042")
    other = _invoice(insurer, "PO-77")

    invoices = list(Invoice.objects.search(text))

    assert found in invoices
    assert other not in invoices


def test_search_does_not_match_inside_a_reference(insurer):
    _invoice(insurer, "HARBOR-CLAIM-QQ")

    assert not Invoice.objects.search("claim-qq").exists()


def test_an_invoice_with_two_matching_lines_is_listed_once(insurer):
    invoice = _invoice(insurer, "CLM-1", "CLM-2")

    assert list(Invoice.objects.search("CLM")) == [invoice]


def test_search_reads_the_reference_the_line_copied(insurer):
    invoice = _invoice(insurer, "CLM-OLD")
    # The ticket is invoiced (locked); only a change behind the UI's back could differ.
    ticket = invoice.lines.get().ticket
    ticket.payer_reference = "CLM-NEW"
    ticket.save()

    assert list(Invoice.objects.search("CLM-OLD")) == [invoice]
    assert not Invoice.objects.search("CLM-NEW").exists()


def test_list_page_finds_the_invoice_by_reference_full_page_and_partial(
    billing_client, insurer, htmx_headers
):
    found = _invoice(insurer, "CLM-2024-0042")
    other = _invoice(insurer, "PO-77")

    page = billing_client.get(LIST_URL, {"q": "clm-2024"})
    assert list(page.context["invoices"]) == [found]
    partial = billing_client.get(LIST_URL, {"q": "clm-2024"}, headers=htmx_headers)
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="invoice-table"')
    assert found.number in html and other.number not in html


def test_reference_search_keeps_the_other_matches(insurer):
    agent = BillingAgentFactory(company_name="CLM Holdings")
    by_name = _invoice(agent, "")
    by_reference = _invoice(insurer, "CLM-5")

    assert set(Invoice.objects.search("CLM")) == {by_name, by_reference}


def test_list_query_count_with_a_reference_search_is_fixed(
    billing_client, insurer, django_assert_max_num_queries
):
    for _ in range(3):
        _invoice(insurer, "CLM-1", "CLM-2")
    with django_assert_max_num_queries(12) as few:
        billing_client.get(LIST_URL, {"q": "CLM"})
    for _ in range(6):
        _invoice(insurer, "CLM-3")
    with django_assert_max_num_queries(len(few.captured_queries)):
        billing_client.get(LIST_URL, {"q": "CLM"})
