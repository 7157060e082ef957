"""The statement of account: what a payer owed when a period began, every event dated in
the period in date order with a running balance, and what it owed when the period ended.

The balance is what the account's live invoices still owe minus its unapplied credit.
Each event moves it on its own day:

- an invoice issued: +total on its issue date (deleted invoices never appear);
- a payment received: -amount on its received date (the part that paid invoices and the
  part that became credit alike); from account credit it moves credit onto invoices (0);
- a payment voided: the reverse of the payment, on the local date it was voided;
- a write-off: -amount on the local date it was made; its void: +amount on that date;
- a credit-ledger row a payment did not post (adjustment, refund): -amount on its date.

A payment's share on an invoice deleted since stays with that invoice's tickets and is
no longer the account's, exactly as Invoice.objects.as_of() leaves it out.

Opening balance = Σ balance_as_of(start - 1) over the live invoices - credit_as_of then;
closing = opening + the effects of the lines, which equals the same figure at `end`
(tests/statements/test_statements.py proves it for random histories). The page is a
fixed number of queries whatever the number of events.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db.models import Q, Sum
from django.utils import timezone

from core.money import ZERO, format_money, to_cents
from invoicing.aging import BUCKETS
from invoicing.models import (
    Account,
    CreditKind,
    CreditTransaction,
    Invoice,
    InvoiceStatus,
    InvoiceWriteOff,
    Remittance,
    RemittanceAllocation,
)
from tickets.models import PaymentMethod

# How many invoice numbers a payment line names before "and N more".
NAMED_INVOICES = 6


class LineKind(StrEnum):
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_APPLIED = "credit_applied"
    PAYMENT_VOID = "payment_void"
    WRITE_OFF = "write_off"
    WRITE_OFF_VOID = "write_off_void"
    CREDIT = "credit"


@dataclass(frozen=True)
class StatementLine:
    """One event of the period; `effect` raises (+) or lowers (-) what the payer owes and
    `balance` is the running balance after it."""

    day: date
    kind: LineKind
    reference: str
    description: str
    effect: Decimal
    balance: Decimal
    invoice_id: int | None = None

    @property
    def charge(self) -> Decimal | None:
        return self.effect if self.effect > 0 else None

    @property
    def reference_is_invoice(self) -> bool:
        """The reference is the invoice's number (the page links it)."""
        return self.kind in (LineKind.INVOICE, LineKind.WRITE_OFF, LineKind.WRITE_OFF_VOID)

    @property
    def credit(self) -> Decimal | None:
        return -self.effect if self.effect < 0 else None


@dataclass(frozen=True)
class Aging:
    """What the account's invoices still owe on a day, by days past their due date (the
    aging report's buckets, invoicing.aging.BUCKETS)."""

    current: Decimal = ZERO
    d1_30: Decimal = ZERO
    d31_60: Decimal = ZERO
    d61_90: Decimal = ZERO
    over_90: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, bucket.key) for bucket in BUCKETS), ZERO)

    @property
    def buckets(self) -> list[tuple[str, Decimal]]:
        """(label, amount) in column order, for the pages and the email."""
        return [(bucket.heading, getattr(self, bucket.key)) for bucket in BUCKETS]


