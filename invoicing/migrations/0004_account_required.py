"""Receivables accounts, step 3: `account` is required and the two payer columns, their
one-payer checks and their indexes go; the same indexes come back on the account."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0003_fill_accounts")]

    operations = [
        migrations.AlterField(
            model_name="invoice",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoices",
                to="invoicing.account",
            ),
        ),
        migrations.AlterField(
            model_name="remittance",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="remittances",
                to="invoicing.account",
            ),
        ),
        migrations.AlterField(
            model_name="credittransaction",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credit_transactions",
                to="invoicing.account",
            ),
        ),
        migrations.RemoveConstraint(model_name="invoice", name="invoice_exactly_one_payer"),
        migrations.RemoveConstraint(model_name="remittance", name="remittance_exactly_one_payer"),
        migrations.RemoveConstraint(
            model_name="credittransaction", name="credit_exactly_one_payer"
        ),
        migrations.RemoveIndex(model_name="invoice", name="invoicing_i_billing_c909df_idx"),
        migrations.RemoveIndex(model_name="invoice", name="invoicing_i_custome_f28b76_idx"),
        migrations.RemoveIndex(
            model_name="credittransaction", name="invoicing_c_billing_1712fe_idx"
        ),
        migrations.RemoveIndex(
            model_name="credittransaction", name="invoicing_c_custome_748f56_idx"
        ),
        migrations.RemoveField(model_name="invoice", name="billing_agent"),
        migrations.RemoveField(model_name="invoice", name="customer"),
        migrations.RemoveField(model_name="historicalinvoice", name="billing_agent"),
        migrations.RemoveField(model_name="historicalinvoice", name="customer"),
        migrations.RemoveField(model_name="remittance", name="billing_agent"),
        migrations.RemoveField(model_name="remittance", name="customer"),
        migrations.RemoveField(model_name="credittransaction", name="billing_agent"),
        migrations.RemoveField(model_name="credittransaction", name="customer"),
        migrations.AddIndex(
            model_name="invoice",
            index=models.Index(fields=["account", "status"], name="invoicing_i_account_1fe6a8_idx"),
        ),
        migrations.AddIndex(
            model_name="credittransaction",
            index=models.Index(
                fields=["account", "created_at"], name="invoicing_c_account_709a4b_idx"
            ),
        ),
    ]
