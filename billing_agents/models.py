from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.money import ZERO


class InvoiceMethod(models.TextChoices):
    BATCH = "batch", "Batch (one invoice for many tickets)"
    INDIVIDUAL = "individual", "Individual (one invoice per ticket)"


class StatusFilter(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    ALL = "all", "All"


# Sort key (as it appears in the URL) -> the fields or annotations it orders by.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "company": ("company_name",),
    "contact": ("contact_first_name", "contact_last_name"),
    "phone": ("phone",),
    "email": ("email",),
    "customers": ("customer_count",),
    "open_tickets": ("open_ticket_count",),
    "open_balance": ("open_balance",),
    "last_ticket": ("last_ticket_at",),
    "status": ("is_active",),
}
DEFAULT_SORT = "company"
# Kept by tickets.models.refresh_agent_figures from the agent's open tickets, never by a form.
FIGURE_FIELDS = ("open_balance", "open_ticket_count")
NULLABLE_SORT_FIELDS = frozenset({"last_ticket_at"})


class BillingAgentQuerySet(models.QuerySet):
    def active(self) -> "BillingAgentQuerySet":
        return self.filter(is_active=True)

    def with_status(self, status: str) -> "BillingAgentQuerySet":
        """active (the default for anything unknown), inactive or all."""
        if status == StatusFilter.ALL:
            return self
        if status == StatusFilter.INACTIVE:
            return self.filter(is_active=False)
        return self.filter(is_active=True)

    def search(self, q: str) -> "BillingAgentQuerySet":
        """Every word of `q` must appear in the company, contact name, email or phone."""
        queryset = self
        for word in q.split():
            queryset = queryset.filter(
                Q(company_name__icontains=word)
                | Q(contact_first_name__icontains=word)
                | Q(contact_last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(phone__icontains=word)
            )
        return queryset

    def sorted_by(self, key: str) -> "BillingAgentQuerySet":
        """Order by a SORT_FIELDS key, "-key" for descending; ties broken by company and id.

        The customer count and last ticket date need with_figures() (tickets.figures)
        first; open balance and open tickets are stored columns. Unknown keys sort by
        company.
        """
        descending = key.startswith("-")
        fields = SORT_FIELDS.get(key.removeprefix("-"), SORT_FIELDS[DEFAULT_SORT])
        ordering = []
        for field in fields:
            # Only the last ticket date can be NULL; it goes last both ways.
            nulls_last = True if field in NULLABLE_SORT_FIELDS else None
            expression = F(field)
            ordering.append(
                expression.desc(nulls_last=nulls_last)
                if descending
                else expression.asc(nulls_last=nulls_last)
            )
        return self.order_by(*ordering, "company_name", "id")


class BillingAgent(models.Model):
    """A business that pays the shop on behalf of one or more customers."""

    company_name = models.CharField(max_length=200)
    contact_first_name = models.CharField(max_length=100, blank=True)
    contact_last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    fax = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True, default="United States")
    credit_limit = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Leave blank for no limit.",
    )
    net_terms_days = models.PositiveSmallIntegerField(
        "net terms (days)", default=30, validators=[MaxValueValidator(365)]
    )
    # Days past due after which the agent is on credit hold; empty: the shop's setting.
    credit_hold_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(365)]
    )
    # What this payer calls its number on each job ("Claim #", "PO #"), printed on invoices.
    reference_label = models.CharField(
        "reference label",
        max_length=30,
        default="Reference",
        db_default="Reference",
        help_text="What this payer calls its number on each ticket, e.g. “Claim #” or “PO #”.",
    )
    reference_required = models.BooleanField(
        "reference required",
        default=False,
        db_default=False,
        help_text="A ticket needs this number before it can wait for payment.",
    )
    send_reminders = models.BooleanField(
        "send overdue reminders",
        default=True,
        db_default=True,
        help_text="Untick to never email this payer overdue reminders.",
    )
    invoice_method = models.CharField(
        max_length=20, choices=InvoiceMethod.choices, default=InvoiceMethod.BATCH
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Balance due summed over, and number of, the agent's open tickets (any status but
    # Closed and Cancelled): stored so the manage page sorts by them from an index.
    open_balance = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, db_default=ZERO, editable=False
    )
    open_ticket_count = models.PositiveIntegerField(default=0, db_default=0, editable=False)

    # The figures move with every ticket change; the agent's history records its own edits.
    history = HistoricalRecords(excluded_fields=list(FIGURE_FIELDS))
    objects = BillingAgentQuerySet.as_manager()

    class Meta:
        ordering = ["company_name", "id"]
        permissions = [
            ("deactivate_billingagent", "Can deactivate and reactivate billing agents"),
            ("override_credit_limit", "Can override a billing agent's credit limit"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__isnull=True) | Q(credit_limit__gte=0),
                name="agent_credit_limit_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(net_terms_days__lte=365), name="agent_net_terms_at_most_365"
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, deactivated_at__isnull=True)
                | Q(is_active=False, deactivated_at__isnull=False),
                name="agent_deactivated_at_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(open_balance__gte=0) & Q(open_ticket_count__gte=0),
                name="agent_open_figures_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["is_active", "company_name"]),
            # The manage page's figure sorts: status filter, figure, then its tie-breakers.
            models.Index(
                fields=["is_active", "open_balance", "company_name", "id"],
                name="agent_active_open_balance",
            ),
            models.Index(
                fields=["is_active", "open_ticket_count", "company_name", "id"],
                name="agent_active_open_tickets",
            ),
        ]

    def __str__(self) -> str:
        return self.company_name

    def save(self, *args, **kwargs) -> None:
        """Save; an existing agent's full save leaves the stored figures (FIGURE_FIELDS) as
        they are in the database, so a form loaded before a ticket change never undoes it."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            skipped = {*FIGURE_FIELDS, *self.get_deferred_fields()}
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.attname not in skipped
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("billing_agents:agent_detail", args=[self.pk])

    @property
    def contact_name(self) -> str:
        return f"{self.contact_first_name} {self.contact_last_name}".strip()

    def deactivate(self) -> None:
        """Stop offering this agent in pickers; every link, invoice and payment stays."""
        if self.is_active:
            self.is_active = False
            self.deactivated_at = timezone.now()
            self.save(update_fields=["is_active", "deactivated_at", "updated_at"])

    def reactivate(self) -> None:
        """Offer the agent in pickers again."""
        if not self.is_active:
            self.is_active = True
            self.deactivated_at = None
            self.save(update_fields=["is_active", "deactivated_at", "updated_at"])
