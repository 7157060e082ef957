"""Login throttling (django-axes), the production key check and the CSP header."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.utils import timezone

from core.roles import MANAGER
from tests.factories import PASSWORD, UserFactory

LOCKED = "Too many failed logins"


def _main(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def _fail(client, username: str, times: int, path: str = "/accounts/login/", **extra):
    for _ in range(times):
        response = client.post(path, {"username": username, "password": "wrong"}, **extra)
    return response


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_username_from_that_address(client):
    UserFactory(username="dana", role="Front Desk")
    response = _fail(client, "dana", 4)
    assert response.status_code == 200 and LOCKED not in response.content.decode()
    response = _fail(client, "dana", 1)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    # Even the right password stays out until the cool-off ends.
    response = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert response.status_code == 429
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_lockout_page_does_not_tell_whether_the_user_exists(client):
    UserFactory(username="dana")
    real = _fail(client, "dana", 5).content.decode()
    ghost = _fail(client, "nobody-by-this-name", 5).content.decode()
    assert LOCKED in real and LOCKED in ghost
    assert _main(real) == _main(ghost)
    assert "dana" not in _main(real)


@pytest.mark.django_db
def test_lock_lifts_after_the_cool_off(client):
    UserFactory(username="dana", role="Front Desk")
    _fail(client, "dana", 5)
    cool_off = settings.AXES_COOLOFF_TIME
    assert cool_off == timedelta(minutes=15)
    AccessAttempt.objects.update(attempt_time=timezone.now() - cool_off - timedelta(seconds=1))
    response = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.django_db
def test_a_locked_pair_leaves_other_users_and_other_addresses_alone(client):
    UserFactory(username="dana", role="Front Desk")
    UserFactory(username="lee", role="Front Desk")
    _fail(client, "dana", 5)
    response = client.post("/accounts/login/", {"username": "lee", "password": PASSWORD})
    assert response.status_code == 302
    client.post("/accounts/logout/")
    response = client.post(
        "/accounts/login/",
        {"username": "dana", "password": PASSWORD},
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302


@pytest.mark.django_db
def test_admin_login_is_throttled_too(client):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    response = _fail(client, "root", 5, path="/admin/login/")
    assert response.status_code == 429
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 429


@pytest.mark.django_db
def test_a_manager_unlocks_a_login_from_the_admin(client):
    UserFactory(username="dana", role="Front Desk")
    manager = UserFactory(username="boss", role=MANAGER, is_staff=True)
    _fail(client, "dana", 5)
    attempt = AccessAttempt.objects.get(username="dana")

    client.force_login(manager)
    listing = client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "dana" in listing.content.decode()
    response = client.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not AccessAttempt.objects.filter(username="dana").exists()
    client.post("/accounts/logout/")

    response = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db
def test_billing_clerk_cannot_unlock_logins(client):
    clerk = UserFactory(username="bailey", role="Billing", is_staff=True)
    client.force_login(clerk)
    assert client.get("/admin/axes/accessattempt/").status_code == 403


def _start_production(secret_key: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DJANGO_PRODUCTION": "1",
        "ALLOWED_HOSTS": "shop.example.com",
        "SECRET_KEY": secret_key,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


@pytest.mark.parametrize(
    "key",
    ["", "short", "django-insecure-dev-only-key-never-use-in-production"],
    ids=["missing", "short", "committed-dev-key"],
)
def test_production_refuses_a_missing_short_or_committed_key(key):
    started = _start_production(key)
    assert started.returncode != 0
    assert "SECRET_KEY" in started.stderr


def test_production_starts_with_a_real_key():
    started = _start_production("k" * 20 + "Zq8#mP2$vL9@xR4!tN7&wB1%yC6^hJ3*dF5")
    assert started.returncode == 0, started.stderr


@pytest.mark.django_db
def test_every_page_carries_a_strict_content_security_policy(front_desk_client):
    response = front_desk_client.get("/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'"


@pytest.mark.django_db
def test_pages_carry_no_inline_script_handlers_or_styles(front_desk_client):
    body = front_desk_client.get("/tickets/new/").content.decode()
    assert "onclick=" not in body and "onchange=" not in body and "style=" not in body
    assert "<script>" not in body
