"""Issue 10, point 6, on the ticket pages: the locked banner names its invoice and says who
can unlock it; cancelled tickets owe nothing; removing an item asks first without JS."""

from decimal import Decimal

import pytest
from django.urls import reverse

from invoicing.accounts import account_for
from invoicing.services import create_invoices
from tests.factories import BillingAgentFactory, TicketFactory, waiting_ticket
from tickets.models import TicketItem
from tickets.transitions import Status

pytestmark = pytest.mark.django_db


def url(name, ticket, *args):
    return reverse(f"tickets:{name}", args=[ticket.pk, *args])


def banner(response) -> str:
    html = response.content.decode()
    start = html.index('data-testid="ticket-locked"')
    return html[start : html.index("</div>", start)]


@pytest.fixture
def invoiced(billing_user):
    agent = BillingAgentFactory()
    ticket = waiting_ticket(agent)
    [invoice] = create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=billing_user
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.INVOICED
    return ticket, invoice


# --- the locked banner -----------------------------------------------------------------


def test_locked_banner_links_the_invoice_and_tells_a_manager_to_delete_it(manager_client, invoiced):
    ticket, invoice = invoiced

    text = banner(manager_client.get(ticket.get_absolute_url()))

    assert f'<a href="{invoice.get_absolute_url()}" class="alert-link">{invoice.number}</a>' in text
    assert "delete that invoice first" in text
    assert "ask a manager" not in text


@pytest.mark.parametrize("role_client", ["front_desk_client", "billing_client"])
def test_locked_banner_tells_others_to_ask_a_manager(request, role_client, invoiced):
    client = request.getfixturevalue(role_client)
    ticket, invoice = invoiced

    text = banner(client.get(ticket.get_absolute_url()))

    assert invoice.number in text
    assert "ask a manager to delete that invoice" in text
    assert "delete that invoice first" not in text


def test_front_desk_sees_the_invoice_number_without_a_link_they_cannot_open(
    front_desk_client, invoiced
):
    ticket, invoice = invoiced

    text = banner(front_desk_client.get(ticket.get_absolute_url()))

    assert invoice.number in text and invoice.get_absolute_url() not in text


# --- cancelled tickets owe nothing ------------------------------------------------------


def test_cancelled_ticket_page_shows_no_balance_due(front_desk_client):
    ticket = TicketFactory(status=Status.CANCELLED, items=[("Screen", 1, "80.00", False)])
    assert ticket.balance_due == Decimal("80.00")

    html = front_desk_client.get(ticket.get_absolute_url()).content.decode()

    assert 'data-figure="balance-due">Cancelled: nothing owed<' in html
    assert 'data-figure="total">$80.00<' in html


def test_ticket_list_shows_cancelled_instead_of_a_balance(front_desk_client):
    cancelled = TicketFactory(status=Status.CANCELLED, items=[("Screen", 1, "80.00", False)])
    open_ticket = TicketFactory(items=[("Battery", 1, "45.00", False)])

    html = front_desk_client.get(reverse("tickets:ticket_list")).content.decode()

    row = html[html.index(f'id="ticket-row-{cancelled.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Cancelled</span></td>" in row and row.count("$80.00") == 1  # the total only
    other = html[html.index(f'id="ticket-row-{open_ticket.pk}"') :]
    assert 'data-figure="balance-due">$45.00<' in other[: other.index("</tr>")]


# --- removing an item asks first, also without JavaScript -------------------------------


def test_remove_button_without_js_opens_a_confirm_page(front_desk_client):
    ticket = TicketFactory(items=[("Screen protector", 1, "15.00", False)])
    item = ticket.items.get()
    remove_url = url("ticket_remove_item", ticket, item.pk)

    html = front_desk_client.get(ticket.get_absolute_url()).content.decode()
    form = html[html.rindex("<form", 0, html.index(f'action="{remove_url}"')) :]
    assert form.startswith('<form class="d-inline" method="get"')

    page = front_desk_client.get(remove_url)

    assert page.status_code == 200
    assert page.templates[0].name == "confirm_page.html"
    body = page.content.decode()
    assert "Remove “Screen protector”?" in body and "$15.00" in body
    assert f'method="post" action="{remove_url}"' in body
    assert "hx-post" not in body.split('id="main"')[1].split("</main>")[0]
    assert TicketItem.objects.filter(pk=item.pk).exists()  # GET changed nothing

    done = front_desk_client.post(remove_url)
    assert done.status_code == 302 and done["Location"] == ticket.get_absolute_url()
    assert not TicketItem.objects.filter(pk=item.pk).exists()


def test_remove_confirm_for_htmx_is_the_dialog_content(front_desk_client, htmx_headers):
    ticket = TicketFactory(items=[("Screen protector", 1, "15.00", False)])
    item = ticket.items.get()

    response = front_desk_client.get(
        url("ticket_remove_item", ticket, item.pk), headers=htmx_headers
    )

    body = response.content.decode()
    assert "<html" not in body and 'hx-target="#ticket-workspace"' in body


def test_remove_confirm_on_a_locked_ticket_says_why_and_offers_no_button(front_desk_client):
    ticket = TicketFactory(status=Status.CLOSED, items=[("Screen", 1, "15.00", False)])
    item = ticket.items.get()

    body = front_desk_client.get(url("ticket_remove_item", ticket, item.pk)).content.decode()

    assert "cannot be edited" in body and "data-confirm-submit" not in body
