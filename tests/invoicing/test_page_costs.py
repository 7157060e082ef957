"""The invoice page, print page and remittance form cost what they show: no query per
line, the print page reads no payments, and the per-line text worked out once in Python
prints exactly what the template filters printed."""

from decimal import Decimal

import pytest
from django.db import connection
from django.template import engines
from django.template.defaultfilters import floatformat
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from invoicing import services
from invoicing.accounts import account_for
from invoicing.documents import DocumentLine, quantity_text
from invoicing.models import InvoiceLine
from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, waiting_ticket

D = Decimal
pytestmark = pytest.mark.django_db
TWO_PLACES = st.decimals(min_value=0, max_value=D("99999999.99"), places=2)
# The line figures as the templates printed them before DocumentLine.figures.
OLD_FIGURES = engines["django"].from_string(
    "Subtotal {{ row.subtotal|money }}{% if row.discount %} · Discount \N{MINUS SIGN}"
    "{{ row.discount|money }}{% endif %} · Tax {{ row.tax_rate }} {{ row.tax|money }} · "
    "Ticket total {{ row.ticket_total|money }}{% if row.paid_before %} · Paid before "
    "invoicing \N{MINUS SIGN}{{ row.paid_before|money }}{% endif %}"
)


@given(quantity=st.decimals(min_value=0, max_value=D("99999999.99"), places=2))
def test_an_items_quantity_prints_as_floatformat_printed_it(quantity):
    assert quantity_text(quantity) == floatformat(quantity, "-2")


@given(
    subtotal=TWO_PLACES,
    discount=TWO_PLACES,
    tax=TWO_PLACES,
    paid_before=TWO_PLACES,
    rate=st.sampled_from([D("0"), D("8.250"), D("10.000"), D("7.125")]),
)
def test_a_lines_figures_print_as_the_template_printed_them(
    subtotal, discount, tax, paid_before, rate
):
    line = InvoiceLine(
        subtotal=subtotal,
        discount=discount,
        tax=tax,
        tax_rate_percent=rate,
        ticket_total=subtotal - discount + tax,
        paid_before=paid_before,
    )
    row = DocumentLine(line=line, items=[])
    assert row.figures == OLD_FIGURES.render({"row": row})


# --- queries ----------------------------------------------------------------------------


@pytest.fixture
def agent(db):
    return BillingAgentFactory(company_name="Harbor Insurance", reference_label="Claim #")


def _invoice(agent, count: int, by):
    location = LocationFactory(tax_rate_percent=D("8.25"))
    customer = CustomerFactory(first_name="Ada", last_name="Lovelace", billing_agent=agent)
    tickets = [
        waiting_ticket(
            agent,
            customer=customer,
            location=location,
            items=[("Screen", 1, "120.00", True), ("Labour", "1.5", "40.00", False)],
        )
        for _ in range(count)
    ]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=by
    )
    return invoice


def _get(client, name: str, invoice):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(f"invoicing:{name}", args=[invoice.pk]))
    assert response.status_code == 200
    return response, [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("name", ["invoice_detail", "invoice_print", "invoice_remittance"])
def test_each_invoice_page_reads_the_same_queries_for_2_or_15_lines(
    billing_client, billing_user, agent, name, django_assert_max_num_queries
):
    small, large = _invoice(agent, 2, billing_user), _invoice(agent, 15, billing_user)
    if name != "invoice_remittance":  # the form shows open lines: these stay open
        for invoice in (small, large):
            services.record_remittance(
                invoice=invoice, amount=D("30.00"), method="cheque", by=billing_user
            )
    billing_client.get(reverse(f"invoicing:{name}", args=[small.pk]))  # session cached
    _, few = _get(billing_client, name, small)
    with django_assert_max_num_queries(len(few)):
        _get(billing_client, name, large)


def test_the_print_page_reads_no_payments_and_no_live_tickets(billing_client, billing_user, agent):
    invoice = _invoice(agent, 3, billing_user)
    services.record_remittance(invoice=invoice, amount=D("50.00"), method="cheque", by=billing_user)
    response, queries = _get(billing_client, "invoice_print", invoice)
    assert "Screen" in response.text
    for sql in queries:
        assert "invoicing_remittance" not in sql, sql
        # The lines join their tickets only to sort; no ticket column is read.
        assert '"tickets_ticket"."status"' not in sql, sql


def test_the_invoice_page_links_each_ticket_and_its_customer(billing_client, billing_user, agent):
    invoice = _invoice(agent, 2, billing_user)
    response, _ = _get(billing_client, "invoice_detail", invoice)
    for line in InvoiceLine.objects.filter(invoice=invoice).select_related("ticket"):
        ticket_url = reverse("tickets:ticket_detail", args=[line.ticket_id])
        customer_url = reverse("customers:customer_detail", args=[line.ticket.customer_id])
        assert f'<a href="{ticket_url}">{line.ticket.number}</a>' in response.text
        assert f'<a href="{customer_url}">Ada Lovelace</a>' in response.text
        assert "<td data-ticket-status>Invoiced</td>" in response.text


def test_the_remittance_form_shows_each_lines_ticket_customer_date_and_balance(
    billing_client, billing_user, agent
):
    invoice = _invoice(agent, 2, billing_user)
    response, _ = _get(billing_client, "invoice_remittance", invoice)
    for line in InvoiceLine.objects.filter(invoice=invoice).select_related("ticket"):
        field = f"line-{line.pk}"
        assert f'<label for="id_{field}">{line.ticket.number}</label>' in response.text
        assert f'name="{field}" id="id_{field}"' in response.text
        assert f"<td>{timezone.localdate(line.ticket.created_at):%Y-%m-%d}</td>" in response.text
    assert "<td>Ada Lovelace</td>" in response.text
