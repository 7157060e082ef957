from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords


class InvoiceMethod(models.TextChoices):
    BATCH = "batch", "Batch (one invoice for many tickets)"
    INDIVIDUAL = "individual", "Individual (one invoice per ticket)"


class BillingAgentQuerySet(models.QuerySet):
    def active(self) -> "BillingAgentQuerySet":
        return self.filter(is_active=True)


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
    invoice_method = models.CharField(
        max_length=20, choices=InvoiceMethod.choices, default=InvoiceMethod.BATCH
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
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
        ]
        indexes = [models.Index(fields=["is_active", "company_name"])]

    def __str__(self) -> str:
        return self.company_name

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
