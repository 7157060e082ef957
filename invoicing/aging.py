"""The aging of receivables: what each account owed at the end of a day, by how late.

One read model for the aging report (reports) and the agent manage page's "Overdue"
column (billing_agents): both read `owing(day)`, the invoices with something still owed
at the end of `day` (Invoice.objects.owing_as_of), so a past day reproduces what was owed
then, and "overdue" is the same figure wherever it is shown.
"""

from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Count, Exists, F, Func, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone

from core.money import ZERO
from invoicing.models import (
    FIGURE,
    Account,
    CreditTransaction,
    Invoice,
    InvoiceQuerySet,
    InvoiceStatus,
    InvoiceWriteOff,
    RemittanceAllocation,
)


@dataclass(frozen=True)
class Bucket:
    """A range of days past due (days past due = as_of - due date), both ends included;
    None for an open end. "Current" is everything not yet past due (0 days or fewer)."""

    key: str
    label: str
    first_day: int | None
    last_day: int | None

    def due_dates(self, as_of: date) -> Q:
        """The invoices in this bucket on `as_of`, as a filter on their due date."""
        condition = Q()
        if self.first_day is not None:
            condition &= Q(due_date__lte=as_of - timedelta(days=self.first_day))
        if self.last_day is not None:
            condition &= Q(due_date__gte=as_of - timedelta(days=self.last_day))
        return condition

    @property
    def heading(self) -> str:
        """The column heading: "Current", then the label and "days"."""
        return self.label if self.first_day is None else f"{self.label} days"

    @property
    def is_past_due(self) -> bool:
        return self.first_day is not None and self.first_day > 0


BUCKETS: tuple[Bucket, ...] = (
    Bucket("current", "Current", None, 0),
    Bucket("d1_30", "1\N{EN DASH}30", 1, 30),
    Bucket("d31_60", "31\N{EN DASH}60", 31, 60),
    Bucket("d61_90", "61\N{EN DASH}90", 61, 90),
    Bucket("over_90", "Over 90", 91, None),
)


def owing(as_of: date) -> InvoiceQuerySet:
    """The invoices that still owed something at the end of `as_of`, with balance_as_of.

    Only a narrowing of Invoice.objects.owing_as_of, never a different answer: a settled
    invoice (paid or written off: its stored balance is zero) can have owed on a past day
    only if a live payment dated after that day, or a live write-off made after it, settled
    it since. So from today on only open invoices are read (the (account, status) index),
    and on a past day the costly balance is worked out for those and for the invoices that
    such a later payment or write-off touched (two uncorrelated id lists, read once).
    """
    invoices = Invoice.objects.owing_as_of(as_of)
    if as_of >= timezone.localdate():
        return invoices.unpaid()
    paid_later = RemittanceAllocation.objects.filter(
        remittance__voided_at__isnull=True, remittance__received_on__gt=as_of
    ).values("invoice_line__invoice_id")
    written_off_later = InvoiceWriteOff.objects.filter(
        voided_at__isnull=True, created_at__date__gt=as_of
    ).values("invoice_id")
    return invoices.filter(
        Q(status=InvoiceStatus.OPEN) | Q(pk__in=paid_later) | Q(pk__in=written_off_later)
    )


def past_due(as_of: date) -> InvoiceQuerySet:
    """The invoices past due on `as_of` with something still owed: every bucket but Current."""
    return owing(as_of).filter(due_date__lt=as_of)


def _sum_of_balances(invoices: InvoiceQuerySet) -> Coalesce:
    """SUM(balance_as_of) of `invoices` as one scalar subquery, 0 when there are none.

    A plain SUM without GROUP BY (Func is not an ORM aggregate): one row per outer row.
    """
    total = Func(F("balance_as_of"), function="SUM", output_field=FIGURE)
    rows = invoices.order_by().annotate(v=total).values("v")
    return Coalesce(Subquery(rows, output_field=FIGURE), Value(ZERO), output_field=FIGURE)


