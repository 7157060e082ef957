"""Receivables accounts, step 2: one account for every payer that already has invoices,
remittances or ledger rows, and every such row (and invoice history row) pointed at it."""

from django.db import migrations

# The tables that carried the two payer columns; the historical invoices follow along.
PAYER_TABLES = ("Invoice", "Remittance", "CreditTransaction", "HistoricalInvoice")
PAYER_COLUMNS = ("billing_agent", "customer")


def fill_accounts(apps, schema_editor) -> None:
    """Create the accounts and fill `account` from billing_agent / customer."""
    Account = apps.get_model("invoicing", "Account")
    owners = {
        "billing_agent": apps.get_model("billing_agents", "BillingAgent"),
        "customer": apps.get_model("customers", "Customer"),
    }
    models = [apps.get_model("invoicing", name) for name in PAYER_TABLES]
    for column, owner in owners.items():
        ids = set()
        for model in models[:3]:
            ids |= set(
                model.objects.filter(**{f"{column}__isnull": False})
                .values_list(f"{column}_id", flat=True)
                .distinct()
            )
        # History rows may name a payer since removed; only live payers get an account.
        for payer_id in sorted(owner.objects.filter(pk__in=ids).values_list("pk", flat=True)):
            account, _ = Account.objects.get_or_create(**{f"{column}_id": payer_id})
            for model in models:
                model.objects.filter(**{f"{column}_id": payer_id}, account__isnull=True).update(
                    account_id=account.pk
                )


def empty_accounts(apps, schema_editor) -> None:
    """Backwards: put the payer back in billing_agent / customer from the account."""
    Account = apps.get_model("invoicing", "Account")
    for account in Account.objects.all():
        for name in PAYER_TABLES:
            apps.get_model("invoicing", name).objects.filter(account_id=account.pk).update(
                billing_agent_id=account.billing_agent_id,
                customer_id=account.customer_id,
                account_id=None,
            )


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0002_account")]

    operations = [migrations.RunPython(fill_accounts, empty_accounts)]
