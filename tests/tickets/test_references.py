"""The payer's reference on the ticket page (labelled as the agent calls it), the refused
move without a required one, and the ticket list's search by reference."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from core.plans import PLAN_REQUIRED_MESSAGE
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    TicketFactory,
    UserFactory,
    agent_ticket,
)
from tickets import services
from tickets.models import Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db

LIST_URL = reverse("tickets:ticket_list")


def url(name: str, ticket: Ticket) -> str:
    return reverse(f"tickets:{name}", args=[ticket.pk])


def workspace(response) -> str:
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ticket-workspace"')
    return html


@pytest.fixture
def strict_agent():
    return BillingAgentFactory(
        company_name="Harbor Insurance", reference_label="Claim #", reference_required=True
    )


@pytest.fixture
def ready_ticket(strict_agent):
    return agent_ticket(strict_agent, status=Status.READY_FOR_PICKUP)


# --- the field on the ticket page --------------------------------------------------------


def test_reference_field_is_labelled_by_the_agent_with_its_requirement(
    front_desk_client, ready_ticket
):
    response = front_desk_client.get(ready_ticket.get_absolute_url())

    field = response.context["reference_form"]["payer_reference"]
    assert field.label == "Claim #"
    html = response.content.decode()
    assert 'name="payer_reference"' in html
    assert "Required by Harbor Insurance" in html


def test_optional_reference_has_no_requirement_hint(front_desk_client):
    agent = BillingAgentFactory(company_name="Lakeside Schools", reference_label="PO #")
    ticket = agent_ticket(agent)

    html = front_desk_client.get(ticket.get_absolute_url()).content.decode()

    assert "PO #" in html
    assert "Required by" not in html


def test_ticket_without_agent_asks_for_a_claim_or_po_number(front_desk_client):
    ticket = TicketFactory(customer=CustomerFactory())

    response = front_desk_client.get(ticket.get_absolute_url())

    assert response.context["reference_form"]["payer_reference"].label == "Claim or PO number"


def test_agent_with_the_generic_label_is_not_confused_with_the_deposit_reference(
    front_desk_client,
):
    ticket = agent_ticket(BillingAgentFactory(company_name="Metro Staffing"))

    response = front_desk_client.get(ticket.get_absolute_url())

    field = response.context["reference_form"]["payer_reference"]
    assert field.label == "Claim or PO number"
    assert field.help_text == "Printed on Metro Staffing's invoices as “Reference”."


def test_saving_the_reference_redirects_without_htmx(front_desk_client, ready_ticket):
    response = front_desk_client.post(
        url("ticket_set_reference", ready_ticket), {"payer_reference": "  CLM-2024-0042 "}
    )

    assert response.status_code == 302
    assert response["Location"] == ready_ticket.get_absolute_url()
    ready_ticket.refresh_from_db()
    assert ready_ticket.payer_reference == "CLM-2024-0042"
    page = front_desk_client.get(ready_ticket.get_absolute_url()).content.decode()
    assert "Claim # CLM-2024-0042 saved." in page
    assert 'value="CLM-2024-0042"' in page


def test_saving_the_reference_with_htmx_swaps_the_workspace(
    front_desk_client, ready_ticket, htmx_headers
):
    response = front_desk_client.post(
        url("ticket_set_reference", ready_ticket),
        {"payer_reference": "CLM-7"},
        headers=htmx_headers,
    )

    assert response.status_code == 200
    html = workspace(response)
    assert 'value="CLM-7"' in html
    # With the reference in place the move is offered and no longer refused.
    assert 'value="waiting_for_payment"' in html
    assert "requires a Claim #" not in html


def test_saving_the_reference_records_who_in_history(front_desk_client, front_desk_user):
    ticket = agent_ticket(BillingAgentFactory())

    front_desk_client.post(url("ticket_set_reference", ticket), {"payer_reference": "PO-1"})

    record = ticket.history.latest()
    assert record.payer_reference == "PO-1"
    assert record.history_user == front_desk_user


def test_reference_too_long_is_refused_beside_the_field(front_desk_client, ready_ticket):
    response = front_desk_client.post(
        url("ticket_set_reference", ready_ticket), {"payer_reference": "X" * 61}
    )

    assert response.status_code == 422
    assert response.context["reference_form"].errors["payer_reference"]
    ready_ticket.refresh_from_db()
    assert ready_ticket.payer_reference == ""


def test_required_reference_cannot_be_removed_while_waiting_for_payment(
    front_desk_client, strict_agent
):
    ticket = agent_ticket(strict_agent, status=Status.READY_FOR_PICKUP, payer_reference="C-1")
    ticket.transition_to(Status.WAITING_FOR_PAYMENT, by=None)

    response = front_desk_client.post(url("ticket_set_reference", ticket), {"payer_reference": ""})

    assert response.status_code == 422
    [message] = response.context["reference_form"].errors["payer_reference"]
    assert "Harbor Insurance requires a Claim # on every ticket" in message
    assert message in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.payer_reference == "C-1"


def test_reference_of_an_optional_agent_may_be_removed(front_desk_client):
    ticket = agent_ticket(BillingAgentFactory(reference_label="PO #"), payer_reference="PO-9")

    response = front_desk_client.post(url("ticket_set_reference", ticket), {"payer_reference": ""})

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.payer_reference == ""


def test_invoiced_ticket_keeps_its_reference(front_desk_client, strict_agent):
    ticket = agent_ticket(strict_agent, status=Status.INVOICED, payer_reference="C-1")

    page = front_desk_client.get(ticket.get_absolute_url()).content.decode()
    assert 'name="payer_reference"' not in page
    assert "C-1" in page

    response = front_desk_client.post(
        url("ticket_set_reference", ticket), {"payer_reference": "C-2"}
    )
    assert response.status_code == 409
    assert "is on an invoice and cannot be edited" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.payer_reference == "C-1"


def test_user_who_may_only_view_tickets_cannot_set_the_reference(client, ready_ticket):
    viewer = UserFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(viewer)

    page = client.get(ready_ticket.get_absolute_url()).content.decode()
    assert 'name="payer_reference"' not in page
    response = client.post(url("ticket_set_reference", ready_ticket), {"payer_reference": "X"})
    assert response.status_code == 403
    ready_ticket.refresh_from_db()
    assert ready_ticket.payer_reference == ""


def test_reference_is_a_billing_feature(front_desk_client, ready_ticket, settings):
    settings.SHOP_PLAN = "essentials"

    page = front_desk_client.get(ready_ticket.get_absolute_url()).content.decode()
    assert 'name="payer_reference"' not in page
    response = front_desk_client.post(
        url("ticket_set_reference", ready_ticket), {"payer_reference": "X"}
    )
    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.content.decode()
    ready_ticket.refresh_from_db()
    assert ready_ticket.payer_reference == ""


def test_changing_the_agent_relabels_the_field(
    front_desk_client, ready_ticket, htmx_headers, strict_agent
):
    other = BillingAgentFactory(company_name="Metro Staffing", reference_label="PO #")

    response = front_desk_client.post(
        url("ticket_set_agent", ready_ticket), {"billing_agent": other.pk}, headers=htmx_headers
    )

    assert response.status_code == 200
    html = workspace(response)
    assert response.context["reference_form"]["payer_reference"].label == "PO #"
    assert 'for="id_payer_reference">PO #</label>' in html
    assert "Required by" not in html


# --- the refused move ----------------------------------------------------------------------


def test_page_says_why_the_ticket_cannot_wait_for_payment(front_desk_client, ready_ticket):
    html = front_desk_client.get(ready_ticket.get_absolute_url()).content.decode()

    assert "Harbor Insurance requires a Claim # on every ticket; enter it before moving" in html
    assert 'value="waiting_for_payment"' not in html


@pytest.mark.parametrize("htmx", [False, True])
def test_move_without_the_required_reference_is_refused_on_the_page(
    front_desk_client, ready_ticket, htmx_headers, htmx
):
    headers = htmx_headers if htmx else {}

    response = front_desk_client.post(
        url("ticket_move", ready_ticket), {"target": Status.WAITING_FOR_PAYMENT}, headers=headers
    )

    assert response.status_code == 409
    html = workspace(response) if htmx else response.content.decode()
    assert 'data-testid="ticket-alert"' in html
    assert "Harbor Insurance requires a Claim # on every ticket" in html
    ready_ticket.refresh_from_db()
    assert ready_ticket.status == Status.READY_FOR_PICKUP
    assert not ready_ticket.status_changes.exists()


def test_move_goes_through_once_the_reference_is_entered(front_desk_client, ready_ticket):
    front_desk_client.post(url("ticket_set_reference", ready_ticket), {"payer_reference": "C-9"})

    response = front_desk_client.post(
        url("ticket_move", ready_ticket), {"target": Status.WAITING_FOR_PAYMENT}
    )

    assert response.status_code == 302
    ready_ticket.refresh_from_db()
    assert ready_ticket.status == Status.WAITING_FOR_PAYMENT


def test_service_refuses_a_reference_longer_than_the_column(ready_ticket):
    with pytest.raises(services.InvalidPayerReference) as refused:
        services.set_payer_reference(ticket=ready_ticket, reference="X" * 61, by=None)
    assert refused.value.field == "payer_reference"


# --- the ticket list's search ------------------------------------------------------------


@pytest.mark.parametrize("q", ["CLM-2024-0042", "clm-2024-0042", "clm-2024", " CLM "])
def test_list_finds_a_ticket_by_its_reference_exact_or_prefix_any_case(front_desk_client, q):
    agent = BillingAgentFactory()
    found = agent_ticket(agent, payer_reference="CLM-2024-0042")
    other = agent_ticket(agent, payer_reference="PO-77")

    tickets = list(front_desk_client.get(LIST_URL, {"q": q}).context["tickets"])

    assert found in tickets
    assert other not in tickets


def test_list_search_does_not_match_the_middle_of_a_reference(front_desk_client):
    ticket = agent_ticket(BillingAgentFactory(), payer_reference="HARBOR-CLAIM-QQ")

    tickets = list(front_desk_client.get(LIST_URL, {"q": "claim-qq"}).context["tickets"])

    assert ticket not in tickets
