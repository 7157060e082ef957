import atexit
import os
import shutil
import tempfile

import pytest
from django.conf import settings as django_settings

from core.roles import BILLING, FRONT_DESK, MANAGER
from tests.factories import PASSWORD, UserFactory

# pytest-playwright runs an event loop in the main thread; Django's ORM refuses to run
# inside one unless told that this (test-only) use is safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The suite's cache (sessions, permission sets) lives in a folder of its own, removed at
# exit, not in the project's var/cache; set before anything opens the cache.
if django_settings.CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    _cache_dir = tempfile.mkdtemp(prefix="shop-test-cache-")
    django_settings.CACHES["default"]["LOCATION"] = _cache_dir
    atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or ""
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"
ON_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_report_header(config):
    db = django_settings.DATABASES["default"]
    where = f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')}" if ON_POSTGRES else "SQLite"
    browser = f"Chromium at {CHROMIUM}" if CHROMIUM else "NO CHROMIUM: browser tests skipped"
    return [f"database: {where}", f"browser: {browser}"]


def pytest_configure(config):
    if REQUIRE_POSTGRES and not ON_POSTGRES:
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL.")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.parent.name == "e2e":
            item.add_marker(pytest.mark.e2e)
    e2e = [item for item in items if "e2e" in item.keywords]
    if e2e and not CHROMIUM:
        if REQUIRE_BROWSER:
            raise pytest.UsageError("REQUIRE_BROWSER=1 but Chromium is not installed.")
        skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium)")
        for item in e2e:
            item.add_marker(skip)
    if not ON_POSTGRES:
        skip_pg = pytest.mark.skip(reason="needs PostgreSQL")
        for item in items:
            if "postgres" in item.keywords:
                if REQUIRE_POSTGRES:
                    raise pytest.UsageError("PostgreSQL tests required but not on PostgreSQL.")
                item.add_marker(skip_pg)


def pytest_terminal_summary(terminalreporter):
    if not CHROMIUM:
        terminalreporter.write_sep(
            "!", "BROWSER TESTS SKIPPED: Chromium not installed", red=True, bold=True
        )
    if not ON_POSTGRES:
        terminalreporter.write_sep("!", "Tests ran on SQLite, not PostgreSQL", yellow=True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """Queued emails are sent when enqueued; tests of the worker itself switch back."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def front_desk_user(db):
    return UserFactory(username="frontdesk", role=FRONT_DESK)


@pytest.fixture
def billing_user(db):
    return UserFactory(username="billing", role=BILLING)


@pytest.fixture
def manager_user(db):
    return UserFactory(username="manager", role=MANAGER)


@pytest.fixture
def front_desk_client(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


@pytest.fixture
def billing_client(client, billing_user):
    client.force_login(billing_user)
    return client


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture
def htmx_headers():
    """Headers an htmx 2 request carries (what django-htmx reads)."""
    return {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


# --- browser tests -------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM or None,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def login(live_server, page):
    """login(user) signs in through the real login form and lands on the dashboard."""

    def _login(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        return page

    return _login
