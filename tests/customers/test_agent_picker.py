"""The customer form's agent picker searches: the form never lists the shop's agents, a
no-JS search shows at most the limit and saves nothing, the current agent stays valid."""

import factory
import pytest
from django.urls import reverse
from django.utils import timezone

from billing_agents.models import BillingAgent
from core.combobox import LIMIT
from customers.models import Customer
from tests.factories import BillingAgentFactory, CustomerFactory

pytestmark = pytest.mark.django_db

CREATE_URL = reverse("customers:customer_create")

# Faker repeats company names; a name counted on a page must belong to one agent.
DISTINCT_NAME = factory.Sequence(lambda n: f"Listed Agency {n:05d}")


def edit_url(customer: Customer) -> str:
    return reverse("customers:customer_edit", args=[customer.pk])


def form_data(**changes) -> dict:
    return {
        "first_name": "Rosa",
        "last_name": "Ramirez",
        "email": "rosa@mail.example",
        "phone": "555-0199",
        **changes,
    }


@pytest.fixture
def many_agents(db):
    return BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)


def names_on_page(html: str, agents) -> int:
    return sum(agent.company_name in html for agent in agents)


def test_add_and_edit_forms_never_list_the_agents(front_desk_client, many_agents):
    html = front_desk_client.get(CREATE_URL).text
    assert names_on_page(html, many_agents) == 0
    assert 'role="combobox"' in html and 'id="id_billing_agent_text"' in html
    customer = CustomerFactory(billing_agent=many_agents[3])
    html = front_desk_client.get(edit_url(customer)).text
    assert names_on_page(html, many_agents) == 1  # the current agent, as the picker's text
    assert f'value="{many_agents[3].company_name}"' in html


def test_no_js_search_keeps_what_was_typed_and_saves_nothing(front_desk_client, many_agents):
    for n in range(20):
        BillingAgentFactory(company_name=f"Searchable Agency {n:02d}")
    response = front_desk_client.post(
        CREATE_URL, form_data(agent_q="searchable", agent_q_shown="", city="Springfield")
    )
    assert response.status_code == 200
    html = response.text
    assert html.count('type="radio" name="billing_agent"') == LIMIT
    assert "More than 15 match" in html
    assert 'value="Springfield"' in html and 'value="Rosa"' in html
    assert not Customer.objects.exists()


def test_no_js_search_then_tick_then_save(front_desk_client):
    harbor = BillingAgentFactory(company_name="Harbor Insurance")
    data = form_data(billing_agent=["", harbor.pk], agent_q="harbor", agent_q_shown="harbor")
    response = front_desk_client.post(CREATE_URL, data)
    assert response.status_code == 302
    assert Customer.objects.get().billing_agent == harbor


def test_a_search_without_a_match_says_so(front_desk_client):
    response = front_desk_client.post(CREATE_URL, form_data(agent_q="nothing-like-it"))
    assert response.status_code == 200
    assert "No match for “nothing-like-it”" in response.text
    assert not Customer.objects.exists()


def test_choosing_an_inactive_agent_is_refused_beside_the_field(front_desk_client):
    gone = BillingAgentFactory(company_name="Gone Agency", inactive=True)
    data = form_data(billing_agent=gone.pk, agent_q="Gone Agency", agent_q_shown="Gone Agency")
    response = front_desk_client.post(CREATE_URL, data)
    assert response.status_code == 422
    assert "Choose an active billing agent" in response.text
    assert 'id="id_billing_agent_error"' in response.text
    assert not Customer.objects.exists()


def test_an_inactive_current_agent_shows_and_stays_when_saved_unchanged(front_desk_client):
    agent = BillingAgentFactory(company_name="Old Agency")
    customer = CustomerFactory(billing_agent=agent, first_name="Rosa", last_name="Ramirez")
    BillingAgent.objects.filter(pk=agent.pk).update(is_active=False, deactivated_at=timezone.now())
    html = front_desk_client.get(edit_url(customer)).text
    assert 'value="Old Agency (inactive)"' in html
    text = "Old Agency (inactive)"
    data = form_data(billing_agent=agent.pk, agent_q=text, agent_q_shown=text, city="Elsewhere")
    response = front_desk_client.post(edit_url(customer), data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.billing_agent, customer.city) == (agent, "Elsewhere")


def test_emptying_the_box_bills_the_customer_directly(front_desk_client):
    agent = BillingAgentFactory(company_name="Some Agency")
    customer = CustomerFactory(billing_agent=agent, first_name="Rosa", last_name="Ramirez")
    data = form_data(billing_agent=agent.pk, agent_q="", agent_q_shown="Some Agency")
    assert front_desk_client.post(edit_url(customer), data).status_code == 302
    customer.refresh_from_db()
    assert customer.billing_agent is None


def test_edit_form_query_count_is_fixed(front_desk_client, django_assert_max_num_queries):
    customer = CustomerFactory(billing_agent=BillingAgentFactory())
    front_desk_client.get(edit_url(customer))
    with django_assert_max_num_queries(40) as few:
        front_desk_client.get(edit_url(customer))
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert front_desk_client.get(edit_url(customer)).status_code == 200


def test_essentials_form_has_no_picker(front_desk_client, settings, many_agents):
    settings.SHOP_PLAN = "essentials"
    html = front_desk_client.get(CREATE_URL).text
    assert 'role="combobox"' not in html and names_on_page(html, many_agents) == 0
