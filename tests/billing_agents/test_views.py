"""The billing agent pages: full page and htmx partial, permissions, queries, actions."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from billing_agents.models import BillingAgent
from billing_agents.views import account_figures
from customers.models import Customer
from invoicing.accounts import account_for
from invoicing.models import CreditKind, CreditTransaction
from tests.factories import (
    BillingAgentFactory,
    CreditTransactionFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    agent_ticket,
)
from tickets.transitions import Status

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_agents:agent_list")


def url(name, *args):
    return reverse(f"billing_agents:{name}", args=args)


def rows_in_order(response, agents):
    """The order in which the given agents' rows appear in the page."""
    html = response.content.decode()
    found = [(html.find(f'id="agent-row-{a.pk}"'), a) for a in agents]
    return [a for pos, a in sorted(found, key=lambda pair: pair[0]) if pos >= 0]


@pytest.fixture
def agent_with_figures():
    """3 customers and 4 open tickets (plus a closed one): the fan-out trap."""
    agent = BillingAgentFactory(company_name="Fanout Insurance")
    customers = [CustomerFactory(billing_agent=agent) for _ in range(3)]
    for i in range(4):
        agent_ticket(agent, customer=customers[i % 3], items=[("Repair", 1, "100.10", False)])
    agent_ticket(agent, customer=customers[0], status=Status.CLOSED, items=[])
    return agent


# --- manage page -----------------------------------------------------------------------


def test_manage_page_shows_exact_figures_for_each_agent(billing_client, agent_with_figures):
    response = billing_client.get(LIST_URL)

    assert response.status_code == 200
    assert "<html" in response.content.decode()
    row = response.context["agents"][0]
    assert (row.customer_count, row.open_ticket_count) == (3, 4)
    assert row.open_balance == Decimal("400.40")
    assert "$400.40" in response.content.decode()


def test_manage_page_answers_htmx_with_the_table_partial(billing_client, htmx_headers):
    BillingAgentFactory(company_name="Partial Co")

    response = billing_client.get(LIST_URL, headers=htmx_headers)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="agent-table"')
    assert "Partial Co" in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("count", [2, 30])
def test_manage_page_runs_the_same_number_of_queries_for_2_and_30_agents(
    billing_client, django_assert_num_queries, count
):
    for _ in range(count):
        agent = BillingAgentFactory()
        agent_ticket(agent)
        CustomerFactory(billing_agent=agent)
    # user, permissions (one query), count, one page of agents (session: the cache)
    with django_assert_num_queries(4):
        response = billing_client.get(LIST_URL)
    assert len(response.context["agents"]) == min(count, 25)


def test_search_filter_and_sort_are_read_from_the_url(billing_client):
    low = BillingAgentFactory(company_name="Lakeside Low")
    high = BillingAgentFactory(company_name="Lakeside High")
    gone = BillingAgentFactory(company_name="Lakeside Gone", inactive=True)
    BillingAgentFactory(company_name="Elsewhere")
    agent_ticket(low, items=[("x", 1, "5.00", False)])
    agent_ticket(high, items=[("x", 1, "500.00", False)])

    response = billing_client.get(LIST_URL, {"q": "lakeside", "sort": "-open_balance"})

    assert list(response.context["agents"]) == [high, low]
    response = billing_client.get(LIST_URL, {"q": "lakeside", "status": "all", "sort": "company"})
    assert list(response.context["agents"]) == [gone, high, low]
    response = billing_client.get(LIST_URL, {"status": "inactive"})
    assert list(response.context["agents"]) == [gone]


def test_sort_links_keep_the_search_and_flip_the_direction(billing_client):
    BillingAgentFactory(company_name="Acme")

    body = billing_client.get(LIST_URL, {"q": "acme", "sort": "open_balance"}).content.decode()

    assert "?q=acme&amp;sort=-open_balance" in body
    assert 'aria-sort="ascending"' in body