@dataclass(frozen=True)
class Statement:
    account: Account
    start: date
    end: date
    opening: Decimal
    lines: tuple[StatementLine, ...]
    closing: Decimal
    # Unapplied credit at the end of `end` (already subtracted in `closing`).
    credit: Decimal
    aging: Aging

    @property
    def charges(self) -> Decimal:
        return sum((line.charge or ZERO for line in self.lines), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((line.credit or ZERO for line in self.lines), ZERO)


def last_full_month(today: date | None = None) -> tuple[date, date]:
    """The first and last day of the calendar month before `today` (default: local today)."""
    today = today or timezone.localdate()
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def account_aging(*, account: Account, as_of: date) -> Aging:
    """The account's aging on `as_of` from Invoice.objects.owing_as_of(as_of), in one query."""
    if account.pk is None:
        return Aging()
    sums = (
        Invoice.objects.filter(account=account)
        .owing_as_of(as_of)
        .aggregate(
            **{
                bucket.key: Sum("balance_as_of", filter=bucket.due_dates(as_of), default=ZERO)
                for bucket in BUCKETS
            }
        )
    )
    return Aging(**{name: to_cents(value) for name, value in sums.items()})


@dataclass(frozen=True)
class _Event:
    day: date
    moment: datetime
    kind: LineKind
    pk: int
    reference: str
    description: str
    effect: Decimal
    invoice_id: int | None = None

    @property
    def order(self) -> tuple:
        return (self.day, self.moment, list(LineKind).index(self.kind), self.pk)


def _number(invoice_id: int) -> str:
    return Invoice(pk=invoice_id).number


def _numbers(invoice_ids: list[int]) -> str:
    named = ", ".join(_number(pk) for pk in invoice_ids[:NAMED_INVOICES])
    rest = len(invoice_ids) - NAMED_INVOICES
    return f"{named} and {rest} more" if rest > 0 else named


def _invoice_events(account: Account, start: date, end: date) -> list[_Event]:
    invoices = Invoice.objects.filter(account=account, issue_date__range=(start, end)).live()
    return [
        _Event(
            day=invoice.issue_date,
            moment=invoice.created_at,
            kind=LineKind.INVOICE,
            pk=invoice.pk,
            reference=invoice.number,
            description=f"Invoice, due {invoice.due_date:%Y-%m-%d}",
            effect=invoice.total,
            invoice_id=invoice.pk,
        )
        for invoice in invoices.only("id", "issue_date", "due_date", "total", "created_at")
    ]


def _payment_text(remittance: Remittance, paid: list[int], credit: Decimal) -> str:
    if remittance.method == PaymentMethod.ACCOUNT_CREDIT:
        return f"Credit applied to {_numbers(paid) or remittance.paid_for}"
    parts = [f"{remittance.get_method_display()} payment"]
    if paid:
        parts.append(f"applied to {_numbers(paid)}")
    if credit > 0:
        parts.append(f"{format_money(credit)} left as account credit")
    return " · ".join(parts)


def _payment_events(
    account: Account, start: date, end: date, ledger: dict[tuple, list[CreditTransaction]]
) -> list[_Event]:
    """Payment and void lines; each takes the ledger rows its payment posted that day
    (popped from `ledger`, so they are not shown twice)."""
    in_period = Q(received_on__range=(start, end)) | Q(voided_at__date__range=(start, end))
    remittances = Remittance.objects.filter(account=account).filter(in_period)
    shares: dict[int, dict[int, Decimal]] = defaultdict(dict)
    deleted: set[int] = set()
    allocations = (
        RemittanceAllocation.objects.filter(remittance__in=remittances.values("pk"))
        .order_by()
        .values("remittance_id", "invoice_line__invoice_id", "invoice_line__invoice__status")
        .annotate(total=Sum("amount"))
    )
    for row in allocations:
        invoice_id = row["invoice_line__invoice_id"]
        shares[row["remittance_id"]][invoice_id] = to_cents(row["total"])
        if row["invoice_line__invoice__status"] == InvoiceStatus.DELETED:
            deleted.add(invoice_id)

    events = []
    for remittance in remittances.select_related("invoice"):
        live = {pk: v for pk, v in shares[remittance.pk].items() if pk not in deleted}
        allocated = sum(live.values(), ZERO)
        paid = sorted(live)
        from_credit = remittance.method == PaymentMethod.ACCOUNT_CREDIT
        if start <= remittance.received_on <= end:
            rows = ledger.pop((remittance.pk, False, remittance.received_on), [])
            posted = sum((row.amount for row in rows), ZERO)
            events.append(
                _Event(
                    day=remittance.received_on,
                    moment=remittance.created_at,
                    kind=LineKind.CREDIT_APPLIED if from_credit else LineKind.PAYMENT,
                    pk=remittance.pk,
                    reference=remittance.reference,
                    description=_payment_text(remittance, paid, posted),
                    effect=-allocated - posted,
                    invoice_id=paid[0] if len(paid) == 1 else None,
                )
            )
        voided_on = timezone.localdate(remittance.voided_at) if remittance.voided_at else None
        if voided_on is not None and start <= voided_on <= end:
            rows = ledger.pop((remittance.pk, True, voided_on), [])
            what = (
                f"credit applied to {_numbers(paid) or remittance.paid_for}"
                if from_credit
                else f"{remittance.get_method_display()} payment"
            )
            events.append(
                _Event(
                    day=voided_on,
                    moment=remittance.voided_at,
                    kind=LineKind.PAYMENT_VOID,
                    pk=remittance.pk,
                    reference=remittance.reference,
                    description=(
                        f"Voided: {what} of {remittance.received_on:%Y-%m-%d} "
                        f"({remittance.void_reason})"
                    ),
                    effect=allocated - sum((row.amount for row in rows), ZERO),
                    invoice_id=paid[0] if len(paid) == 1 else None,
                )
            )
    return events


def _write_off_events(account: Account, start: date, end: date) -> list[_Event]:
    in_period = Q(created_at__date__range=(start, end)) | Q(voided_at__date__range=(start, end))
    write_offs = (
        InvoiceWriteOff.objects.filter(invoice__account=account)
        .exclude(invoice__status=InvoiceStatus.DELETED)
        .filter(in_period)
    )
    events = []
    for write_off in write_offs:
        number = _number(write_off.invoice_id)
        made_on = timezone.localdate(write_off.created_at)
        if start <= made_on <= end:
            events.append(
                _Event(
                    day=made_on,
                    moment=write_off.created_at,
                    kind=LineKind.WRITE_OFF,
                    pk=write_off.pk,
                    reference=number,
                    description=f"Written off ({write_off.reason})",
                    effect=-write_off.amount,
                    invoice_id=write_off.invoice_id,
                )
            )
        if write_off.voided_at is not None:
            voided_on = timezone.localdate(write_off.voided_at)
            if start <= voided_on <= end:
                events.append(
                    _Event(
                        day=voided_on,
                        moment=write_off.voided_at,
                        kind=LineKind.WRITE_OFF_VOID,
                        pk=write_off.pk,
                        reference=number,
                        description=f"Write-off voided ({write_off.void_reason})",
                        effect=write_off.amount,
                        invoice_id=write_off.invoice_id,
                    )
                )
    return events


def _credit_text(row: CreditTransaction) -> str:
    if row.kind == CreditKind.ADJUSTMENT:
        verb = "added" if row.amount > 0 else "taken off"
        return f"Credit adjustment: {format_money(abs(row.amount))} {verb} ({row.reason})"
    if row.kind == CreditKind.REFUND:
        how = f"{row.get_method_display().lower()} {row.reference}".strip()
        return f"Credit refunded to you by {how} ({row.reason})"
    return f"{row.get_kind_display()} ({row.reason})" if row.reason else row.get_kind_display()


def _credit_events(rows: list[CreditTransaction]) -> list[_Event]:
    return [
        _Event(
            day=row.effective_on,
            moment=row.created_at,
            kind=LineKind.CREDIT,
            pk=row.pk,
            reference=row.reference,
            description=_credit_text(row),
            effect=-row.amount,
            invoice_id=row.invoice_id,
        )
        for row in rows
    ]


def _ledger_in_period(account: Account, start: date, end: date) -> dict[tuple, list]:
    """The period's ledger rows keyed (remittance id, is a reversal, day); rows no payment
    posted are keyed (None, …)."""
    rows = CreditTransaction.objects.filter(account=account, effective_on__range=(start, end))
    ledger: dict[tuple, list[CreditTransaction]] = defaultdict(list)
    for row in rows.order_by("created_at", "id"):
        key = (row.remittance_id, row.kind == CreditKind.REVERSAL, row.effective_on)
        ledger[key].append(row)
    return ledger


def _balance_before(account: Account, start: date, end: date) -> tuple[Decimal, Decimal, Decimal]:
    """(what the invoices owed at the end of start - 1, credit then, credit at end)."""
    owed = Invoice.objects.filter(account=account).as_of(start - timedelta(days=1))
    owed_total = owed.aggregate(s=Sum("balance_as_of", default=ZERO))["s"]
    credit = CreditTransaction.objects.filter(account=account, effective_on__lte=end).aggregate(
        before=Sum("amount", filter=Q(effective_on__lt=start), default=ZERO),
        at_end=Sum("amount", default=ZERO),
    )
    return to_cents(owed_total), to_cents(credit["before"]), to_cents(credit["at_end"])


def build_statement(*, account: Account, start: date, end: date) -> Statement:
    """The account's statement for start..end (both included); an unsaved account (a payer
    never invoiced) has an empty one. Eight queries, whatever the period holds."""
    if end < start:
        raise ValueError("A statement period ends on or after the day it starts.")
    if account.pk is None:
        return Statement(account, start, end, ZERO, (), ZERO, ZERO, Aging())
    owed, credit_before, credit_at_end = _balance_before(account, start, end)
    opening = owed - credit_before
    ledger = _ledger_in_period(account, start, end)
    events = [
        *_invoice_events(account, start, end),
        *_payment_events(account, start, end, ledger),
        *_write_off_events(account, start, end),
    ]
    # What is left of the ledger: rows no payment or void line took.
    events += _credit_events([row for rows in ledger.values() for row in rows])
    lines = []
    balance = opening
    for event in sorted(events, key=lambda e: e.order):
        balance += event.effect
        lines.append(
            StatementLine(
                day=event.day,
                kind=event.kind,
                reference=event.reference,
                description=event.description,
                effect=event.effect,
                balance=balance,
                invoice_id=event.invoice_id,
            )
        )
    return Statement(
        account=account,
        start=start,
        end=end,
        opening=opening,
        lines=tuple(lines),
        closing=balance,
        credit=credit_at_end,
        aging=account_aging(account=account, as_of=end),
    )
