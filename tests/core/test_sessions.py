"""Sessions are cached_db: read from a cache every worker shares, written through to the DB.

These tests use the file cache (the single-machine setting) in a temporary directory, and a
second FileBasedCache on the same directory stands in for another gunicorn worker.
"""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def shared_cache_dir(settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    return tmp_path / "cache"


def _another_worker(directory) -> FileBasedCache:
    return FileBasedCache(str(directory), {})


def _log_in(client) -> str:
    UserFactory(username="dana", role="Front Desk")
    response = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert response.status_code == 302
    return client.session.session_key


def test_settings_use_cached_db_sessions_on_a_cache_every_worker_shares():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    backend = settings.CACHES["default"]["BACKEND"]
    assert backend != "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.django_db
def test_login_puts_the_session_in_the_shared_cache_and_the_database(client, shared_cache_dir):
    key = _log_in(client)
    assert caches["default"].get(KEY_PREFIX + key) is not None
    assert _another_worker(shared_cache_dir).get(KEY_PREFIX + key) is not None
    assert Session.objects.filter(session_key=key).exists()


@pytest.mark.django_db
def test_logout_deletes_the_session_from_the_cache_and_the_database(client, shared_cache_dir):
    key = _log_in(client)
    client.post("/accounts/logout/")
    assert caches["default"].get(KEY_PREFIX + key) is None
    assert _another_worker(shared_cache_dir).get(KEY_PREFIX + key) is None
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/customers/").status_code == 302  # back to the login page


@pytest.mark.django_db
def test_a_signed_in_request_runs_no_session_query(client, shared_cache_dir):
    _log_in(client)
    client.get("/customers/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/customers/").status_code == 200
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]
