"""Reading, folding and rebuilding the open-ticket tallies per status (StatusTally).

The writers (tickets.models.record_tally_changes) only insert deltas; the dashboard reads
the sums here in one query, whatever the number of tickets, and folds the ledger when it
has grown past FOLD_ABOVE rows. `manage.py check_agent_figures` compares the sums with a
fresh computation (tickets.models.fresh_status_tallies) and `--fix` rebuilds them.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Max, Sum

from core.money import ZERO, to_cents
from tickets.models import StatusTally, fresh_status_tallies

# Ledger rows above which a reader folds them into one row per status.
FOLD_ABOVE = 200
_TABLE = StatusTally._meta.db_table


@dataclass(frozen=True)
class Tallies:
    # status -> (open tickets, their balance due); statuses without a row are absent.
    by_status: dict[str, tuple[int, Decimal]]
    # How many ledger rows the sums were read from, and the newest row's id (0: none).
    rows: int
    last_id: int

    @property
    def needs_fold(self) -> bool:
        return self.rows > FOLD_ABOVE


def read_tallies() -> Tallies:
    """The sums of the ledger per status, with its length: one query."""
    found = StatusTally.objects.values_list("status").annotate(
        n=Sum("tickets"), due=Sum("balance_due"), rows=Count("*"), last=Max("id")
    )
    by_status, rows, last_id = {}, 0, 0
    for status, n, due, count, last in found.order_by():
        # SQLite sums decimals as floats: round to cents.
        by_status[status] = (n, to_cents(Decimal(str(due))))
        rows += count
        last_id = max(last_id, last)
    return Tallies(by_status=by_status, rows=rows, last_id=last_id)


def status_tallies() -> dict[str, tuple[int, Decimal]]:
    """status -> (open tickets, balance due) from the ledger: SUM ... GROUP BY status."""
    return read_tallies().by_status


def fold_status_tallies(up_to: int | None = None) -> int:
    """Replace the ledger rows up to id `up_to` (all, for None) with one row per status
    holding their sums; returns how many rows were folded.

    Safe beside writers and other folds: it inserts the sums of exactly the rows its own
    DELETE ... RETURNING removed, so every delta is folded once. A concurrent fold waits
    on those rows' locks (PostgreSQL) and then finds them gone; a writer's uncommitted
    delta is not visible to the DELETE and stays for the next fold.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            if up_to is None:
                cursor.execute(f"SELECT MAX(id) FROM {_TABLE}")
                up_to = cursor.fetchone()[0]
                if up_to is None:
                    return 0
            cursor.execute(
                f"DELETE FROM {_TABLE} WHERE id <= %s RETURNING status, tickets, balance_due",
                [up_to],
            )
            removed = cursor.fetchall()
        counts: dict[str, int] = {}
        sums: dict[str, Decimal] = {}
        for status, tickets, balance_due in removed:
            counts[status] = counts.get(status, 0) + tickets
            # SQLite hands back floats or strings: through str, then whole cents.
            sums[status] = sums.get(status, ZERO) + Decimal(str(balance_due))
        StatusTally.objects.bulk_create(
            StatusTally(status=status, tickets=counts[status], balance_due=to_cents(sums[status]))
            for status in sorted(counts)
            if counts[status] or to_cents(sums[status])
        )
    return len(removed)


def rebuild_status_tallies() -> None:
    """Throw the ledger away and store one row per open status computed from the tickets.

    On PostgreSQL the table is locked IN EXCLUSIVE MODE first (reads go on, inserts wait):
    a writer that inserted a delta before holds its lock until it commits, so the fresh
    computation that follows sees its ticket change; one that inserts after waits, and its
    delta, computed from the ticket before its change, applies on top of the rebuilt sums.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {_TABLE} IN EXCLUSIVE MODE")
        StatusTally.objects.all().delete()
        StatusTally.objects.bulk_create(
            StatusTally(status=status, tickets=n, balance_due=to_cents(Decimal(str(due))))
            for status, n, due in fresh_status_tallies()
        )
