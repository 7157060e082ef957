"""Receivables: the billing cycle of each direct-billed customer moves onto its account,
and every credit ledger row gets the day it counts from and the invoice it concerns."""

from django.db import migrations


def _cycle(days: int) -> tuple[str, int]:
    """The nearest of the account's cycles to a cycle of `days` days."""
    if days <= 7:
        return "weekly", 0
    if days <= 14:
        return "biweekly", 0
    return "monthly", 1


def fill(apps, schema_editor) -> None:
    Account = apps.get_model("invoicing", "Account")
    Customer = apps.get_model("customers", "Customer")
    CreditTransaction = apps.get_model("invoicing", "CreditTransaction")
    for customer in Customer.objects.filter(billing_cycle_days__isnull=False).order_by("pk"):
        cycle, day = _cycle(customer.billing_cycle_days)
        account, _ = Account.objects.get_or_create(customer_id=customer.pk)
        Account.objects.filter(pk=account.pk).update(billing_cycle=cycle, billing_day=day)
    for row in CreditTransaction.objects.select_related("remittance").order_by("pk"):
        payment = row.remittance
        posted_by_payment = payment is not None and row.kind in ("overpayment", "credit_applied")
        row.effective_on = payment.received_on if posted_by_payment else row.created_at.date()
        row.invoice_id = payment.invoice_id if posted_by_payment else None
        row.save(update_fields=["effective_on", "invoice"])


def unfill(apps, schema_editor) -> None:
    """Backwards: the cycles go back to the customers (days of the cycle)."""
    Account = apps.get_model("invoicing", "Account")
    Customer = apps.get_model("customers", "Customer")
    days = {"weekly": 7, "biweekly": 14, "monthly": 30}
    for account in Account.objects.filter(customer__isnull=False).exclude(billing_cycle=""):
        Customer.objects.filter(pk=account.customer_id).update(
            billing_cycle_days=days[account.billing_cycle]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0007_receivables"),
        ("customers", "0003_customer_trigram_search"),
    ]

    operations = [migrations.RunPython(fill, unfill)]
