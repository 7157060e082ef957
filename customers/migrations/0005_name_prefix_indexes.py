"""Btree prefix indexes for one- and two-letter lookups, on PostgreSQL only.

`CustomerQuerySet.search` matches a word shorter than a trigram against the start of the
first name, last name or company (`istartswith`), which Django writes on PostgreSQL as
`UPPER(col::text) LIKE UPPER('jo%')`. An index on exactly `UPPER(col::text)` with
`text_pattern_ops` answers that prefix whatever the database's collation. SQLite has no
operator classes: there this migration does nothing (as 0003 does).
"""

from django.db import migrations

COLUMNS = ("first_name", "last_name", "company_name")


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS customer_{column}_prefix ON customers_customer "
            f"((UPPER({column}::text)) text_pattern_ops)"
        )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS customer_{column}_prefix")


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_billing_cycle_moves_to_account")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
