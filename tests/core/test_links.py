import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from core.links import row_url


@pytest.mark.parametrize(
    "name", ["billing_agents:agent_detail", "billing_agents:agent_edit", "tickets:ticket_detail"]
)
def test_row_url_is_what_reverse_gives(name):
    for pk in (1, 7, 2147483629 - 1, 10**11):
        assert row_url(name, pk) == reverse(name, args=[pk])


def test_row_url_follows_the_script_prefix():
    set_script_prefix("/shop/")
    try:
        assert row_url("billing_agents:agent_detail", 3) == "/shop/billing-agents/3/"
    finally:
        set_script_prefix("/")
    assert row_url("billing_agents:agent_detail", 3) == "/billing-agents/3/"


def test_row_url_refuses_a_route_without_one_number():
    with pytest.raises(NoReverseMatch):
        row_url("billing_agents:agent_list", 3)


def test_row_url_refuses_text_where_a_number_belongs():
    with pytest.raises(ValueError):
        row_url("billing_agents:agent_detail", "3/../../admin")


def test_row_url_tag_renders_the_link():
    html = Template("{% row_url 'billing_agents:agent_detail' pk %}").render(Context({"pk": 9}))
    assert html == "/billing-agents/9/"
