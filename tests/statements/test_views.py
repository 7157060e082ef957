"""The statement pages: /billing-agents/<id>/statement/ and /customers/<id>/statement/."""

import json
import smtplib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.plans import PLAN_REQUIRED_MESSAGE
from invoicing.models import Account, DeliveryKind, DeliveryStatus, EmailDelivery
from statements.statements import last_full_month
from tests.factories import BillingAgentFactory, CustomerFactory, UserFactory
from tests.statements.conftest import History, days_ago

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}


def agent_url(agent, **query) -> str:
    return reverse("statements:agent_statement", args=[agent.pk]) + _query(query)


def email_url(agent) -> str:
    return reverse("statements:agent_statement_email", args=[agent.pk])


def _query(query: dict) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""


def period(start, end) -> dict:
    return {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}


@pytest.fixture
def month(history):
    """An invoice and a part payment in the last 30 days."""
    invoice = history.invoice(days_ago(25), "100.00", "50.00")
    history.pay(invoice, "60.00", days_ago(20), reference="CHQ 881")
    return invoice


# --- the page --------------------------------------------------------------------------


def test_statement_page_shows_payer_lines_running_balance_and_aging(
    billing_client, agent, month, settings
):
    settings.SHOP_NAME = "Fix-It Harbour"
    response = billing_client.get(agent_url(agent, **period(days_ago(30), days_ago(1))))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Fix-It Harbour" in html
    assert "STATEMENT OF ACCOUNT" in html
    assert "Harbor Insurance" in html and "Attn: Lee Park" in html and "1 Quay Street" in html
    assert f"{days_ago(30):%Y-%m-%d} to {days_ago(1):%Y-%m-%d}" in html
    assert f">{month.number}</a>" in html
    assert "Cheque payment · applied to" in html and "CHQ 881" in html
    assert "$150.00" in html and "$90.00" in html  # the running balance after each line
    assert "data-closing>$90.00<" in html
    assert "Current" in html and "Over 90 days" in html
    assert "data-print" in html  # the Print button (static/js/print.js)
    assert "css/print.css" in html


def test_statement_defaults_to_the_last_full_calendar_month(billing_client, agent):
    start, end = last_full_month()
    response = billing_client.get(agent_url(agent))
    assert response.status_code == 200
    statement = response.context["statement"]
    assert (statement.start, statement.end) == (start, end)
    html = response.content.decode()
    assert f'name="start" value="{start:%Y-%m-%d}"' in html
    assert f'name="end" value="{end:%Y-%m-%d}"' in html


def test_a_start_alone_runs_to_today(billing_client, agent):
    response = billing_client.get(agent_url(agent, start=f"{days_ago(5):%Y-%m-%d}"))
    statement = response.context["statement"]
    assert (statement.start, statement.end) == (days_ago(5), timezone.localdate())


def test_htmx_gets_the_statement_body_only(billing_client, agent, month):
    response = billing_client.get(agent_url(agent, **period(days_ago(30), days_ago(1))), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="statement-body">')
    assert "<html" not in html and "breadcrumb" not in html
    assert f">{month.number}</a>" in html
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_full_page(billing_client, agent):
    response = billing_client.get(agent_url(agent), **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_the_period_form_works_without_javascript(billing_client, agent):
    html = billing_client.get(agent_url(agent)).content.decode()
    assert f'<form method="get" action="{agent_url(agent)}"' in html
    assert 'type="date"' in html


# --- bad periods -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2025-03-10", "end": "2025-03-01"}, "end", "The end date is before the start"),
        ({"start": "2025-13-01", "end": "2025-03-01"}, "start", "Enter a valid date"),
        ({"start": "1999-12-31", "end": "2000-01-31"}, "start", "Enter a date between 2000-01-01"),
        ({"start": "NaN", "end": "٢٠٢٥-٠١-٠١"}, "end", "Enter a valid date"),  # noqa: RUF001
        ({"start": "2001-01-01", "end": "2011-01-01"}, "start", "at most 10 years"),
    ],
)
def test_a_bad_period_answers_422_beside_the_field_with_the_default_statement(
    billing_client, agent, query, field, message
):
    response = billing_client.get(agent_url(agent, **query))

    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    statement = response.context["statement"]
    assert (statement.start, statement.end) == last_full_month()


def test_a_period_of_exactly_ten_years_is_fine(billing_client, agent):
    response = billing_client.get(agent_url(agent, start="2001-01-01", end="2010-12-31"))
    assert response.status_code == 200


def test_a_bad_period_over_htmx_answers_422_with_the_partial(billing_client, agent):
    response = billing_client.get(agent_url(agent, start="2025-03-10", end="2025-03-01"), **HTMX)
    assert response.status_code == 422
    assert response.content.decode().lstrip().startswith('<div id="statement-body">')


# --- who may see it --------------------------------------------------------------------


