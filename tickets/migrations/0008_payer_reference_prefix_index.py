"""The ticket list's search by the start of the payer's reference, on PostgreSQL only.

`TicketQuerySet.search` ORs `payer_reference__istartswith` with the customer match; without
an index on exactly `UPPER(payer_reference::text)` PostgreSQL would read every ticket.
"""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS ticket_payer_reference_prefix ON tickets_ticket "
    "((UPPER(payer_reference::text)) text_pattern_ops)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_payer_reference_prefix")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0007_payer_reference")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
