import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import (
    Count,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from billing_agents.models import BillingAgent
from core.bulk import update_rows
from core.errors import DomainError
from core.money import ZERO, format_money, to_cents
from customers.models import Customer
from tickets.credit_hold import CreditHold, hold_for
from tickets.totals import (
    AMOUNT,
    PERCENT,
    TOTAL_FIELDS,
    Line,
    Totals,
    compute_totals,
    ensure_valid,
    stored_figures,
)
from tickets.transitions import (
    FINAL_STATUSES,
    INVOICING,
    LOCKED_STATUSES,
    STAFF,
    TRANSITIONS,
    Kind,
    Status,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
# "T-000123", "t123", "#123" or "123" (at most 12 ASCII digits, so it fits a bigint).
TICKET_NUMBER = re.compile(r"(?P<prefix>[Tt]-?|#)?0*(?P<number>[0-9]{1,12})")
# The ticket list's status filter value for "any open status".
OPEN_FILTER = "open_any"


class InvalidTransition(DomainError):
    """The ticket cannot move to the requested status now."""


class TicketLocked(DomainError):
    """The ticket is invoiced, closed or cancelled and cannot be edited."""


class CreditLimitExceeded(DomainError):
    """The move would take the billing agent past its credit limit."""

    def __init__(self, message: str, *, open_balance: Decimal, credit_limit: Decimal) -> None:
        super().__init__(message)
        self.open_balance = open_balance
        self.credit_limit = credit_limit


class CreditHoldError(DomainError):
    """The billing agent is on credit hold (tickets.credit_hold): an invoice of its is too
    far past due for another ticket to wait for its payment."""

    def __init__(self, message: str, *, hold: CreditHold) -> None:
        super().__init__(message)
        self.hold = hold


class Location(models.Model):
    """A shop front; its tax rate applies to the taxable lines of its tickets."""

    name = models.CharField(max_length=100, unique=True)
    tax_rate_percent = models.DecimalField(
        "tax rate (%)",
        max_digits=6,
        decimal_places=3,
        default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    address = models.CharField(max_length=300, blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate_percent__gte=0) & Q(tax_rate_percent__lte=100),
                name="location_tax_rate_0_to_100",
            )
        ]

    def __str__(self) -> str:
        return self.name


class DiscountType(models.TextChoices):
    AMOUNT = AMOUNT, "Amount"
    PERCENT = PERCENT, "Percent"


class TicketQuerySet(models.QuerySet):
    def open(self) -> "TicketQuerySet":
        """Any status but Closed and Cancelled."""
        return self.exclude(status__in=FINAL_STATUSES)

    def waiting_for_payment(self) -> "TicketQuerySet":
        return self.filter(status=Status.WAITING_FOR_PAYMENT)

    def editable(self) -> "TicketQuerySet":
        """Tickets whose items, payments and parties may still change (not Invoiced,
        Closed or Cancelled)."""
        return self.exclude(status__in=LOCKED_STATUSES)

    def for_list(self) -> "TicketQuerySet":
        """What a ticket list row shows, in one query whatever the number of rows."""
        return self.select_related("customer", "billing_agent", "location")

    def search(self, q: str) -> "TicketQuerySet":
        """By ticket number ("T-000123", "t123" or "123"), by customer (name, company,
        phone, email; see CustomerQuerySet.search) or by the start of the payer's reference
        (any case). A bare number also matches customers and references, so "555" finds
        phone numbers too."""
        q = q.strip()
        if not q:
            return self
        match = TICKET_NUMBER.fullmatch(q)
        if match and match.group("prefix"):
            return self.filter(pk=int(match.group("number")))
        customers = Customer.objects.search(q).values("pk")
        condition = Q(customer_id__in=customers) | Q(payer_reference__istartswith=q)
        if match:
            condition |= Q(pk=int(match.group("number")))
        return self.filter(condition)

    def filtered(
        self,
        *,
        status: str = "",
        kind: str = "",
        location_id: int | None = None,
        billing_agent_id: int | None = None,
    ) -> "TicketQuerySet":
        """The ticket list's filters; an empty value leaves that filter off."""
        queryset = self
        if status == OPEN_FILTER:
            queryset = queryset.open()
        elif status:
            queryset = queryset.filter(status=status)
        if kind:
            queryset = queryset.filter(kind=kind)
        if location_id:
            queryset = queryset.filter(location_id=location_id)
        if billing_agent_id:
            queryset = queryset.filter(billing_agent_id=billing_agent_id)
        return queryset


def ticket_number(pk: int) -> str:
    """A saved ticket's number ("T-000123") from its id, without building a Ticket."""
    return f"T-{pk:06d}"


class Ticket(models.Model):
    """A repair job or a quick sale, with its items, discount, payments and status."""

    Kind = Kind
    Status = Status

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REPAIR)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.NEW)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="tickets")
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    billing_agent = models.ForeignKey(
        "billing_agents.BillingAgent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
    )
    device = models.CharField(max_length=200, blank=True)
    problem_description = models.TextField(blank=True)
    # The payer's own number for this job (claim, PO, authorization); the agent names it.
    payer_reference = models.CharField(
        "payer reference", max_length=60, blank=True, default="", db_default=""
    )
    discount_type = models.CharField(
        max_length=10, choices=DiscountType.choices, default=DiscountType.AMOUNT
    )
    discount_value = models.DecimalField(**MONEY, default=ZERO)
    # Stored figures (TOTAL_FIELDS), always written by write_totals() from compute_totals().
    subtotal = models.DecimalField(**MONEY, default=ZERO, editable=False)
    discount_amount = models.DecimalField(**MONEY, default=ZERO, editable=False)
    tax_amount = models.DecimalField(**MONEY, default=ZERO, editable=False)
    total = models.DecimalField(**MONEY, default=ZERO, editable=False)
    amount_paid = models.DecimalField(**MONEY, default=ZERO, editable=False)
    balance_due = models.DecimalField(**MONEY, default=ZERO, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(billing_agent__isnull=True) | Q(customer__isnull=False),
                name="ticket_agent_needs_customer",
            ),
            models.CheckConstraint(
                condition=Q(kind=Kind.REPAIR, status__in=list(TRANSITIONS[Kind.REPAIR]))
                | Q(kind=Kind.QUICK_SALE, status__in=list(TRANSITIONS[Kind.QUICK_SALE])),
                name="ticket_status_fits_kind",
            ),
            models.CheckConstraint(
                condition=Q(discount_value__gte=0), name="ticket_discount_value_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(discount_type=PERCENT) | Q(discount_value__lte=100),
                name="ticket_discount_percent_at_most_100",
            ),
            models.CheckConstraint(
                condition=Q(subtotal__gte=0)
                & Q(discount_amount__gte=0)
                & Q(discount_amount__lte=F("subtotal"))
                & Q(tax_amount__gte=0)
                & Q(total__gte=0)
                & Q(amount_paid__gte=0)
                & Q(balance_due__gte=0),
                name="ticket_totals_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["billing_agent", "status"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["status", "location"]),
            # Serves the agents' open balance (docs/benchmarks.md): an index-only sum.
            models.Index(
                fields=["billing_agent"],
                include=["balance_due"],
                condition=~Q(status__in=sorted(FINAL_STATUSES)),
                name="ticket_agent_open_balance",
            ),
            models.Index(fields=["billing_agent", "created_at"], name="ticket_agent_created"),
        ]

    def __str__(self) -> str:
        return f"Ticket {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("tickets:ticket_detail", args=[self.pk])

    @property
    def number(self) -> str:
        return ticket_number(self.pk) if self.pk else "T-new"

    @property
    def is_locked(self) -> bool:
        return self.status in LOCKED_STATUSES

    # --- editing -----------------------------------------------------------------

    def ensure_editable(self) -> None:
        """Raise TicketLocked unless items, discount, payments and parties may change."""
        if self.is_locked:
            if self.status == Status.INVOICED:
                raise TicketLocked(
                    f"{self.number} is on an invoice and cannot be edited; "
                    "delete the invoice first."
                )
            raise TicketLocked(
                f"{self.number} is {self.get_status_display()} and cannot be edited."
            )

    def fresh_totals(self) -> Totals:
        """Compute the money figures from the items and payments in the database."""
        return fresh_totals([self])[0]

    def recalculate_totals(self, *, field: str | None = None) -> Totals:
        """Store fresh totals on the ticket; call inside the transaction of every change.

        The single-ticket case of `write_totals`: same computation, same refusals
        (AmountTooLarge on `field`, InvalidDiscount, PaidOverTotal; the caller's
        transaction rolls back).
        """
        return write_totals([self], field=field)[0]

    # --- status ------------------------------------------------------------------

    def _moves(self, via: str) -> list[str]:
        return [t for t, who in TRANSITIONS[self.kind].get(self.status, {}).items() if who == via]

    def _refusal(self, target: str, via: str = STAFF) -> str | None:
        """Why a rule refuses the (table-allowed) move to `target` now, or None."""
        label = Status(target).label
        if target == Status.WAITING_FOR_PAYMENT and self.customer_id is None:
            return f"Attach a customer before moving {self.number} to {label}."
        # Only a clerk's move asks for the reference: a deleted invoice's tickets go back.
        if target == Status.WAITING_FOR_PAYMENT and via == STAFF and self.needs_payer_reference:
            agent = self.billing_agent
            return (
                f"{agent.company_name} requires a {agent.reference_label} on every ticket; "
                f"enter it before moving {self.number} to {label}."
            )
        if target == Status.CLOSED and self.balance_due > 0:
            return (
                f"{self.number} still has {format_money(self.balance_due)} due; "
                "take payment or invoice it before closing."
            )
        if target == Status.CANCELLED and self.amount_paid > 0:
            return (
                f"{self.number} has {format_money(self.amount_paid)} paid; "
                "refund it before cancelling."
            )
        return None

    @property
    def needs_payer_reference(self) -> bool:
        """The ticket's billing agent requires its reference number and the ticket has none."""
        return bool(
            self.billing_agent_id
            and self.billing_agent.reference_required
            and not self.payer_reference.strip()
        )

    def check_move(self, target: str, *, via: str = STAFF, written_off: bool = False) -> None:
        """Raise InvalidTransition, with the reason for the clerk, unless `via` (STAFF: the
        ticket page; INVOICING: the invoicing services) may move the ticket to `target` now.

        The move must be in the transitions table for `via`, and no rule may refuse it
        (customer attached, nothing due before closing, nothing paid before cancelling).
        The credit limit is not a refusal here: see `transition_to`. `written_off`
        (invoicing only): what is still due was written off, so the ticket may close.
        """
        if target not in Status.values:
            raise InvalidTransition(f"“{target}” is not a ticket status.")
        who = TRANSITIONS[self.kind].get(self.status, {}).get(target)
        label = Status(target).label
        if who != via:
            if who == INVOICING:
                raise InvalidTransition(f"{self.number} reaches {label} only through invoicing.")
            if who == STAFF:
                raise InvalidTransition(
                    f"{self.number} is moved to {label} on the ticket page, not by invoicing."
                )
            raise InvalidTransition(
                f"{self.get_kind_display()} {self.number} cannot move from "
                f"{self.get_status_display()} to {label}."
            )
        if written_off and via == INVOICING and target == Status.CLOSED:
            return
        refusal = self._refusal(target, via)
        if refusal:
            raise InvalidTransition(refusal)

    def refused_moves(self) -> list[tuple[str, str]]:
        """(target, reason) for each staff move the table has but a rule refuses now."""
        refused = []
        for target in self._moves(STAFF):
            reason = self._refusal(target)
            if reason is not None:
                refused.append((target, reason))
        return refused

    def allowed_moves(self) -> list[str]:
        """The staff moves that the ticket page may offer right now."""
        return [t for t in self._moves(STAFF) if self._refusal(t) is None]

    def agent_open_balance(self) -> Decimal:
        """The billing agent's open balance: balance due over its open tickets."""
        if self.billing_agent_id is None:
            return ZERO
        result = (
            Ticket.objects.open()
            .filter(billing_agent_id=self.billing_agent_id)
            .aggregate(s=Sum("balance_due"))
        )
        # SQLite sums decimals as floats; round so the figure reads as money everywhere.
        return to_cents(result["s"] or ZERO)

    def transition_to(
        self,
        target: str,
        *,
        by,
        via: str = STAFF,
        override_credit_limit: bool = False,
        override_credit_hold: bool = False,
        note: str = "",
    ) -> "TicketStatusChange":
        """Move the ticket to `target` if the transitions table and the rules allow it.

        Raises InvalidTransition for a move `check_move` refuses. A staff move to Waiting
        for Payment is also refused while the agent is on credit hold (CreditHoldError,
        unless `override_credit_hold`) and when it would put the agent over its credit
        limit (CreditLimitExceeded, unless `override_credit_limit`); who may override is
        checked by tickets.services.move_ticket. The move is recorded with who made it and
        which override it used, and the agent's stored figures are kept
        (refresh_agent_figures).
        """
        self.check_move(target, via=via)
        limit_overridden = hold_overridden = False
        agent = self.billing_agent
        if target == Status.WAITING_FOR_PAYMENT and via == STAFF and agent is not None:
            hold = hold_for(agent)
            if hold is not None:
                if not override_credit_hold:
                    raise CreditHoldError(hold.message(agent), hold=hold)
                hold_overridden = True
            if agent.credit_limit is not None:
                # The ticket is open already, so its balance is part of the agent's open balance.
                open_balance = self.agent_open_balance()
                if open_balance > agent.credit_limit:
                    if not override_credit_limit:
                        raise CreditLimitExceeded(
                            f"{agent} would owe {format_money(open_balance)} with "
                            f"{self.number}, over its credit limit of "
                            f"{format_money(agent.credit_limit)}.",
                            open_balance=open_balance,
                            credit_limit=agent.credit_limit,
                        )
                    limit_overridden = True
        source = self.status
        self.status = target
        # One transaction even for a caller without one (seed, factory): ticket and tallies.
        with transaction.atomic(savepoint=False):
            self.save(update_fields=["status", "updated_at"])
            refresh_agent_figures([self.billing_agent_id])
            record_tally_changes([(source, self.balance_due)], [(target, self.balance_due)])
            return TicketStatusChange.objects.create(
                ticket=self,
                from_status=source,
                to_status=target,
                changed_by=by,
                credit_limit_override=limit_overridden,
                credit_hold_override=hold_overridden,
                note=note,
            )


