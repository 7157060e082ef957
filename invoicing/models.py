import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import models, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from billing_agents.models import BillingAgent, InvoiceMethod
from core.inputs import parse_id
from core.money import ZERO, format_money
from customers.models import Customer
from tickets.models import PaymentMethod, Ticket, TicketQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2}
FIGURE = models.DecimalField(max_digits=14, decimal_places=2)


def _sum_subquery(queryset: models.QuerySet, expression) -> Coalesce:
    """SUM(expression) over `queryset` as one correlated scalar subquery, 0 when empty.

    A plain aggregate without GROUP BY (Func is not an ORM aggregate): one row per outer
    account, so two figures never multiply each other's rows.
    """
    total = models.Func(expression, function="SUM", output_field=FIGURE)
    rows = queryset.order_by().annotate(v=total).values("v")
    return Coalesce(Subquery(rows, output_field=FIGURE), Value(ZERO), output_field=FIGURE)


class AccountQuerySet(models.QuerySet):
    def for_payer(self, payer: BillingAgent | Customer) -> "Account":
        """The payer's account, created the first time it is needed.

        The payer's row is locked first so two clerks invoicing a new payer at the same
        moment make one account; the unique payer columns back this up.
        """
        field = Account.payer_field(payer)
        existing = self.filter(**{field: payer}).first()
        if existing is not None:
            return existing
        with transaction.atomic():
            type(payer).objects.select_for_update().filter(pk=payer.pk).first()
            account, _ = self.get_or_create(**{field: payer})
        return account

    def for_list(self) -> "AccountQuerySet":
        return self.select_related("billing_agent", "customer")

    def with_credit_as_of(self, day: date) -> "AccountQuerySet":
        """Annotate credit_as_of: the account's unapplied credit at the end of `day` (the
        ledger rows effective on or before it)."""
        ledger = CreditTransaction.objects.filter(account=OuterRef("pk"), effective_on__lte=day)
        return self.annotate(credit_as_of=_sum_subquery(ledger, F("amount")))

    def with_figures(self, today=None) -> "AccountQuerySet":
        """Annotate open_balance (unpaid balance of live open invoices), overdue_balance
        (those due before `today`), credit_balance (the sum of the ledger) and written_off
        (what written-off invoices will never collect; never part of what was paid).

        Each figure is its own correlated subquery, never a join that multiplies rows.
        """
        invoices = Invoice.objects.filter(account=OuterRef("pk"))
        ledger = CreditTransaction.objects.filter(account=OuterRef("pk"))
        return self.annotate(
            open_balance=_sum_subquery(invoices.unpaid(), BALANCE),
            overdue_balance=_sum_subquery(invoices.overdue(today), BALANCE),
            credit_balance=_sum_subquery(ledger, F("amount")),
            written_off=_sum_subquery(
                invoices.filter(status=InvoiceStatus.WRITTEN_OFF), F("written_off")
            ),
        )


class BillingCycle(models.TextChoices):
    """How often a payer is invoiced (a billing run lists the payers whose day has come)."""

    NONE = "", "No fixed cycle"
    WEEKLY = "weekly", "Weekly"
    BIWEEKLY = "biweekly", "Every two weeks"
    MONTHLY = "monthly", "Monthly"


WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class Account(models.Model):
    """The receivables account of one payer: a billing agent, or a customer billed
    directly. Invoices, remittances and the credit ledger point at it; a row lock on it
    serialises the ledger. Its billing cycle says when a billing run invoices it."""

    billing_agent = models.OneToOneField(
        BillingAgent, on_delete=models.PROTECT, null=True, blank=True, related_name="account"
    )
    customer = models.OneToOneField(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="account"
    )
    billing_cycle = models.CharField(
        max_length=10, choices=BillingCycle.choices, default=BillingCycle.NONE, blank=True
    )
    # Weekday (0 = Monday … 6 = Sunday) for weekly and two-weekly cycles; day of the month
    # (1 to 28, so every month has it) for monthly ones; empty without a cycle.
    billing_day = models.PositiveSmallIntegerField(null=True, blank=True)
    # The day a billing run last invoiced this payer: a two-weekly cycle counts from it.
    last_billed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(billing_agent__isnull=False, customer__isnull=True)
                | Q(billing_agent__isnull=True, customer__isnull=False),
                name="account_exactly_one_payer",
            ),
            models.CheckConstraint(
                condition=Q(billing_cycle="", billing_day__isnull=True)
                | Q(billing_cycle__in=["weekly", "biweekly"], billing_day__range=(0, 6))
                | Q(billing_cycle="monthly", billing_day__range=(1, 28)),
                name="account_billing_day_fits_cycle",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The agent's or the customer's page."""
        return self.payer.get_absolute_url()

    @staticmethod
    def payer_field(payer: BillingAgent | Customer) -> str:
        """The column that holds this payer: the one place that tells the kinds apart."""
        if isinstance(payer, BillingAgent):
            return "billing_agent"
        if isinstance(payer, Customer):
            return "customer"
        raise TypeError(f"An account belongs to a billing agent or a customer, not {payer!r}.")

    @classmethod
    def of(cls, payer: BillingAgent | Customer) -> "Account":
        """An unsaved account for showing a payer that has not been invoiced yet."""
        return cls(**{cls.payer_field(payer): payer})

    @property
    def is_agent(self) -> bool:
        return self.billing_agent_id is not None

    @property
    def payer(self) -> BillingAgent | Customer:
        return self.billing_agent if self.is_agent else self.customer

    @property
    def kind(self) -> str:
        return "agent" if self.is_agent else "customer"

    @property
    def token(self) -> str:
        """How pages name the payer ("agent-12", "customer-34"): the payer's id, not ours."""
        return f"{self.kind}-{self.payer.pk}"

    @property
    def name(self) -> str:
        return self.billing_agent.company_name if self.is_agent else self.customer.display_name

    @property
    def email(self) -> str:
        return (self.payer.email or "").strip()

    @property
    def net_terms_days(self) -> int | None:
        return self.payer.net_terms_days

    @property
    def prefers_batch(self) -> bool:
        if self.is_agent:
            return self.billing_agent.invoice_method == InvoiceMethod.BATCH
        return self.customer.prefers_batch_invoices

    @property
    def can_be_invoiced(self) -> bool:
        return self.net_terms_days is not None

    def bills_ticket(self, ticket: Ticket) -> bool:
        """A ticket under an agent is billed to the agent; otherwise to its customer."""
        if self.is_agent:
            return ticket.billing_agent_id == self.billing_agent_id
        return ticket.customer_id == self.customer_id and ticket.billing_agent_id is None


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    # Settled by writing off what was still due (InvoiceWriteOff): never "paid".
    WRITTEN_OFF = "written_off", "Written off"
    DELETED = "deleted", "Deleted"


class DisplayStatus(models.TextChoices):
    """What the list, its filter and the badges call an invoice: one row of
    DISPLAY_STATUSES each, which gives its SQL condition, its Python test and its badge."""

    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    OVERDUE = "overdue", "Overdue"
    PAID = "paid", "Paid"
    WRITTEN_OFF = "written_off", "Written off"
    DELETED = "deleted", "Deleted"

    @property
    def badge(self) -> str:
        """The Bootstrap badge class."""
        return DISPLAY_STATUSES[self].badge

    def condition(self, today: date) -> Q:
        """The invoices in this display status on `today`, as a filter."""
        return DISPLAY_STATUSES[self].condition(today)

    def holds_for(self, invoice: "Invoice", today: date) -> bool:
        """The same rule as `condition`, for an invoice already in memory."""
        return DISPLAY_STATUSES[self].holds_for(invoice, today)


@dataclass(frozen=True)
class _DisplayRule:
    condition: Callable[[date], Q]
    holds_for: Callable[["Invoice", date], bool]
    badge: str


def _unpaid() -> Q:
    return Q(status=InvoiceStatus.OPEN)


def _past_due(today: date) -> Q:
    return Q(due_date__lt=today)


# The conditions are mutually exclusive and cover every invoice (tested), so the order
# of the rows is only the order of the filter's choices.
DISPLAY_STATUSES: dict[DisplayStatus, _DisplayRule] = {
    DisplayStatus.OPEN: _DisplayRule(
        condition=lambda today: _unpaid() & ~_past_due(today) & Q(amount_paid=0),
        holds_for=lambda i, today: (
            i.status == InvoiceStatus.OPEN and i.due_date >= today and i.amount_paid == 0
        ),
        badge="text-bg-primary",
    ),
    DisplayStatus.PARTIALLY_PAID: _DisplayRule(
        condition=lambda today: _unpaid() & ~_past_due(today) & Q(amount_paid__gt=0),
        holds_for=lambda i, today: (
            i.status == InvoiceStatus.OPEN and i.due_date >= today and i.amount_paid > 0
        ),
        badge="text-bg-info",
    ),
    DisplayStatus.OVERDUE: _DisplayRule(
        condition=lambda today: _unpaid() & _past_due(today),
        holds_for=lambda i, today: i.status == InvoiceStatus.OPEN and i.due_date < today,
        badge="text-bg-danger",
    ),
    DisplayStatus.PAID: _DisplayRule(
        condition=lambda today: Q(status=InvoiceStatus.PAID),
        holds_for=lambda i, today: i.status == InvoiceStatus.PAID,
        badge="text-bg-success",
    ),
    DisplayStatus.WRITTEN_OFF: _DisplayRule(
        condition=lambda today: Q(status=InvoiceStatus.WRITTEN_OFF),
        holds_for=lambda i, today: i.status == InvoiceStatus.WRITTEN_OFF,
        badge="text-bg-warning",
    ),
    DisplayStatus.DELETED: _DisplayRule(
        condition=lambda today: Q(status=InvoiceStatus.DELETED),
        holds_for=lambda i, today: i.status == InvoiceStatus.DELETED,
        badge="text-bg-secondary",
    ),
}

# What an invoice still owes; Invoice.balance is the same subtraction in Python.
BALANCE = ExpressionWrapper(F("total") - F("amount_paid") - F("written_off"), output_field=FIGURE)


class InvoiceQuerySet(models.QuerySet):
    def live(self) -> "InvoiceQuerySet":
        return self.exclude(status=InvoiceStatus.DELETED)

    def unpaid(self) -> "InvoiceQuerySet":
        return self.filter(_unpaid())

    def overdue(self, today=None) -> "InvoiceQuerySet":
        """Unpaid and due before `today` (default: today)."""
        return self.with_display_status(DisplayStatus.OVERDUE, today)

    def figures(self, today=None) -> dict:
        """open_count / open_balance and overdue_count / overdue_balance of the unpaid
        invoices among these, in one query."""
        overdue = DisplayStatus.OVERDUE.condition(today or timezone.localdate())
        return self.unpaid().aggregate(
            open_count=Count("id"),
            open_balance=Sum(BALANCE, default=ZERO),
            overdue_count=Count("id", filter=overdue),
            overdue_balance=Sum(BALANCE, filter=overdue, default=ZERO),
        )

    def as_of(self, day: date) -> "InvoiceQuerySet":
        """The invoices that existed on `day` (issued on or before it, never deleted),
        annotated with `balance_as_of`: what each still owed at the end of that day.

        A payment counts from its received date until the day it was voided, a write-off
        from the day it was made until its void. On or after today `balance_as_of` is the
        stored balance (the same figure; a test keeps them equal).
        """
        qs = self.live().filter(issue_date__lte=day)
        if day >= timezone.localdate():
            return qs.annotate(balance_as_of=BALANCE)
        paid = RemittanceAllocation.objects.filter(
            Q(remittance__voided_at__isnull=True) | Q(remittance__voided_at__date__gt=day),
            invoice_line__invoice=OuterRef("pk"),
            remittance__received_on__lte=day,
        )
        written_off = InvoiceWriteOff.objects.filter(
            Q(voided_at__isnull=True) | Q(voided_at__date__gt=day),
            invoice=OuterRef("pk"),
            created_at__date__lte=day,
        )
        return qs.annotate(
            balance_as_of=ExpressionWrapper(
                F("total")
                - _sum_subquery(paid, F("amount"))
                - _sum_subquery(written_off, F("amount")),
                output_field=FIGURE,
            )
        )

    def owing_as_of(self, day: date) -> "InvoiceQuerySet":
        """as_of(day), only the invoices with something still owed at the end of `day`."""
        return self.as_of(day).filter(balance_as_of__gt=0)

    def for_list(self) -> "InvoiceQuerySet":
        """What the list page reads per row, in one query."""
        return self.with_account().order_by("-issue_date", "-id")

    def with_account(self) -> "InvoiceQuerySet":
        """With the account and its payer, which every invoice page shows."""
        return self.select_related("account__billing_agent", "account__customer")

    def for_account(self, account: Account) -> "InvoiceQuerySet":
        """Invoices billed to this account (none for a payer not invoiced yet)."""
        if account.pk is None:
            return self.none()
        return self.filter(account=account)

    def with_display_status(self, status: str, today=None) -> "InvoiceQuerySet":
        """Invoices whose display status (see DISPLAY_STATUSES) is `status`."""
        return self.filter(DisplayStatus(status).condition(today or timezone.localdate()))

    def search(self, text: str) -> "InvoiceQuerySet":
        """Match an invoice number (INV-000012 or 12), a ticket on the invoice (T-000123 or
        t123; "#123" is invoice 123 or ticket 123), the payer's name or email, or the start
        of a line's payer reference (claim or PO number, any case). Invoices found by a
        ticket list the live ones first."""
        text = text.strip()
        if not text:
            return self
        ticket_id = _ticket_id(text)
        if ticket_id is not None:
            return self.holding_ticket(ticket_id)
        if text.startswith("#") and (number := _plain_id(text[1:])) is not None:
            return self.holding_ticket(number, or_invoice=number)
        digits = text.upper().removeprefix("INV-").lstrip("0")
        match = (
            Q(account__billing_agent__company_name__icontains=text)
            | Q(account__billing_agent__email__icontains=text)
            | Q(account__customer__first_name__icontains=text)
            | Q(account__customer__last_name__icontains=text)
            | Q(account__customer__company_name__icontains=text)
            | Q(account__customer__email__icontains=text)
            | Exists(
                InvoiceLine.objects.filter(invoice=OuterRef("pk"), reference__istartswith=text)
            )
        )
        number = parse_id(digits)
        if number is not None:
            match |= Q(pk=number)
        return self.filter(match)

    def holding_ticket(self, ticket_id: int, *, or_invoice: int | None = None) -> "InvoiceQuerySet":
        """The invoices with a line for the ticket (and invoice `or_invoice`), live ones
        first, then in this queryset's order."""
        lines = InvoiceLine.objects.filter(invoice=OuterRef("pk"), ticket_id=ticket_id)
        match = Q(Exists(lines))
        if or_invoice is not None:
            match |= Q(pk=or_invoice)
        deleted = ExpressionWrapper(Q(status=InvoiceStatus.DELETED), output_field=BooleanField())
        order = self.query.order_by or self.model._meta.ordering
        return self.filter(match).order_by(deleted.asc(), *order)


def _plain_id(text: str) -> int | None:
    """An id written right after its prefix: ASCII digits, no blank between (parse_id)."""
    return parse_id(text) if text == text.strip() else None


def _ticket_id(text: str) -> int | None:
    """The ticket id in "T-000123", "t-123" or "t123", else None."""
    if text[:1] not in ("T", "t"):
        return None
    rest = text[1:]
    return _plain_id(rest[1:] if rest.startswith("-") else rest)


class Invoice(models.Model):
    """A bill to one payer's account for one or more Waiting-for-Payment tickets."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="invoices")
    issue_date = models.DateField(default=timezone.localdate)
    due_date = models.DateField()
    total = models.DecimalField(**MONEY, default=ZERO)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    # The live write-off's amount (InvoiceWriteOff), kept apart from amount_paid.
    written_off = models.DecimalField(**MONEY, default=ZERO)
    status = models.CharField(
        max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN, db_index=True
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.EmailField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-id"]
        permissions = [
            ("adjust_credit", "Can add manual credit adjustments"),
            ("void_remittance", "Can void a recorded payment"),
            ("write_off_invoice", "Can write off an invoice's unpaid balance"),
            ("refund_credit", "Can refund account credit to the payer"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(amount_paid__gte=0) & Q(amount_paid__lte=F("total")),
                name="invoice_paid_within_total",
            ),
            models.CheckConstraint(
                condition=Q(written_off__gte=0) & Q(total__gte=F("amount_paid") + F("written_off")),
                name="invoice_written_off_within_balance",
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")), name="invoice_due_after_issue"
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DELETED, deleted_at__isnull=False)
                | (~Q(status=InvoiceStatus.DELETED) & Q(deleted_at__isnull=True)),
                name="invoice_deleted_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"]),
            models.Index(fields=["status", "due_date"]),
            # The list's and the export's order: the first rows come without a sort.
            models.Index(fields=["-issue_date", "-id"], name="invoice_list_order"),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("invoicing:invoice_detail", args=[self.pk])

    @property
    def number(self) -> str:
        return f"INV-{self.pk:06d}" if self.pk else "INV-new"

    @property
    def balance(self):
        return self.total - self.amount_paid - self.written_off

    @property
    def is_live(self) -> bool:
        return self.status != InvoiceStatus.DELETED

    @property
    def display_status(self) -> DisplayStatus:
        """The one row of DISPLAY_STATUSES this invoice is in today."""
        today = timezone.localdate()
        return next(s for s in DisplayStatus if s.holds_for(self, today))


class InvoiceLine(models.Model):
    """One ticket on an invoice; `amount` is the ticket's balance due when it was invoiced.

    The other figures, the words and the items (InvoiceLineItem) are a snapshot of the
    ticket taken then: an issued invoice shows what was billed, whatever the ticket says later.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="invoice_lines"
    )
    amount = models.DecimalField(**MONEY)
    amount_paid = models.DecimalField(**MONEY, default=ZERO)
    # Mirrors invoice.status != deleted so a partial unique index can see it.
    is_live = models.BooleanField(default=True)
    # The snapshot (see the docstring).
    customer_name = models.CharField(max_length=200, blank=True)
    description = models.CharField(max_length=300, blank=True)
    reference_label = models.CharField(max_length=30, blank=True)
    reference = models.CharField(max_length=60, blank=True)
    subtotal = models.DecimalField(**MONEY, default=ZERO)
    discount = models.DecimalField(**MONEY, default=ZERO)
    tax = models.DecimalField(**MONEY, default=ZERO)
    tax_rate_percent = models.DecimalField(max_digits=6, decimal_places=3, default=ZERO)
    ticket_total = models.DecimalField(**MONEY, default=ZERO)
    paid_before = models.DecimalField(**MONEY, default=ZERO)

    class Meta:
        ordering = ["ticket__created_at", "ticket_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=Q(is_live=True), name="ticket_on_one_live_invoice"
            ),
            models.UniqueConstraint(fields=["invoice", "ticket"], name="invoice_line_unique"),
            models.CheckConstraint(
                condition=Q(amount__gte=0)
                & Q(amount_paid__gte=0)
                & Q(amount_paid__lte=F("amount")),
                name="invoice_line_paid_within_amount",
            ),
            # What was billed is the ticket total less what the counter had taken.
            models.CheckConstraint(
                condition=Q(amount=F("ticket_total") - F("paid_before")),
                name="invoice_line_billed_is_total_less_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice.number} / {self.ticket.number}"

    @property
    def balance(self):
        return self.amount - self.amount_paid


class InvoiceLineItem(models.Model):
    """One ticket item as it stood when the invoice was created (part of the line's snapshot)."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    unit_price = models.DecimalField(**MONEY)
    amount = models.DecimalField(**MONEY)
    taxable = models.BooleanField(default=True)

    class Meta:
        ordering = ["line", "position"]
        constraints = [
            models.UniqueConstraint(fields=["line", "position"], name="invoice_line_item_position"),
        ]

    def __str__(self) -> str:
        return self.description


class Remittance(models.Model):
    """A payment received from the payer: against one invoice (`invoice`), or on the
    account (`invoice` empty), spread over several invoices by its allocations."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="remittances")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="remittances"
    )
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(max_length=100, blank=True)
    received_on = models.DateField(default=timezone.localdate)
    # One token per rendered form: a second identical POST hits the unique index.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A void (services.void_remittance) keeps the row and says who, when and why; its
    # allocations and credit are undone by new reversing rows.
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["received_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="remittance_amount_positive"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, void_reason="")
                | (Q(voided_at__isnull=False) & ~Q(void_reason="")),
                name="remittance_void_has_reason",
            ),
        ]
        # The payments export's order, so its first rows stream without a sort.
        indexes = [models.Index(fields=["received_on", "id"], name="remittance_received_order")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {format_money(self.amount)} for {self.paid_for}"

    @property
    def paid_for(self) -> str:
        """What the payment was recorded against: "INV-000012" or "the account"."""
        return self.invoice.number if self.invoice_id else "the account"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class InvoiceWriteOff(models.Model):
    """The unpaid balance of an invoice written off: settled, but never counted as paid.

    A void keeps the row (who, when, why) and reopens the invoice; at most one live
    write-off per invoice.
    """

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="write_off_amount_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="write_off_has_reason"),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True, void_reason="")
                | (Q(voided_at__isnull=False) & ~Q(void_reason="")),
                name="write_off_void_has_reason",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(voided_at__isnull=True),
                name="one_live_write_off_per_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off {format_money(self.amount)} on {self.invoice.number}"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class RemittanceAllocation(models.Model):
    """The share of a remittance applied to one invoice line, as a ticket payment."""

    remittance = models.ForeignKey(Remittance, on_delete=models.PROTECT, related_name="allocations")
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, related_name="allocations"
    )
    payment = models.OneToOneField(
        "tickets.TicketPayment", on_delete=models.PROTECT, related_name="allocation"
    )
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.UniqueConstraint(
                fields=["remittance", "invoice_line"], name="allocation_once_per_line"
            ),
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount)} to {self.invoice_line}"


