"""The dashboard's open-ticket figures from an index, on PostgreSQL only.

dashboard.figures.open_tickets counts the open tickets per status and sums the balance
due of the Waiting for Payment ones. A partial index over open tickets only (closed and
cancelled ones, most of the table, are not in it) holding status with balance_due lets
PostgreSQL answer that with an index-only scan instead of reading every ticket. The
predicate must stay what TicketQuerySet.open() writes (status not Closed or Cancelled).
SQLite has no INCLUDE: there this migration does nothing (as 0008 does).
"""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS ticket_open_status ON tickets_ticket (status) "
    "INCLUDE (balance_due) WHERE NOT (status IN ('cancelled', 'closed'))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_open_status")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0008_payer_reference_prefix_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
