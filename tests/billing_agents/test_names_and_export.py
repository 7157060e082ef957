"""Issue 10, point 6: one agent per company name, and the CSV's local last-ticket date."""

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from billing_agents.models import BillingAgent
from billing_agents.services import DuplicateAgentName, save_agent
from tests.factories import BillingAgentFactory, agent_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

VALID = {
    "company_name": "Harbor Insurance",
    "country": "United States",
    "net_terms_days": "30",
    "invoice_method": "batch",
    "reference_label": "Reference",
    "send_reminders": "on",
}


def url(name, *args):
    return reverse(f"billing_agents:{name}", args=args)


# --- duplicate names: the service -------------------------------------------------------


@pytest.mark.parametrize("name", ["Harbor Insurance", "  harbor INSURANCE ", "HARBOR insurance"])
def test_service_refuses_an_exact_duplicate_name_ignoring_case_and_spaces(name):
    existing = BillingAgentFactory(company_name="Harbor Insurance")

    with pytest.raises(DuplicateAgentName, match="Harbor Insurance") as caught:
        save_agent(agent=BillingAgent(company_name=name), by=None)

    assert caught.value.existing == existing
    assert caught.value.field == "company_name"
    assert BillingAgent.objects.count() == 1


def test_service_allows_a_similar_name_and_saving_an_agent_under_its_own_name():
    agent = BillingAgentFactory(company_name="Harbor Insurance")

    save_agent(agent=BillingAgent(company_name="Harbor Insurance West"), by=None)
    agent.company_name = " HARBOR insurance "
    save_agent(agent=agent, by=None)

    agent.refresh_from_db()
    assert agent.company_name == "HARBOR insurance"
    assert BillingAgent.objects.count() == 2


def test_service_names_an_inactive_duplicate_and_says_to_reactivate_it():
    BillingAgentFactory(company_name="Harbor Insurance", inactive=True)

    with pytest.raises(DuplicateAgentName, match="reactivate it"):
        save_agent(agent=BillingAgent(company_name="harbor insurance"), by=None)


# --- duplicate names: the Add and Edit pages ---------------------------------------------


def test_add_page_refuses_a_duplicate_beside_the_field_with_a_link(billing_client):
    existing = BillingAgentFactory(company_name="Harbor Insurance")

    response = billing_client.post(
        url("agent_create"), {**VALID, "company_name": " harbor insurance"}
    )

    assert response.status_code == 422
    assert BillingAgent.objects.count() == 1
    html = response.content.decode()
    error = html[html.index('id="id_company_name_error"') :]
    error = error[: error.index("</div>")]
    assert "already exists" in error
    assert f'<a href="{existing.get_absolute_url()}">Harbor Insurance</a>' in error
    assert 'aria-describedby="id_company_name_error"' in html


def test_edit_page_refuses_the_name_of_another_agent(billing_client):
    BillingAgentFactory(company_name="Harbor Insurance")
    agent = BillingAgentFactory(company_name="Bay Logistics")

    response = billing_client.post(
        url("agent_edit", agent.pk), {**VALID, "company_name": "HARBOR INSURANCE"}
    )

    assert response.status_code == 422
    assert "already exists" in " ".join(response.context["form"].errors["company_name"])
    agent.refresh_from_db()
    assert agent.company_name == "Bay Logistics"
    assert "<h1" in response.content.decode() and "Edit Bay Logistics" in response.content.decode()


def test_edit_page_keeps_an_agent_under_its_own_name(billing_client):
    agent = BillingAgentFactory(company_name="Harbor Insurance")

    response = billing_client.post(
        url("agent_edit", agent.pk), {**VALID, "company_name": "Harbor Insurance", "notes": "x"}
    )

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.notes == "x"


def test_a_duplicate_that_slips_past_the_form_is_refused_by_the_service(
    billing_client, monkeypatch
):
    """Two clerks at once: the form's check passed, the service's (under the lock) refuses."""
    BillingAgentFactory(company_name="Harbor Insurance")
    monkeypatch.setattr("billing_agents.forms.ensure_unique_name", lambda *a, **k: None)

    response = billing_client.post(url("agent_create"), VALID)

    assert response.status_code == 422
    assert "already exists" in " ".join(response.context["form"].errors["company_name"])
    assert BillingAgent.objects.count() == 1


# --- CSV export: the local date of the last ticket --------------------------------------


def test_export_gives_the_last_ticket_date_in_the_shops_time_zone(billing_client, settings):
    settings.TIME_ZONE = "America/New_York"
    agent = BillingAgentFactory(company_name="Late Evening Co")
    ticket = agent_ticket(agent)
    # 22:30 in New York on March 3 is 03:30 UTC on March 4.
    late_evening = datetime(2025, 3, 3, 22, 30, tzinfo=ZoneInfo("America/New_York"))
    Ticket.objects.filter(pk=ticket.pk).update(created_at=late_evening)

    with timezone.override("America/New_York"):
        page = billing_client.get(url("agent_list")).content.decode()
        response = billing_client.get(url("agent_export"))

    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    header, row = rows[0], rows[1]
    assert row[header.index("Last ticket")] == "2025-03-03"
    assert "Mar 3, 2025" in page


def test_admin_refuses_a_duplicate_name_too(admin_client):
    BillingAgentFactory(company_name="Harbor Insurance")

    response = admin_client.post(
        reverse("admin:billing_agents_billingagent_add"),
        {**VALID, "company_name": "harbor insurance", "is_active": "on"},
    )

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert BillingAgent.objects.count() == 1