class TicketItem(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="items")
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(0)])
    taxable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # Added, changed and removed lines stay on record (who and when) for the ticket page.
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="item_quantity_positive"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="item_unit_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def amount(self) -> Decimal:
        return Line(self.quantity, self.unit_price, self.taxable).amount


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    CHEQUE = "cheque", "Cheque"
    ACH = "ach", "ACH"
    ACCOUNT_CREDIT = "account_credit", "Account credit"


class PaymentKind(models.TextChoices):
    DEPOSIT = "deposit", "Deposit"
    REMITTANCE = "remittance", "Invoice payment"
    # Corrections: a new row with a negative amount, never an edit of the row it undoes.
    REFUND = "refund", "Deposit refund"
    REVERSAL = "reversal", "Payment voided"


# Money in is positive, a correction negative; amount_paid is the signed sum.
MONEY_IN = (PaymentKind.DEPOSIT, PaymentKind.REMITTANCE)
CORRECTIONS = (PaymentKind.REFUND, PaymentKind.REVERSAL)


class TicketPayment(models.Model):
    """Money received against one ticket (a deposit at the counter or a remittance share),
    or a correction of it: a deposit refund, or the reversal of a voided remittance share,
    each its own row with a negative amount, who, when and why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=20, choices=PaymentKind.choices, default=PaymentKind.DEPOSIT)
    amount = models.DecimalField(**MONEY)
    method = models.CharField(max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(max_length=100, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A reversal names the payment it undoes; a refund may name the deposit it pays back.
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("refund_deposit", "Can refund a deposit taken at the counter")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MONEY_IN, amount__gt=0)
                | Q(kind__in=CORRECTIONS, amount__lt=0),
                name="payment_sign_follows_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MONEY_IN) | ~Q(reason=""),
                name="payment_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(kind=PaymentKind.REVERSAL) | Q(reverses__isnull=False),
                name="payment_reversal_names_its_payment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {format_money(self.amount)} on {self.ticket.number}"


class TicketStatusChange(models.Model):
    """One status move: who, when, from, to, and whether a credit limit or a credit hold
    was overridden."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=30, choices=Status.choices)
    to_status = models.CharField(max_length=30, choices=Status.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    credit_limit_override = models.BooleanField(default=False)
    credit_hold_override = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket.number}: {self.from_status} → {self.to_status}"


