"""The shared picker (core.combobox) and the agent suggestion endpoint every form uses."""

import re

import factory
import pytest
from django import forms
from django.http import QueryDict
from django.test import RequestFactory
from django.urls import reverse

from billing_agents.models import BillingAgent
from core.combobox import (
    DEFAULT_LISTBOX,
    LIMIT,
    Combobox,
    ComboboxMixin,
    Matches,
    Option,
    first_matches,
    listbox_id,
    request_query,
)
from core.plans import PLAN_REQUIRED_MESSAGE
from core.roles import FRONT_DESK
from tests.factories import BillingAgentFactory, UserFactory

SEARCH_URL = reverse("billing_agents:agent_search")
OPTION = re.compile(r'role="option"')

# Faker repeats company names; a name counted on a page must belong to one agent.
DISTINCT_NAME = factory.Sequence(lambda n: f"Listed Agency {n:05d}")


def options_in(html: str) -> int:
    return len(OPTION.findall(html))


def _find(text: str) -> Matches:
    names = ["Alpha", "Beta", "Gamma"]
    return Matches([Option(n.lower(), n) for n in names if text.lower() in n.lower()])


class FruitForm(ComboboxMixin, forms.Form):
    fruit = forms.CharField(
        required=False,
        widget=Combobox(
            search_url="billing_agents:agent_search",
            query_name="fruit_q",
            find=_find,
            describe=lambda value: str(value).title(),
        ),
    )
    note = forms.CharField(required=False)


# --- the form side ---------------------------------------------------------------------


def test_unchanged_text_keeps_the_posted_value():
    form = FruitForm({"fruit": "beta", "fruit_q": "Beta", "fruit_q_shown": "Beta"})
    assert not form.searching
    assert form.is_valid() and form.cleaned_data["fruit"] == "beta"


def test_a_value_posted_without_the_text_box_is_used_as_is():
    form = FruitForm({"fruit": "gamma"})
    assert not form.searching and form.is_valid()
    assert form.cleaned_data["fruit"] == "gamma"


def test_emptied_text_box_means_no_choice():
    form = FruitForm({"fruit": "beta", "fruit_q": " ", "fruit_q_shown": "Beta"})
    assert not form.searching
    assert form.is_valid() and not form.cleaned_data["fruit"]


def test_typed_text_is_a_search_that_keeps_every_other_field():
    form = FruitForm({"fruit": "beta", "fruit_q": "alp", "fruit_q_shown": "Beta", "note": "hi"})
    assert form.searching
    html = str(form["fruit"])
    assert 'type="radio" name="fruit" value="alpha"' in html
    assert 'value="alp"' in html  # the text box keeps what was typed
    assert 'name="fruit" id="id_fruit" value="beta"' in html  # the old choice stays posted
    assert form.is_valid() and form.cleaned_data["note"] == "hi"


def test_ticking_a_result_then_saving_chooses_it():
    # The radio comes after the hidden input, so it is the value read.
    data = QueryDict(mutable=True)
    data.setlist("fruit", ["beta", "alpha"])
    data.update({"fruit_q": "alp", "fruit_q_shown": "alp"})
    form = FruitForm(data)
    assert not form.searching
    assert form.is_valid() and form.cleaned_data["fruit"] == "alpha"


def test_a_search_without_matches_says_so():
    form = FruitForm({"fruit_q": "zzz"})
    html = str(form["fruit"])
    assert "No match for “zzz”" in html and 'type="radio"' not in html


def test_markup_is_the_aria_combobox_pattern():
    form = FruitForm(initial={"fruit": "beta"})
    html = form["fruit"].as_field_group()
    assert '<label class="form-label" for="id_fruit_text">' in html
    text_box = html.split('id="id_fruit_text"')[1].split(">")[0]
    for attr in (
        'role="combobox"',
        'aria-expanded="false"',
        'aria-controls="id_fruit_listbox"',
        'aria-autocomplete="list"',
        f'hx-get="{SEARCH_URL}"',
        'hx-trigger="input changed delay:200ms, focus"',
        'hx-target="#id_fruit_listbox"',
    ):
        assert attr in text_box, attr
    assert 'value="Beta"' in text_box  # the chosen value's text
    assert '<ul class="list-group position-absolute w-100 shadow z-3" role="listbox"' in html
    assert 'type="hidden" name="fruit" id="id_fruit" value="beta"' in html
    assert "style=" not in html and " on" not in html.replace(" on ", "")


