from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Func, Q, TextField
from django.db.models.functions import Lower, Upper
from django.urls import reverse
from simple_history.models import HistoricalRecords

# The fields the lookup searches, in the order of the search expression and its index.
SEARCH_FIELDS = ("first_name", "last_name", "company_name", "phone", "email")


class SearchText(Func):
    """The search fields joined by spaces: the one expression the lookup compares.

    On PostgreSQL it is the function `customer_search_key(first_name, last_name,
    company_name, phone, email)` that migration 0003 creates (PL/pgSQL, IMMUTABLE,
    COST 1000) and indexes as `UPPER(...)` with gin_trgm_ops. The declared cost tells the
    planner what evaluating it for every row really costs, so it answers a search from
    the trigram index rather than scanning the table; an inlined `a || ' ' || b`
    looked nearly free to it and it chose a 50-100 ms sequential scan over a 5 ms
    index scan. On SQLite it is the plain `||` concatenation.
    """

    function = "customer_search_key"
    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(*(F(name) for name in SEARCH_FIELDS))

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(
            compiler,
            connection,
            template="(%(expressions)s)",
            arg_joiner=" || ' ' || ",
            **extra_context,
        )


# Words shorter than a trigram cannot use the trigram index: a one- or two-letter word
# matches the start of the first name, last name or company instead, which btree
# indexes answer (migration 0005), as a clerk typing "jo" means Joan or Johnson.
MIN_INDEXED_WORD = 3
NAME_FIELDS = ("first_name", "last_name", "company_name")


def _starts_a_name(word: str) -> Q:
    return Q(*(Q(**{f"{name}__istartswith": word}) for name in NAME_FIELDS), _connector=Q.OR)


class CustomerQuerySet(models.QuerySet):
    def search(self, q: str, *, broad: bool = False) -> "CustomerQuerySet":
        """Every word of `q` must appear in the name, company, phone or email.

        Each word of three letters or more is one case-insensitive `icontains` on the
        fields joined by spaces (SearchText); on PostgreSQL a trigram GIN index on exactly
        that expression (migration 0003) answers it, so the lookup stays fast at 50,000
        customers. A shorter word matches the start of a first name, last name or company
        (btree prefix indexes, migration 0005).

        Matches come ordered by name case-insensitively. Besides reading better, that
        order cannot be served by the (last_name, first_name, id) btree, which keeps the
        planner from walking that index in name order and filtering row by row for a
        LIMIT 25 page (slow when the matches sit late in the alphabet); it takes the
        trigram bitmap and sorts the matches instead.

        `broad=True` is for a search known to match more than the lookup's count cap
        ("@example.org": 12,000 of 50,000): sorting every match is then most of its time.
        Such matches come ordered by UPPER of the names, which the customer_upper_name_order
        btree (migration 0006) serves, so PostgreSQL may walk it and stop after one page
        (0.7 ms instead of 95 ms). The same names in the same case-insensitive order; only
        the narrow order above stays unservable on purpose.
        """
        words = q.split()
        if not words:
            return self
        queryset = self.alias(search_text=SearchText())
        for word in words:
            if len(word) >= MIN_INDEXED_WORD:
                queryset = queryset.filter(search_text__icontains=word)
            else:
                queryset = queryset.filter(_starts_a_name(word))
        if broad:
            return queryset.order_by(Upper("last_name"), Upper("first_name"), "id")
        return queryset.order_by(Lower("last_name"), Lower("first_name"), "id")

    def for_list(self) -> "CustomerQuerySet":
        """What a lookup row shows: the customer and its billing agent, in one query."""
        return self.select_related("billing_agent")

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
    prefers_batch_invoices = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        # Serves the lookup's default order (first page without a search) by index.
        # The trigram indexes behind the search itself are PostgreSQL-only and live in
        # migration 0003 (a no-op on SQLite), not here.
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="customer_name_order"),
            # The order of a broad search (CustomerQuerySet.search(broad=True)).
            models.Index(
                Upper("last_name"), Upper("first_name"), "id", name="customer_upper_name_order"
            ),
        ]
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
