"""Writing many rows in one statement: what `bulk_update` does, without its CASE per row
and field (which costs more to build in Python than the database takes to run it)."""

import sqlite3
from collections.abc import Sequence

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper

# Rows per statement: 500 rows of eight columns stay far below PostgreSQL's 65,535 params.
CHUNK = 500
# UPDATE … FROM arrived in SQLite 3.33.
SQLITE_UPDATE_FROM = (3, 33)


def _rows_per_statement(connection: BaseDatabaseWrapper, columns: int) -> int:
    """CHUNK, or fewer where the database takes fewer parameters in one statement."""
    if connection.vendor == "sqlite":
        # The real limit of this connection (32,766 by default since 3.32), not Django's 999.
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(1, min(CHUNK, limit // columns))
    return CHUNK


def _set_based(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= SQLITE_UPDATE_FROM


def update_rows(objects: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of each object to its row (matched by primary key), as
    `Model.objects.bulk_update(objects, fields)` would: one `UPDATE … FROM (VALUES …)`
    per CHUNK rows on PostgreSQL and on SQLite ≥ 3.33; elsewhere bulk_update itself.

    Values go through each field's `get_db_prep_save`, as bulk_update sends them; no
    `auto_now` field is touched unless it is listed (set it on the objects first)."""
    # One row per key (the last object given wins), as UPDATE … FROM needs.
    objects = list({obj.pk: obj for obj in objects}.values())
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if not _set_based(connection):
        model.objects.bulk_update(objects, fields)
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        # Each value cast to its column's type: VALUES alone would read them as text.
        row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
        names = ", ".join(quote(field.column) for field in columns)
        source, refs = f"AS v ({names})", [f"v.{quote(field.column)}" for field in columns]
    else:
        # SQLite names a VALUES list's columns column1, column2, … and takes no alias list;
        # the column's affinity converts each value on assignment, as with bulk_update.
        row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        source, refs = "AS v", [f"v.column{n}" for n in range(1, len(columns) + 1)]
    assignments = ", ".join(
        f"{quote(field.column)} = {ref}" for field, ref in zip(columns[1:], refs[1:], strict=True)
    )
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    size = _rows_per_statement(connection, len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(objects), size):
            chunk = objects[start : start + size]
            params = [
                field.get_db_prep_save(getattr(obj, field.attname), connection)
                for obj in chunk
                for field in columns
            ]
            values = ", ".join([row] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) {source} "
                f"WHERE {table}.{pk} = {refs[0]}",
                params,
            )
