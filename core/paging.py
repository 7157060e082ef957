"""A paginator whose row count costs what the page shows, not what the shop has.

Counting every match of a broad search ("@example.org": 12,000 customers) or every row of
an unfiltered list of a big table is most of such a page's time. So a filtered list counts
at most COUNT_CAP + 1 rows and says "more than 1,000"; an unfiltered list of a table that
PostgreSQL's statistics put above ESTIMATE_ABOVE rows shows that estimate ("about 50,000").
Small tables and SQLite count exactly.
"""

from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import QueryDict

COUNT_CAP = 1000
ESTIMATE_ABOVE = 10_000


def estimated_rows(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows in the queryset's table (None elsewhere or unknown)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] > 0 else None


def is_filtered(query: QueryDict, *, ignore: tuple[str, ...] = ("page",)) -> bool:
    """True when the query string narrows the list (any non-empty value but the page), so
    a list page knows whether the table's estimate may stand for its count."""
    return any(value.strip() for key, value in query.items() if key not in ignore)


class ShopPaginator(Paginator):
    """Paginator with a capped count for filtered lists and an estimate for huge ones.

    `filtered`: the queryset is a search or filter of its table (so the estimate, which is
    of the whole table, does not apply).
    """

    def __init__(self, object_list, per_page, *, filtered: bool, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.filtered = filtered
        self._estimate = False
        self._capped = False

    @cached_property
    def count(self) -> int:
        if not self.filtered:
            estimate = estimated_rows(self.object_list)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                self._estimate = True
                return estimate
        # Which rows fall under the cap does not matter for the count: drop the sort.
        found = self.object_list.order_by()[: COUNT_CAP + 1].count()
        if found > COUNT_CAP:
            self._capped = True
            return COUNT_CAP
        return found

    @property
    def is_estimate(self) -> bool:
        return self.count is not None and self._estimate

    @property
    def is_capped(self) -> bool:
        return self.count is not None and self._capped

    @property
    def count_label(self) -> str:
        """The count as the page says it: "1,234", "about 50,000" or "more than 1,000"."""
        count = self.count
        if self.is_estimate:
            return f"about {round(count, -2 if count < 100_000 else -3):,}"
        if self.is_capped:
            return f"more than {count:,}"
        return f"{count:,}"