# --- stored totals of many tickets at once ---------------------------------------------------


def fresh_totals(tickets: Sequence[Ticket]) -> list[Totals]:
    """`compute_totals` for each ticket from its items and payments in the database, in
    order: two queries whatever the count (and one for locations not loaded yet)."""
    ids = [ticket.pk for ticket in tickets]
    lines: dict[int, list[Line]] = defaultdict(list)
    items = TicketItem.objects.filter(ticket_id__in=ids)
    for ticket_id, quantity, price, taxable in items.values_list(
        "ticket_id", "quantity", "unit_price", "taxable"
    ):
        lines[ticket_id].append(Line(quantity=quantity, unit_price=price, taxable=taxable))
    payments: dict[int, list[Decimal]] = defaultdict(list)
    for ticket_id, amount in TicketPayment.objects.filter(ticket_id__in=ids).values_list(
        "ticket_id", "amount"
    ):
        payments[ticket_id].append(amount)
    prefetch_related_objects(list(tickets), "location")
    return [
        compute_totals(
            lines=lines[ticket.pk],
            discount_type=ticket.discount_type,
            discount_value=ticket.discount_value,
            tax_rate_percent=ticket.location.tax_rate_percent,
            payments=payments[ticket.pk],
        )
        for ticket in tickets
    ]


