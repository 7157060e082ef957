"""The invoice page's lines come worked out once in Python (invoice_page_lines): they print
exactly what the template printed when it looked every cell up through DocumentLine, an
empty cell still reads "—", and what a clerk typed stays escaped."""

from decimal import Decimal

import pytest
from django.template import engines
from django.urls import reverse

from core.money import format_money
from invoicing import services
from invoicing.accounts import account_for
from invoicing.documents import DocumentItem, DocumentLine, invoice_document, invoice_page_lines
from invoicing.models import InvoiceLine, InvoiceLineItem
from tests.factories import BillingAgentFactory, CustomerFactory, LocationFactory, waiting_ticket
from tickets.transitions import Status

D = Decimal
pytestmark = pytest.mark.django_db

# The invoice page's lines as the template printed them before invoice_page_lines.
OLD_LINES = engines["django"].from_string(
    """      {% for row in lines %}
      <tbody data-line="{{ row.ticket_number }}">
        <tr>
          <td><a href="{% row_url 'tickets:ticket_detail' row.ticket_id %}">{{ row.ticket_number }}</a></td>
          <td>{% if row.ticket_customer_id %}<a href="{% row_url 'customers:customer_detail' row.ticket_customer_id %}">{{ row.customer_name|default:"—" }}</a>{% else %}{{ row.customer_name|default:"—" }}{% endif %}</td>
          <td>{{ row.description|default:"—" }}</td>
          <td data-reference>{{ row.reference|default:"—" }}</td>
          <td data-ticket-status>{{ row.ticket_status }}</td>
          <td class="money">{{ row.amount|money }}</td>
          <td class="money">{{ row.amount_paid|money }}</td>
          <td class="money">{{ row.balance|money }}</td>
        </tr>
        <tr class="invoice-line-items">
          <td></td>
          <td colspan="7" class="pt-0">
            <table class="table table-sm table-borderless w-auto mb-1 small" aria-label="Items of {{ row.ticket_number }}">
              <thead><tr class="text-secondary"><th class="fw-normal pe-4">Item</th><th class="money fw-normal">Qty</th><th class="money fw-normal">Unit price</th><th class="money fw-normal">Amount</th></tr></thead>
              <tbody>
              {% for item in row.items %}
                <tr data-item><td class="pe-4">{{ item.description }}</td><td class="money">{{ item.quantity|floatformat:"-2" }}</td><td class="money">{{ item.unit_price|money }}</td><td class="money">{{ item.amount|money }}</td></tr>
              {% empty %}
                <tr><td colspan="4" class="text-secondary">No items.</td></tr>
              {% endfor %}
              </tbody>
            </table>
            <div class="small text-secondary mb-1" data-line-figures>{{ row.figures }} · <span class="text-body fw-semibold">Billed {{ row.amount|money }}</span></div>
          </td>
        </tr>
      </tbody>
      {% endfor %}
"""  # noqa: E501
)
HOSTILE = '<b>"Ada" & Co</b>'


@pytest.fixture
def invoice(billing_user):
    """Three lines: one with a typed name, device and reference that need escaping, a
    discount and a deposit; one paid in part; one whose snapshot has no customer name,
    words or items (its ticket still links its customer)."""
    agent = BillingAgentFactory(company_name="Harbor Insurance", reference_label="Claim #")
    location = LocationFactory(tax_rate_percent=D("8.25"))
    customer = CustomerFactory(first_name=HOSTILE, last_name="Lovelace", billing_agent=agent)
    tickets = [
        waiting_ticket(
            agent,
            customer=customer,
            location=location,
            device="<i>iPhone</i> 13",
            payer_reference="C-<1>",
            discount_type="amount",
            discount_value=D("5.00"),
            items=[("Screen <glass>", 1, "120.00", True), ("Labour", "1.5", "40.00", False)],
            deposits=["20.00"],
        ),
        waiting_ticket(agent, location=location, items=[("Battery", 2, "35.50", True)]),
        waiting_ticket(agent, location=location, items=[("Case", 1, "9.99", True)]),
    ]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets], batch=True, by=billing_user
    )
    bare = invoice.lines.get(ticket=tickets[2])
    InvoiceLine.objects.filter(pk=bare.pk).update(customer_name="", description="", reference="")
    InvoiceLineItem.objects.filter(line=bare).delete()
    services.record_remittance(
        invoice=invoice,
        amount=D("30.00"),
        method="cheque",
        by=billing_user,
        allocations={invoice.lines.get(ticket=tickets[1]).pk: D("30.00")},
    )
    return invoice