def test_pages_hold_25_agents_and_keep_the_filters(billing_client):
    for i in range(30):
        BillingAgentFactory(company_name=f"Agent {i:02d}")

    response = billing_client.get(LIST_URL, {"page": 2, "sort": "-company"})

    assert [a.company_name for a in response.context["agents"]][:2] == ["Agent 04", "Agent 03"]
    assert "Showing 26\N{EN DASH}30 of 30" in response.content.decode()


def test_export_has_the_current_filter_and_sort(billing_client, agent_with_figures):
    BillingAgentFactory(company_name="=HYPERLINK(evil)")
    BillingAgentFactory(company_name="Zulu Inactive", inactive=True)

    response = billing_client.get(url("agent_export"), {"sort": "-company"})

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0][:3] == ["Company", "Contact", "Phone"]
    assert [r[0] for r in rows[1:]] == ["Fanout Insurance", "'=HYPERLINK(evil)"]
    assert rows[1][4:7] == ["3", "4", "400.40"]


def test_export_needs_view_permission(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody"))

    assert client.get(url("agent_export")).status_code == 403
    assert client.get(LIST_URL).status_code == 403


def test_billing_pages_are_refused_on_the_essentials_plan(manager_client, settings):
    settings.SHOP_PLAN = "essentials"

    response = manager_client.get(LIST_URL)

    assert response.status_code == 403
    assert "Advanced and Professional" in response.content.decode()


# --- deactivate / reactivate -----------------------------------------------------------


def test_deactivate_confirm_page_shows_open_balance_and_customer_count(
    manager_client, agent_with_figures
):
    response = manager_client.get(url("agent_deactivate", agent_with_figures.pk))

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "$400.40" in body and "Customers" in body
    assert f'action="{url("agent_deactivate", agent_with_figures.pk)}"' in body
    agent_with_figures.refresh_from_db()
    assert agent_with_figures.is_active  # GET never changes data


def test_deactivate_confirm_dialog_for_htmx_is_modal_content(
    manager_client, agent_with_figures, htmx_headers
):
    response = manager_client.get(
        url("agent_deactivate", agent_with_figures.pk), headers=htmx_headers
    )

    body = response.content.decode()
    assert "<html" not in body
    assert 'class="modal-header"' in body
    assert f'hx-target="#agent-row-{agent_with_figures.pk}"' in body
    assert "$400.40" in body


def test_deactivate_by_htmx_returns_the_updated_row_and_closes_the_dialog(
    manager_client, agent_with_figures, htmx_headers
):
    response = manager_client.post(
        url("agent_deactivate", agent_with_figures.pk), headers=htmx_headers
    )

    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="agent-row-{agent_with_figures.pk}"')
    assert "Inactive" in body and "Reactivate" in body
    trigger = json.loads(response["HX-Trigger"])
    assert "closeModal" in trigger
    assert "deactivated" in trigger["messages"]["items"][0]["message"]
    agent_with_figures.refresh_from_db()
    assert not agent_with_figures.is_active
    assert Customer.objects.filter(billing_agent=agent_with_figures).count() == 3


def test_deactivate_without_htmx_redirects_to_the_list(manager_client):
    agent = BillingAgentFactory()

    response = manager_client.post(url("agent_deactivate", agent.pk))

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    assert not BillingAgent.objects.get(pk=agent.pk).is_active


def test_deactivate_from_the_view_page_returns_there(manager_client):
    agent = BillingAgentFactory()
    detail = agent.get_absolute_url()

    response = manager_client.post(f"{url('agent_deactivate', agent.pk)}?next={detail}")

    assert response["Location"] == detail


def test_deactivate_ignores_an_offsite_next(manager_client):
    agent = BillingAgentFactory()

    response = manager_client.post(
        f"{url('agent_deactivate', agent.pk)}?next=https://evil.example/"
    )

    assert response["Location"] == LIST_URL


def test_reactivate_by_htmx_returns_an_active_row(manager_client, htmx_headers):
    agent = BillingAgentFactory(inactive=True)

    response = manager_client.post(url("agent_reactivate", agent.pk), headers=htmx_headers)

    assert "Active" in response.content.decode()
    agent.refresh_from_db()
    assert agent.is_active and agent.deactivated_at is None


@pytest.mark.parametrize("role_client", ["front_desk_client", "billing_client"])
@pytest.mark.parametrize("action", ["agent_deactivate", "agent_reactivate"])
def test_only_managers_may_deactivate_or_reactivate(request, role_client, action):
    client = request.getfixturevalue(role_client)
    agent = BillingAgentFactory(inactive=action == "agent_reactivate")

    assert client.get(url(action, agent.pk)).status_code == 403
    assert client.post(url(action, agent.pk)).status_code == 403
    assert BillingAgent.objects.get(pk=agent.pk).is_active == (action == "agent_deactivate")


def test_deactivate_button_is_hidden_from_billing_and_shown_to_managers(billing_user, manager_user):
    agent = BillingAgentFactory()
    deactivate = url("agent_deactivate", agent.pk)
    billing, manager = Client(), Client()
    billing.force_login(billing_user)
    manager.force_login(manager_user)

    assert deactivate not in billing.get(LIST_URL).content.decode()
    assert deactivate in manager.get(LIST_URL).content.decode()


def test_front_desk_sees_no_add_or_edit_buttons(front_desk_client):
    agent = BillingAgentFactory()

    body = front_desk_client.get(LIST_URL).content.decode()

    assert "Add Billing Agent" not in body
    assert url("agent_edit", agent.pk) not in body


def test_deactivating_a_missing_agent_is_404(manager_client):
    assert manager_client.post(url("agent_deactivate", 999999)).status_code == 404


def test_deactivate_refuses_other_methods(manager_client):
    agent = BillingAgentFactory()

    assert manager_client.put(url("agent_deactivate", agent.pk)).status_code == 405


# --- add / edit ------------------------------------------------------------------------

VALID = {
    "company_name": "Harbor Insurance",
    "contact_first_name": "Ann",
    "contact_last_name": "Lee",
    "phone": "555-0100",
    "email": "ap@harbor.example",
    "country": "United States",
    "credit_limit": "2500.00",
    "net_terms_days": "45",
    "invoice_method": "individual",
    "reference_label": "Reference",
    "send_reminders": "on",
}


def test_billing_can_add_an_agent(billing_client):
    response = billing_client.post(url("agent_create"), VALID)

    agent = BillingAgent.objects.get(company_name="Harbor Insurance")
    assert response.status_code == 302
    assert response["Location"] == agent.get_absolute_url()
    assert agent.credit_limit == Decimal("2500.00")
    assert agent.net_terms_days == 45
    assert agent.is_active


def test_add_form_renders_every_field(billing_client):
    body = billing_client.get(url("agent_create")).content.decode()

    for field in ["company_name", "fax", "address_line2", "postal_code", "notes", "credit_limit"]:
        assert f'name="{field}"' in body


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "valid email"),
        ("credit_limit", "-1", "greater than or equal to 0"),
        ("net_terms_days", "366", "less than or equal to 365"),
        ("net_terms_days", "-1", "greater than or equal to 0"),
        ("company_name", "", "required"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_saves_nothing(
    billing_client, field, value, message
):
    response = billing_client.post(url("agent_create"), {**VALID, field: value})

    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert not BillingAgent.objects.exists()


def test_front_desk_cannot_add_or_edit(front_desk_client):
    agent = BillingAgentFactory()

    assert front_desk_client.get(url("agent_create")).status_code == 403
    assert front_desk_client.post(url("agent_create"), VALID).status_code == 403
    assert front_desk_client.post(url("agent_edit", agent.pk), VALID).status_code == 403
    assert not BillingAgent.objects.filter(company_name="Harbor Insurance").exists()


def test_edit_saves_and_shows_who_changed_what(billing_client, billing_user):
    agent = BillingAgentFactory(company_name="Old Name", net_terms_days=30)

    response = billing_client.post(
        url("agent_edit", agent.pk), {**VALID, "company_name": "New Name"}
    )
    assert response.status_code == 302

    page = billing_client.get(url("agent_edit", agent.pk))
    history = page.context["history"]
    assert history[0].action == "Changed"
    assert history[0].who == billing_user.get_full_name()
    changes = {c.label: (c.old, c.new) for c in history[0].changes}
    assert changes["Company name"] == ("Old Name", "New Name")
    assert changes["Net terms (days)"] == ("30", "45")
    assert history[-1].action == "Created"
    assert "Old Name → New Name" in page.content.decode()


def test_editing_a_missing_agent_is_404(billing_client):
    assert billing_client.get(url("agent_edit", 999999)).status_code == 404


# --- view page -------------------------------------------------------------------------


def test_view_page_shows_figures_and_every_section(billing_client, agent_with_figures):
    agent_with_figures.credit_limit = Decimal("1000.00")
    agent_with_figures.save()

    response = billing_client.get(agent_with_figures.get_absolute_url())

    body = response.content.decode()
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.open_balance == Decimal("400.40")
    assert figures.available_credit == Decimal("599.60")
    assert "$599.60" in body and "$400.40" in body
    for section in ["customers-section", "tickets-section", "invoices-section", "credit-section"]:
        assert f'id="{section}"' in body
    assert response.context["customers_section"].paginator.count == 3
    assert response.context["tickets_section"].paginator.count == 5


def test_view_page_runs_a_fixed_number_of_queries(billing_client, django_assert_max_num_queries):
    agent = BillingAgentFactory()
    for _ in range(12):
        agent_ticket(agent)
    # session, user, 2x perms, agent, figures (3), 4 sections x (count + page)
    with django_assert_max_num_queries(16):
        billing_client.get(agent.get_absolute_url())


@pytest.mark.parametrize(
    ("section", "param"),
    [
        ("customers-section", "customers_page"),
        ("tickets-section", "tickets_page"),
        ("invoices-section", "invoices_page"),
        ("credit-section", "credit_page"),
    ],
)
def test_each_section_pages_on_its_own_as_a_partial(billing_client, htmx_headers, section, param):
    agent = BillingAgentFactory()
    for _ in range(11):
        customer = CustomerFactory(billing_agent=agent)
        agent_ticket(agent, customer=customer)
        InvoiceFactory(billing_agent=agent)
    for i in range(11):
        credit_entry(agent, i)

    response = billing_client.get(
        agent.get_absolute_url(), {param: 2}, headers={**htmx_headers, "HX-Target": section}
    )

    body = response.content.decode()
    assert body.lstrip().startswith(f'<section id="{section}"')
    assert "Page 2 of 2" in body
    assert "<html" not in body
    assert f"?{param}=1" in body  # the Previous link of this section


def test_view_page_varies_on_the_htmx_target(billing_client):
    """Each section is swapped by HX-Target: a cache must keep one answer per target."""
    response = billing_client.get(BillingAgentFactory().get_absolute_url())

    vary = {header.strip() for header in response["Vary"].split(",")}
    assert {"HX-Request", "HX-Target"} <= vary


def credit_entry(agent, i):
    return CreditTransactionFactory(
        billing_agent=agent, amount=Decimal("1.00"), balance_after=Decimal(i + 1)
    )


def test_section_pages_keep_the_other_sections_pages(billing_client):
    agent = BillingAgentFactory()
    for _ in range(11):
        agent_ticket(agent)

    body = billing_client.get(agent.get_absolute_url(), {"customers_page": 2}).content.decode()

    assert "?customers_page=2&amp;tickets_page=2" in body


def test_credit_section_shows_the_running_balance(billing_client):
    agent = BillingAgentFactory()
    credit_entry(agent, 0)
    CreditTransaction.objects.create(
        account=account_for(agent),
        kind=CreditKind.CREDIT_APPLIED,
        amount=Decimal("-0.40"),
        balance_after=Decimal("0.60"),
    )

    body = billing_client.get(agent.get_absolute_url()).content.decode()

    assert "\N{MINUS SIGN}$0.40" in body and "$0.60" in body


def test_view_page_of_a_missing_agent_is_404(billing_client):
    assert billing_client.get(url("agent_detail", 999999)).status_code == 404


def test_view_page_hides_actions_the_user_cannot_take(front_desk_client, agent_with_figures):
    body = front_desk_client.get(agent_with_figures.get_absolute_url()).content.decode()

    assert "Remove" not in body
    assert "Adjust credit" not in body
    assert "Deactivate" not in body


# --- removing customers and tickets ----------------------------------------------------


def test_remove_customer_confirm_page_and_dialog(billing_client, htmx_headers):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent, first_name="Rita")
    remove = url("agent_customer_remove", agent.pk, customer.pk)

    page = billing_client.get(remove)
    dialog = billing_client.get(remove, headers=htmx_headers)

    assert "<html" in page.content.decode()
    assert "<html" not in dialog.content.decode()
    assert 'hx-target="#customers-section"' in dialog.content.decode()
    customer.refresh_from_db()
    assert customer.billing_agent == agent


