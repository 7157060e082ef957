"""The statement of account as a PDF (statements/documents.py): the page's printable body,
downloadable for an agent and for a customer billed directly."""

import io
from urllib.parse import urlencode

import pypdf
import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from core.models import Letterhead
from core.plans import PLAN_REQUIRED_MESSAGE
from statements.documents import statement_context, statement_filename, statement_pdf
from statements.statements import build_statement, last_full_month
from tests.factories import CustomerFactory
from tests.statements.conftest import History, days_ago

pytestmark = pytest.mark.django_db


def pdf_text(body: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(body))
    return " ".join(page.extract_text() for page in reader.pages).replace("\n", " ")


def pdf_url(agent, **params) -> str:
    url = reverse("statements:agent_statement_pdf", args=[agent.pk])
    return f"{url}?{urlencode(params)}" if params else url


def period(start, end) -> dict:
    return {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}


@pytest.fixture
def month(history):
    """An invoice and a part payment in the last 30 days."""
    invoice = history.invoice(days_ago(25), "100.00", "50.00")
    history.pay(invoice, "60.00", days_ago(20), reference="CHQ 881")
    return invoice


def test_statement_pdf_shows_the_payer_lines_and_closing_balance(billing_client, agent, month):
    Letterhead.objects.create(
        pk=Letterhead.SINGLETON_ID,
        name="Fixers & Co",
        tax_number="EIN 12-3456789",
        remit_to="Cheques to Fixers & Co",
    )
    response = billing_client.get(pdf_url(agent, **period(days_ago(30), days_ago(1))))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    start, end = f"{days_ago(30):%Y-%m-%d}", f"{days_ago(1):%Y-%m-%d}"
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-harbor-insurance-{start}-{end}.pdf"'
    )
    text = pdf_text(response.content)
    assert "STATEMENT OF ACCOUNT" in text and f"{start} to {end}" in text
    assert "Harbor Insurance" in text and "Attn: Lee Park" in text and "1 Quay Street" in text
    assert month.number in text and "CHQ 881" in text
    assert "Closing balance" in text and "$90.00" in text
    assert "Fixers & Co" in text and "EIN 12-3456789" in text and "Cheques to Fixers & Co" in text


def test_the_page_and_the_pdf_share_one_body(billing_client, agent, month):
    start, end = days_ago(30), days_ago(1)
    statement = build_statement(account=month.account, start=start, end=end)
    body = render_to_string(
        "statements/includes/statement_document.html", statement_context(statement)
    )
    page = billing_client.get(
        reverse("statements:agent_statement", args=[agent.pk]), period(start, end)
    ).text
    assert "data-closing>$90.00<" in body and "data-closing>$90.00<" in page
    assert page.count('aria-label="Statement of account"') == 1
    # The page offers the PDF of the period it shows.
    assert f"{pdf_url(agent)}?start={start:%Y-%m-%d}&amp;end={end:%Y-%m-%d}" in page
    # The PDF drops the links to the invoice pages (read away from the app).
    pdf_html = render_to_string(
        "statements/statement_pdf.html", {**statement_context(statement), "pdf": True}
    )
    assert f">{month.number}</a>" in page and f">{month.number}</a>" not in pdf_html
    assert "/static/css/print.css" in pdf_html and "<script" not in pdf_html


def test_without_a_period_the_pdf_is_last_full_month(billing_client, agent):
    start, end = last_full_month()
    response = billing_client.get(pdf_url(agent))
    assert response.status_code == 200
    assert f"{start:%Y-%m-%d}-{end:%Y-%m-%d}.pdf" in response["Content-Disposition"]
    assert "Nothing was invoiced, paid or credited in this period." in pdf_text(response.content)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-02-10", "end": "2025-02-01"}, "The end date is before the start date."),
        ({"start": "2025-13-40", "end": "2025-02-01"}, "Enter a valid date."),
        ({"start": "1990-01-01", "end": "1990-01-31"}, ""),
    ],
)
def test_a_bad_period_gets_the_page_with_the_message_not_a_pdf(
    billing_client, agent, params, message
):
    response = billing_client.get(pdf_url(agent, **params))
    assert response.status_code == 422
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()
    assert response.context["form"].errors


def test_a_customer_billed_directly_has_a_statement_pdf(billing_client, clerk):
    customer = CustomerFactory(first_name="Dana", last_name="Direct", net_terms_days=15)
    history = History(customer, by=clerk)
    invoice = history.invoice(days_ago(10), "75.00")
    url = reverse("statements:customer_statement_pdf", args=[customer.pk])
    response = billing_client.get(url, period(days_ago(30), days_ago(0)))
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "Dana Direct" in text and invoice.number in text and "$75.00" in text


def test_a_customer_without_a_statement_is_404(billing_client):
    customer = CustomerFactory()
    url = reverse("statements:customer_statement_pdf", args=[customer.pk])
    assert billing_client.get(url).status_code == 404


def test_a_missing_agent_is_404(billing_client):
    url = reverse("statements:agent_statement_pdf", args=[999999])
    assert billing_client.get(url).status_code == 404


def test_front_desk_cannot_download_a_statement(front_desk_client, agent):
    assert front_desk_client.get(pdf_url(agent)).status_code == 403


def test_the_statement_pdf_is_refused_on_essentials(billing_client, agent, settings):
    settings.SHOP_PLAN = "essentials"
    response = billing_client.get(pdf_url(agent))
    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.content.decode()


def test_statement_pdf_helper_and_filename(agent, month):
    statement = build_statement(account=month.account, start=days_ago(30), end=days_ago(1))
    body = statement_pdf(statement)
    assert body.startswith(b"%PDF")
    assert statement_filename(statement).startswith("statement-harbor-insurance-")
    assert "$90.00" in pdf_text(body)