class CreditKind(models.TextChoices):
    OVERPAYMENT = "overpayment", "Overpayment"
    CREDIT_APPLIED = "credit_applied", "Credit applied"
    ADJUSTMENT = "adjustment", "Manual adjustment"
    REVERSAL = "reversal", "Reversal"
    # Credit paid back to the payer (cheque, ACH, …): negative, with a reason.
    REFUND = "refund", "Refund to payer"


class CreditTransaction(models.Model):
    """One append-only row of an account's credit ledger; balance = sum of amounts.

    `balance_after` is written under a row lock on the account, and the database refuses
    a negative one, so the ledger can never go below zero.
    """

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credit_transactions"
    )
    kind = models.CharField(max_length=20, choices=CreditKind.choices)
    amount = models.DecimalField(**MONEY)
    balance_after = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=300, blank=True)
    remittance = models.ForeignKey(
        Remittance,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_transactions",
    )
    # The invoice credit was applied to (kind credit_applied) or overpaid (overpayment).
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_transactions",
    )
    # The day the row counts from on statements and aging: the payment's date for the
    # credit a payment posts, the day it was written for every other row.
    effective_on = models.DateField(default=timezone.localdate)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    # How a refund was paid out (blank for every other kind).
    method = models.CharField(max_length=20, choices=PaymentMethod.choices, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="credit_amount_not_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="credit_balance_never_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind=CreditKind.ADJUSTMENT) | ~Q(reason=""),
                name="credit_adjustment_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind=CreditKind.REFUND)
                | (Q(amount__lt=0) & ~Q(reason="") & ~Q(method="")),
                name="credit_refund_is_negative_with_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["account", "effective_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_money(self.amount)}"