def test_remove_customer_by_htmx_returns_the_section_and_new_figures(billing_client, htmx_headers):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent, first_name="Rita")
    CustomerFactory(billing_agent=agent, first_name="Kept")

    response = billing_client.post(
        url("agent_customer_remove", agent.pk, customer.pk), headers=htmx_headers
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="customers-section"')
    assert "Rita" not in body and "Kept" in body
    assert 'id="agent-figures" class="row g-3" hx-swap-oob="true"' in body
    assert "closeModal" in json.loads(response["HX-Trigger"])
    customer.refresh_from_db()
    assert customer.billing_agent is None


def test_remove_customer_without_htmx_redirects_to_the_view_page(billing_client):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)

    response = billing_client.post(url("agent_customer_remove", agent.pk, customer.pk))

    assert response["Location"] == agent.get_absolute_url()
    assert Customer.objects.get(pk=customer.pk).billing_agent is None


def test_remove_customer_of_another_agent_is_refused_inline(billing_client, htmx_headers):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=BillingAgentFactory())

    response = billing_client.post(
        url("agent_customer_remove", agent.pk, customer.pk), headers=htmx_headers
    )

    assert response.status_code == 409  # refused, with and without htmx
    assert response["HX-Retarget"] == "#confirm-modal .modal-content"
    assert response["HX-Reswap"] == "innerHTML"
    assert "not billed through" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).billing_agent is not None


