"""Money moves written set-based (core.bulk.update_rows: one UPDATE … FROM (VALUES …) per
500 rows) leave exactly what the ORM's bulk_update left, row for row, in every table a
payment or a void touches; and a payment's queries do not grow with its lines."""

import uuid
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import invoicing.services
import tickets.models
from invoicing import services
from invoicing.accounts import account_for
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus, RemittanceAllocation
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)
from tickets.models import PaymentMethod, Ticket, TicketItem, fresh_totals
from tickets.totals import Line, compute_totals, stored_figures
from tickets.transitions import Kind, Status

pytestmark = pytest.mark.django_db
D = Decimal
APPS = ("billing_agents", "customers", "tickets", "invoicing")


# --- what the operation left: every row of every table, its new rows' ids normalised ----


def _snapshot_models() -> list[type[models.Model]]:
    return [model for label in APPS for model in apps.get_app_config(label).get_models()]


def _keys() -> dict[type[models.Model], set]:
    return {
        model: set(model._base_manager.values_list("pk", flat=True)) for model in _snapshot_models()
    }


def _state(before: dict[type[models.Model], set]) -> dict[str, list[dict]]:
    """Every row of the apps' tables; a row added since `before` is named by its table and
    its place among the new rows, and so is every reference to it (foreign keys and a
    history row's `id`), so two runs that wrote the same rows compare equal."""
    rows = {model: list(model._base_manager.order_by("pk").values()) for model in before}
    new_names: dict[type[models.Model], dict] = {}
    for model, records in rows.items():
        pk = model._meta.pk.attname
        added = [r[pk] for r in records if r[pk] not in before[model]]
        new_names[model] = {key: f"new {model._meta.label} #{n}" for n, key in enumerate(added)}

    def named(model, value):
        return new_names.get(model, {}).get(value, value)

    state = {}
    for model, records in rows.items():
        references = {
            field.attname: field.related_model._meta.concrete_model
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is not None
        }
        tracked = getattr(model, "instance_type", None)  # a simple-history model
        shown = []
        for record in records:
            row = dict(record)
            pk = model._meta.pk.attname
            row[pk] = named(model, row[pk])
            for attname, target in references.items():
                row[attname] = named(target, row[attname])
            if tracked is not None and "id" in row:
                row["id"] = named(tracked, row["id"])
            shown.append(row)
        state[model._meta.label] = shown
    return state


class _Undo(Exception):
    pass


def _bulk_update(objects, fields) -> None:
    """The writes before core.bulk.update_rows: the ORM's bulk_update (a CASE per row)."""
    objects = list(objects)
    if objects:
        type(objects[0]).objects.bulk_update(objects, fields)


def _run(operation, *, reference: bool, moment, monkeypatch) -> dict[str, list[dict]]:
    """The state `operation` leaves (then undone), with the set-based writes or, with
    `reference`, with bulk_update as the previous implementation wrote."""
    before = _keys()
    with monkeypatch.context() as patch:
        if reference:
            patch.setattr(invoicing.services, "update_rows", _bulk_update)
            patch.setattr(tickets.models, "update_rows", _bulk_update)
        try:
            with transaction.atomic(), time_machine.travel(moment, tick=False):
                operation()
                state = _state(before)
                raise _Undo
        except _Undo:
            pass
    return state


def _assert_same_as_bulk_update(operation, monkeypatch) -> dict[str, list[dict]]:
    # Both runs happen at one moment, so their timestamps are equal.
    moment = timezone.now()
    mine = _run(operation, reference=False, moment=moment, monkeypatch=monkeypatch)
    theirs = _run(operation, reference=True, moment=moment, monkeypatch=monkeypatch)
    assert mine.keys() == theirs.keys()
    for label in mine:
        assert mine[label] == theirs[label], label
    operation()  # and once for real, for the figure checks of the caller
    return mine


