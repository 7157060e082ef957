"""Report pages: thin views over the read models of the apps below (invoicing.aging)."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from urllib.parse import urlencode

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from core.htmx import page_or_partial
from core.money import to_cents
from core.spreadsheets import csv_download, csv_safe
from invoicing.aging import (
    BUCKETS,
    AgingRow,
    aging_rows,
    aging_totals,
    clean_sort,
    with_accounts,
)
from invoicing.models import Account
from reports.forms import AgingFilterForm

PAGE_SIZE = 50
AGING_TEMPLATE = "reports/aging.html"
EXPORT_CHUNK = 500

# (label, sort key, css class) of the report's columns, in table order.
COLUMNS = [
    ("Payer", "name", ""),
    *[(b.heading, b.key, "money") for b in BUCKETS],
    ("Total due", "total", "money"),
    ("Unapplied credit", "credit", "money"),
    ("Oldest due", "oldest", "text-nowrap"),
]


class CountedPaginator(Paginator):
    """A Paginator told its row count (the totals query counts the rows already), so the
    page costs no COUNT over the report's grouped query."""

    def __init__(self, object_list, per_page, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


@dataclass(frozen=True)
class AgingState:
    """The report's day, search and sort, as read from (and kept in) the URL."""

    as_of: date
    q: str
    sort: str

    @classmethod
    def from_query(cls, query: QueryDict) -> tuple["AgingState", AgingFilterForm]:
        form = AgingFilterForm(query)
        state = cls(as_of=form.as_of_day(), q=form.search(), sort=clean_sort(query.get("sort")))
        return state, form

    @property
    def is_today(self) -> bool:
        return self.as_of == timezone.localdate()

    def rows(self):
        return aging_rows(self.as_of, self.q, self.sort)

    def columns(self) -> list[dict]:
        """Each column with the sort its header link asks for next (figures sort from the
        largest first, the payer and the oldest due date from A / the oldest first)."""
        current = self.sort.removeprefix("-")
        descending = self.sort.startswith("-")
        columns = []
        for label, key, css in COLUMNS:
            if key == current:
                following = key if descending else f"-{key}"
            else:
                following = key if key in ("name", "oldest") else f"-{key}"
            columns.append(
                {
                    "label": label,
                    "key": key,
                    "css": css,
                    "direction": ("desc" if descending else "asc") if key == current else "",
                    "next": following,
                }
            )
        return columns


def invoice_links(account: Account, as_of: date, *, base: str) -> dict[str, str]:
    """Where each figure of an account's row leads on the invoice list: the payer's live
    invoices whose due date puts them in that bucket on `as_of` (only the unpaid ones when
    `as_of` is today; on a past day, those paid since are listed too). `base` is the
    invoice list's URL, reversed once per page rather than once per row."""
    today = as_of >= timezone.localdate()

    def link(**filters) -> str:
        query = {"payer": account.token, **filters}
        if today:
            query["status"] = "unpaid"
        return f"{base}?{urlencode(query)}"

    links = {}
    for bucket in BUCKETS:
        dates = {}
        if bucket.last_day is not None:
            dates["due_from"] = (as_of - timedelta(days=bucket.last_day)).isoformat()
        if bucket.first_day is not None:
            dates["due_to"] = (as_of - timedelta(days=bucket.first_day)).isoformat()
        links[bucket.key] = link(**dates)
    return {**links, "total": link(), "oldest": link()}


def _table_rows(rows: list[AgingRow], as_of: date) -> list[dict]:
    """Each row with the cells the table draws: (bucket key, amount, link) per figure."""
    base = reverse("invoicing:invoice_list")
    table = []
    for row in rows:
        links = invoice_links(row.account, as_of, base=base)
        table.append(
            {
                "row": row,
                "cells": [(b.key, amount, links[b.key]) for b, amount in row.buckets],
                "links": links,
            }
        )
    return table


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def aging_report(request: HttpRequest) -> TemplateResponse:
    """What every account owed at the end of a day, by days past due (?as_of=, ?q=,
    ?sort=, ?page=); the totals row covers every matching account, not just the page."""
    state, form = AgingState.from_query(request.GET)
    totals = aging_totals(state.as_of, state.q)
    paginator = CountedPaginator(state.rows(), PAGE_SIZE, count=totals["accounts"])
    page_obj = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "state": state,
        "columns": state.columns(),
        "page_obj": page_obj,
        "rows": _table_rows(with_accounts(page_obj.object_list), state.as_of),
        "totals": totals,
        "total_cells": [(b.key, totals[b.key]) for b in BUCKETS],
        "export_query": query.urlencode(),
    }
    template = page_or_partial(request, AGING_TEMPLATE, "aging-table")
    return TemplateResponse(request, template, context)


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def aging_export(request: HttpRequest) -> HttpResponse:
    """The report (same day, search and sort; every row, no page) as CSV."""
    state, _ = AgingState.from_query(request.GET)
    header = [
        "Payer",
        "Kind",
        "Email",
        *[label for label, key, _ in COLUMNS if key in {b.key for b in BUCKETS}],
        "Total due",
        "Unapplied credit",
        "Oldest due date",
        "As of",
    ]
    return csv_download(f"aging-{state.as_of:%Y-%m-%d}.csv", header, _csv_rows(state))


def _csv_rows(state):
    """The report's rows as CSV cells, read EXPORT_CHUNK accounts at a time."""
    chunk = []
    for row in state.rows().iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(row)
        if len(chunk) == EXPORT_CHUNK:
            yield from _cells(with_accounts(chunk), state.as_of)
            chunk = []
    yield from _cells(with_accounts(chunk), state.as_of)


def _cells(rows: list[AgingRow], as_of: date):
    for row in rows:
        account = row.account
        yield [
            csv_safe(account.name),
            "Billing agent" if account.is_agent else "Customer",
            csv_safe(account.email),
            # Plain numbers (no $, no thousands comma) so a spreadsheet can sum them.
            *[to_cents(amount) for _, amount in row.buckets],
            to_cents(row.total),
            to_cents(row.credit),
            row.oldest_due.isoformat() if row.oldest_due else "",
            as_of.isoformat(),
        ]