def write_totals(tickets: Sequence[Ticket], *, by=None, field: str | None = None) -> list[Totals]:
    """Store fresh totals (TOTAL_FIELDS, from `fresh_totals`) on each ticket, as loaded in
    this transaction; call inside the transaction of the change that affects them.

    Refused for the first ticket `ensure_valid` refuses (AmountTooLarge on `field`,
    InvalidDiscount, PaidOverTotal), before anything is written. Two reads, one UPDATE
    and one history insert (by the ticket's `_history_user`, else `by`) whatever the count
    (core.bulk.update_rows: one set-based UPDATE per 500 tickets on PostgreSQL), then
    the stored figures of the tickets' agents (refresh_agent_figures: two more) and the
    status tallies (record_tally_changes: one insert when a balance due changed).
    """
    tickets = list(tickets)
    if not tickets:
        return []
    fresh = fresh_totals(tickets)
    for ticket, totals in zip(tickets, fresh, strict=True):
        ensure_valid(totals, number=ticket.number, field=field)
    now = timezone.now()
    # The tallies' "before": the objects in hand, which the callers locked in this transaction.
    before = tally_states(tickets)
    for ticket, totals in zip(tickets, fresh, strict=True):
        for name, value in stored_figures(totals).items():
            setattr(ticket, name, value)
        ticket.updated_at = now
    # One transaction even for a caller without one (seed, factory): totals and tallies.
    with transaction.atomic(savepoint=False):
        # Every figure is written, not only those that differ from the object in hand: a
        # stale object must never leave a stored figure behind the fresh computation.
        update_rows(tickets, [*TOTAL_FIELDS, "updated_at"])
        Ticket.history.bulk_history_create(tickets, update=True, default_user=by, default_date=now)
        refresh_agent_figures(ticket.billing_agent_id for ticket in tickets)
        record_tally_changes(before, tally_states(tickets))
    return fresh


