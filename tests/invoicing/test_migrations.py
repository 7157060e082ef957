"""The receivables-account data migration, run on rows written before accounts existed."""

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