class InvoiceableTicketQuerySet(TicketQuerySet):
    """Tickets as the invoice-create page reads them: chainable filters for one payer."""

    def for_account(self, account: Account) -> "InvoiceableTicketQuerySet":
        """The tickets the account is billed for (see Account.bills_ticket)."""
        if account.is_agent:
            return self.filter(billing_agent_id=account.billing_agent_id)
        return self.filter(customer_id=account.customer_id, billing_agent__isnull=True)

    def not_on_live_invoice(self) -> "InvoiceableTicketQuerySet":
        live = InvoiceLine.objects.filter(ticket=OuterRef("pk"), is_live=True)
        return self.filter(~Exists(live))

    def invoiceable(self) -> "InvoiceableTicketQuerySet":
        """Waiting for Payment, something due, and not on a live invoice."""
        return self.waiting_for_payment().filter(balance_due__gt=0).not_on_live_invoice()

    def at_location(self, location_id: int | None) -> "InvoiceableTicketQuerySet":
        return self.filter(location_id=location_id) if location_id else self

    def dated_between(self, field: str, start=None, end=None) -> "InvoiceableTicketQuerySet":
        """Created (field="created") or last updated (field="updated") between two dates."""
        column = {"created": "created_at", "updated": "updated_at"}[field]
        qs = self
        if start:
            qs = qs.filter(**{f"{column}__date__gte": start})
        if end:
            qs = qs.filter(**{f"{column}__date__lte": end})
        return qs

    def for_picker(self) -> "InvoiceableTicketQuerySet":
        """Oldest first, with what each row shows, in one query."""
        return self.select_related("customer", "location").order_by("created_at", "id")


