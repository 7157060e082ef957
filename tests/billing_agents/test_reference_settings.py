"""The agent form's reference label, "require it on every ticket" and "send overdue
reminders", and how the View page shows them."""

import re

import pytest
from django.urls import reverse

from billing_agents.models import BillingAgent
from tests.factories import BillingAgentFactory

pytestmark = pytest.mark.django_db

FORM = {
    "company_name": "Harbor Insurance",
    "country": "United States",
    "net_terms_days": "30",
    "invoice_method": "batch",
    "reference_label": "Claim #",
    "reference_required": "on",
    "send_reminders": "on",
}


def url(name, *args):
    return reverse(f"billing_agents:{name}", args=args)


def test_add_form_offers_the_reference_and_reminder_settings_with_their_defaults(
    billing_client,
):
    response = billing_client.get(url("agent_create"))

    form = response.context["form"]
    assert form["reference_label"].label == "Reference label"
    assert form["reference_required"].label == "Require it on every ticket"
    assert form["send_reminders"].label == "Send overdue reminders"
    html = response.content.decode()
    assert 'name="reference_label"' in html and 'value="Reference"' in html
    assert "checked" in _input(html, "send_reminders")
    assert "checked" not in _input(html, "reference_required")


def _input(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


def test_adding_an_agent_saves_the_settings(billing_client):
    response = billing_client.post(url("agent_create"), FORM)

    assert response.status_code == 302
    agent = BillingAgent.objects.get(company_name="Harbor Insurance")
    assert agent.reference_label == "Claim #"
    assert agent.reference_required is True
    assert agent.send_reminders is True


def test_unticked_boxes_turn_the_settings_off(billing_client):
    agent = BillingAgentFactory(reference_required=True, send_reminders=True)
    data = {**FORM, "company_name": agent.company_name}
    del data["reference_required"], data["send_reminders"]

    response = billing_client.post(url("agent_edit", agent.pk), data)

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.reference_required is False
    assert agent.send_reminders is False


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "required"), ("   ", "required"), ("X" * 31, "at most 30 characters")],
)
def test_reference_label_is_required_and_short(billing_client, value, message):
    response = billing_client.post(url("agent_create"), {**FORM, "reference_label": value})

    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors["reference_label"])
    assert not BillingAgent.objects.exists()


def test_label_is_saved_without_surrounding_blanks(billing_client):
    billing_client.post(url("agent_create"), {**FORM, "reference_label": "  PO # "})

    assert BillingAgent.objects.get().reference_label == "PO #"


def test_view_page_shows_the_reference_rule_and_reminders(billing_client):
    strict = BillingAgentFactory(reference_label="Claim #", reference_required=True)
    relaxed = BillingAgentFactory(reference_label="PO #", send_reminders=False)

    strict_page = billing_client.get(strict.get_absolute_url()).content.decode()
    relaxed_page = billing_client.get(relaxed.get_absolute_url()).content.decode()

    assert "Claim #" in strict_page
    assert 'data-testid="reference-required"' in strict_page
    assert "Overdue reminders are emailed" in strict_page
    assert "PO #" in relaxed_page
    assert 'data-testid="reference-required"' not in relaxed_page
    assert "No overdue reminders" in relaxed_page


def test_changed_settings_appear_in_the_change_history(billing_client):
    agent = BillingAgentFactory(company_name="Harbor Insurance", reference_label="Reference")

    billing_client.post(url("agent_edit", agent.pk), FORM)

    history = billing_client.get(url("agent_edit", agent.pk)).context["history"]
    changes = {c.label: (c.old, c.new) for c in history[0].changes}
    assert changes["Reference label"] == ("Reference", "Claim #")