def overdue_balance(as_of: date, account: OuterRef | F) -> Coalesce:
    """What the account (`account`: an expression naming its id) had past due on `as_of`:
    the past-due buckets' sum, 0 for none. For annotating other pages' rows."""
    return _sum_of_balances(past_due(as_of).filter(account_id=account))


# --- the report ------------------------------------------------------------------------

# Sort keys of the report (the URL's ?sort=, "-" prefix for descending) = its row columns.
SORT_KEYS = ("name", *(b.key for b in BUCKETS), "total", "credit", "oldest")
DEFAULT_SORT = "-total"
_COLUMN = {"name": "sort_name", "oldest": "oldest_due"}


def clean_sort(sort: str | None) -> str:
    """`sort` if it names a column ("-" prefix for descending), else the default."""
    if sort and sort.removeprefix("-") in SORT_KEYS:
        return sort
    return DEFAULT_SORT


def _payer_match(q: str, prefix: str = "") -> Q:
    """Every word of `q` in the payer's name or email (the agent's company, or the
    customer's name or company); `prefix` is the path to the account ("account__")."""
    condition = Q()
    columns = [
        "billing_agent__company_name",
        "billing_agent__email",
        "customer__first_name",
        "customer__last_name",
        "customer__company_name",
        "customer__email",
    ]
    for word in q.split():
        match = Q()
        for column in columns:
            match |= Q(**{f"{prefix}{column}__icontains": word})
        condition &= match
    return condition


def _sort_name(prefix: str = "") -> Lower:
    """The payer's name, lower-cased, as the report sorts it."""
    return Lower(
        Coalesce(
            f"{prefix}billing_agent__company_name",
            Concat(f"{prefix}customer__first_name", Value(" "), f"{prefix}customer__last_name"),
            output_field=models.CharField(),
        )
    )


def _credit_as_of(as_of: date, account: OuterRef) -> Subquery:
    """The account's unapplied credit at the end of `as_of`: the same ledger rows as
    AccountQuerySet.with_credit_as_of, correlated on an invoice row's account_id.

    A bare Subquery (the COALESCE inside it), so a grouped query groups by account_id
    and evaluates it once per account, not once per invoice.
    """
    ledger = CreditTransaction.objects.filter(account_id=account, effective_on__lte=as_of)
    total = Coalesce(Func(F("amount"), function="SUM"), Value(ZERO), output_field=FIGURE)
    return Subquery(ledger.order_by().annotate(v=total).values("v"), output_field=FIGURE)


def _with_ledger(as_of: date) -> models.QuerySet:
    """The accounts with a credit ledger row by the end of `as_of` (one id list, read
    once): only they can hold credit, so only their ledgers are summed."""
    ledger = CreditTransaction.objects.filter(effective_on__lte=as_of).values("account_id")
    return Account.objects.filter(pk__in=ledger)


def _bucket_sum(bucket: Bucket, as_of: date) -> Sum:
    """SUM(balance_as_of) of the invoices in `bucket`: the filter skips the others' rows,
    so each invoice's balance is summed (and, on a past day, worked out) for one bucket."""
    return Sum("balance_as_of", filter=bucket.due_dates(as_of), default=ZERO)


