"""Receivables accounts, step 1: the Account table and a nullable `account` on invoices,
remittances and ledger rows (filled by 0003, made required by 0004)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing_agents", "0001_initial"),
        ("customers", "0001_initial"),
        ("invoicing", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "billing_agent",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account",
                        to="billing_agents.billingagent",
                    ),
                ),
                (
                    "customer",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="account",
                        to="customers.customer",
                    ),
                ),
            ],
            options={"ordering": ["id"]},
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("billing_agent__isnull", False), ("customer__isnull", True)),
                    models.Q(("billing_agent__isnull", True), ("customer__isnull", False)),
                    _connector="OR",
                ),
                name="account_exactly_one_payer",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="account",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoices",
                to="invoicing.account",
            ),
        ),
        migrations.AddField(
            model_name="historicalinvoice",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="invoicing.account",
            ),
        ),
        migrations.AddField(
            model_name="remittance",
            name="account",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="remittances",
                to="invoicing.account",
            ),
        ),
        migrations.AddField(
            model_name="credittransaction",
            name="account",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credit_transactions",
                to="invoicing.account",
            ),
        ),
    ]
