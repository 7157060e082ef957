"""Ticket pages: list with filters, create, and every in-place action on the detail page,
as a full page (PRG) and as an htmx partial, with bad input, forged posts and permissions."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    TicketFactory,
    UserFactory,
    agent_ticket,
)
from tickets import services
from tickets.models import Ticket, TicketItem, TicketStatusChange
from tickets.transitions import Kind, Status

pytestmark = pytest.mark.django_db

LIST_URL = reverse("tickets:ticket_list")
CREATE_URL = reverse("tickets:ticket_create")


def url(name: str, ticket: Ticket, *args) -> str:
    return reverse(f"tickets:{name}", args=[ticket.pk, *args])


def workspace(response) -> str:
    html = response.content.decode()
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="ticket-workspace"')
    return html


# --- list ------------------------------------------------------------------------------


def test_list_full_page_and_partial(front_desk_client, htmx_headers):
    ticket = TicketFactory(customer=CustomerFactory(last_name="Quimby"))
    full = front_desk_client.get(LIST_URL)
    assert full.status_code == 200 and "<html" in full.content.decode()
    assert ticket.number in full.content.decode()
    partial = front_desk_client.get(LIST_URL, {"q": "quimby"}, headers=htmx_headers)
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="ticket-table"') and ticket.number in html


@pytest.mark.parametrize("spelling", ["{number}", "{pk}", "t-{pk}"])
def test_list_search_by_number(front_desk_client, spelling):
    ticket = TicketFactory()
    other = TicketFactory()
    q = spelling.format(number=ticket.number, pk=ticket.pk)
    tickets = list(front_desk_client.get(LIST_URL, {"q": q}).context["tickets"])
    assert ticket in tickets and other not in tickets


def test_list_filters(front_desk_client):
    agent = BillingAgentFactory()
    store = LocationFactory(name="Uptown")
    wanted = agent_ticket(agent, status=Status.IN_REPAIR, location=store)
    TicketFactory(status=Status.IN_REPAIR, location=store)
    TicketFactory(kind=Kind.QUICK_SALE, location=store)
    response = front_desk_client.get(
        LIST_URL,
        {
            "status": Status.IN_REPAIR,
            "kind": Kind.REPAIR,
            "location": store.pk,
            "billing_agent": agent.pk,
        },
    )
    assert list(response.context["tickets"]) == [wanted]


def test_list_ignores_unknown_filter_values(front_desk_client):
    TicketFactory()
    response = front_desk_client.get(LIST_URL, {"status": "bogus", "location": "x"})
    assert response.status_code == 200


def test_list_query_count_does_not_grow_with_rows(front_desk_client, django_assert_max_num_queries):
    agent = BillingAgentFactory()
    for _ in range(3):
        agent_ticket(agent)
    with django_assert_max_num_queries(12) as few:
        front_desk_client.get(LIST_URL)
    for _ in range(20):
        agent_ticket(BillingAgentFactory(), location=LocationFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        front_desk_client.get(LIST_URL)


def test_list_needs_permission(client):
    client.force_login(UserFactory())
    assert client.get(LIST_URL).status_code == 403


# --- create -----------------------------------------------------------------------------


def test_create_repair_ticket(front_desk_client, front_desk_user):
    store = LocationFactory()
    response = front_desk_client.post(
        CREATE_URL,
        {
            "kind": Kind.REPAIR,
            "location": store.pk,
            "device": "iPad Air",
            "problem_description": "Cracked screen",
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    assert (ticket.status, ticket.device, ticket.created_by) == (
        Status.NEW,
        "iPad Air",
        front_desk_user,
    )


def test_create_quick_sale_for_a_customer_attaches_the_agent(front_desk_client):
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    page = front_desk_client.get(CREATE_URL, {"customer": customer.pk})
    assert str(customer) in page.content.decode()
    front_desk_client.post(
        CREATE_URL,
        {"kind": Kind.QUICK_SALE, "location": LocationFactory().pk, "customer": customer.pk},
    )
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.customer, ticket.billing_agent) == (
        Status.OPEN,
        customer,
        agent,
    )


def test_create_repair_needs_a_device(front_desk_client):
    response = front_desk_client.post(
        CREATE_URL, {"kind": Kind.REPAIR, "location": LocationFactory().pk, "device": ""}
    )
    assert response.status_code == 422
    assert "device" in response.context["form"].errors
    assert not Ticket.objects.exists()


def test_create_needs_permission(client):
    client.force_login(UserFactory())
    assert client.get(CREATE_URL).status_code == 403


# --- detail --------------------------------------------------------------------------------


def test_detail_full_page_shows_totals_and_moves(front_desk_client):
    ticket = TicketFactory(status=Status.IN_REPAIR, items=[("Screen", 2, "50.00", True)])
    response = front_desk_client.get(ticket.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html
    assert 'data-figure="subtotal">$100.00<' in html
    assert 'data-figure="tax">$8.25<' in html
    assert 'data-figure="balance-due">$108.25<' in html
    # Exactly the moves allowed now (In Repair -> Pending Notification, Ready, On Hold, Cancel).
    targets = [t for t, _ in response.context["moves"]]
    assert targets == ticket.allowed_moves()
    for target in targets:
        assert f'name="target" value="{target}"' in html
    assert 'value="waiting_for_payment"' not in html


def test_detail_workspace_partial(front_desk_client, htmx_headers):
    ticket = TicketFactory()
    response = front_desk_client.get(
        ticket.get_absolute_url(), headers={**htmx_headers, "HX-Target": "ticket-workspace"}
    )
    workspace(response)


def test_detail_customer_lookup_partial_and_without_js(front_desk_client, htmx_headers):
    ticket = TicketFactory(kind=Kind.QUICK_SALE)
    customer = CustomerFactory(first_name="Zelda", last_name="Quimby")
    CustomerFactory(first_name="Bart")
    response = front_desk_client.get(
        ticket.get_absolute_url(),
        {"customer_q": "zelda"},
        headers={**htmx_headers, "HX-Target": "customer-results"},
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="customer-results"')
    assert f'name="customer" value="{customer.pk}"' in html and "Bart" not in html
    full = front_desk_client.get(ticket.get_absolute_url(), {"customer_q": "zelda"})
    assert "<html" in full.content.decode() and "Attach" in full.content.decode()


def test_detail_needs_permission_and_exists(client, front_desk_client):
    ticket = TicketFactory()
    assert front_desk_client.get(reverse("tickets:ticket_detail", args=[999])).status_code == 404
    client.force_login(UserFactory())
    assert client.get(ticket.get_absolute_url()).status_code == 403


def test_without_a_customer_the_agent_control_explains_why(front_desk_client):
    html = front_desk_client.get(TicketFactory().get_absolute_url()).content.decode()
    assert "Attach a customer first" in html
    assert 'id="agent-disabled" disabled' in html


def test_invoiced_ticket_is_read_only_on_the_page(front_desk_client):
    ticket = TicketFactory(
        status=Status.INVOICED, customer=CustomerFactory(), items=[("Screen", 1, "10", True)]
    )
    html = front_desk_client.get(ticket.get_absolute_url()).content.decode()
    assert "delete the invoice first" in html
    assert url("ticket_add_item", ticket) not in html
    assert url("ticket_move", ticket) not in html or 'name="target"' not in html


# --- attach customer and agent -----------------------------------------------------------------


def test_attach_customer_brings_its_agent_htmx(front_desk_client, htmx_headers):
    agent = BillingAgentFactory(company_name="Harbor Insurance")
    customer = CustomerFactory(billing_agent=agent)
    ticket = TicketFactory(kind=Kind.QUICK_SALE)
    response = front_desk_client.post(
        url("ticket_attach_customer", ticket), {"customer": customer.pk}, headers=htmx_headers
    )
    html = workspace(response)
    assert "Harbor Insurance" in html
    assert 'value="waiting_for_payment"' in html  # a quick sale with a customer may move on
    ticket.refresh_from_db()
    assert (ticket.customer, ticket.billing_agent) == (customer, agent)
    assert "messages" in response["HX-Trigger"]


def test_attach_customer_without_js_redirects(front_desk_client):
    customer = CustomerFactory()
    ticket = TicketFactory()
    response = front_desk_client.post(
        url("ticket_attach_customer", ticket), {"customer": customer.pk}
    )
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()


def test_attach_an_unknown_customer_is_refused(front_desk_client):
    ticket = TicketFactory()
    response = front_desk_client.post(url("ticket_attach_customer", ticket), {"customer": "999"})
    assert response.status_code == 422
    assert "Choose a customer" in response.content.decode()


def test_set_agent(front_desk_client, htmx_headers):
    ticket = agent_ticket(BillingAgentFactory())
    other = BillingAgentFactory(company_name="Zenith Schools")
    response = front_desk_client.post(
        url("ticket_set_agent", ticket), {"billing_agent": other.pk}, headers=htmx_headers
    )
    assert "Zenith Schools" in workspace(response)
    ticket.refresh_from_db()
    assert ticket.billing_agent == other
    front_desk_client.post(url("ticket_set_agent", ticket), {"billing_agent": ""})
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_forged_agent_without_customer_is_refused(front_desk_client):
    ticket = TicketFactory()
    response = front_desk_client.post(
        url("ticket_set_agent", ticket), {"billing_agent": BillingAgentFactory().pk}
    )
    assert response.status_code == 422
    assert "Attach a customer first" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


def test_forged_inactive_agent_is_refused(front_desk_client):
    ticket = TicketFactory(customer=CustomerFactory())
    gone = BillingAgentFactory(inactive=True)
    response = front_desk_client.post(url("ticket_set_agent", ticket), {"billing_agent": gone.pk})
    assert response.status_code == 422
    assert "billing_agent" in response.context["agent_form"].errors
    ticket.refresh_from_db()
    assert ticket.billing_agent is None


# --- items, discount, deposits ---------------------------------------------------------------


def test_add_item_htmx_updates_items_and_totals(front_desk_client, htmx_headers):
    ticket = TicketFactory(location=LocationFactory(name="NoTax", tax_rate_percent=0))
    response = front_desk_client.post(
        url("ticket_add_item", ticket),
        {
            "item-description": "Battery",
            "item-quantity": "2",
            "item-unit_price": "19.99",
            "item-taxable": "on",
        },
        headers=htmx_headers,
    )
    html = workspace(response)
    assert "Battery" in html and 'data-figure="total">$39.98<' in html
    ticket.refresh_from_db()
    assert ticket.total == Decimal("39.98")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", "-1", "Quantity must be more than zero."),
        ("unit_price", "-5", "Unit price cannot be negative."),
        ("quantity", "abc", "Enter a number."),
    ],
)
def test_bad_item_input_is_shown_beside_the_field(front_desk_client, field, value, message):
    ticket = TicketFactory()
    data = {"item-description": "Part", "item-quantity": "1", "item-unit_price": "5"}
    data[f"item-{field}"] = value
    response = front_desk_client.post(url("ticket_add_item", ticket), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_item-{field}_error"' in html and message in html
    assert not TicketItem.objects.exists()


def test_bad_item_input_htmx_shows_the_message_in_place(front_desk_client, htmx_headers):
    ticket = TicketFactory()
    response = front_desk_client.post(
        url("ticket_add_item", ticket),
        {"item-description": "Part", "item-quantity": "-1", "item-unit_price": "5"},
        headers=htmx_headers,
    )
    assert response.status_code == 422  # refused; htmx swaps 422 (base.html responseHandling)
    assert "Quantity must be more than zero." in workspace(response)
    assert not TicketItem.objects.exists()


def test_edit_item_form_and_save(front_desk_client, htmx_headers):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    item = ticket.items.get()
    page = front_desk_client.get(
        ticket.get_absolute_url(),
        {"edit_item": item.pk},
        headers={**htmx_headers, "HX-Target": "ticket-workspace"},
    )
    assert url("ticket_update_item", ticket, item.pk) in workspace(page)
    response = front_desk_client.post(
        url("ticket_update_item", ticket, item.pk),
        {"edit-description": "Screen (OEM)", "edit-quantity": "1", "edit-unit_price": "60.00"},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    ticket.refresh_from_db()
    assert (item.description, item.unit_price, item.taxable) == (
        "Screen (OEM)",
        Decimal("60.00"),
        False,
    )
    assert ticket.total == Decimal("60.00")


def test_remove_item(front_desk_client, htmx_headers):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    item = ticket.items.get()
    response = front_desk_client.post(
        url("ticket_remove_item", ticket, item.pk), headers=htmx_headers
    )
    assert "No items yet." in workspace(response)
    ticket.refresh_from_db()
    assert ticket.total == Decimal("0.00")


def test_item_of_another_ticket_is_404(front_desk_client):
    ticket = TicketFactory()
    foreign = TicketFactory(items=[("Other", 1, "5", True)]).items.get()
    assert front_desk_client.post(url("ticket_remove_item", ticket, foreign.pk)).status_code == 404


def test_discount_above_subtotal_is_shown_beside_the_field(front_desk_client):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    response = front_desk_client.post(
        url("ticket_set_discount", ticket), {"discount_type": "amount", "discount_value": "60"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_discount_value_error"' in html and "cannot be more than the subtotal" in html
    ticket.refresh_from_db()
    assert (ticket.discount_value, ticket.total) == (Decimal("0.00"), Decimal("50.00"))


def test_discount_percent(front_desk_client, htmx_headers):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    response = front_desk_client.post(
        url("ticket_set_discount", ticket),
        {"discount_type": "percent", "discount_value": "10"},
        headers=htmx_headers,
    )
    assert 'data-figure="balance-due">$45.00<' in workspace(response)


def test_deposit_above_balance_is_shown_beside_the_field(front_desk_client, htmx_headers):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    response = front_desk_client.post(
        url("ticket_add_deposit", ticket),
        {"deposit-amount": "50.01", "deposit-method": "cash"},
        headers=htmx_headers,
    )
    assert response.status_code == 422
    html = workspace(response)
    assert 'id="id_deposit-amount_error"' in html and "cannot be more than the balance due" in html
    assert 'aria-describedby="id_deposit-amount_error"' in html and "is-invalid" in html
    assert not ticket.payments.exists()


def test_deposit_lowers_balance(front_desk_client):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    response = front_desk_client.post(
        url("ticket_add_deposit", ticket),
        {"deposit-amount": "20", "deposit-method": "card", "deposit-reference": "auth 9"},
        follow=True,
    )
    html = response.content.decode()
    assert 'data-figure="balance-due">$30.00<' in html and "auth 9" in html


# --- deposit refunds (Billing and Manager) --------------------------------------------------

REFUND = {
    "refund-amount": "30.00",
    "refund-method": "cash",
    "refund-reference": "drawer 2",
    "refund-reason": "Repair not possible",
}


def _deposited(**kwargs) -> Ticket:
    return TicketFactory(items=[("Screen", 1, "80.00", False)], deposits=["30.00"], **kwargs)


def test_refund_htmx_answers_the_workspace_with_the_refund_listed(
    billing_client, billing_user, htmx_headers
):
    billing_user.first_name, billing_user.last_name = "Bailey", "Clerk"
    billing_user.save()
    ticket = _deposited()
    response = billing_client.post(
        url("ticket_refund_deposit", ticket), REFUND, headers=htmx_headers
    )
    assert response.status_code == 200
    html = workspace(response)
    assert 'data-figure="paid">$0.00<' in html and 'data-figure="balance-due">$80.00<' in html
    start = html.index('data-payment-kind="refund"')
    row = html[start : html.index("</li>", start)]
    assert "Deposit refund" in row and "drawer 2" in row and "by Bailey Clerk" in row
    assert "Why: Repair not possible" in row and "\N{MINUS SIGN}$30.00" in row
    # Nothing is left to refund, so the form is gone; cancelling is offered again.
    assert url("ticket_refund_deposit", ticket) not in html
    assert 'name="target" value="cancelled"' in html
    refund = ticket.payments.get(kind="refund")
    assert (refund.amount, refund.received_by) == (Decimal("-30.00"), billing_user)


def test_refund_without_js_redirects_to_the_page(manager_client):
    ticket = _deposited()
    response = manager_client.post(url("ticket_refund_deposit", ticket), REFUND)
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    page = manager_client.get(response["Location"]).content.decode()
    assert "Refund of $30.00 recorded on" in page and "Why: Repair not possible" in page


def test_refund_form_is_offered_with_what_can_be_refunded(billing_client):
    ticket = _deposited()
    html = billing_client.get(ticket.get_absolute_url()).content.decode()
    assert url("ticket_refund_deposit", ticket) in html
    assert 'data-figure="refundable">$30.00<' in html
    assert "Reason for the refund" in html


def test_refund_above_what_was_paid_is_shown_beside_the_field(billing_client, htmx_headers):
    ticket = _deposited()
    response = billing_client.post(
        url("ticket_refund_deposit", ticket),
        {**REFUND, "refund-amount": "30.01"},
        headers=htmx_headers,
    )
    assert response.status_code == 422
    html = workspace(response)
    assert 'id="id_refund-amount_error"' in html
    assert "cannot be more than what was paid at the counter" in html
    assert "<details open>" in html  # the refused form stays open with its message
    assert ticket.payments.count() == 1


def test_refund_needs_a_reason(billing_client):
    ticket = _deposited()
    response = billing_client.post(
        url("ticket_refund_deposit", ticket), {**REFUND, "refund-reason": "  "}
    )
    assert response.status_code == 422
    assert 'id="id_refund-reason_error"' in response.content.decode()
    assert "Say why the deposit is refunded." in response.content.decode()
    assert ticket.payments.count() == 1


def test_refund_on_an_invoiced_ticket_is_refused_with_the_reason(billing_client, htmx_headers):
    ticket = _deposited(customer=CustomerFactory())
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.INVOICED)
    html = billing_client.get(ticket.get_absolute_url()).content.decode()
    assert url("ticket_refund_deposit", ticket) not in html
    response = billing_client.post(
        url("ticket_refund_deposit", ticket), REFUND, headers=htmx_headers
    )
    assert response.status_code == 409
    assert "delete the invoice first" in workspace(response)
    assert ticket.payments.count() == 1


def test_front_desk_sees_no_refund_button_and_may_not_post_one(front_desk_client):
    ticket = _deposited()
    html = front_desk_client.get(ticket.get_absolute_url()).content.decode()
    assert url("ticket_refund_deposit", ticket) not in html and "Refund a deposit" not in html
    assert front_desk_client.post(url("ticket_refund_deposit", ticket), REFUND).status_code == 403
    assert ticket.payments.count() == 1


def test_refund_is_post_only(billing_client):
    ticket = _deposited()
    assert billing_client.get(url("ticket_refund_deposit", ticket)).status_code == 405
    assert ticket.payments.count() == 1


def test_refund_of_a_missing_ticket_is_404(billing_client):
    missing = reverse("tickets:ticket_refund_deposit", args=[999999])
    assert billing_client.post(missing, REFUND).status_code == 404


def test_changes_to_an_invoiced_ticket_are_refused(front_desk_client, htmx_headers):
    ticket = TicketFactory(
        status=Status.INVOICED, customer=CustomerFactory(), items=[("Screen", 1, "50", False)]
    )
    response = front_desk_client.post(
        url("ticket_set_discount", ticket), {"discount_type": "amount", "discount_value": "5"}
    )
    assert response.status_code == 422
    assert "delete the invoice first" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.discount_value == Decimal("0.00")


# --- moves --------------------------------------------------------------------------------


def test_allowed_move_htmx(front_desk_client, htmx_headers):
    ticket = TicketFactory(status=Status.READY_FOR_PICKUP, customer=CustomerFactory())
    response = front_desk_client.post(
        url("ticket_move", ticket), {"target": Status.WAITING_FOR_PAYMENT}, headers=htmx_headers
    )
    assert "Waiting for Payment" in workspace(response)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_PAYMENT


def test_allowed_move_without_js_redirects(front_desk_client):
    ticket = TicketFactory(status=Status.NEW)
    response = front_desk_client.post(url("ticket_move", ticket), {"target": Status.IN_DIAGNOSIS})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.IN_DIAGNOSIS


@pytest.mark.parametrize("target", [Status.WAITING_FOR_PAYMENT, Status.INVOICED, "bogus", ""])
def test_forged_move_is_refused_and_changes_nothing(front_desk_client, target):
    ticket = TicketFactory(status=Status.NEW, customer=CustomerFactory())
    response = front_desk_client.post(url("ticket_move", ticket), {"target": target})
    assert response.status_code == 409
    assert 'data-testid="ticket-alert"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert not TicketStatusChange.objects.exists()


def test_forged_move_htmx_shows_an_inline_alert(front_desk_client, htmx_headers):
    ticket = TicketFactory(status=Status.NEW)
    response = front_desk_client.post(
        url("ticket_move", ticket), {"target": Status.CLOSED}, headers=htmx_headers
    )
    assert response.status_code == 409  # a refused move: 409 with and without htmx
    assert "cannot move from New to Closed" in workspace(response)


def _over_limit() -> Ticket:
    agent = BillingAgentFactory(credit_limit=Decimal("50.00"))
    return agent_ticket(agent, status=Status.READY_FOR_PICKUP, items=[("Screen", 1, "80", False)])


def test_credit_limit_message_without_override_for_front_desk(front_desk_client):
    ticket = _over_limit()
    response = front_desk_client.post(
        url("ticket_move", ticket), {"target": Status.WAITING_FOR_PAYMENT}
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "over its credit limit" in html
    assert "Override credit limit and move" not in html
    assert "Only a manager can override" in html
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


def test_forged_override_by_front_desk_is_forbidden(front_desk_client):
    ticket = _over_limit()
    response = front_desk_client.post(
        url("ticket_move", ticket), {"target": Status.WAITING_FOR_PAYMENT, "override": "1"}
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.READY_FOR_PICKUP


def test_manager_may_override_the_credit_limit(manager_client, htmx_headers):
    ticket = _over_limit()
    first = manager_client.post(
        url("ticket_move", ticket), {"target": Status.WAITING_FOR_PAYMENT}, headers=htmx_headers
    )
    assert first.status_code == 409
    assert "Override credit limit and move" in workspace(first)
    second = manager_client.post(
        url("ticket_move", ticket),
        {"target": Status.WAITING_FOR_PAYMENT, "override": "1"},
        headers=htmx_headers,
    )
    assert "credit limit overridden" in workspace(second)
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_FOR_PAYMENT
    assert ticket.status_changes.get().credit_limit_override is True


# --- permissions on every action ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("ticket_attach_customer", {"customer": "1"}),
        ("ticket_set_agent", {"billing_agent": ""}),
        (
            "ticket_add_item",
            {"item-description": "x", "item-quantity": "1", "item-unit_price": "1"},
        ),
        ("ticket_set_discount", {"discount_type": "amount", "discount_value": "0"}),
        ("ticket_add_deposit", {"deposit-amount": "1", "deposit-method": "cash"}),
        ("ticket_move", {"target": "in_diagnosis"}),
    ],
)
def test_actions_need_change_permission(client, name, data):
    ticket = TicketFactory(items=[("Screen", 1, "10", False)], customer=CustomerFactory())
    client.force_login(UserFactory())
    assert client.post(url(name, ticket), data).status_code == 403
    item = ticket.items.get()
    for item_action in ("ticket_update_item", "ticket_remove_item"):
        assert client.post(url(item_action, ticket, item.pk)).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.items.count() == 1


def test_actions_are_post_only(front_desk_client):
    ticket = TicketFactory()
    assert front_desk_client.get(url("ticket_move", ticket)).status_code == 405


def test_a_viewer_sees_no_action_buttons(client):
    from django.contrib.auth.models import Permission

    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(codename="view_ticket", content_type__app_label="tickets")
    )
    client.force_login(user)
    ticket = TicketFactory(status=Status.IN_REPAIR)
    html = client.get(ticket.get_absolute_url()).content.decode()
    assert url("ticket_add_item", ticket) not in html
    assert 'name="target"' not in html


# --- history ---------------------------------------------------------------------------


def _history_html(html: str) -> str:
    start = html.index('id="ticket-history"')
    return html[start : html.index("</section>", start)]


def test_a_removed_item_stays_in_the_history_with_who_and_when(
    front_desk_client, front_desk_user, htmx_headers
):
    front_desk_user.first_name, front_desk_user.last_name = "Robin", "Desk"
    front_desk_user.save()
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    item = ticket.items.get()
    response = front_desk_client.post(
        url("ticket_remove_item", ticket, item.pk), headers=htmx_headers
    )
    # The htmx answer (the workspace) carries the fresh history.
    history = _history_html(workspace(response))
    assert 'data-history="item-removed"' in history
    assert "Item removed" in history and "Screen" in history and "by Robin Desk" in history
    # So does the full page, with the amounts the line had.
    page = front_desk_client.get(ticket.get_absolute_url())
    history = _history_html(page.content.decode())
    assert 'data-history="item-removed"' in history and "by Robin Desk" in history
    assert "1 \N{MULTIPLICATION SIGN} $50.00, not taxable" in history
    assert "No items yet." in page.content.decode()


def test_history_shows_item_changes_old_to_new(front_desk_client):
    ticket = TicketFactory(items=[("Screen", 1, "50.00", False)])
    item = ticket.items.get()
    front_desk_client.post(
        url("ticket_update_item", ticket, item.pk),
        {"edit-description": "Screen (OEM)", "edit-quantity": "1", "edit-unit_price": "60.00"},
    )
    history = _history_html(front_desk_client.get(ticket.get_absolute_url()).content.decode())
    assert 'data-history="item-changed"' in history
    assert "Description: Screen → Screen (OEM)" in history
    assert "Unit price: $50.00 → $60.00" in history


def test_ticket_page_queries_do_not_grow_with_the_history(
    front_desk_client, front_desk_user, django_assert_max_num_queries
):
    ticket = TicketFactory(location=LocationFactory(tax_rate_percent=0))

    def churn(n: int) -> None:
        for i in range(n):
            item = services.add_item(
                ticket=ticket,
                description=f"Part {i}",
                quantity=Decimal("1"),
                unit_price=Decimal("10"),
                by=front_desk_user,
            )
            services.update_item(
                item=item,
                description=f"Part {i}b",
                quantity=Decimal("2"),
                unit_price=Decimal("10"),
                taxable=True,
                by=front_desk_user,
            )
            services.add_deposit(
                ticket=ticket, amount=Decimal("1.00"), method="cash", by=front_desk_user
            )
            if i % 2:
                services.remove_item(item=item, by=UserFactory())

    churn(2)
    with django_assert_max_num_queries(40) as few:
        front_desk_client.get(ticket.get_absolute_url())
    churn(40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = front_desk_client.get(ticket.get_absolute_url())
    assert len(response.context["history"]) == 50
