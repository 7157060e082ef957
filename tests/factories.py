"""factory-boy factories for every domain model.

Tickets built here get their stored totals from `Ticket.recalculate_totals`, the same
function the app uses, so a factory never produces figures the app could not.
"""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from billing_agents.models import BillingAgent
from core.roles import ensure_role_groups
from customers.models import Customer
from invoicing.models import Account, CreditTransaction, Invoice, InvoiceLine
from tickets.models import (
    Location,
    PaymentKind,
    PaymentMethod,
    Ticket,
    TicketItem,
    TicketPayment,
    record_tally_changes,
    tally_states,
)
from tickets.transitions import Kind, Status

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@shop.example")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        """UserFactory(role="Manager") puts the user in that group."""
        if create and extracted:
            if not Group.objects.filter(name=extracted).exists():
                ensure_role_groups()  # a transactional test's flush removed them
            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Store {n}")
    tax_rate_percent = Decimal("8.250")


class BillingAgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BillingAgent

    company_name = factory.Faker("company")
    contact_first_name = factory.Faker("first_name")
    contact_last_name = factory.Faker("last_name")
    phone = factory.Sequence(lambda n: f"555-01{n % 100:02d}-{n:04d}")
    email = factory.Sequence(lambda n: f"accounts{n}@agent.example")
    city = factory.Faker("city")
    net_terms_days = 30

    class Params:
        inactive = factory.Trait(is_active=False, deactivated_at=factory.LazyFunction(timezone.now))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@mail.example")
    phone = factory.Sequence(lambda n: f"555-02{n % 100:02d}-{n:04d}")


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket; pass items=[(description, qty, price, taxable), ...] and deposits=[amount]."""

    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    kind = Kind.REPAIR
    status = factory.LazyAttribute(lambda t: Status.NEW if t.kind == Kind.REPAIR else Status.OPEN)
    location = factory.SubFactory(LocationFactory)
    device = factory.LazyAttribute(lambda t: "iPhone 13" if t.kind == Kind.REPAIR else "")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # As services.create_ticket does: a new ticket counts in its status's tally.
        ticket = super()._create(model_class, *args, **kwargs)
        record_tally_changes([], tally_states([ticket]))
        return ticket

    @factory.post_generation
    def items(self, create, extracted, **kwargs):
        for description, quantity, price, taxable in extracted or []:
            TicketItem.objects.create(
                ticket=self,
                description=description,
                quantity=Decimal(str(quantity)),
                unit_price=Decimal(str(price)),
                taxable=taxable,
            )
        self.recalculate_totals()

    @factory.post_generation
    def deposits(self, create, extracted, **kwargs):
        for amount in extracted or []:
            TicketPayment.objects.create(
                ticket=self,
                kind=PaymentKind.DEPOSIT,
                amount=Decimal(str(amount)),
                method=PaymentMethod.CASH,
            )
        if extracted:
            self.recalculate_totals()


def _account_of(obj) -> Account:
    """The account for a factory's billing_agent= or customer= convenience (or a new agent)."""
    return Account.objects.for_payer(obj.customer or obj.billing_agent or BillingAgentFactory())


class AccountFactory(factory.django.DjangoModelFactory):
    """A billing agent's account; AccountFactory(billing_agent=None, customer=c) for a
    customer billed directly."""

    class Meta:
        model = Account
        django_get_or_create = ("billing_agent", "customer")

    billing_agent = factory.SubFactory(BillingAgentFactory)
    customer = None


class InvoiceFactory(factory.django.DjangoModelFactory):
    """An invoice; InvoiceFactory(billing_agent=a) or (customer=c) bills that payer's account."""

    class Meta:
        model = Invoice

    class Params:
        billing_agent = None
        customer = None

    account = factory.LazyAttribute(_account_of)
    issue_date = factory.LazyFunction(timezone.localdate)
    due_date = factory.LazyAttribute(lambda i: i.issue_date + timedelta(days=30))


class InvoiceLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InvoiceLine

    invoice = factory.SubFactory(InvoiceFactory)
    ticket = factory.SubFactory(TicketFactory)
    amount = factory.LazyAttribute(lambda line: line.ticket.balance_due)
    paid_before = 0
    ticket_total = factory.LazyAttribute(lambda line: line.amount + line.paid_before)


class CreditTransactionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditTransaction

    class Params:
        billing_agent = None
        customer = None

    account = factory.LazyAttribute(_account_of)
    kind = "adjustment"
    amount = Decimal("10.00")
    balance_after = Decimal("10.00")
    reason = "Goodwill credit"


# --- billing agents (issue 4) ---------------------------------------------------------


def agent_ticket(agent, *, customer=None, status=None, items=None, deposits=None, **kwargs):
    """A ticket billed through `agent` (with a customer of that agent unless one is given)."""
    customer = customer or CustomerFactory(billing_agent=agent)
    extra = {"status": status} if status else {}
    return TicketFactory(
        customer=customer,
        billing_agent=agent,
        items=items if items is not None else [("Screen", 1, "100.00", True)],
        deposits=deposits,
        **extra,
        **kwargs,
    )


# --- invoicing (issue 5) --------------------------------------------------------------


def waiting_ticket(payer, *, customer=None, items=None, deposits=None, **kwargs):
    """A repair ticket billed to `payer` (a BillingAgent, or a Customer billed directly),
    moved to Waiting for Payment through Ticket.transition_to as staff would move it."""
    account = Account.of(payer)
    if account.is_agent:
        customer = customer or CustomerFactory(billing_agent=payer)
        parties = {"customer": customer, "billing_agent": payer}
    else:
        parties = {"customer": payer}
    ticket = TicketFactory(
        status=Status.READY_FOR_PICKUP,
        items=items if items is not None else [("Screen replacement", 1, "100.00", True)],
        deposits=deposits,
        **parties,
        **kwargs,
    )
    ticket.transition_to(
        Status.WAITING_FOR_PAYMENT, by=None, override_credit_limit=True, override_credit_hold=True
    )
    return ticket