def test_front_desk_cannot_remove_customers_or_tickets(front_desk_client):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    ticket = agent_ticket(agent, customer=customer)

    assert (
        front_desk_client.post(url("agent_customer_remove", agent.pk, customer.pk)).status_code
        == 403
    )
    assert (
        front_desk_client.post(url("agent_ticket_remove", agent.pk, ticket.pk)).status_code == 403
    )
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


def test_remove_ticket_by_htmx_returns_the_tickets_section(billing_client, htmx_headers):
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent)

    response = billing_client.post(
        url("agent_ticket_remove", agent.pk, ticket.pk), headers=htmx_headers
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="tickets-section"')
    assert ticket.number not in body
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_remove_ticket_without_htmx_redirects(billing_client):
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent)

    response = billing_client.post(url("agent_ticket_remove", agent.pk, ticket.pk))

    assert response["Location"] == agent.get_absolute_url()


def test_ticket_on_a_live_invoice_shows_why_it_cannot_be_removed(billing_client, htmx_headers):
    agent = BillingAgentFactory()
    ticket = agent_ticket(agent, status=Status.WAITING_FOR_PAYMENT)
    line = InvoiceLineFactory(ticket=ticket, invoice=InvoiceFactory(billing_agent=agent))
    remove = url("agent_ticket_remove", agent.pk, ticket.pk)

    dialog = billing_client.get(remove, headers=htmx_headers).content.decode()
    assert line.invoice.number in dialog
    assert "data-confirm-submit" not in dialog  # no confirm button, only the reason

    refused = billing_client.post(remove)
    assert refused.status_code == 409
    assert line.invoice.number in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.billing_agent == agent