def _assert_figures_hold(invoices) -> None:
    """Checked independently of both writers: stored ticket totals equal a fresh
    computation, and each invoice's paid figure is its lines' and its allocations' sum."""
    for invoice in invoices:
        invoice.refresh_from_db()
        lines = list(InvoiceLine.objects.filter(invoice=invoice))
        tickets_ = list(Ticket.objects.filter(pk__in=[line.ticket_id for line in lines]))
        for ticket, totals in zip(tickets_, fresh_totals(tickets_), strict=True):
            for name, value in stored_figures(totals).items():
                assert getattr(ticket, name) == value, (ticket.number, name)
        assert invoice.amount_paid == sum((line.amount_paid for line in lines), D(0))
        live = RemittanceAllocation.objects.filter(
            invoice_line__invoice=invoice, remittance__voided_at__isnull=True
        )
        assert invoice.amount_paid == sum((a.amount for a in live), D(0))


# --- the payments and voids compared --------------------------------------------------------


@pytest.fixture
def clerk(db):
    return UserFactory(username="clerk-set-based")


@pytest.fixture
def agent(db):
    return BillingAgentFactory(company_name="Harbor Insurance")


def _invoice(agent, clerk, *prices, deposits=()) -> Invoice:
    location = LocationFactory(tax_rate_percent=D("8.25"))
    customer = CustomerFactory(billing_agent=agent)
    tickets_ = [
        waiting_ticket(
            agent,
            customer=customer,
            location=location,
            items=[("Screen", 1, price, True), ("Labour", "1.5", "40.00", False)],
            deposits=list(deposits[n : n + 1]),
        )
        for n, price in enumerate(prices)
    ]
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in tickets_], batch=True, by=clerk
    )
    return invoice


def test_paying_an_invoice_in_full_leaves_what_bulk_update_left(agent, clerk, monkeypatch):
    invoice = _invoice(agent, clerk, "120.00", "80.00", "45.50", deposits=["20.00"])
    key = uuid.uuid4()

    def pay():
        services.record_remittance(
            invoice=invoice,
            amount=invoice.total + D("12.00"),  # overpaid: credit on the ledger
            method=PaymentMethod.CHEQUE,
            reference="CHQ-1001",
            idempotency_key=key,
            by=clerk,
        )

    state = _assert_same_as_bulk_update(pay, monkeypatch)
    assert state["tickets.TicketStatusChange"], "the tickets were closed"
    _assert_figures_hold([invoice])
    assert invoice.status == InvoiceStatus.PAID
    assert set(
        Ticket.objects.filter(invoice_lines__invoice=invoice).values_list("status", flat=True)
    ) == {Status.CLOSED}


def test_a_clerks_split_over_some_lines_leaves_what_bulk_update_left(agent, clerk, monkeypatch):
    invoice = _invoice(agent, clerk, "120.00", "80.00", "45.50")
    first, _, third = InvoiceLine.objects.filter(invoice=invoice).order_by("ticket_id")
    key = uuid.uuid4()

    def pay():
        services.record_remittance(
            invoice=invoice,
            amount=D("90.00"),
            method=PaymentMethod.ACH,
            allocations={first.pk: D("60.00"), third.pk: D("30.00")},
            idempotency_key=key,
            by=clerk,
        )

    _assert_same_as_bulk_update(pay, monkeypatch)
    _assert_figures_hold([invoice])
    assert invoice.status == InvoiceStatus.OPEN


def test_a_payment_on_the_account_over_two_invoices_leaves_what_bulk_update_left(
    agent, clerk, monkeypatch
):
    older = _invoice(agent, clerk, "120.00", "80.00")
    newer = _invoice(agent, clerk, "45.50", "60.00")
    key = uuid.uuid4()

    def pay():
        services.record_account_payment(
            account=account_for(agent),
            amount=older.total + D("50.00"),  # pays the older in full, part of the newer
            method=PaymentMethod.CHEQUE,
            reference="CHQ-2002",
            idempotency_key=key,
            by=clerk,
        )

    _assert_same_as_bulk_update(pay, monkeypatch)
    _assert_figures_hold([older, newer])


def test_paying_from_account_credit_leaves_what_bulk_update_left(agent, clerk, monkeypatch):
    first = _invoice(agent, clerk, "50.00")
    services.record_remittance(
        invoice=first, amount=first.total + D("40.00"), method=PaymentMethod.CHEQUE, by=clerk
    )
    invoice = _invoice(agent, clerk, "20.00", "30.00")
    key = uuid.uuid4()

    def pay():
        services.record_remittance(
            invoice=invoice,
            amount=D("40.00"),
            method=PaymentMethod.ACCOUNT_CREDIT,
            idempotency_key=key,
            by=clerk,
        )

    state = _assert_same_as_bulk_update(pay, monkeypatch)
    assert any(row["kind"] == "credit_applied" for row in state["invoicing.CreditTransaction"])
    _assert_figures_hold([invoice])


