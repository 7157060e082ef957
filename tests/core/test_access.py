"""Every page needs a login; roles and plans decide the rest."""

import re

import pytest
from django.contrib.auth.models import Group

from core.plans import is_billing_feature
from core.roles import BILLING, FRONT_DESK, MANAGER, ROLE_PERMISSIONS
from tests.urlwalk import walk

CONVERTER_SAMPLES = {
    "int": "1",
    "id": "1",
    "str": "x",
    "slug": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "path": "x",
}


def _concrete(route: str) -> str | None:
    """Turn a route into a real path; None for admin regexes we cannot fill generically."""
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: CONVERTER_SAMPLES[m.group(1) or "str"], route)
    if any(ch in route for ch in "^$()[]?*+\\"):
        return None
    return "/" + route


def all_routes():
    return [
        (path, entry, namespaces)
        for route, entry, namespaces in walk()
        if (path := _concrete(route)) is not None
    ]


def test_the_resolver_walk_finds_every_app():
    namespaces = {ns for _, _, nss in all_routes() for ns in nss}
    assert {
        "dashboard",
        "billing_agents",
        "customers",
        "tickets",
        "invoicing",
        "admin",
    } <= namespaces


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_route_sends_an_anonymous_user_to_login(client, method):
    checked = 0
    for path, entry, namespaces in all_routes():
        if getattr(entry.callback, "login_required", True) is False:
            continue
        response = getattr(client, method)(path)
        assert response.status_code == 302, (
            f"{method.upper()} {path} answered {response.status_code}"
        )
        login_page = "/admin/login/" if "admin" in namespaces else "/accounts/login/"
        assert response["Location"].split("?")[0] in {login_page, "/accounts/login/"}, path
        checked += 1
    assert checked > 20


def test_only_the_login_pages_are_open_to_anonymous_users():
    open_paths = {
        path
        for path, entry, _ in all_routes()
        if getattr(entry.callback, "login_required", True) is False
    }
    # /favicon.ico only redirects to the static icon, which browsers ask for before a login.
    assert open_paths == {"/accounts/login/", "/admin/login/", "/favicon.ico"}


@pytest.mark.django_db
def test_each_role_holds_exactly_its_permissions():
    for name, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == set(perms), name


def test_roles_grow_front_desk_to_billing_to_manager():
    front, billing, manager = (set(ROLE_PERMISSIONS[r]) for r in (FRONT_DESK, BILLING, MANAGER))
    assert front < billing < manager
    assert "invoicing.view_invoice" not in front
    assert "billing_agents.deactivate_billingagent" not in billing
    assert {
        "invoicing.delete_invoice",
        "invoicing.adjust_credit",
        "billing_agents.override_credit_limit",
    } <= manager


@pytest.mark.django_db
def test_front_desk_does_not_see_billing_menus(front_desk_client):
    html = front_desk_client.get("/").content.decode()
    assert ">Tickets<" in html and ">Customers<" in html
    assert "Billing Agents" not in html and ">Invoices<" not in html


@pytest.mark.django_db
def test_front_desk_is_refused_the_invoice_pages(front_desk_client):
    assert front_desk_client.get("/invoices/").status_code == 403
    assert front_desk_client.get("/invoices/new/").status_code == 403


@pytest.mark.django_db
def test_manager_sees_every_menu(manager_client):
    html = manager_client.get("/").content.decode()
    for label in ("Dashboard", "Tickets", "Customers", "Billing Agents", "Invoices"):
        assert f">{label}<" in html


@pytest.mark.django_db
def test_essentials_plan_hides_billing_menus_and_answers_403(manager_client, settings):
    settings.SHOP_PLAN = "essentials"
    html = manager_client.get("/").content.decode()
    assert "Billing Agents" not in html and ">Invoices<" not in html
    gated = [p for p, entry, _ in all_routes() if is_billing_feature(entry.callback)]
    assert len(gated) >= 8
    for path in gated:
        response = manager_client.get(path)
        assert response.status_code == 403, path
        assert "available on Advanced and Professional plans" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("plan", ["advanced", "professional"])
def test_billing_plans_include_agents_and_invoices(manager_client, settings, plan):
    settings.SHOP_PLAN = plan
    assert manager_client.get("/billing-agents/").status_code == 200
    assert manager_client.get("/invoices/").status_code == 200
    html = manager_client.get("/").content.decode()
    assert ">Billing Agents<" in html and ">Invoices<" in html


@pytest.mark.django_db
def test_essentials_plan_leaves_tickets_and_customers_alone(manager_client, settings):
    settings.SHOP_PLAN = "essentials"
    assert manager_client.get("/tickets/").status_code == 200
    assert manager_client.get("/customers/").status_code == 200


# --- one way to check a permission (core.access, permission_required) -------------------


def test_require_perm_passes_with_any_one_of_the_permissions(front_desk_user):
    from core.access import require_perm

    require_perm(front_desk_user, "tickets.change_ticket")
    require_perm(front_desk_user, "invoicing.add_invoice", "tickets.change_ticket")


def test_require_perm_refuses_with_permission_denied(front_desk_user):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from core.access import require_perm

    with pytest.raises(PermissionDenied):
        require_perm(front_desk_user, "invoicing.adjust_credit")
    with pytest.raises(PermissionDenied):
        require_perm(AnonymousUser(), "tickets.view_ticket")
    with pytest.raises(ValueError):
        require_perm(front_desk_user)


def test_permission_decorators_keep_the_plan_gate_marker_and_module():
    """functools.wraps carries requires_billing_plan's mark through permission_required."""
    from customers.views import customer_agent_offer, customer_list
    from tickets.views import ticket_set_agent

    assert is_billing_feature(customer_agent_offer) and is_billing_feature(ticket_set_agent)
    assert not is_billing_feature(customer_list)
    assert customer_agent_offer.__module__ == "customers.views"


def test_no_view_module_keeps_a_private_permission_helper():
    import inspect

    import billing_agents.views
    import customers.views
    import invoicing.views
    import tickets.views

    for module in (billing_agents.views, customers.views, invoicing.views, tickets.views):
        source = inspect.getsource(module)
        assert "def _require(" not in source, module.__name__
        assert "raise PermissionDenied" not in source, module.__name__


@pytest.mark.django_db
def test_a_forbidden_view_answers_403_and_an_anonymous_one_the_login_page(front_desk_client):
    from django.test import Client

    assert front_desk_client.get("/billing-agents/1/credit/adjust/").status_code == 403
    response = Client().get("/billing-agents/1/credit/adjust/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