# --- credit adjustment -----------------------------------------------------------------


def test_manager_adds_a_credit_adjustment_as_a_new_ledger_row(
    manager_client, htmx_headers, manager_user
):
    agent = BillingAgentFactory()

    response = manager_client.post(
        url("agent_credit_adjust", agent.pk),
        {"amount": "25.50", "reason": "Goodwill"},
        headers=htmx_headers,
    )

    body = response.content.decode()
    assert body.lstrip().startswith('<section id="credit-section"')
    assert "$25.50" in body
    entry = CreditTransaction.objects.get(account__billing_agent=agent)
    assert (entry.kind, entry.amount, entry.balance_after) == (
        "adjustment",
        Decimal("25.50"),
        Decimal("25.50"),
    )
    assert entry.created_by == manager_user


def test_credit_adjustment_form_as_page_and_dialog(manager_client, htmx_headers):
    agent = BillingAgentFactory()

    page = manager_client.get(url("agent_credit_adjust", agent.pk)).content.decode()
    dialog = manager_client.get(url("agent_credit_adjust", agent.pk), headers=htmx_headers)

    assert "<html" in page and 'name="reason"' in page
    assert "<html" not in dialog.content.decode()


def test_credit_adjustment_that_would_go_below_zero_is_refused_on_the_field(manager_client):
    agent = BillingAgentFactory()

    response = manager_client.post(
        url("agent_credit_adjust", agent.pk), {"amount": "-5.00", "reason": "Oops"}
    )

    assert response.status_code == 422
    assert "Only $0.00" in " ".join(response.context["form"].errors["amount"])
    assert not CreditTransaction.objects.exists()


