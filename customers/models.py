from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords


class CustomerQuerySet(models.QuerySet):
    def directly_billable(self) -> "CustomerQuerySet":
        """Customers with direct-billing terms: they can be the payer of an invoice."""
        return self.filter(net_terms_days__isnull=False)


class Customer(models.Model):
    """A person (or small business) the shop repairs for; may be billed through an agent."""

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    company_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField("address line 1", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=100, blank=True, default="United States")
    billing_agent = models.ForeignKey(
        "billing_agents.BillingAgent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
    )
    net_terms_days = models.PositiveSmallIntegerField(
        "net terms (days)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(365)],
        help_text="Leave blank if this customer cannot be invoiced directly.",
    )
    billing_cycle_days = models.PositiveSmallIntegerField(
        "billing cycle (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    prefers_batch_invoices = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(net_terms_days__isnull=True) | Q(net_terms_days__lte=365),
                name="customer_net_terms_at_most_365",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("customers:customer_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        if self.company_name:
            return f"{self.full_name} ({self.company_name})"
        return self.full_name

    @property
    def can_be_invoiced_directly(self) -> bool:
        return self.net_terms_days is not None
