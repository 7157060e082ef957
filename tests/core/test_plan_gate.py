"""The plan gate follows the feature: every URL of the project is walked on Essentials.

Each billing-agent or invoicing view answers the plan page (403) for GET and POST, with and
without htmx, wherever its URL lives; the other pages keep working.
"""

import re

import pytest
from django.urls import URLPattern

from billing_agents.models import BillingAgent
from core.plans import PLAN_REQUIRED_MESSAGE, is_billing_feature
from customers.models import Customer
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    InvoiceFactory,
    InvoiceLineFactory,
    agent_ticket,
)
from tests.urlwalk import url_name, walk

# Every URL name that serves an agent or invoicing feature; a new gated view must be added
# here, and a view that loses its gate fails the equality check below.
BILLING_FEATURES = frozenset(
    {
        "billing_agents:agent_list",
        "billing_agents:agent_create",
        "billing_agents:agent_export",
        "billing_agents:agent_search",
        "billing_agents:agent_detail",
        "billing_agents:agent_edit",
        "billing_agents:agent_deactivate",
        "billing_agents:agent_reactivate",
        "billing_agents:agent_customer_remove",
        "billing_agents:agent_ticket_remove",
        "billing_agents:agent_credit_adjust",
        "billing_agents:agent_credit_refund",
        "invoicing:invoice_list",
        "invoicing:invoice_export",
        "invoicing:payment_export",
        "invoicing:invoice_create",
        "invoicing:payer_search",
        "invoicing:invoice_detail",
        "invoicing:invoice_print",
        "invoicing:invoice_pdf",
        "invoicing:invoice_remittance",
        "invoicing:invoice_remittance_allocation",
        "invoicing:invoice_apply_credit",
        "accounts:agent_payment_new",
        "accounts:agent_payment_allocation",
        "accounts:agent_credit_apply",
        "accounts:customer_payment_new",
        "accounts:customer_payment_allocation",
        "accounts:customer_credit_apply",
        "billing_runs:run_list",
        "billing_runs:run_create",
        "billing_runs:agent_billing_cycle",
        "billing_runs:customer_billing_cycle",
        "statements:agent_statement",
        "statements:agent_statement_email",
        "statements:customer_statement",
        "statements:customer_statement_email",
        "statements:agent_statement_email_retry",
        "statements:customer_statement_email_retry",
        "statements:agent_statement_pdf",
        "statements:customer_statement_pdf",
        "reports:aging",
        "reports:aging_export",
        "invoicing:invoice_delete",
        "invoicing:invoice_send",
        "invoicing:invoice_emails",
        "invoicing:invoice_remind",
        "invoicing:delivery_retry",
        "invoicing:invoice_write_off",
        "invoicing:remittance_void",
        "invoicing:write_off_void",
        "customers:customer_agent_offer",
        "customers:customer_credit_refund",
        "tickets:ticket_set_agent",
        "tickets:ticket_set_reference",
    }
)
# Pages of the Essentials plan that must still open.
ESSENTIALS_PAGES = frozenset(
    {
        "dashboard:dashboard",
        "customers:customer_list",
        "customers:customer_create",
        "customers:customer_detail",
        "customers:customer_edit",
        "tickets:ticket_list",
        "tickets:ticket_create",
        "tickets:ticket_detail",
    }
)
PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}


def _patterns() -> list[tuple[str, str, URLPattern]]:
    return [(route, url_name(entry, nss), entry) for route, entry, nss in walk()]


@pytest.fixture
def ids(db) -> dict[str, dict[str, int]]:
    """Real ids for each app's path parameters, keyed by URL namespace then parameter."""
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    ticket = agent_ticket(agent, customer=customer)
    item = ticket.items.get()
    invoice = InvoiceFactory(billing_agent=agent)
    InvoiceLineFactory(invoice=invoice, ticket=agent_ticket(agent, customer=customer))
    return {
        "billing_agents": {"pk": agent.pk, "customer_pk": customer.pk, "ticket_pk": ticket.pk},
        "customers": {"pk": customer.pk},
        "tickets": {"pk": ticket.pk, "item_pk": item.pk},
        "invoicing": {"pk": invoice.pk},
        "dashboard": {},
    }


def _path(route: str, name: str, ids: dict[str, dict[str, int]]) -> str | None:
    """The route with real ids; None for a regex route (the admin's) that cannot be filled."""
    if any(ch in route for ch in "^$()[]?*+\\"):
        return None
    values = ids.get(name.partition(":")[0], {})
    return "/" + PARAM.sub(lambda m: str(values.get(m.group(1), 1)), route)


def test_the_billing_feature_list_is_the_set_of_gated_views():
    gated = {name for _, name, entry in _patterns() if is_billing_feature(entry.callback)}
    assert gated == BILLING_FEATURES


@pytest.mark.django_db
def test_essentials_walk_refuses_every_billing_feature_and_keeps_the_rest(
    manager_client, settings, ids
):
    settings.SHOP_PLAN = "essentials"
    patterns = _patterns()
    requests = 0
    seen_pages = set()
    for route, name, _ in patterns:
        path = _path(route, name, ids)
        if name in BILLING_FEATURES:
            assert path is not None, f"{name} cannot be walked"
            for method in ("get", "post"):
                for headers in ({}, HTMX):
                    response = getattr(manager_client, method)(path, **headers)
                    requests += 1
                    where = f"{method.upper()} {path} ({name}, htmx={bool(headers)})"
                    assert response.status_code == 403, where
                    assert PLAN_REQUIRED_MESSAGE in response.content.decode(), where
        elif path is not None:
            response = manager_client.get(path)
            requests += 1
            assert PLAN_REQUIRED_MESSAGE not in response.content.decode(), name
            assert response.status_code < 500, name
            if name in ESSENTIALS_PAGES:
                assert response.status_code == 200, f"GET {path} ({name})"
                seen_pages.add(name)
    assert seen_pages == ESSENTIALS_PAGES
    print(f"\nplan gate walk: {len(patterns)} URL patterns, {requests} requests")


@pytest.mark.django_db
def test_essentials_pages_hide_agent_and_invoice_data(manager_client, settings, ids):
    settings.SHOP_PLAN = "essentials"
    agent_name = str(BillingAgent.objects.get())
    pages = {
        "/": ("Open invoices",),
        f"/customers/{ids['customers']['pk']}/": (agent_name,),
        "/customers/": (agent_name,),
        f"/customers/{ids['customers']['pk']}/edit/": (agent_name, 'name="billing_agent"'),
        f"/tickets/{ids['tickets']['pk']}/": (agent_name, "ticket_set_agent", "/agent/"),
        "/tickets/": (agent_name,),
    }
    for path, hidden in pages.items():
        html = manager_client.get(path).content.decode()
        for text in hidden:
            assert text not in html, f"{path} shows {text!r}"


@pytest.mark.django_db
def test_essentials_customer_form_ignores_a_posted_agent(manager_client, settings, ids):
    settings.SHOP_PLAN = "essentials"
    other = BillingAgentFactory()
    customer_pk = ids["customers"]["pk"]
    data = {"first_name": "Ada", "last_name": "Lovelace", "billing_agent": other.pk}
    created = manager_client.post("/customers/new/", data)
    assert created.status_code == 302
    edited = manager_client.post(f"/customers/{customer_pk}/edit/", data)
    assert edited.status_code == 302
    new = Customer.objects.exclude(pk=customer_pk).get(first_name="Ada")
    assert new.billing_agent_id is None
    assert Customer.objects.get(pk=customer_pk).billing_agent_id == ids["billing_agents"]["pk"]