def test_front_desk_may_not_see_or_email_statements(front_desk_client, agent):
    assert front_desk_client.get(agent_url(agent)).status_code == 403
    assert front_desk_client.post(email_url(agent)).status_code == 403
    assert mail.outbox == []


def test_the_statement_needs_a_billing_plan(manager_client, agent, settings):
    settings.SHOP_PLAN = "essentials"
    for response in (
        manager_client.get(agent_url(agent)),
        manager_client.get(agent_url(agent), **HTMX),
        manager_client.post(email_url(agent)),
    ):
        assert response.status_code == 403
        assert PLAN_REQUIRED_MESSAGE in response.content.decode()


def test_a_missing_agent_or_customer_is_404(billing_client):
    assert billing_client.get("/billing-agents/999999/statement/").status_code == 404
    assert billing_client.get("/customers/999999/statement/").status_code == 404
    assert billing_client.post("/billing-agents/999999/statement/email/").status_code == 404
    assert billing_client.get("/billing-agents/1x/statement/").status_code == 404


def test_email_needs_change_invoice_and_its_button_is_hidden_without_it(client, agent):
    viewer = UserFactory(username="viewer")
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="invoicing", codename="view_invoice")
    )
    client.force_login(viewer)
    html = client.get(agent_url(agent)).content.decode()
    assert "Email statement" not in html
    assert client.post(email_url(agent)).status_code == 403


def test_the_agent_page_links_the_statement_for_billing_users(billing_client, agent):
    html = billing_client.get(reverse("billing_agents:agent_detail", args=[agent.pk])).text
    assert f'href="{agent_url(agent)}"' in html


def test_the_agent_page_hides_the_statement_without_view_invoice(client, agent):
    user = UserFactory(username="agents-only")
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="billing_agents", codename="view_billingagent"
        )
    )
    client.force_login(user)
    html = client.get(reverse("billing_agents:agent_detail", args=[agent.pk])).text
    assert agent_url(agent) not in html


# --- customers -------------------------------------------------------------------------


def test_a_direct_billed_customer_has_a_statement(billing_client, clerk):
    customer = CustomerFactory(first_name="Dana", last_name="Direct", net_terms_days=15)
    history = History(customer, by=clerk)
    invoice = history.invoice(days_ago(10), "75.00")
    url = reverse("statements:customer_statement", args=[customer.pk])

    response = billing_client.get(url, period(days_ago(10), days_ago(1)))

    assert response.status_code == 200
    assert "Dana Direct" in response.content.decode()
    assert f">{invoice.number}</a>" in response.content.decode()
    page = billing_client.get(reverse("customers:customer_detail", args=[customer.pk])).text
    assert f'href="{url}"' in page


def test_a_direct_billed_customer_never_invoiced_has_an_empty_statement(billing_client):
    customer = CustomerFactory(net_terms_days=15)
    response = billing_client.get(reverse("statements:customer_statement", args=[customer.pk]))
    assert response.status_code == 200
    assert "Nothing was invoiced, paid or credited in this period." in response.content.decode()
    assert not Account.objects.filter(customer=customer).exists()  # looking creates nothing


def test_a_customer_billed_through_an_agent_has_no_statement(billing_client, agent):
    customer = CustomerFactory(billing_agent=agent)
    url = reverse("statements:customer_statement", args=[customer.pk])
    assert billing_client.get(url).status_code == 404
    page = billing_client.get(reverse("customers:customer_detail", args=[customer.pk])).text
    assert url not in page


def test_a_customer_once_billed_directly_keeps_the_statement_of_that_history(
    billing_client, agent, clerk
):
    customer = CustomerFactory(net_terms_days=15)
    History(customer, by=clerk).invoice(days_ago(10), "75.00")
    customer.billing_agent = agent
    customer.net_terms_days = None
    customer.save()

    url = reverse("statements:customer_statement", args=[customer.pk])
    response = billing_client.get(url, period(days_ago(10), days_ago(1)))

    assert response.status_code == 200
    assert response.context["statement"].closing == D("75.00")


# --- email -----------------------------------------------------------------------------


def test_email_statement_queues_the_shown_period_and_redirects_back(
    billing_client, agent, month, django_capture_on_commit_callbacks
):
    data = period(days_ago(30), days_ago(1))

    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(email_url(agent), data)

    assert response.status_code == 302
    assert response["Location"] == agent_url(agent, **data)
    [message] = mail.outbox
    assert message.to == ["ap@harbor.example"]
    assert f"statement of account {data['start']} to {data['end']}" in message.subject
    assert f"{month.number}  Invoice, due {month.due_date:%Y-%m-%d}" in message.body
    assert "Closing balance" in message.body and "$90.00" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Cheque payment · applied to" in html
    [(name, pdf, kind)] = message.attachments
    assert kind == "application/pdf" and pdf.startswith(b"%PDF") and name.endswith(".pdf")
    page = billing_client.get(response["Location"])
    assert "goes to ap@harbor.example in a moment" in page.content.decode()
    delivery = EmailDelivery.objects.get()
    assert (delivery.kind, delivery.status) == (DeliveryKind.STATEMENT, DeliveryStatus.SENT)
    assert (f"{delivery.period_start}", f"{delivery.period_end}") == (data["start"], data["end"])


