"""The receivables-account data migration, run on rows written before accounts existed."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("invoicing", "0002_account")]
AFTER = [("invoicing", "0004_account_required")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest_migrations():
    """Later tests need the whole schema, migrations after AFTER included."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_fill_accounts_gives_every_invoiced_payer_one_account_and_repoints_its_rows():
    old = _migrate(BEFORE)
    try:
        Agent = old.get_model("billing_agents", "BillingAgent")
        Customer = old.get_model("customers", "Customer")
        Invoice = old.get_model("invoicing", "Invoice")
        HistoricalInvoice = old.get_model("invoicing", "HistoricalInvoice")
        Remittance = old.get_model("invoicing", "Remittance")
        Credit = old.get_model("invoicing", "CreditTransaction")
        agent = Agent.objects.create(company_name="Lakeside")
        customer = Customer.objects.create(first_name="Dana", net_terms_days=15)
        Agent.objects.create(company_name="Never invoiced")
        due = {"issue_date": "2025-01-01", "due_date": "2025-01-31", "total": "10.00"}
        by_agent = Invoice.objects.create(billing_agent=agent, **due)
        by_customer = Invoice.objects.create(customer=customer, **due)
        HistoricalInvoice.objects.create(
            id=by_agent.pk,
            billing_agent_id=agent.pk,
            history_date="2025-01-01T00:00:00Z",
            history_type="+",
            created_at="2025-01-01T00:00:00Z",
            updated_at="2025-01-01T00:00:00Z",
            **due,
        )
        Remittance.objects.create(
            invoice=by_customer, customer=customer, amount="12.00", method="cheque"
        )
        Credit.objects.create(
            customer=customer, kind="overpayment", amount="2.00", balance_after="2.00"
        )
    finally:
        new = _migrate(AFTER)

    Account = new.get_model("invoicing", "Account")
    agents_account = Account.objects.get(billing_agent_id=agent.pk)
    customers_account = Account.objects.get(customer_id=customer.pk)
    assert Account.objects.count() == 2  # the agent never invoiced gets none
    assert new.get_model("invoicing", "Invoice").objects.get(pk=by_agent.pk).account_id == (
        agents_account.pk
    )
    assert new.get_model("invoicing", "Invoice").objects.get(pk=by_customer.pk).account_id == (
        customers_account.pk
    )
    history = new.get_model("invoicing", "HistoricalInvoice").objects.get(id=by_agent.pk)
    assert history.account_id == agents_account.pk
    assert set(
        new.get_model("invoicing", "Remittance").objects.values_list("account_id", flat=True)
    ) == {customers_account.pk}
    assert set(
        new.get_model("invoicing", "CreditTransaction").objects.values_list("account_id", flat=True)
    ) == {customers_account.pk}


@pytest.mark.django_db(transaction=True)
def test_fill_snapshots_gives_old_lines_their_tickets_figures_and_items():
    old = _migrate(
        [
            ("invoicing", "0009_snapshots_deliveries"),
            ("billing_agents", "0003_references_reminders"),
            ("customers", "0004_billing_cycle_moves_to_account"),
        ]
    )
    try:
        Agent = old.get_model("billing_agents", "BillingAgent")
        Customer = old.get_model("customers", "Customer")
        Location = old.get_model("tickets", "Location")
        Ticket = old.get_model("tickets", "Ticket")
        TicketItem = old.get_model("tickets", "TicketItem")
        Account = old.get_model("invoicing", "Account")
        Invoice = old.get_model("invoicing", "Invoice")
        InvoiceLine = old.get_model("invoicing", "InvoiceLine")
        agent = Agent.objects.create(company_name="Harbor", reference_label="Claim #")
        customer = Customer.objects.create(
            first_name="Ana", last_name="Ruiz", company_name="Ruiz & Co", billing_agent=agent
        )
        location = Location.objects.create(name="Main", tax_rate_percent="5.000")
        ticket = Ticket.objects.create(
            location=location,
            customer=customer,
            billing_agent=agent,
            status="invoiced",
            device="iPhone 12",
            payer_reference="CLM-1",
            subtotal="100.00",
            tax_amount="5.00",
            total="105.00",
            amount_paid="25.00",
            balance_due="80.00",
        )
        TicketItem.objects.create(ticket=ticket, description="Screen", unit_price="60.00")
        TicketItem.objects.create(
            ticket=ticket, description="Labour", quantity="2", unit_price="20.00"
        )
        account = Account.objects.create(billing_agent=agent)
        invoice = Invoice.objects.create(
            account=account, issue_date="2026-01-01", due_date="2026-01-31", total="80.00"
        )
        line = InvoiceLine.objects.create(invoice=invoice, ticket=ticket, amount="80.00")
    finally:
        new = _migrate([("invoicing", "0011_snapshot_constraint")])

    filled = new.get_model("invoicing", "InvoiceLine").objects.get(pk=line.pk)
    assert (filled.customer_name, filled.description) == ("Ana Ruiz (Ruiz & Co)", "iPhone 12")
    assert (filled.reference_label, filled.reference) == ("Claim #", "CLM-1")
    assert (filled.subtotal, filled.tax, filled.tax_rate_percent) == (
        Decimal("100.00"),
        Decimal("5.00"),
        Decimal("5.000"),
    )
    assert (filled.ticket_total, filled.paid_before) == (Decimal("105.00"), Decimal("25.00"))
    items = new.get_model("invoicing", "InvoiceLineItem").objects.filter(line_id=line.pk)
    assert list(items.values_list("position", "description", "amount")) == [
        (1, "Screen", Decimal("60.00")),
        (2, "Labour", Decimal("40.00")),
    ]
