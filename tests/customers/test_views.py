"""Customer pages: lookup (full page and htmx partial), add, edit with the billing agent
and the ticket-move offer, the View page, permissions and query counts."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import Customer
from invoicing.accounts import account_for
from invoicing.ledger import adjust_credit, credit_balance
from invoicing.models import Account, CreditKind, CreditTransaction
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    TicketFactory,
    UserFactory,
)
from tickets.transitions import Status

pytestmark = pytest.mark.django_db

LIST_URL = reverse("customers:customer_list")
CREATE_URL = reverse("customers:customer_create")


def edit_url(customer: Customer) -> str:
    return reverse("customers:customer_edit", args=[customer.pk])


def form_data(customer: Customer | None = None, **changes) -> dict:
    data = {
        "first_name": "Rosa",
        "last_name": "Ramírez",
        "company_name": "",
        "email": "rosa@mail.example",
        "phone": "555-0199",
        "address_line1": "1 Main St",
        "address_line2": "",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "country": "United States",
        "net_terms_days": "",
        "notes": "",
        "billing_agent": "",
    }
    if customer is not None:
        for key in data:
            value = getattr(customer, key if key != "billing_agent" else "billing_agent_id")
            data[key] = "" if value is None else value
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


# --- lookup ------------------------------------------------------------------------------


def test_lookup_full_page(front_desk_client):
    CustomerFactory(first_name="Rosa", last_name="Ramírez")
    response = front_desk_client.get(LIST_URL)
    assert response.status_code == 200
    assert response.templates[0].name == "customers/customer_list.html"
    html = response.content.decode()
    assert "<html" in html and 'id="customer-table"' in html and "Ramírez" in html


def test_lookup_htmx_partial_is_just_the_table(front_desk_client, htmx_headers):
    CustomerFactory(first_name="Rosa", last_name="Ramírez")
    CustomerFactory(first_name="Bob", last_name="Stone")
    response = front_desk_client.get(LIST_URL, {"q": "rosa"}, headers=htmx_headers)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="customer-table"')
    assert "Ramírez" in html and "Stone" not in html
    assert "HX-Request" in response["Vary"]


def test_lookup_history_restore_gets_the_full_page(front_desk_client, htmx_headers):
    response = front_desk_client.get(
        LIST_URL, {"q": "x"}, headers={**htmx_headers, "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_lookup_rows_have_edit_and_view(front_desk_client):
    customer = CustomerFactory(first_name="Rosa")
    html = front_desk_client.get(LIST_URL).content.decode()
    assert edit_url(customer) in html
    assert reverse("customers:customer_detail", args=[customer.pk]) in html


def test_lookup_is_paginated(front_desk_client):
    CustomerFactory.create_batch(30)
    response = front_desk_client.get(LIST_URL, {"page": 2})
    assert len(response.context["customers"]) == 5
    assert "Page 2 of 2" in response.content.decode()


def test_lookup_query_count_does_not_grow_with_rows(
    front_desk_client, django_assert_max_num_queries
):
    agent = BillingAgentFactory()
    CustomerFactory.create_batch(3, billing_agent=agent)
    with django_assert_max_num_queries(8) as few:
        front_desk_client.get(LIST_URL)
    CustomerFactory.create_batch(20, billing_agent=BillingAgentFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        front_desk_client.get(LIST_URL)


def test_lookup_needs_view_permission(client):
    client.force_login(UserFactory())
    assert client.get(LIST_URL).status_code == 403


def test_buttons_the_user_may_not_use_are_hidden(client):
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(codename="view_customer", content_type__app_label="customers")
    )
    client.force_login(user)
    customer = CustomerFactory()
    html = client.get(LIST_URL).content.decode()
    assert edit_url(customer) not in html
    assert CREATE_URL not in html


# --- add -----------------------------------------------------------------------------------


def test_add_customer_with_an_agent(front_desk_client):
    agent = BillingAgentFactory()
    response = front_desk_client.post(CREATE_URL, form_data(billing_agent=agent.pk))
    customer = Customer.objects.get(last_name="Ramírez")
    assert response.status_code == 302
    assert response["Location"] == customer.get_absolute_url()
    assert customer.billing_agent == agent


def test_add_form_offers_active_agents_only(front_desk_client):
    BillingAgentFactory(company_name="Live Agent Inc")
    BillingAgentFactory(company_name="Gone Agent Inc", inactive=True)
    html = front_desk_client.get(CREATE_URL).content.decode()
    # The form's picker searches (tests/customers/test_agent_picker.py); what it offers:
    assert reverse("billing_agents:agent_search") in html
    offered = front_desk_client.get(reverse("billing_agents:agent_search"), {"q": "agent"}).text
    assert "Live Agent Inc" in offered
    assert "Gone Agent Inc" not in offered


def test_a_forged_inactive_agent_is_refused_beside_the_field(front_desk_client):
    agent = BillingAgentFactory(inactive=True)
    response = front_desk_client.post(CREATE_URL, form_data(billing_agent=agent.pk))
    assert response.status_code == 422
    assert "billing_agent" in response.context["form"].errors
    assert not Customer.objects.exists()


def test_bad_input_is_shown_beside_the_field(front_desk_client):
    response = front_desk_client.post(
        CREATE_URL, form_data(first_name="", email="nope", net_terms_days="400")
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert {"first_name", "email", "net_terms_days"} <= set(errors)
    assert 'id="id_email_error"' in response.content.decode()
    assert not Customer.objects.exists()


def test_add_needs_permission(client):
    client.force_login(UserFactory())
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, form_data()).status_code == 403
    assert not Customer.objects.exists()


# --- edit -------------------------------------------------------------------------------


def test_edit_sets_the_billing_agent(front_desk_client):
    customer = CustomerFactory()
    agent = BillingAgentFactory()
    response = front_desk_client.post(
        edit_url(customer), form_data(customer, billing_agent=agent.pk, city="Shelbyville")
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.billing_agent, customer.city) == (agent, "Shelbyville")


def test_edit_keeps_an_agent_deactivated_since(front_desk_client):
    agent = BillingAgentFactory(company_name="Dormant Co")
    customer = CustomerFactory(billing_agent=agent)
    agent.deactivate()
    html = front_desk_client.get(edit_url(customer)).content.decode()
    assert "Dormant Co (inactive)" in html
    response = front_desk_client.post(edit_url(customer), form_data(customer, city="Ogdenville"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.billing_agent, customer.city) == (agent, "Ogdenville")


def test_edit_without_changes_says_so(front_desk_client):
    customer = CustomerFactory()
    response = front_desk_client.post(edit_url(customer), form_data(customer), follow=True)
    assert "Nothing was changed." in response.content.decode()


def test_edit_needs_permission(client):
    customer = CustomerFactory()
    client.force_login(UserFactory())
    assert client.get(edit_url(customer)).status_code == 403
    assert client.post(edit_url(customer), form_data(customer, city="X")).status_code == 403


def test_edit_of_a_missing_customer_is_404(front_desk_client):
    assert front_desk_client.get(reverse("customers:customer_edit", args=[999])).status_code == 404


@pytest.fixture
def customer_with_open_tickets():
    old = BillingAgentFactory(company_name="Old Agent")
    customer = CustomerFactory(billing_agent=old)
    open_tickets = [
        TicketFactory(customer=customer, billing_agent=old, status=s)
        for s in (Status.NEW, Status.WAITING_FOR_PAYMENT)
    ]
    invoiced = TicketFactory(customer=customer, billing_agent=old, status=Status.INVOICED)
    return customer, old, open_tickets, invoiced


def test_changing_the_agent_first_offers_to_move_open_tickets(
    front_desk_client, customer_with_open_tickets
):
    customer, old, _open_tickets, _ = customer_with_open_tickets
    new = BillingAgentFactory()
    response = front_desk_client.post(edit_url(customer), form_data(customer, billing_agent=new.pk))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Also move" in html and "2 open tickets that are not invoiced" in html
    customer.refresh_from_db()
    assert customer.billing_agent == old  # nothing saved yet


def test_tickets_stay_unless_ticked(front_desk_client, customer_with_open_tickets):
    customer, old, open_tickets, _ = customer_with_open_tickets
    new = BillingAgentFactory()
    data = form_data(customer, billing_agent=new.pk, move_offer_seen="1")
    assert front_desk_client.post(edit_url(customer), data).status_code == 302
    customer.refresh_from_db()
    assert customer.billing_agent == new
    for ticket in open_tickets:
        ticket.refresh_from_db()
        assert ticket.billing_agent == old


def test_ticked_open_tickets_follow_but_invoiced_ones_stay(
    front_desk_client, customer_with_open_tickets
):
    customer, old, open_tickets, invoiced = customer_with_open_tickets
    new = BillingAgentFactory()
    data = form_data(customer, billing_agent=new.pk, move_offer_seen="1", move_open_tickets="on")
    response = front_desk_client.post(edit_url(customer), data, follow=True)
    assert "Moved 2 open tickets" in response.content.decode()
    for ticket in open_tickets:
        ticket.refresh_from_db()
        assert ticket.billing_agent == new
    invoiced.refresh_from_db()
    assert invoiced.billing_agent == old


def test_agent_offer_partial_counts_the_tickets(
    front_desk_client, htmx_headers, customer_with_open_tickets
):
    customer, old, _, _ = customer_with_open_tickets
    url = reverse("customers:customer_agent_offer", args=[customer.pk])
    new = BillingAgentFactory()
    html = front_desk_client.get(url, {"billing_agent": new.pk}, headers=htmx_headers)
    html = html.content.decode()
    assert html.lstrip().startswith('<div id="agent-move-offer"')
    assert "2 open tickets" in html and 'name="move_offer_seen"' in html
    same = front_desk_client.get(url, {"billing_agent": old.pk}, headers=htmx_headers)
    assert "move_offer_seen" not in same.content.decode()


def test_agent_offer_without_htmx_goes_to_the_edit_page(front_desk_client):
    customer = CustomerFactory()
    url = reverse("customers:customer_agent_offer", args=[customer.pk])
    response = front_desk_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == edit_url(customer)


def test_essentials_plan_offers_no_agent(front_desk_client, settings):
    settings.SHOP_PLAN = "essentials"
    BillingAgentFactory(company_name="Hidden Agent Co")
    html = front_desk_client.get(CREATE_URL).content.decode()
    assert "Hidden Agent Co" not in html
    assert front_desk_client.post(CREATE_URL, form_data()).status_code == 302


# --- view page ---------------------------------------------------------------------------


def test_front_desk_sees_the_agent_name_without_the_agent_page_link(front_desk_client):
    agent = BillingAgentFactory(company_name="Harbor Insurance")
    customer = CustomerFactory(billing_agent=agent)
    html = front_desk_client.get(customer.get_absolute_url()).content.decode()
    assert "Harbor Insurance" in html
    assert reverse("billing_agents:agent_detail", args=[agent.pk]) not in html


def test_detail_shows_agent_terms_balance_and_tickets(billing_client):
    agent = BillingAgentFactory(company_name="Harbor Insurance")
    customer = CustomerFactory(billing_agent=agent, net_terms_days=15, prefers_batch_invoices=True)
    ticket = TicketFactory(customer=customer, items=[("Screen", 1, "100.00", False)])
    TicketFactory(customer=customer, status=Status.CANCELLED, items=[("X", 1, "50", False)])
    response = billing_client.get(customer.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["customer"].open_balance == Decimal("100.00")
    assert 'data-figure="open-balance">$100.00<' in html
    assert reverse("billing_agents:agent_detail", args=[agent.pk]) in html
    assert "15 days" in html and ticket.number in html


def test_detail_tickets_partial(front_desk_client, htmx_headers):
    customer = CustomerFactory()
    TicketFactory(customer=customer)
    response = front_desk_client.get(customer.get_absolute_url(), headers=htmx_headers)
    assert response.content.decode().lstrip().startswith('<section id="customer-tickets"')


def test_detail_needs_permission_and_exists(client, front_desk_client):
    customer = CustomerFactory()
    assert (
        front_desk_client.get(reverse("customers:customer_detail", args=[999])).status_code == 404
    )
    client.force_login(UserFactory())
    assert client.get(customer.get_absolute_url()).status_code == 403


# --- account credit (a direct-billed customer is a payer) ------------------------------


def credit_refund_url(customer: Customer) -> str:
    return reverse("customers:customer_credit_refund", args=[customer.pk])


@pytest.fixture
def direct_with_credit(manager_user):
    customer = CustomerFactory(first_name="Dora", net_terms_days=15)
    adjust_credit(
        account=account_for(customer), amount=Decimal("80"), reason="Goodwill", by=manager_user
    )
    return customer


REFUND = {"amount": "30", "method": "cheque", "reference": "CHQ 5", "reason": "Asked"}


def test_detail_shows_the_credit_card_and_the_refund_button_to_a_manager(
    manager_client, direct_with_credit
):
    html = manager_client.get(direct_with_credit.get_absolute_url()).text
    assert "Account credit" in html and 'data-figure="credit-balance">$80.00<' in html
    assert credit_refund_url(direct_with_credit) in html


def test_detail_without_an_account_shows_no_credit_card(manager_client):
    customer = CustomerFactory(net_terms_days=15)
    html = manager_client.get(customer.get_absolute_url()).text
    assert "Account credit" not in html
    assert not Account.objects.filter(customer=customer).exists()


def test_manager_refunds_a_direct_customers_credit_full_page(manager_client, direct_with_credit):
    response = manager_client.post(credit_refund_url(direct_with_credit), REFUND)
    assert response.status_code == 302
    assert response["Location"] == direct_with_credit.get_absolute_url()
    row = CreditTransaction.objects.get(kind=CreditKind.REFUND)
    assert row.amount == Decimal("-30.00") and row.account.customer == direct_with_credit
    assert credit_balance(account=account_for(direct_with_credit)) == Decimal("50.00")
    page = manager_client.get(response["Location"]).text
    assert "Refunded $30.00 of credit" in page
    assert 'data-figure="credit-balance">$50.00<' in page


def test_manager_refunds_a_direct_customers_credit_with_htmx(
    manager_client, direct_with_credit, htmx_headers
):
    response = manager_client.post(
        credit_refund_url(direct_with_credit), REFUND, headers=htmx_headers
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="customer-credit"')
    assert 'data-figure="credit-balance">$50.00<' in response.text
    assert "closeModal" in response["HX-Trigger"]
    assert credit_balance(account=account_for(direct_with_credit)) == Decimal("50.00")


def test_refund_above_the_customers_credit_is_422_and_stores_nothing(
    manager_client, direct_with_credit, htmx_headers
):
    data = {**REFUND, "amount": "80.01"}
    response = manager_client.post(credit_refund_url(direct_with_credit), data)
    assert response.status_code == 422 and "of credit is available" in response.text
    response = manager_client.post(
        credit_refund_url(direct_with_credit), data, headers=htmx_headers
    )
    assert response.status_code == 422 and "<html" not in response.text
    assert response["HX-Retarget"] == "#confirm-modal .modal-content"
    assert not CreditTransaction.objects.filter(kind=CreditKind.REFUND).exists()
    assert credit_balance(account=account_for(direct_with_credit)) == Decimal("80.00")


def test_billing_cannot_refund_a_customers_credit_and_sees_no_button(
    billing_client, direct_with_credit
):
    url = credit_refund_url(direct_with_credit)
    assert billing_client.get(url).status_code == 403
    assert billing_client.post(url, REFUND).status_code == 403
    html = billing_client.get(direct_with_credit.get_absolute_url()).text
    assert 'data-figure="credit-balance">$80.00<' in html and url not in html
    assert not CreditTransaction.objects.filter(kind=CreditKind.REFUND).exists()


def test_customer_refund_form_page_and_dialog(manager_client, direct_with_credit, htmx_headers):
    page = manager_client.get(credit_refund_url(direct_with_credit))
    assert page.status_code == 200 and "<html" in page.text
    assert "$80.00" in page.text and 'name="amount"' in page.text
    dialog = manager_client.get(credit_refund_url(direct_with_credit), headers=htmx_headers)
    assert dialog.status_code == 200
    assert "<html" not in dialog.text and 'name="amount"' in dialog.text
    assert 'hx-target="#customer-credit"' in dialog.text


def test_essentials_plan_shows_no_credit_and_gates_the_refund(
    manager_client, direct_with_credit, settings
):
    settings.SHOP_PLAN = "essentials"
    html = manager_client.get(direct_with_credit.get_absolute_url()).text
    assert "Account credit" not in html
    assert manager_client.get(credit_refund_url(direct_with_credit)).status_code == 403


def test_two_letters_match_the_start_of_a_name_or_company(client, front_desk_user):
    CustomerFactory(first_name="Joan", last_name="Baker", company_name="")
    CustomerFactory(first_name="Ann", last_name="Johnson", company_name="")
    CustomerFactory(first_name="Kim", last_name="Lee", company_name="Jolly Cafe")
    CustomerFactory(first_name="Majo", last_name="Rivera", company_name="")
    client.force_login(front_desk_user)
    response = client.get("/customers/", {"q": "jo"})
    names = {c.first_name for c in response.context["customers"]}
    assert names == {"Joan", "Ann", "Kim"}


def test_a_search_matching_more_than_a_thousand_says_so(client, front_desk_user):
    Customer.objects.bulk_create(
        Customer(first_name=f"Pat{n}", last_name="Doe", email=f"p{n}@example.org")
        for n in range(1005)
    )
    client.force_login(front_desk_user)
    response = client.get("/customers/", {"q": "example.org"}, HTTP_HX_REQUEST="true")
    assert "of more than 1,000 customers" in response.content.decode()
    assert "of 40+" in response.content.decode()