def test_email_over_htmx_answers_the_partial_and_a_toast(
    billing_client, agent, month, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(email_url(agent), period(days_ago(30), days_ago(1)), **HTMX)

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="statement-body">')
    trigger = json.loads(response["HX-Trigger"])
    assert "goes to ap@harbor.example" in trigger["messages"]["items"][0]["message"]
    assert len(mail.outbox) == 1


def test_email_without_a_period_sends_the_last_full_month(
    billing_client, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        billing_client.post(email_url(agent))
    start, end = last_full_month()
    assert f"{start:%Y-%m-%d} to {end:%Y-%m-%d}" in mail.outbox[0].subject


def test_emailing_twice_while_queued_queues_one_email(billing_client, agent):
    data = period(days_ago(30), days_ago(1))
    billing_client.post(email_url(agent), data)
    second = billing_client.post(email_url(agent), data, **HTMX)
    assert "queued already" in second["HX-Trigger"]
    assert EmailDelivery.objects.count() == 1


def test_email_is_refused_when_the_payer_has_no_address(billing_client):
    agent = BillingAgentFactory(email="")
    html = billing_client.get(agent_url(agent)).content.decode()
    assert "has no email address" in html and "disabled" in html

    response = billing_client.post(email_url(agent))
    assert response.status_code == 302
    assert "has no email address" in billing_client.get(response["Location"]).content.decode()
    htmx = billing_client.post(email_url(agent), **HTMX)
    assert htmx.status_code == 409
    assert "has no email address" in htmx["HX-Trigger"]
    assert mail.outbox == []
    assert not EmailDelivery.objects.exists()


def test_a_mail_server_error_is_recorded_on_the_email_and_nothing_breaks(
    billing_client, agent, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"ap@harbor.example": (550, b"No such user")})

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        response = billing_client.post(email_url(agent), **HTMX)
    assert response.status_code == 200
    assert "goes to ap@harbor.example" in response["HX-Trigger"]
    delivery = EmailDelivery.objects.get()
    # The immediate backend of the tests retries at once; the worker waits (test_delivery).
    assert delivery.status == DeliveryStatus.FAILED
    assert "No such user" in delivery.last_error


def test_email_with_a_bad_period_answers_422_and_sends_nothing(billing_client, agent):
    response = billing_client.post(email_url(agent), {"start": "2025-03-10", "end": "2025-03-01"})
    assert response.status_code == 422
    assert "The end date is before the start date." in response.content.decode()
    assert mail.outbox == []


def test_email_needs_post(billing_client, agent):
    assert billing_client.get(email_url(agent)).status_code == 405


# --- queries ---------------------------------------------------------------------------


def _busy_year(history: History, invoices: int) -> None:
    """`invoices` invoices over the last months, each paid once; some voids, write-offs
    and credit rows, so every kind of line is read."""
    for n in range(invoices):
        day = days_ago(90 - n % 80)
        invoice = history.invoice(day, "100.00")
        if n % 4 == 0:
            history.write_off(invoice, day + timedelta(days=3))
            continue
        payment = history.pay(invoice, "120.00" if n % 3 == 0 else "100.00", day)
        if n % 5 == 0:
            history.void(payment, day + timedelta(days=2))
    history.adjust("30.00", days_ago(10))


def _page_queries(client, agent) -> int:
    url = agent_url(agent, **period(days_ago(95), days_ago(1)))
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.context["statement"].lines)


def test_the_page_is_a_fixed_number_of_queries(
    billing_client, clerk, django_assert_max_num_queries
):
    counts = []
    billing_client.get("/")  # the user's permission set is cached from here on
    for size in (3, 12):
        agent = BillingAgentFactory(credit_hold_days=365)
        _busy_year(History(agent, by=clerk), size)
        queries, lines = _page_queries(billing_client, agent)
        counts.append((queries, lines))
    (small, small_lines), (large, large_lines) = counts
    assert large_lines > 3 * small_lines
    assert small == large
    with django_assert_max_num_queries(small):
        billing_client.get(agent_url(agent, **period(days_ago(95), days_ago(1))))


def test_front_desk_sees_no_statement_button_on_the_customer_page(front_desk_client):
    customer = CustomerFactory(net_terms_days=15)
    html = front_desk_client.get(reverse("customers:customer_detail", args=[customer.pk])).text
    assert reverse("statements:customer_statement", args=[customer.pk]) not in html