# --- the billing agents' stored open figures ------------------------------------------------

AGENT_MONEY = models.DecimalField(max_digits=14, decimal_places=2)


def _scalar(queryset: models.QuerySet, function: str, field: str, output_field) -> Coalesce:
    """`SELECT function(field) FROM queryset` as a scalar subquery, 0 when there is no row.

    A plain aggregate without GROUP BY (Func is not an ORM aggregate): one row per agent.
    """
    value = Func(F(field), function=function, output_field=output_field)
    rows = queryset.order_by().annotate(v=value).values("v")
    return Coalesce(Subquery(rows, output_field=output_field), Value(0), output_field=output_field)


def fresh_agent_figures() -> dict[str, Coalesce]:
    """BillingAgent.FIGURE_FIELDS of the outer agent row, computed from its open tickets
    (any status but Closed and Cancelled): the one definition of what is stored."""
    open_tickets = Ticket.objects.open().filter(billing_agent_id=OuterRef("pk"))
    return {
        "open_balance": _scalar(open_tickets, "SUM", "balance_due", AGENT_MONEY),
        "open_ticket_count": _scalar(open_tickets, "COUNT", "pk", models.IntegerField()),
    }


def refresh_agent_figures(agent_ids: Iterable[int | None]) -> None:
    """Store fresh open balance and open-ticket count on these billing agents (None, a
    ticket without an agent, is ignored); call in the transaction of every change to a
    ticket's totals, status or agent, with the old and the new agent.

    The agents' rows are locked first, in id order, so concurrent writers queue in one
    order; the UPDATE that follows is a new statement, so under READ COMMITTED it sees
    every ticket change committed while this one waited. Two queries whatever the number
    of agents and tickets; none without an agent.
    """
    ids = sorted({pk for pk in agent_ids if pk is not None})
    if not ids:
        return
    with transaction.atomic(savepoint=False):
        locked = BillingAgent.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        list(locked.values_list("pk", flat=True))
        BillingAgent.objects.filter(pk__in=ids).update(**fresh_agent_figures())


