import json

import pytest
from django.contrib import messages
from django.http import HttpResponse
from django.test import RequestFactory

from core.middleware import HtmxMessagesMiddleware


@pytest.mark.django_db
def test_missing_page_gets_the_shop_404(manager_client):
    response = manager_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "does not exist" in response.content.decode()


@pytest.mark.django_db
def test_pages_load_htmx_and_bootstrap_from_our_own_static_files(manager_client):
    html = manager_client.get("/").content.decode()
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "/static/vendor/bootstrap/bootstrap.min.css" in html
    assert "cdn" not in html.lower() and "unpkg" not in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def _request_with_message(htmx: bool):
    request = RequestFactory().post("/", HTTP_HX_REQUEST="true" if htmx else None)
    request.htmx = htmx
    request.session = {}
    from django.contrib.messages.storage.fallback import FallbackStorage

    request._messages = FallbackStorage(request)
    messages.success(request, "Saved.")
    return request


def test_htmx_responses_carry_messages_for_toasts():
    request = _request_with_message(htmx=True)
    response = HtmxMessagesMiddleware(lambda r: HttpResponse("ok"))(request)
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["messages"]["items"] == [{"message": "Saved.", "tags": "success"}]


def test_full_page_responses_leave_messages_for_the_page():
    request = _request_with_message(htmx=False)
    response = HtmxMessagesMiddleware(lambda r: HttpResponse("ok"))(request)
    assert "HX-Trigger" not in response
    assert [str(m) for m in messages.get_messages(request)] == ["Saved."]


def test_production_static_files_collect_with_hashed_names(settings, tmp_path):
    """make serve's collectstatic: every vendored file and its source maps resolve."""
    from io import StringIO

    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    # Django resets the static storage when these settings change.
    call_command("collectstatic", "--noinput", stdout=StringIO())
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/htmx/htmx.min.*.js"))


@pytest.mark.django_db
def test_the_menu_marks_the_section_of_the_page(manager_client):
    body = manager_client.get("/tickets/").content.decode()
    assert 'class="nav-link active" href="/tickets/"' in body
    assert 'class="nav-link" href="/customers/"' in body


def test_htmx_messages_merge_with_an_event_the_view_triggered():
    from django_htmx.http import trigger_client_event

    request = _request_with_message(htmx=True)
    response = HtmxMessagesMiddleware(
        lambda r: trigger_client_event(HttpResponse("ok"), "closeModal")
    )(request)
    trigger = json.loads(response["HX-Trigger"])
    assert trigger["closeModal"] == {}
    assert trigger["messages"]["items"] == [{"message": "Saved.", "tags": "success"}]