def invoiceable_tickets() -> InvoiceableTicketQuerySet:
    """All tickets, as a queryset with the invoice-create page's filters."""
    return InvoiceableTicketQuerySet(model=Ticket)


class DeliveryKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    STATEMENT = "statement", "Statement"
    REMINDER = "reminder", "Overdue reminder"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # The invoice was paid or deleted before the worker reached a reminder for it.
    CANCELLED = "cancelled", "Cancelled"


class EmailDelivery(models.Model):
    """One email to a payer (invoice, statement or overdue reminder), sent by the task queue.

    The row is written when the email is queued and updated by the worker after each
    attempt, so the invoice page can say queued / sent / failed with the error.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="deliveries")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="deliveries"
    )
    kind = models.CharField(max_length=12, choices=DeliveryKind.choices)
    # 1, 2, 3 … for reminders (settings.REMINDER_LEVELS), 0 for everything else.
    reminder_level = models.PositiveSmallIntegerField(default=0)
    # Queued by the daily send_reminders job rather than by a clerk.
    scheduled = models.BooleanField(default=False)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    to_address = models.EmailField()
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # Sending again while a send is queued does nothing (the services look first).
            models.UniqueConstraint(
                fields=["invoice", "kind", "reminder_level"],
                condition=Q(status="queued", invoice__isnull=False),
                name="delivery_one_queued_per_invoice",
            ),
            models.UniqueConstraint(
                fields=["account", "period_start", "period_end"],
                condition=Q(status="queued", kind="statement"),
                name="delivery_one_queued_statement_per_period",
            ),
            # The daily job sends each reminder level of an invoice once, on any machine.
            models.UniqueConstraint(
                fields=["invoice", "reminder_level"],
                condition=Q(kind="reminder", scheduled=True),
                name="delivery_one_scheduled_reminder_per_level",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind="statement",
                    invoice__isnull=True,
                    period_start__isnull=False,
                    period_end__isnull=False,
                )
                | (~Q(kind="statement") & Q(invoice__isnull=False)),
                name="delivery_statement_has_period_others_an_invoice",
            ),
            models.CheckConstraint(
                condition=Q(kind="reminder", reminder_level__gt=0)
                | (~Q(kind="reminder") & Q(reminder_level=0)),
                name="delivery_level_only_on_reminders",
            ),
        ]
        indexes = [
            models.Index(fields=["invoice", "kind"], name="delivery_invoice_kind"),
            models.Index(fields=["account", "kind"], name="delivery_account_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address} ({self.get_status_display()})"
