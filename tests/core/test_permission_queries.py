"""A user's permissions are read in one query (core.access.ShopModelBackend) and kept in the
shared cache until a role or a permission changes; every change counts from the next
request."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.access import VERSION_KEY, ShopModelBackend
from core.roles import BILLING, FRONT_DESK
from tests.factories import BillingAgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _permission_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "auth_permission" in q["sql"]]


def _fresh(user):
    """The user as the next request loads it (no set kept on the object)."""
    return type(user).objects.get(pk=user.pk)


def test_the_manage_page_reads_permissions_in_one_query_then_from_the_cache(client):
    for _ in range(3):
        BillingAgentFactory()
    user = UserFactory(role=BILLING)
    client.force_login(user)
    with CaptureQueriesContext(connection) as first:
        assert client.get("/billing-agents/").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert client.get("/billing-agents/").status_code == 200
    assert len(_permission_queries(first)) == 1
    assert _permission_queries(second) == []


def test_a_role_change_makes_the_next_request_read_the_permissions_again(client):
    user = UserFactory(role=BILLING)
    client.force_login(user)
    client.get("/billing-agents/")
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/billing-agents/").status_code == 200
    assert len(_permission_queries(queries)) == 1


def test_a_permission_given_to_the_user_counts_from_the_next_request(client):
    user = UserFactory(role=FRONT_DESK)
    client.force_login(user)
    assert client.get("/billing-agents/").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_billingagent"))
    assert client.get("/billing-agents/").status_code == 200


def test_a_deleted_group_takes_its_permissions_away():
    user = UserFactory(role=FRONT_DESK)
    group = Group.objects.create(name="Temporary")
    group.permissions.add(Permission.objects.get(codename="view_invoice"))
    user.groups.add(group)
    assert _fresh(user).has_perm("invoicing.view_invoice")
    group.delete()
    assert not _fresh(user).has_perm("invoicing.view_invoice")


def test_the_version_changes_again_when_the_change_commits(django_capture_on_commit_callbacks):
    user = UserFactory(role=FRONT_DESK)
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.add(Group.objects.get(name=BILLING))
        during = cache.get(VERSION_KEY)
    # A request that read the old rows before the commit cached them under `during`.
    assert cache.get(VERSION_KEY) != during


def test_an_evicted_version_starts_a_fresh_namespace():
    user = UserFactory(role=BILLING)
    assert _fresh(user).has_perm("invoicing.view_invoice")
    cache.delete(VERSION_KEY)  # culled by the file cache, or evicted by Redis
    user.groups.clear()  # bumps: a version exists again
    cache.delete(VERSION_KEY)  # evicted once more: the old set must not come back
    assert not _fresh(user).has_perm("invoicing.view_invoice")


def test_a_new_user_with_a_reused_id_does_not_get_the_old_users_set():
    old = UserFactory(role=BILLING)
    assert _fresh(old).has_perm("invoicing.view_invoice")
    pk = old.pk
    type(old).objects.filter(pk=pk).delete()  # a queryset delete sends no m2m signal
    new = UserFactory(pk=pk, role=FRONT_DESK)
    assert not _fresh(new).has_perm("invoicing.view_invoice")


def test_the_set_holds_the_users_own_and_the_groups_permissions():
    user = UserFactory(role=FRONT_DESK)
    own = Permission.objects.get(codename="view_invoice")
    user.user_permissions.add(own)
    backend = ShopModelBackend()
    perms = backend.get_all_permissions(user)
    assert {"invoicing.view_invoice", "customers.view_customer"} <= perms
    assert "billing_agents.view_billingagent" not in perms
    assert perms == ModelBackend().get_all_permissions(type(user).objects.get(pk=user.pk))


def test_each_check_after_the_first_costs_no_query(django_assert_num_queries):
    created = UserFactory(role=BILLING)
    user = _fresh(created)
    with django_assert_num_queries(1):
        assert user.has_perm("invoicing.view_invoice")
        assert user.has_perm("billing_agents.view_billingagent")
        assert not user.has_perm("invoicing.delete_invoice")
        assert user.has_module_perms("customers")


def test_inactive_and_superusers_follow_django():
    inactive = UserFactory(role=BILLING, is_active=False)
    assert ShopModelBackend().get_all_permissions(inactive) == set()
    boss = UserFactory(is_superuser=True)
    assert ShopModelBackend().get_all_permissions(boss) == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }


def test_a_role_taken_away_counts_from_the_next_request(client):
    user = UserFactory(role=BILLING)
    client.force_login(user)
    assert client.get("/billing-agents/").status_code == 200
    user.groups.remove(Group.objects.get(name=BILLING))
    user.groups.add(Group.objects.get(name=FRONT_DESK))
    assert client.get("/billing-agents/").status_code == 403


def test_a_permission_revoked_from_a_group_counts_from_the_next_request(client):
    user = UserFactory(role=BILLING)
    client.force_login(user)
    assert client.get("/invoices/").status_code == 200
    Group.objects.get(name=BILLING).permissions.remove(
        Permission.objects.get(codename="view_invoice")
    )
    assert client.get("/invoices/").status_code == 403
