"""Billing-run pages: the run list and its POST, the billing-cycle forms, and the links to
them on the dashboard, the invoice list and the payer pages."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from core.plans import PLAN_REQUIRED_MESSAGE
from invoicing.models import Account, BillingCycle, Invoice
from tests.billing_runs.conftest import tickets_for, with_cycle
from tests.factories import BillingAgentFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
D = Decimal
RUN_URL = "/invoices/runs/"
CREATE_URL = "/invoices/runs/create/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/invoices/runs/"}


def _post_all(client, payers_page, **extra):
    """POST the run form as the page rendered it, every payer ticked."""
    rows = payers_page.context["payers"]
    data = {"payers": [row.account.pk for row in rows]}
    data.update({f"seen-{row.account.pk}": row.seen for row in rows})
    data.update(extra.pop("data", {}))
    return client.post(CREATE_URL, data, **extra)


def test_the_urls_are_the_design_map():
    assert reverse("billing_runs:run_list") == RUN_URL
    assert reverse("billing_runs:run_create") == CREATE_URL
    assert (
        reverse("billing_runs:agent_billing_cycle", args=[7]) == "/billing-agents/7/billing-cycle/"
    )
    assert reverse("billing_runs:customer_billing_cycle", args=[7]) == "/customers/7/billing-cycle/"


# --- access ----------------------------------------------------------------------------


def _cycle_urls():
    agent = BillingAgentFactory()
    customer = CustomerFactory(net_terms_days=10)
    return [
        reverse("billing_runs:agent_billing_cycle", args=[agent.pk]),
        reverse("billing_runs:customer_billing_cycle", args=[customer.pk]),
    ]


def test_front_desk_may_not_run_billing_or_set_cycles(front_desk_client, three_payers):
    assert front_desk_client.get(RUN_URL).status_code == 403
    assert front_desk_client.post(CREATE_URL, {"payers": [1]}).status_code == 403
    for url in _cycle_urls():
        assert front_desk_client.get(url).status_code == 403
        assert front_desk_client.post(url, {"cycle": "monthly"}).status_code == 403
    assert not Invoice.objects.exists()


def test_every_page_is_refused_on_the_essentials_plan(billing_client, settings, three_payers):
    settings.SHOP_PLAN = "essentials"
    for url in [RUN_URL, *_cycle_urls()]:
        for headers in ({}, HTMX):
            response = billing_client.get(url, **headers)
            assert response.status_code == 403, url
            assert PLAN_REQUIRED_MESSAGE in response.text
    response = billing_client.post(CREATE_URL, {"payers": [1]})
    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.text
    assert not Invoice.objects.exists()


def test_the_run_is_post_only(billing_client, three_payers):
    assert billing_client.get(CREATE_URL).status_code == 405
    assert not Invoice.objects.exists()


def test_the_run_form_is_csrf_protected(billing_user, three_payers):
    client = Client(enforce_csrf_checks=True)
    client.force_login(billing_user)
    page = client.get(RUN_URL)
    assert 'name="csrfmiddlewaretoken"' in page.text
    assert _post_all(client, page).status_code == 403
    assert not Invoice.objects.exists()


# --- the run page ----------------------------------------------------------------------


def test_run_page_lists_each_due_payer_with_its_tickets(billing_client, three_payers):
    response = billing_client.get(RUN_URL)
    assert response.status_code == 200
    assert "<html" in response.text
    body = response.text
    assert [row.account.name for row in response.context["payers"]] == [
        "Acme Insurance",
        "Blue Co",
        "Dana Direct",
    ]
    assert "$300.00" in body and "$75.00" in body and "$80.00" in body
    assert "$455.00" in body  # the footer total
    assert "One batch invoice" in body and "One invoice per ticket" in body
    assert "Email the invoices" in body
    assert f'action="{CREATE_URL}"' in body


def test_run_table_is_a_partial_for_htmx(billing_client, three_payers):
    response = billing_client.get(RUN_URL, **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<section id="run-table"')
    assert "Acme Insurance" in response.text
    assert "HX-Request" in response["Vary"]


def test_tick_all_without_javascript_ticks_every_payer(billing_client, three_payers):
    response = billing_client.get(RUN_URL, {"tick": "all"})
    assert len(re.findall(r'name="payers" value="\d+"[^>]*checked', response.text)) == 3


def test_nothing_due_says_so(billing_client):
    response = billing_client.get(RUN_URL)
    assert "No payer is due for billing today." in response.text
    assert "Create invoices for the ticked payers" not in response.text


def _due_agents(location, count):
    for _ in range(count):
        agent = BillingAgentFactory()
        tickets_for(agent, location, "10.00", "20.00")
        with_cycle(agent)


def test_run_page_runs_a_fixed_number_of_queries(
    billing_client, location, django_assert_num_queries, django_assert_max_num_queries
):
    _due_agents(location, 1)
    billing_client.get(RUN_URL)  # the user's permission set is cached from here on
    # user, the due accounts with their figures, their tickets' ids
    with django_assert_max_num_queries(5) as small:
        billing_client.get(RUN_URL)
    _due_agents(location, 8)
    with django_assert_num_queries(len(small.captured_queries)):
        response = billing_client.get(RUN_URL)
    assert len(response.context["payers"]) == 9


# --- the run POST ----------------------------------------------------------------------


def test_run_without_htmx_redirects_with_a_line_per_payer(billing_client, three_payers):
    response = _post_all(billing_client, billing_client.get(RUN_URL))
    assert response.status_code == 303
    assert response["Location"] == RUN_URL
    lines = [str(m) for m in get_messages(response.wsgi_request)]
    assert lines == [
        "Acme Insurance: 2 tickets, 1 invoice, $300.00",
        "Blue Co: 2 tickets, 2 invoices, $75.00",
        "Dana Direct: 1 ticket, 1 invoice, $80.00",
    ]
    assert Invoice.objects.count() == 4
    after = billing_client.get(RUN_URL)
    assert after.context["payers"] == []


def test_run_with_htmx_answers_the_results_and_the_fresh_table(billing_client, three_payers):
    page = billing_client.get(RUN_URL)
    response = _post_all(billing_client, page, **HTMX)
    assert response.status_code == 200
    body = response.text
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="run-results"')
    assert "Run results" in body
    assert "Blue Co: 2 tickets, 2 invoices, $75.00" in body
    for invoice in Invoice.objects.all():
        assert invoice.get_absolute_url() in body
    assert "No payer is due for billing today." in body


def test_only_ticked_payers_are_invoiced(billing_client, three_payers):
    accounts, _ = three_payers
    page = billing_client.get(RUN_URL)
    acme = accounts["acme"].pk
    rows = {row.account.pk: row for row in page.context["payers"]}
    billing_client.post(CREATE_URL, {"payers": [acme], f"seen-{acme}": rows[acme].seen})
    assert set(Invoice.objects.values_list("account_id", flat=True)) == {acme}


def test_a_double_submit_reports_nothing_to_invoice(billing_client, three_payers):
    page = billing_client.get(RUN_URL)
    _post_all(billing_client, page)
    count = Invoice.objects.count()
    again = _post_all(billing_client, page, **HTMX)
    assert again.status_code == 200
    assert again.text.count("nothing to invoice (already billed today)") == 3
    assert Invoice.objects.count() == count


def test_run_with_nothing_ticked_is_refused_with_a_message(billing_client, three_payers):
    response = billing_client.post(CREATE_URL, {"payers": ["x", "²"]})
    assert response.status_code == 422
    assert "Tick at least one payer to invoice." in response.text
    partial = billing_client.post(CREATE_URL, {}, **HTMX)
    assert partial.status_code == 422
    assert partial.text.lstrip().startswith('<div id="run-results"')
    assert not Invoice.objects.exists()


def test_email_option_sends_the_invoices(
    billing_client, three_payers, mailoutbox, django_capture_on_commit_callbacks
):
    page = billing_client.get(RUN_URL)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_all(billing_client, page, data={"email": "on"})
    assert response.status_code == 303
    assert len(mailoutbox) == 4
    lines = [str(m) for m in get_messages(response.wsgi_request)]
    assert lines[0].endswith("email queued to ap@acme.example")


# --- billing cycle forms ---------------------------------------------------------------


def test_agent_cycle_form_shows_the_current_cycle(billing_client):
    agent = BillingAgentFactory()
    with_cycle(agent, BillingCycle.BIWEEKLY, 4)
    response = billing_client.get(reverse("billing_runs:agent_billing_cycle", args=[agent.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"cycle": "biweekly", "weekday": 4, "day_of_month": None}
    assert 'name="csrfmiddlewaretoken"' in response.text


def test_cycle_form_is_a_modal_partial_for_htmx(billing_client):
    agent = BillingAgentFactory()
    url = reverse("billing_runs:agent_billing_cycle", args=[agent.pk])
    response = billing_client.get(url, **HTMX)
    assert "<html" not in response.text
    assert "modal-header" in response.text
    assert not Account.objects.filter(billing_agent=agent).exists()  # looking creates nothing


def test_saving_a_cycle_creates_the_account_and_goes_back(billing_client):
    agent = BillingAgentFactory()
    url = reverse("billing_runs:agent_billing_cycle", args=[agent.pk])
    response = billing_client.post(url, {"cycle": "weekly", "weekday": "4", "day_of_month": ""})
    assert response.status_code == 302
    assert response["Location"] == agent.get_absolute_url()
    account = Account.objects.get(billing_agent=agent)
    assert (account.billing_cycle, account.billing_day) == ("weekly", 4)
    page = billing_client.get(agent.get_absolute_url())
    assert "Weekly on Friday" in page.text
    assert "Billing cycle of" in page.text  # the flash message


def test_saving_a_cycle_with_htmx_redirects_the_client(billing_client):
    customer = CustomerFactory(net_terms_days=10)
    url = reverse("billing_runs:customer_billing_cycle", args=[customer.pk])
    response = billing_client.post(url, {"cycle": "monthly", "day_of_month": "1"}, **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == customer.get_absolute_url()
    account = Account.objects.get(customer=customer)
    assert (account.billing_cycle, account.billing_day) == ("monthly", 1)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"cycle": "weekly"}, "weekday", "Choose the weekday to bill on"),
        ({"cycle": "biweekly", "day_of_month": "3"}, "weekday", "Choose the weekday to bill on"),
        ({"cycle": "monthly"}, "day_of_month", "from 1 to 28"),
        ({"cycle": "monthly", "day_of_month": "31"}, "day_of_month", "from 1 to 28"),
        ({"cycle": "monthly", "day_of_month": "١٢"}, "day_of_month", "digits 0 to 9"),
        ({"cycle": "weekly", "weekday": "9"}, "weekday", "Select a valid choice"),
        ({"cycle": "yearly"}, "cycle", "Select a valid choice"),
    ],
)
def test_an_invalid_cycle_is_422_with_the_message_beside_the_field(
    billing_client, data, field, message
):
    agent = BillingAgentFactory()
    url = reverse("billing_runs:agent_billing_cycle", args=[agent.pk])
    response = billing_client.post(url, data)
    assert response.status_code == 422
    error = re.search(rf'id="id_{field}_error">([^<]*)<', response.text)
    assert error, response.text
    assert message in error.group(1)
    assert not Account.objects.filter(billing_agent=agent).exists()


def test_an_invalid_cycle_with_htmx_stays_in_the_dialog(billing_client):
    agent = BillingAgentFactory()
    url = reverse("billing_runs:agent_billing_cycle", args=[agent.pk])
    response = billing_client.post(url, {"cycle": "weekly"}, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#confirm-modal .modal-content"
    assert "<html" not in response.text


def test_a_customer_without_direct_terms_has_no_cycle_form(billing_client):
    customer = CustomerFactory(net_terms_days=None)
    url = reverse("billing_runs:customer_billing_cycle", args=[customer.pk])
    assert billing_client.get(url).status_code == 404
    assert billing_client.post(url, {"cycle": "monthly", "day_of_month": "1"}).status_code == 404


def test_a_missing_agent_is_404(billing_client):
    url = reverse("billing_runs:agent_billing_cycle", args=[999999])
    assert billing_client.get(url).status_code == 404


# --- links from other pages ------------------------------------------------------------


def test_payer_pages_show_the_cycle_and_its_edit_link(billing_client, front_desk_user):
    agent = BillingAgentFactory()
    with_cycle(agent, BillingCycle.MONTHLY, 1)
    customer = CustomerFactory(net_terms_days=10)
    agent_edit = reverse("billing_runs:agent_billing_cycle", args=[agent.pk])
    customer_edit = reverse("billing_runs:customer_billing_cycle", args=[customer.pk])
    page = billing_client.get(agent.get_absolute_url()).text
    assert "Monthly on day 1" in page and agent_edit in page
    page = billing_client.get(customer.get_absolute_url()).text
    assert "No fixed cycle" in page and customer_edit in page
    front_desk = Client()
    front_desk.force_login(front_desk_user)
    page = front_desk.get(customer.get_absolute_url()).text
    assert "No fixed cycle" in page and customer_edit not in page


def test_a_customer_not_billed_directly_shows_no_cycle(billing_client):
    customer = CustomerFactory(net_terms_days=None)
    page = billing_client.get(customer.get_absolute_url()).text
    assert "data-billing-cycle" not in page


def test_dashboard_counts_the_payers_due(billing_client, front_desk_user, three_payers):
    page = billing_client.get("/").text
    assert re.search(r'data-figure="payers-due">\s*3 payers due for billing', page)
    assert f'href="{RUN_URL}"' in page
    front_desk = Client()
    front_desk.force_login(front_desk_user)
    assert "payers-due" not in front_desk.get("/").text


def test_invoice_list_links_billing_runs_for_who_may_invoice(billing_client, client):
    assert f'href="{RUN_URL}"' in billing_client.get("/invoices/").text
    reader = UserFactory()
    reader.user_permissions.add(
        Permission.objects.get(content_type__app_label="invoicing", codename="view_invoice")
    )
    client.force_login(reader)
    assert f'href="{RUN_URL}"' not in client.get("/invoices/").text


# --- no input answers 5xx --------------------------------------------------------------

NASTY = ["", " ", "NaN", "1e2", "²", "١٢٣", "9" * 30, "-1", "0", "\x00", "a" * 5000, "1,2,x"]


@pytest.mark.parametrize("value", NASTY)
def test_nasty_values_never_answer_5xx(billing_client, three_payers, value):
    accounts, _ = three_payers
    acme = accounts["acme"]
    customer = accounts["dana"].customer
    cycle_forms = [
        reverse("billing_runs:agent_billing_cycle", args=[acme.billing_agent_id]),
        reverse("billing_runs:customer_billing_cycle", args=[customer.pk]),
    ]
    for url in cycle_forms:
        for field in ("cycle", "weekday", "day_of_month"):
            data = {"cycle": "monthly", "weekday": "1", "day_of_month": "1", field: value}
            assert billing_client.post(url, data).status_code < 500
    for field in ("payers", f"seen-{acme.pk}", "email"):
        data = {"payers": str(acme.pk), f"seen-{acme.pk}": "1", "email": "", field: value}
        assert billing_client.post(CREATE_URL, data, **HTMX).status_code < 500
    assert billing_client.get(RUN_URL, {"payers": value, "tick": value}).status_code == 200