def aging_rows(as_of: date, q: str = "", sort: str = DEFAULT_SORT) -> models.QuerySet:
    """One row (a dict) per account that owed something at the end of `as_of` or held
    unapplied credit then, matching `q` (payer name or email), sorted by a SORT_KEYS key
    ("-" for descending; ties by name): account_id, sort_name, each bucket of BUCKETS by
    key, total, oldest_due (the oldest due date it still owed on) and credit.

    The owing accounts are the owing invoices grouped by account, each bucket a
    conditional SUM of balance_as_of, so each invoice's balance is worked out once; the
    accounts holding only credit are added with zero buckets. Slice it for a page (one
    query); with_accounts() fetches the page's accounts.
    """
    grouped = (
        owing(as_of)
        .filter(_payer_match(q, "account__"))
        .order_by()
        .values("account_id")
        .annotate(
            **{b.key: _bucket_sum(b, as_of) for b in BUCKETS},
            # The buckets' sums again: the database computes each identical SUM once, so a
            # past day's balance is worked out once per invoice for its bucket, not twice.
            total=sum((F(b.key) for b in BUCKETS[1:]), F(BUCKETS[0].key)),
            oldest_due=Min("due_date"),
        )
        # Added after the sums, so the GROUP BY stays account_id: each is worked out once
        # per account, after grouping, not once per invoice.
        .annotate(
            sort_name=_sort_name("account__"),
            credit=_credit_as_of(as_of, OuterRef("account_id")),
        )
    )
    credit_only = (
        _with_ledger(as_of)
        .filter(_payer_match(q))
        .with_credit_as_of(as_of)
        .filter(credit_as_of__gt=0)
        .exclude(Exists(owing(as_of).filter(account_id=OuterRef("pk"))))
        .order_by()
        # The same columns in the same order as `grouped` (a UNION matches by position).
        .values(
            account_id=F("pk"),
            **{b.key: Value(ZERO, output_field=FIGURE) for b in BUCKETS},
            total=Value(ZERO, output_field=FIGURE),
            oldest_due=Value(None, output_field=models.DateField()),
            sort_name=_sort_name(),
            credit=F("credit_as_of"),
        )
    )
    sort = clean_sort(sort)
    column = F(_COLUMN.get(sort.removeprefix("-"), sort.removeprefix("-")))
    order = column.desc(nulls_last=True) if sort.startswith("-") else column.asc(nulls_last=True)
    return grouped.union(credit_only, all=True).order_by(order, "sort_name", "account_id")


@dataclass(frozen=True)
class AgingRow:
    """One account's line of the report."""

    account: Account
    current: Decimal
    d1_30: Decimal
    d31_60: Decimal
    d61_90: Decimal
    over_90: Decimal
    total: Decimal
    credit: Decimal
    oldest_due: date | None

    @property
    def buckets(self) -> list[tuple[Bucket, Decimal]]:
        """(bucket, amount) in BUCKETS order, for a table row."""
        return [(b, getattr(self, b.key)) for b in BUCKETS]


_ROW_FIGURES = [f.name for f in fields(AgingRow) if f.name != "account"]


def with_accounts(rows) -> list[AgingRow]:
    """The rows of one page (dicts from aging_rows) with their accounts and payers, in one
    query, in the rows' order."""
    rows = list(rows)
    accounts = Account.objects.for_list().in_bulk([row["account_id"] for row in rows])
    return [
        AgingRow(
            account=accounts[row["account_id"]],
            **{name: row[name] for name in _ROW_FIGURES},
        )
        for row in rows
    ]


def aging_totals(as_of: date, q: str = "") -> dict:
    """The totals row over every account aging_rows(as_of, q) lists (not one page), in two
    queries: `accounts` (how many rows), each bucket of BUCKETS, total and credit."""
    figures = (
        owing(as_of)
        .filter(_payer_match(q, "account__"))
        .aggregate(
            owing_accounts=Count("account_id", distinct=True),
            **{f"sum_{b.key}": _bucket_sum(b, as_of) for b in BUCKETS},
        )
    )
    credit = (
        _with_ledger(as_of)
        .filter(_payer_match(q))
        .with_credit_as_of(as_of)
        .filter(credit_as_of__gt=0)
        .annotate(owes=Exists(owing(as_of).filter(account_id=OuterRef("pk"))))
        .aggregate(
            credit=Sum("credit_as_of", default=ZERO),
            credit_only=Count("pk", filter=Q(owes=False)),
        )
    )
    return {
        "accounts": figures["owing_accounts"] + credit["credit_only"],
        **{b.key: figures[f"sum_{b.key}"] for b in BUCKETS},
        "total": sum((figures[f"sum_{b.key}"] for b in BUCKETS), ZERO),
        "credit": credit["credit"],
    }
