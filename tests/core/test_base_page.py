"""Issue 10, point 6, on every page: the skip link, the favicon and messages without JS."""

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import BillingAgentFactory

pytestmark = pytest.mark.django_db


def test_skip_link_is_the_first_focusable_element_and_targets_main(front_desk_client):
    html = front_desk_client.get("/").content.decode()
    body = html[html.index("<body") :]

    first_link = body[body.index("<a ") : body.index("</a>")]
    assert 'href="#main"' in first_link and "visually-hidden-focusable" in first_link
    assert "Skip to main content" in body[: body.index("</a>") + 4]
    assert body.index("Skip to main content") < body.index("<nav")
    assert '<main class="container-fluid px-4 pb-5" id="main" tabindex="-1">' in html


def test_login_page_has_the_skip_link_too(client):
    assert "Skip to main content" in client.get(reverse("login")).content.decode()


def test_pages_link_the_favicon(front_desk_client, client):
    link = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    assert link in front_desk_client.get("/").content.decode()
    assert link in client.get(reverse("login")).content.decode()


def test_favicon_ico_redirects_to_the_svg_without_a_login(client, front_desk_client):
    for anyone in (client, front_desk_client):
        response = anyone.get("/favicon.ico")
        assert response.status_code == 301
        assert response["Location"] == "/static/favicon.svg"


def test_the_favicon_file_is_found_by_staticfiles():
    assert finders.find("favicon.svg")


def test_messages_are_rendered_shown_for_a_page_without_javascript(billing_client):
    agent = BillingAgentFactory(company_name="Harbor Insurance")
    response = billing_client.post(
        reverse("billing_agents:agent_edit", args=[agent.pk]),
        {
            "company_name": "Harbor Insurance",
            "notes": "x",
            "net_terms_days": "30",
            "invoice_method": "batch",
            "country": "United States",
            "reference_label": "Reference",
            "send_reminders": "on",
        },
        follow=True,
    )

    html = response.content.decode()
    toast = html[html.index('id="toast-area"') :]
    assert 'class="toast show ' in toast
    assert "Harbor Insurance was saved." in toast


def test_login_form_uses_the_shop_form_renderer(client):
    html = client.get(reverse("login")).content.decode()

    assert '<label class="form-label required" for="id_username">Username</label>' in html
    assert '<label class="form-label required" for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html and 'class="form-control"' in html

    refused = client.post(reverse("login"), {"username": "", "password": ""})
    body = refused.content.decode()
    assert 'id="id_username_error"' in body and "is-invalid" in body