def test_voiding_a_payment_leaves_what_bulk_update_left(agent, clerk, monkeypatch):
    invoice = _invoice(agent, clerk, "120.00", "80.00", "45.50")
    remittance = services.record_remittance(
        invoice=invoice, amount=invoice.total + D("5.00"), method=PaymentMethod.CHEQUE, by=clerk
    )

    def void():
        services.void_remittance(remittance=remittance, reason="Cheque bounced", by=clerk)

    _assert_same_as_bulk_update(void, monkeypatch)
    _assert_figures_hold([invoice])
    assert invoice.status == InvoiceStatus.OPEN


# --- queries do not grow with the lines -------------------------------------------------------


def _big_invoice(clerk, count: int) -> Invoice:
    """A batch invoice of `count` taxed tickets, the tickets written in bulk (fast)."""
    agent = BillingAgentFactory()
    customer = CustomerFactory(billing_agent=agent)
    location = LocationFactory(tax_rate_percent=D("8.25"))
    price = D("80.00")
    figures = stored_figures(
        compute_totals(
            lines=[Line(D(1), price, True)],
            discount_type="amount",
            discount_value=D(0),
            tax_rate_percent=location.tax_rate_percent,
            payments=[],
        )
    )
    rows = Ticket.objects.bulk_create(
        [
            Ticket(
                kind=Kind.REPAIR,
                status=Status.WAITING_FOR_PAYMENT,
                location=location,
                customer=customer,
                billing_agent=agent,
                **figures,
            )
            for _ in range(count)
        ]
    )
    TicketItem.objects.bulk_create(
        [TicketItem(ticket=t, description="Repair", unit_price=price) for t in rows]
    )
    [invoice] = services.create_invoices(
        account=account_for(agent), ticket_ids=[t.pk for t in rows], batch=True, by=clerk
    )
    return invoice


def _pay_in_full(invoice: Invoice, clerk) -> list[dict]:
    with CaptureQueriesContext(connection) as captured:
        services.record_remittance(
            invoice=invoice, amount=invoice.total + D("10.00"), method="cheque", by=clerk
        )
    return captured.captured_queries


def test_a_500_line_remittance_runs_the_queries_of_a_50_line_one(
    clerk, django_assert_max_num_queries
):
    small = _pay_in_full(_big_invoice(clerk, 50), clerk)
    large_invoice = _big_invoice(clerk, 500)
    if connection.vendor == "postgresql":
        with django_assert_max_num_queries(len(small)):
            large = _pay_in_full(large_invoice, clerk)
        assert len(large) == len(small)
    else:
        # SQLite: Django splits a bulk INSERT at 999 parameters; nothing else grows.
        large = _pay_in_full(large_invoice, clerk)

        def others(queries):
            return [q for q in queries if not q["sql"].startswith("INSERT")]

        assert len(others(large)) == len(others(small))
    # One set-based statement per table for the money, on PostgreSQL and SQLite alike.
    lines_written = [
        q["sql"] for q in large if q["sql"].startswith('UPDATE "invoicing_invoiceline"')
    ]
    assert len(lines_written) == 1 and "FROM (VALUES" in lines_written[0]
    totals_written = [
        q["sql"] for q in large if q["sql"].startswith('UPDATE "tickets_ticket" SET "subtotal"')
    ]
    assert len(totals_written) == 1 and "FROM (VALUES" in totals_written[0]
    # The lines and their tickets are read once, in one query.
    reads = [q["sql"] for q in large if 'FROM "invoicing_invoiceline"' in q["sql"]]
    assert len(reads) == 1 and '"tickets_ticket"."status"' in reads[0]
    large_invoice.refresh_from_db()
    assert large_invoice.status == InvoiceStatus.PAID
    assert RemittanceAllocation.objects.filter(invoice_line__invoice=large_invoice).count() == 500