def test_credit_adjustment_errors_go_back_into_the_dialog(manager_client, htmx_headers):
    agent = BillingAgentFactory()

    response = manager_client.post(
        url("agent_credit_adjust", agent.pk), {"amount": "5", "reason": ""}, headers=htmx_headers
    )

    assert response.status_code == 422  # an invalid form: 422 with and without htmx
    assert response["HX-Retarget"] == "#confirm-modal .modal-content"
    assert "required" in response.content.decode()


def test_billing_cannot_adjust_credit(billing_client):
    agent = BillingAgentFactory()

    response = billing_client.post(
        url("agent_credit_adjust", agent.pk), {"amount": "25.00", "reason": "Goodwill"}
    )

    assert response.status_code == 403
    assert not CreditTransaction.objects.exists()


def test_account_figures_give_available_credit_as_limit_minus_open_balance():
    agent = BillingAgentFactory(credit_limit=Decimal("1000.00"))
    ticket = agent_ticket(agent, items=[("x", 1, "250.00", False)])
    CreditTransactionFactory(billing_agent=agent, amount=Decimal("15.00"), balance_after=15)

    result = account_figures(agent)

    assert result.open_balance == ticket.balance_due == Decimal("250.00")
    assert result.available_credit == Decimal("750.00")
    assert result.credit_balance == Decimal("15.00")
    assert result.customer_count == 1


def test_no_credit_limit_means_no_available_credit_figure():
    assert account_figures(BillingAgentFactory(credit_limit=None)).available_credit is None