def test_first_matches_slices_and_says_when_there_are_more(db):
    BillingAgentFactory.create_batch(LIMIT + 2, company_name=DISTINCT_NAME)
    matches = first_matches(
        [BillingAgent.objects.order_by("pk")], lambda a: Option(str(a.pk), a.company_name)
    )
    assert len(matches.options) == LIMIT and matches.more
    few = first_matches([BillingAgent.objects.order_by("pk")[:3]], lambda a: Option("", ""))
    assert len(few.options) == 3 and not few.more


def test_request_query_and_listbox_id_are_read_safely():
    rf = RequestFactory()
    assert request_query(rf.get("/", {"q": " harbor  "})) == "harbor"
    assert request_query(rf.get("/", {"agent_q": "lake"})) == "lake"
    assert listbox_id(rf.get("/", {"list": "id_billing_agent_listbox"})) == (
        "id_billing_agent_listbox"
    )
    assert listbox_id(rf.get("/", {"list": '"><script>'})) == DEFAULT_LISTBOX


# --- the agent endpoint ----------------------------------------------------------------


@pytest.mark.django_db
def test_agent_search_returns_at_most_the_limit_of_active_agents(front_desk_client):
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    html = front_desk_client.get(SEARCH_URL).text
    assert options_in(html) == LIMIT
    assert "More than 15 match" in html


@pytest.mark.django_db
def test_agent_search_offers_active_agents_only_and_narrows(front_desk_client, htmx_headers):
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    harbor = BillingAgentFactory(company_name="Harbor Insurance")
    gone = BillingAgentFactory(company_name="Harbor Closed Ltd", inactive=True)
    html = front_desk_client.get(
        SEARCH_URL, {"agent_q": "harbor", "list": "id_billing_agent_listbox"}, headers=htmx_headers
    ).text
    assert options_in(html) == 1
    assert f'data-value="{harbor.pk}"' in html and f'data-value="{gone.pk}"' not in html
    assert 'id="id_billing_agent_listbox-1"' in html


@pytest.mark.django_db
def test_agent_search_orders_by_name_and_says_no_match(front_desk_client):
    for name in ("Zeta Co", "Alpha Co", "Mid Co"):
        BillingAgentFactory(company_name=name)
    html = front_desk_client.get(SEARCH_URL, {"q": "co"}).text
    assert html.index("Alpha Co") < html.index("Mid Co") < html.index("Zeta Co")
    assert "No match" in front_desk_client.get(SEARCH_URL, {"q": "nothing-like-it"}).text


@pytest.mark.django_db
def test_agent_search_needs_a_permission(client):
    client.force_login(UserFactory())
    assert client.get(SEARCH_URL).status_code == 403
    client.force_login(UserFactory(role=FRONT_DESK))
    assert client.get(SEARCH_URL).status_code == 200


@pytest.mark.django_db
def test_agent_search_is_refused_on_essentials(front_desk_client, settings):
    settings.SHOP_PLAN = "essentials"
    response = front_desk_client.get(SEARCH_URL, {"q": "a"})
    assert response.status_code == 403
    assert PLAN_REQUIRED_MESSAGE in response.text


@pytest.mark.django_db
def test_agent_search_runs_a_fixed_number_of_queries(
    front_desk_client, django_assert_max_num_queries
):
    BillingAgentFactory.create_batch(40, company_name=DISTINCT_NAME)
    front_desk_client.get(SEARCH_URL)  # warm the session and permission caches
    with django_assert_max_num_queries(6):
        assert front_desk_client.get(SEARCH_URL, {"q": "a"}).status_code == 200
