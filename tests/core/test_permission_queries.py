"""A request reads the user's permissions once, in one query (core.access.ShopModelBackend),
and nothing carries them to the next request."""

import pytest
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.access import ShopModelBackend
from core.roles import BILLING, FRONT_DESK
from tests.factories import BillingAgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _permission_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "auth_permission" in q["sql"]]


def test_the_manage_page_reads_permissions_in_one_query(billing_client):
    for _ in range(3):
        BillingAgentFactory()
    billing_client.get("/billing-agents/")
    with CaptureQueriesContext(connection) as queries:
        assert billing_client.get("/billing-agents/").status_code == 200
    assert len(_permission_queries(queries)) == 1


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
    user = type(created).objects.get(pk=created.pk)  # a fresh object, as a request loads it
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
