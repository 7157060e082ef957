"""Journeys in Chromium: a billing run invoices three due payers at once (issue 11, 7c),
and a clerk sets an agent's billing cycle from the agent page."""

import re
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import BILLING
from invoicing.models import Account, BillingCycle, Invoice
from tests.factories import (
    BillingAgentFactory,
    CustomerFactory,
    LocationFactory,
    UserFactory,
    waiting_ticket,
)
from tickets.models import Ticket
from tickets.transitions import Status

pytestmark = pytest.mark.django_db(transaction=True)


def _due(payer, cycle=BillingCycle.WEEKLY) -> Account:
    """The payer's account on a cycle that is due today (never billed)."""
    today = timezone.localdate()
    account = Account.objects.for_payer(payer)
    account.billing_cycle = cycle
    account.billing_day = min(today.day, 28) if cycle == BillingCycle.MONTHLY else today.weekday()
    account.save(update_fields=["billing_cycle", "billing_day"])
    return account


def _ticket(payer, location, price, **kwargs):
    return waiting_ticket(payer, location=location, items=[("Repair", 1, price, True)], **kwargs)


def test_a_billing_run_invoices_three_due_payers_at_once(live_server, login):
    clerk = UserFactory(username="e2e-billing-run", role=BILLING)
    downtown = LocationFactory(name="Downtown", tax_rate_percent=Decimal("0"))
    acme = BillingAgentFactory(
        company_name="Acme Insurance", email="ap@acme.example", invoice_method="batch"
    )
    blue = BillingAgentFactory(
        company_name="Blue Co", email="billing@blue.example", invoice_method="individual"
    )
    dana = CustomerFactory(
        first_name="Dana",
        last_name="Direct",
        email="dana@mail.example",
        net_terms_days=15,
        prefers_batch_invoices=True,
    )
    _due(acme)
    _due(blue, BillingCycle.BIWEEKLY)
    _due(dana, BillingCycle.MONTHLY)
    tickets = [
        _ticket(acme, downtown, "100.00"),
        _ticket(acme, downtown, "200.00"),
        _ticket(blue, downtown, "50.00"),
        _ticket(blue, downtown, "25.00"),
        _ticket(dana, downtown, "80.00"),
    ]
    not_due = BillingAgentFactory(company_name="Zed Later")
    _ticket(not_due, downtown, "10.00")  # no cycle: never listed

    page = login(clerk)
    due = page.locator("[data-figure=payers-due]")
    expect(due).to_contain_text("3 payers due for billing")
    page.get_by_role("link", name="Billing runs").click()

    expect(page.locator("h1")).to_have_text("Billing runs")
    table = page.locator("#run-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(0)).to_contain_text("Acme Insurance")
    expect(table.locator("tbody tr").nth(0)).to_contain_text("$300.00")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("Blue Co")
    expect(table.locator("tbody tr").nth(1)).to_contain_text("One invoice per ticket")
    expect(table.locator("tbody tr").nth(2)).to_contain_text("Dana Direct")
    expect(table).not_to_contain_text("Zed Later")

    page.get_by_label("Tick all payers").check()
    for name in ("Acme Insurance", "Blue Co", "Dana Direct"):
        expect(page.get_by_label(f"Invoice {name}")).to_be_checked()
    page.get_by_label("Email the invoices").check()
    page.get_by_role("button", name="Create invoices for the ticked payers").click()

    results = page.locator("[data-run-results]")
    expect(results.locator("[data-run-result=invoiced]")).to_have_count(3)
    expect(results).to_contain_text("Acme Insurance: 2 tickets, 1 invoice, $300.00")
    expect(results).to_contain_text("Blue Co: 2 tickets, 2 invoices, $75.00")
    expect(results).to_contain_text("Dana Direct: 1 ticket, 1 invoice, $80.00")
    expect(page.locator("#run-table")).to_contain_text("No payer is due for billing today.")

    assert Invoice.objects.count() == 4
    assert {Ticket.objects.get(pk=t.pk).status for t in tickets} == {Status.INVOICED}
    assert all(
        a.last_billed_on == timezone.localdate() for a in Account.objects.all() if a.billing_cycle
    )
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ap@acme.example",
        "billing@blue.example",
        "billing@blue.example",
        "dana@mail.example",
    ]

    page.get_by_role("navigation", name="breadcrumb").get_by_role("link", name="Invoices").click()
    invoices = page.locator("#invoice-table")
    for invoice in Invoice.objects.all():
        expect(invoices).to_contain_text(invoice.number)
    expect(invoices).to_contain_text("Acme Insurance")
    expect(invoices).to_contain_text("Blue Co")
    expect(invoices).to_contain_text("Dana Direct")


def test_a_clerk_sets_an_agent_billing_cycle_from_the_agent_page(live_server, login):
    clerk = UserFactory(username="e2e-billing-cycle", role=BILLING)
    agent = BillingAgentFactory(company_name="Lakeside Schools")
    page = login(clerk)
    page.goto(f"{live_server.url}{agent.get_absolute_url()}")
    cycle = page.locator("[data-billing-cycle]")
    expect(cycle).to_contain_text("No fixed cycle")

    cycle.get_by_role("link", name="Edit the billing cycle").click()
    dialog = page.locator("#confirm-modal")
    expect(dialog).to_contain_text("Billing cycle of Lakeside Schools")
    dialog.get_by_label("Billing cycle").select_option(label="Weekly")
    dialog.get_by_role("button", name="Save billing cycle").click()
    # No weekday: refused beside the field, the dialog stays open.
    expect(dialog.locator("#id_weekday_error")).to_contain_text("Choose the weekday to bill on")

    dialog.get_by_label("Weekday").select_option(label="Friday")
    dialog.get_by_role("button", name="Save billing cycle").click()
    expect(page.locator("[data-billing-cycle]")).to_contain_text("Weekly on Friday")
    expect(page).to_have_url(re.compile(rf"{agent.get_absolute_url()}$"))
    account = Account.objects.get(billing_agent=agent)
    assert (account.billing_cycle, account.billing_day) == ("weekly", 4)