def test_the_invoice_pages_lines_print_as_the_template_printed_them(billing_client, invoice):
    response = billing_client.get(reverse("invoicing:invoice_detail", args=[invoice.pk]))
    assert response.status_code == 200
    document = invoice_document(invoice, live_tickets=True)
    old = OLD_LINES.render({"lines": document.lines})
    assert old.count("<tbody data-line=") == 3
    for shown in ("No items.", ">—</a>", "<td>—</td>", "Discount", "Paid before invoicing"):
        assert shown in old
    assert old in response.text


def test_a_typed_name_device_reference_and_item_stay_escaped(billing_client, invoice):
    response = billing_client.get(reverse("invoicing:invoice_detail", args=[invoice.pk]))
    assert "&lt;b&gt;&quot;Ada&quot; &amp; Co&lt;/b&gt; Lovelace</a>" in response.text
    assert "<td>&lt;i&gt;iPhone&lt;/i&gt; 13</td>" in response.text
    assert "<td data-reference>Claim # C-&lt;1&gt;</td>" in response.text
    assert '<td class="pe-4">Screen &lt;glass&gt;</td>' in response.text
    assert HOSTILE not in response.text


def _line(**fields) -> InvoiceLine:
    line = InvoiceLine(
        ticket_id=42,
        amount=D("1234.50"),
        amount_paid=D("234.50"),
        subtotal=D("1240.00"),
        discount=D("5.50"),
        tax=D("0"),
        tax_rate_percent=D("0"),
        ticket_total=D("1234.50"),
        paid_before=D("0"),
        **fields,
    )
    line.ticket_status = Status.INVOICED
    return line


def test_a_lines_cells_are_its_formatted_figures_and_links():
    line = _line(customer_name="Ada Lovelace", description="iPad", reference="C-1")
    line.ticket_customer_id = 7
    items = [DocumentItem("Screen", D("1.50"), D("1000.00"), D("1500.00"))]
    [row] = invoice_page_lines([DocumentLine(line=line, items=items)])
    customer_url = reverse("customers:customer_detail", args=[7])
    assert row["number"] == "T-000042"
    assert row["ticket_url"] == reverse("tickets:ticket_detail", args=[42])
    assert row["customer"] == f'<a href="{customer_url}">Ada Lovelace</a>'
    assert (row["description"], row["reference"]) == ("iPad", "Reference C-1")
    assert row["status"] == "Invoiced"
    assert (row["billed"], row["paid"], row["balance"]) == ("$1,234.50", "$234.50", "$1,000.00")
    assert row["figures"] == DocumentLine(line=line, items=[]).figures
    assert row["items"] == [
        {
            "description": "Screen",
            "quantity": "1.50",
            "unit_price": format_money(D("1000.00")),
            "amount": "$1,500.00",
        }
    ]


def test_a_line_without_customer_words_or_items_shows_dashes_and_no_customer_link():
    line = _line(customer_name="", description="", reference="")
    line.ticket_customer_id = None
    [row] = invoice_page_lines([DocumentLine(line=line, items=[])])
    assert (row["customer"], row["description"], row["reference"]) == ("—", "—", "—")
    assert row["items"] == []


def test_a_customers_name_is_escaped_inside_its_link():
    line = _line(customer_name=HOSTILE)
    line.ticket_customer_id = 7
    [row] = invoice_page_lines([DocumentLine(line=line, items=[])])
    assert "&lt;b&gt;&quot;Ada&quot; &amp; Co&lt;/b&gt;</a>" in row["customer"]