# --- the open-ticket tallies per status (the dashboard's figures) ---------------------------

TALLY_MONEY = {"max_digits": 14, "decimal_places": 2}
# A ticket's part of the tallies: its status and its balance due.
TallyState = tuple[str, Decimal]


class StatusTally(models.Model):
    """One change to an open status's figures: tickets added (or taken off, negative) and
    their balance due. A status's figure is the SUM of its rows; only open statuses
    (TicketQuerySet.open()) are tallied.

    A ledger, not a counter row per status: writers only INSERT, so there is no hot row to
    lock and no lock order to keep with refresh_agent_figures' agent rows. Folding
    (tickets.tallies.fold_status_tallies) keeps it short.
    """

    status = models.CharField(max_length=30, choices=Status.choices)
    tickets = models.IntegerField()
    balance_due = models.DecimalField(**TALLY_MONEY)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.status}: {self.tickets:+d} tickets, {format_money(self.balance_due)}"


def tally_states(tickets: Iterable[Ticket]) -> list[TallyState]:
    """(status, balance due) of each distinct ticket as it is in hand now."""
    return [(t.status, t.balance_due) for t in {t.pk: t for t in tickets}.values()]


def record_tally_changes(before: Iterable[TallyState], after: Iterable[TallyState]) -> None:
    """Record in the status tallies that tickets that were `before` are now `after`
    ((status, balance due) pairs; a new ticket has no "before", a deleted one no "after").

    Call in the transaction of the change, with the tickets locked, beside
    refresh_agent_figures. Closed and Cancelled are not tallied, so a ticket leaving the
    open statuses only subtracts from its old one. One INSERT of at most one row per
    status whose count or sum changed; no query when nothing changed.
    """
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for sign, states in ((-1, before), (1, after)):
        for status, balance_due in states:
            if status in FINAL_STATUSES:
                continue
            counts[status] += sign
            sums[status] += sign * balance_due
    rows = [
        StatusTally(status=status, tickets=counts[status], balance_due=to_cents(sums[status]))
        for status in sorted(counts)
        if counts[status] or sums[status]
    ]
    if rows:
        StatusTally.objects.bulk_create(rows)


def fresh_status_tallies() -> models.QuerySet:
    """(status, count, balance due) per open status, computed from the tickets: the one
    definition of what the tallies hold. COUNT(*), not COUNT(id): on PostgreSQL the open-
    ticket index (migration 0009) answers it index-only, and the id is not in it."""
    return (
        Ticket.objects.open()
        .values_list("status")
        .annotate(n=Count("*"), due=Sum("balance_due"))
        .order_by()
    )
