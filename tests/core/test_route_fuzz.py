# ruff: noqa: RUF001 -- the non-ASCII digits are the point of these tests
"""No input answers 5xx, and a refused input stores nothing (DESIGN.md, quality bars).

Every route of config.urls (but Django's admin and the login pages) is requested with its
path ids filled from a small dataset or with junk, with fuzzed query parameters (GET) and
fuzzed form fields (POST), as a logged-in manager, with htmx headers half the time. The
Django test client raises on a server error, so a 500 fails with its traceback.

Run with `pytest -s` to see how many inputs were tried and how many answered 5xx.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.contrib.messages import ERROR, get_messages
from django.forms import BaseForm
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_agents.models import BillingAgent
from core.models import Letterhead
from customers.models import Customer
from invoicing import services as invoicing_services
from invoicing.accounts import account_for
from invoicing.models import (
    CreditTransaction,
    EmailDelivery,
    Invoice,
    InvoiceLine,
    Remittance,
    RemittanceAllocation,
)
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    TicketFactory,
    waiting_ticket,
)
from tests.urlwalk import url_name, walk
from tickets.models import Ticket, TicketItem, TicketPayment, TicketStatusChange

pytestmark = pytest.mark.django_db

# Tried in every field that takes a number, an id, a token or a date.
NUMBER_NASTY = [
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1e2",
    "1E400",
    "²",
    "١٢٣",
    "９",
    "9999-12-31",
    "0001-01-01",
    "9" * 30,
    "",
    " ",
    "\x00",
    "0x10",
    "1,2,3",
    "-0",
    "-1",
    "0",
    "0.001",
    "12.345",
    "agent-²",
    "agent-" + "9" * 30,
    "INV-²",
    "T-²",
]
# Tried in every other field (names, notes, choices).
TEXT_NASTY = ["", "\x00", "²", "a" * 5000]
NASTY = [*NUMBER_NASTY, *TEXT_NASTY, "sNaN", "customer-١", "\u202e", "<script>", "%00"]
JUNK_IDS = ["0", "999999", "9" * 12, "9" * 19, "9" * 30, "²", "١٢٣", "-1", "1e2"]
SKIPPED_PREFIXES = ("admin:", "login", "logout")
MODELS = [
    Ticket,
    TicketItem,
    TicketPayment,
    TicketStatusChange,
    Invoice,
    InvoiceLine,
    Remittance,
    RemittanceAllocation,
    CreditTransaction,
    BillingAgent,
    Customer,
    Letterhead,
    EmailDelivery,
]
STATS = {"inputs": 0, "5xx": 0, "refusals": 0}


# --- the dataset and what each route reads ---------------------------------------------


@dataclass
class Dataset:
    agent: BillingAgent
    customer: Customer
    direct_customer: Customer
    ticket: Ticket
    item: TicketItem
    waiting: Ticket
    invoice: Invoice
    location_id: int


def _dataset() -> Dataset:
    location = LocationFactory(name="Fuzz store", tax_rate_percent=Decimal("8.250"))
    agent = BillingAgentFactory(company_name="Fuzz Agency", credit_limit=Decimal("5000.00"))
    customer = CustomerFactory(billing_agent=agent, net_terms_days=30)
    direct = CustomerFactory(first_name="Direct", net_terms_days=15)
    ticket = waiting_ticket(agent, customer=customer, location=location)
    # An editable ticket with an item, and a second waiting one to invoice.
    editable = TicketFactory(
        customer=customer,
        billing_agent=agent,
        location=location,
        items=[("Screen", 1, "100.00", True), ("Case", 2, "15.00", False)],
    )
    waiting = waiting_ticket(agent, customer=customer, location=location)
    invoice = invoicing_services.create_invoices(
        account=account_for(agent), ticket_ids=[ticket.pk], batch=True, by=None
    )[0]
    invoicing_services.record_remittance(
        invoice=invoice, amount=Decimal("10.00"), method="cheque", by=None
    )
    # An email the mail server refused, for the Retry button.
    EmailDelivery.objects.create(
        account=invoice.account,
        invoice=invoice,
        kind="invoice",
        to_address="fuzz@agency.example",
        status="failed",
        attempts=5,
        last_error="SMTPServerDisconnected",
    )
    return Dataset(
        agent=agent,
        customer=customer,
        direct_customer=direct,
        ticket=editable,
        item=editable.items.first(),
        waiting=waiting,
        invoice=invoice,
        location_id=location.pk,
    )


def _agent_form(d: Dataset) -> dict:
    return {
        "company_name": "Fuzz Agency",
        "contact_first_name": "Ann",
        "contact_last_name": "Lee",
        "phone": "555-0100",
        "email": "ann@agency.example",
        "fax": "",
        "address_line1": "1 Main St",
        "address_line2": "",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "country": "United States",
        "credit_limit": "5000.00",
        "net_terms_days": "30",
        "invoice_method": "batch",
        "reference_label": "Claim #",
        "reference_required": "on",
        "send_reminders": "on",
        "notes": "",
    }


def _customer_form(d: Dataset) -> dict:
    return {
        "first_name": "Cora",
        "last_name": "Fuzz",
        "company_name": "",
        "email": "cora@mail.example",
        "phone": "555-0199",
        "address_line1": "",
        "address_line2": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "country": "United States",
        "net_terms_days": "30",
        "prefers_batch_invoices": "",
        "notes": "",
        "billing_agent": str(d.agent.pk),
        "move_open_tickets": "",
        "move_offer_seen": "1",
    }


def _remittance_lines(d: Dataset) -> dict:
    return {f"line-{line.pk}": "" for line in d.invoice.lines.all()}


@dataclass(frozen=True)
class Route:
    """What the fuzzer sends to one URL name: valid values per GET and POST field."""

    get: Callable[[Dataset], dict] = lambda d: {}
    post: Callable[[Dataset], dict] | None = None
    path: Callable[[Dataset], dict] = lambda d: {}
    # Other valid GETs that take another branch of the view (swept field by field too).
    other_gets: tuple[Callable[[Dataset], dict], ...] = ()


ROUTES: dict[str, Route] = {
    "dashboard:dashboard": Route(),
    "favicon": Route(),
    "billing_agents:agent_list": Route(
        get=lambda d: {"q": "Fuzz", "status": "active", "sort": "company", "page": "1"}
    ),
    "billing_agents:agent_create": Route(post=_agent_form),
    "billing_agents:agent_search": Route(get=lambda d: {"q": "Fuzz", "list": "id_x_listbox"}),
    "billing_agents:agent_export": Route(
        get=lambda d: {"q": "", "status": "all", "sort": "-open_balance"}
    ),
    "billing_agents:agent_detail": Route(
        get=lambda d: {
            "customers_page": "1",
            "tickets_page": "1",
            "invoices_page": "1",
            "credit_page": "1",
        },
        path=lambda d: {"pk": d.agent.pk},
    ),
    "billing_agents:agent_edit": Route(post=_agent_form, path=lambda d: {"pk": d.agent.pk}),
    "billing_agents:agent_deactivate": Route(
        get=lambda d: {"next": "/"}, post=lambda d: {"next": "/"}, path=lambda d: {"pk": d.agent.pk}
    ),
    "billing_agents:agent_reactivate": Route(
        get=lambda d: {"next": "/"}, post=lambda d: {"next": "/"}, path=lambda d: {"pk": d.agent.pk}
    ),
    "billing_agents:agent_customer_remove": Route(
        get=lambda d: {"customers_page": "1"},
        post=lambda d: {},
        path=lambda d: {"pk": d.agent.pk, "customer_pk": d.customer.pk},
    ),
    "billing_agents:agent_ticket_remove": Route(
        get=lambda d: {"tickets_page": "1"},
        post=lambda d: {},
        path=lambda d: {"pk": d.agent.pk, "ticket_pk": d.ticket.pk},
    ),
    "billing_agents:agent_credit_adjust": Route(
        post=lambda d: {"amount": "5.00", "reason": "Goodwill"}, path=lambda d: {"pk": d.agent.pk}
    ),
    "customers:customer_list": Route(get=lambda d: {"q": "Cora", "page": "1"}),
    "customers:customer_create": Route(post=_customer_form),
    "customers:customer_detail": Route(
        get=lambda d: {"page": "1"}, path=lambda d: {"pk": d.customer.pk}
    ),
    "customers:customer_edit": Route(post=_customer_form, path=lambda d: {"pk": d.customer.pk}),
    "customers:customer_agent_offer": Route(
        get=lambda d: {"billing_agent": str(d.agent.pk)}, path=lambda d: {"pk": d.customer.pk}
    ),
    "tickets:ticket_list": Route(
        get=lambda d: {
            "q": "T-000001",
            "status": "open_any",
            "kind": "repair",
            "location": str(d.location_id),
            "billing_agent": str(d.agent.pk),
            "page": "1",
        }
    ),
    "tickets:ticket_create": Route(
        get=lambda d: {"customer": str(d.customer.pk)},
        post=lambda d: {
            "kind": "repair",
            "location": str(d.location_id),
            "device": "Pixel",
            "problem_description": "Cracked",
            "customer": str(d.customer.pk),
        },
    ),
    "tickets:ticket_detail": Route(
        get=lambda d: {"edit_item": str(d.item.pk), "customer_q": "Cora"},
        path=lambda d: {"pk": d.ticket.pk},
    ),
    "tickets:ticket_attach_customer": Route(
        post=lambda d: {"customer": str(d.customer.pk)}, path=lambda d: {"pk": d.ticket.pk}
    ),
    "tickets:ticket_set_agent": Route(
        post=lambda d: {"billing_agent": str(d.agent.pk)}, path=lambda d: {"pk": d.ticket.pk}
    ),
    "tickets:ticket_set_reference": Route(
        post=lambda d: {"payer_reference": "CLM-1"}, path=lambda d: {"pk": d.ticket.pk}
    ),
    "tickets:ticket_add_item": Route(
        post=lambda d: {
            "item-description": "Cable",
            "item-quantity": "1",
            "item-unit_price": "9.99",
            "item-taxable": "on",
        },
        path=lambda d: {"pk": d.ticket.pk},
    ),
    "tickets:ticket_update_item": Route(
        post=lambda d: {
            "edit-description": "Screen",
            "edit-quantity": "1",
            "edit-unit_price": "100.00",
            "edit-taxable": "on",
        },
        path=lambda d: {"pk": d.ticket.pk, "item_pk": d.item.pk},
    ),
    "tickets:ticket_remove_item": Route(
        post=lambda d: {}, path=lambda d: {"pk": d.ticket.pk, "item_pk": d.item.pk}
    ),
    "tickets:ticket_set_discount": Route(
        post=lambda d: {"discount_type": "amount", "discount_value": "1.00"},
        path=lambda d: {"pk": d.ticket.pk},
    ),
    "tickets:ticket_add_deposit": Route(
        post=lambda d: {
            "deposit-amount": "1.00",
            "deposit-method": "cash",
            "deposit-reference": "R1",
        },
        path=lambda d: {"pk": d.ticket.pk},
    ),
    "tickets:ticket_refund_deposit": Route(
        post=lambda d: {
            "refund-amount": "1.00",
            "refund-method": "cash",
            "refund-reference": "R1",
            "refund-reason": "Fuzz",
        },
        path=lambda d: {"pk": d.ticket.pk},
    ),
    "tickets:ticket_move": Route(
        post=lambda d: {"target": "in_progress", "override": ""},
        path=lambda d: {"pk": d.ticket.pk},
    ),
    "invoicing:invoice_list": Route(
        get=lambda d: {
            "q": "INV-1",
            "status": "open",
            "payer": f"agent-{d.agent.pk}",
            "overdue": "",
            "page": "1",
        }
    ),
    "invoicing:invoice_create": Route(
        get=lambda d: {
            "payer": f"agent-{d.agent.pk}",
            "q": "Fuzz",
            "location": str(d.location_id),
            "date_field": "created",
            "date_from": "2020-01-01",
            "date_to": "2030-01-01",
            "tick": "all",
        },
        post=lambda d: {
            "payer": f"agent-{d.agent.pk}",
            "tickets": str(d.waiting.pk),
            "invoice_method": "batch",
            "issue_date": "2025-01-15",
            "send_email": "",
        },
    ),
    "invoicing:payer_search": Route(get=lambda d: {"q": "Fuzz", "scope": "invoiced"}),
    "invoicing:invoice_export": Route(
        get=lambda d: {
            "q": "CLM",
            "status": "open",
            "payer": f"agent-{d.agent.pk}",
            "overdue": "on",
            "due_from": "2025-01-01",
            "due_to": "2030-01-01",
        }
    ),
    "invoicing:payment_export": Route(
        get=lambda d: {"received_from": "2025-01-01", "received_to": "2030-01-01"}
    ),
    "invoicing:invoice_detail": Route(path=lambda d: {"pk": d.invoice.pk}),
    "invoicing:invoice_print": Route(path=lambda d: {"pk": d.invoice.pk}),
    "invoicing:invoice_pdf": Route(path=lambda d: {"pk": d.invoice.pk}),
    "invoicing:invoice_remittance": Route(
        post=lambda d: {
            "amount": "5.00",
            "method": "cheque",
            "reference": "CHQ-1",
            "received_on": "2025-01-20",
            "idempotency_key": "",
            "action": "",
            **_remittance_lines(d),
        },
        path=lambda d: {"pk": d.invoice.pk},
    ),
    "invoicing:invoice_remittance_allocation": Route(
        get=lambda d: {
            "amount": "5.00",
            "method": "cheque",
            "mode": "check",
            **_remittance_lines(d),
        },
        path=lambda d: {"pk": d.invoice.pk},
        other_gets=(lambda d: {"amount": "5.00", "method": "cheque", "mode": "propose"},),
    ),
    "invoicing:invoice_delete": Route(
        get=lambda d: {"from": "list"}, post=lambda d: {}, path=lambda d: {"pk": d.invoice.pk}
    ),
    "invoicing:invoice_send": Route(post=lambda d: {}, path=lambda d: {"pk": d.invoice.pk}),
    "invoicing:invoice_emails": Route(path=lambda d: {"pk": d.invoice.pk}),
    "invoicing:invoice_remind": Route(post=lambda d: {}, path=lambda d: {"pk": d.invoice.pk}),
    "invoicing:delivery_retry": Route(
        post=lambda d: {},
        path=lambda d: {
            "pk": d.invoice.pk,
            "delivery_id": d.invoice.deliveries.values_list("pk", flat=True).first() or 1,
        },
    ),
    "invoicing:invoice_write_off": Route(
        post=lambda d: {"reason": "Fuzz"}, path=lambda d: {"pk": d.invoice.pk}
    ),
    "invoicing:remittance_void": Route(
        post=lambda d: {"reason": "Fuzz"},
        path=lambda d: {"pk": d.invoice.pk, "remittance_id": d.invoice.remittances.first().pk},
    ),
    "invoicing:write_off_void": Route(
        post=lambda d: {"reason": "Fuzz"},
        path=lambda d: {
            "pk": d.invoice.pk,
            "write_off_id": d.invoice.write_offs.values_list("pk", flat=True).first() or 1,
        },
    ),
    "billing_agents:agent_credit_refund": Route(
        post=lambda d: {"amount": "1.00", "method": "cheque", "reference": "", "reason": "Fuzz"},
        path=lambda d: {"pk": d.agent.pk},
    ),
    "customers:customer_credit_refund": Route(
        post=lambda d: {"amount": "1.00", "method": "cheque", "reference": "", "reason": "Fuzz"},
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "invoicing:invoice_apply_credit": Route(
        post=lambda d: {"amount": "1.00", "idempotency_key": "", "action": ""},
        path=lambda d: {"pk": d.invoice.pk},
    ),
    "accounts:agent_payment_new": Route(
        post=lambda d: {
            "amount": "5.00",
            "method": "cheque",
            "reference": "CHQ-2",
            "received_on": "2025-01-20",
            "idempotency_key": "",
            "action": "",
            **_remittance_lines(d),
        },
        path=lambda d: {"pk": d.agent.pk},
    ),
    "accounts:agent_payment_allocation": Route(
        get=lambda d: {"amount": "5.00", "method": "cheque", "mode": "check"},
        path=lambda d: {"pk": d.agent.pk},
        other_gets=(lambda d: {"amount": "5.00", "method": "cheque", "mode": "propose"},),
    ),
    "accounts:agent_credit_apply": Route(post=lambda d: {}, path=lambda d: {"pk": d.agent.pk}),
    "accounts:customer_payment_new": Route(
        post=lambda d: {
            "amount": "5.00",
            "method": "cheque",
            "reference": "CHQ-3",
            "received_on": "2025-01-20",
            "idempotency_key": "",
            "action": "",
        },
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "accounts:customer_payment_allocation": Route(
        get=lambda d: {"amount": "5.00", "method": "cheque", "mode": "propose"},
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "accounts:customer_credit_apply": Route(
        post=lambda d: {}, path=lambda d: {"pk": d.direct_customer.pk}
    ),
    "billing_runs:run_list": Route(get=lambda d: {"tick": "all", "payers": "1"}),
    "billing_runs:run_create": Route(post=lambda d: {"payers": "1", "seen-1": "1", "email": "on"}),
    "billing_runs:agent_billing_cycle": Route(
        post=lambda d: {"cycle": "weekly", "weekday": "4", "day_of_month": ""},
        path=lambda d: {"pk": d.agent.pk},
    ),
    "billing_runs:customer_billing_cycle": Route(
        post=lambda d: {"cycle": "monthly", "weekday": "", "day_of_month": "1"},
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "statements:agent_statement": Route(
        get=lambda d: {"start": "2025-01-01", "end": "2025-01-31"},
        path=lambda d: {"pk": d.agent.pk},
    ),
    "statements:agent_statement_email": Route(
        post=lambda d: {"start": "2025-01-01", "end": "2025-01-31"},
        path=lambda d: {"pk": d.agent.pk},
    ),
    "statements:customer_statement": Route(
        get=lambda d: {"start": "2025-01-01", "end": "2025-01-31"},
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "statements:agent_statement_pdf": Route(
        get=lambda d: {"start": "2025-01-01", "end": "2025-01-31"},
        path=lambda d: {"pk": d.agent.pk},
    ),
    "statements:customer_statement_pdf": Route(
        get=lambda d: {"start": "2025-01-01", "end": "2025-01-31"},
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "statements:customer_statement_email": Route(
        post=lambda d: {"start": "2025-01-01", "end": "2025-01-31"},
        path=lambda d: {"pk": d.direct_customer.pk},
    ),
    "statements:agent_statement_email_retry": Route(
        post=lambda d: {},
        path=lambda d: {"pk": d.agent.pk, "delivery_id": 1},
    ),
    "statements:customer_statement_email_retry": Route(
        post=lambda d: {},
        path=lambda d: {"pk": d.direct_customer.pk, "delivery_id": 1},
    ),
    "reports:aging": Route(
        get=lambda d: {"as_of": "2025-01-31", "q": "Fuzz", "sort": "-d1_30", "page": "2"}
    ),
    "reports:aging_export": Route(get=lambda d: {"as_of": "2025-01-31", "q": "", "sort": "oldest"}),
    "core:letterhead": Route(
        post=lambda d: {
            "name": "Fuzz Repairs",
            "address": "1 Main St\nSpringfield",
            "phone": "555-0100",
            "email": "shop@fuzz.example",
            "tax_number": "EIN 12-3456789",
            "remit_to": "Cheques to Fuzz Repairs",
            "remove_logo": "",
        }
    ),
}
GROUPS = [
    "dashboard",
    "billing_agents",
    "customers",
    "tickets",
    "invoicing",
    "accounts",
    "billing_runs",
    "statements",
    "reports",
    "core",
]


def test_every_route_is_fuzzed():
    """A new route must be listed in ROUTES, so the fuzzer knows what it reads."""
    names = {url_name(entry, ns) for _, entry, ns in walk() if entry.name}
    names = {n for n in names if not n.startswith(SKIPPED_PREFIXES)}
    assert names == set(ROUTES)


# --- sending and checking ----------------------------------------------------------------


@dataclass
class Probe:
    client: object
    data: Dataset
    htmx: dict = field(default_factory=dict)


def _snapshot() -> list:
    """Every row of the main tables (timestamps too: a refusal saves nothing)."""
    return [list(model.objects.order_by("pk").values()) for model in MODELS]


def _refused(response) -> bool:
    if response.status_code >= 400:
        return True
    context = response.context or {}
    flat = {}
    for layer in getattr(context, "dicts", None) or [context]:
        if isinstance(layer, dict):
            flat.update(layer)
    if any(isinstance(v, BaseForm) and v.is_bound and v.errors for v in flat.values()):
        return True
    if flat.get("alert") or flat.get("credit_error") or flat.get("blocked_reason"):
        return True
    if flat.get("summary", {}) and flat["summary"].get("error"):
        return True
    return any(m.level == ERROR for m in get_messages(response.wsgi_request))


def _path(name: str, kwargs: dict, junk: tuple[str, str] | None) -> str:
    if junk is None:
        return reverse(name, kwargs=kwargs)
    key, value = junk
    sentinel = 987654321
    url = reverse(name, kwargs={**kwargs, key: sentinel})
    return url.replace(str(sentinel), quote(value, safe=""))


def _send(probe: Probe, name: str, method: str, values: dict, junk, htmx: bool):
    route = ROUTES[name]
    url = _path(name, route.path(probe.data), junk)
    headers = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"} if htmx else {}
    before = _snapshot() if method == "post" else None
    STATS["inputs"] += 1
    try:
        if method == "get":
            response = probe.client.get(url, values, headers=headers)
        else:
            response = probe.client.post(url, values, headers=headers)
    except Exception:
        STATS["5xx"] += 1
        raise
    if response.status_code >= 500:
        STATS["5xx"] += 1
        pytest.fail(f"{method.upper()} {url} {values!r} answered {response.status_code}")
    if method == "post" and _refused(response):
        STATS["refusals"] += 1
        assert _snapshot() == before, f"POST {url} {values!r} was refused but stored a change"


@pytest.fixture
def probe(client, manager_user, monkeypatch):
    # Thousands of expected 4xx lines would bury the output the coordinator reads.
    monkeypatch.setattr(logging.getLogger("django.request"), "level", logging.ERROR)
    client.force_login(manager_user)
    return Probe(client=client, data=_dataset())


def _takes_number(key: str, value: str) -> bool:
    """Searches read ticket and invoice numbers, so they count as taking a number."""
    if key == "q" or key.startswith(("line-", "idempotency")):
        return True
    return bool(re.fullmatch(r"[0-9].*|(agent|customer)-[0-9]+", value))


def _routes(group: str) -> list[str]:
    return sorted(n for n in ROUTES if n.partition(":")[0] == group)


# --- every nasty value in every field, one field at a time -------------------------------


@pytest.mark.parametrize("group", GROUPS)
def test_nasty_values_in_every_field_never_answer_5xx(probe, group):
    for name in _routes(group):
        route = ROUTES[name]
        sweeps = [("get", route.get), ("post", route.post)]
        for method, fields in [*sweeps, *(("get", other) for other in route.other_gets)]:
            if fields is None:
                continue
            valid = fields(probe.data)
            for index, (key, value) in enumerate(valid.items()):
                nasty = NUMBER_NASTY if _takes_number(key, value) else TEXT_NASTY
                for n, value in enumerate(nasty):
                    _send(probe, name, method, {**valid, key: value}, None, (index + n) % 2 == 0)
        for key in route.path(probe.data):
            for value in JUNK_IDS:
                _send(probe, name, "get", {}, (key, value), False)
                if route.post is not None:
                    _send(probe, name, "post", route.post(probe.data), (key, value), True)


# --- arbitrary text in arbitrary fields ---------------------------------------------------

fuzz_text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))


@pytest.mark.parametrize("group", GROUPS)
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_arbitrary_text_in_any_field_never_answers_5xx(probe, group, data):
    name = data.draw(st.sampled_from(_routes(group)), label="route")
    route = ROUTES[name]
    method = data.draw(
        st.sampled_from(["get", "post"] if route.post is not None else ["get"]), label="method"
    )
    valid = (route.post if method == "post" else route.get)(probe.data)
    values = {
        key: data.draw(st.one_of(st.just(value), fuzz_text), label=key)
        for key, value in valid.items()
    }
    extra = data.draw(st.dictionaries(st.text(max_size=10), fuzz_text, max_size=2), label="extra")
    junk = None
    if route.path(probe.data) and data.draw(st.booleans(), label="junk path"):
        key = data.draw(st.sampled_from(sorted(route.path(probe.data))), label="path key")
        junk = (key, data.draw(st.one_of(st.sampled_from(JUNK_IDS), st.text(min_size=1))))
    htmx = data.draw(st.booleans(), label="htmx")
    _send(probe, name, method, {**extra, **values}, junk, htmx)


def test_report_fuzz_figures():
    """Print the figures for the coordinator (pytest -s); runs after the fuzz tests."""
    print(
        f"\nroute fuzz: {STATS['inputs']} inputs tried, {STATS['5xx']} answered 5xx, "
        f"{STATS['refusals']} refused POSTs stored nothing"
    )
    assert STATS["5xx"] == 0
