from django.db import migrations, models
from django.db.models.expressions import CombinedExpression


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0010_fill_snapshots")]

    operations = [
        migrations.AddConstraint(
            model_name="invoiceline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("amount", CombinedExpression(models.F("ticket_total"), "-", models.F("paid_before")))
                ),
                name="invoice_line_billed_is_total_less_paid",
            ),
        ),
    ]
