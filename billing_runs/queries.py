"""What the billing-run page and the dashboard read: the payers due for a run today.

A payer is listed when its cycle is due (billing_runs.cycles) and it has tickets that can
be invoiced (Waiting for Payment, something due, on no live invoice). One query finds
them with their ticket count and amount, a second one the ids of those tickets.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from billing_runs.cycles import days_for, describe, due_if_billed_before, next_billing_date
from core.money import ZERO
from invoicing.models import Account, BillingCycle, invoiceable_tickets

COUNT = models.IntegerField()
AMOUNT = models.DecimalField(max_digits=14, decimal_places=2)


def due_condition(today: date) -> Q:
    """Accounts whose cycle is due today, as a filter: one clause per cycle and day,
    each comparing last_billed_on with a date computed by the rule in cycles.py."""
    condition = Q(pk__in=[])
    for cycle in (BillingCycle.WEEKLY, BillingCycle.BIWEEKLY, BillingCycle.MONTHLY):
        for day in days_for(cycle):
            before = due_if_billed_before(cycle, day, today)
            condition |= Q(billing_cycle=cycle, billing_day=day) & (
                Q(last_billed_on__isnull=True) | Q(last_billed_on__lt=before)
            )
    return condition


def _invoiceable_of_outer_account():
    """The invoiceable tickets of the outer query's account (Account.bills_ticket)."""
    return (
        invoiceable_tickets()
        .invoiceable()
        .filter(
            Q(billing_agent_id=OuterRef("billing_agent_id"))
            | Q(customer_id=OuterRef("customer_id"), billing_agent__isnull=True)
        )
    )


def _aggregate(expression, function: str, output_field) -> Coalesce:
    """COUNT / SUM over the outer account's invoiceable tickets, as one scalar subquery
    (a plain aggregate without GROUP BY: one row per account, never multiplied)."""
    value = models.Func(expression, function=function, output_field=output_field)
    rows = _invoiceable_of_outer_account().order_by().annotate(v=value).values("v")
    zero = Value(0) if function == "COUNT" else Value(ZERO)
    return Coalesce(Subquery(rows, output_field=output_field), zero, output_field=output_field)


def due_accounts(today: date):
    """Accounts due for a run today that can be invoiced and have tickets to invoice,
    annotated with ticket_count and ticket_amount (the sum of their balance due)."""
    return (
        Account.objects.filter(due_condition(today))
        .filter(Q(billing_agent__isnull=False) | Q(customer__net_terms_days__isnull=False))
        .select_related("billing_agent", "customer")
        .annotate(
            ticket_count=_aggregate(F("id"), "COUNT", COUNT),
            ticket_amount=_aggregate(F("balance_due"), "SUM", AMOUNT),
        )
        .filter(ticket_count__gt=0)
    )


def due_payer_count(today: date) -> int:
    """How many payers a run would list today (the dashboard's figure), in one query."""
    return (
        Account.objects.filter(due_condition(today))
        .filter(Q(billing_agent__isnull=False) | Q(customer__net_terms_days__isnull=False))
        .filter(Exists(_invoiceable_of_outer_account()))
        .count()
    )


@dataclass(frozen=True)
class DuePayer:
    """One row of the billing-run page."""

    account: Account
    next_billing_date: date
    ticket_count: int
    amount: Decimal
    # The tickets the row counts: the run invoices these and no ticket added later.
    ticket_ids: tuple[int, ...]

    @property
    def cycle(self) -> str:
        return describe(self.account.billing_cycle, self.account.billing_day)

    @property
    def seen(self) -> str:
        """The ticket ids as the page's hidden field carries them ("12,15,18")."""
        return ",".join(map(str, self.ticket_ids))


def invoiceable_ticket_ids(accounts: list[Account]) -> dict[int, tuple[int, ...]]:
    """Account id -> the ids of its invoiceable tickets, oldest id first: one query."""
    by_agent = {a.billing_agent_id: a.pk for a in accounts if a.is_agent}
    by_customer = {a.customer_id: a.pk for a in accounts if not a.is_agent}
    if not accounts:
        return {}
    rows = (
        invoiceable_tickets()
        .invoiceable()
        .filter(
            Q(billing_agent_id__in=list(by_agent))
            | Q(customer_id__in=list(by_customer), billing_agent__isnull=True)
        )
        .order_by("pk")
        .values_list("pk", "billing_agent_id", "customer_id")
    )
    found: dict[int, list[int]] = defaultdict(list)
    for pk, agent_id, customer_id in rows:
        account_id = by_agent.get(agent_id) if agent_id else by_customer.get(customer_id)
        if account_id is not None:
            found[account_id].append(pk)
    return {account_id: tuple(ids) for account_id, ids in found.items()}


def due_payers(today: date) -> list[DuePayer]:
    """Every payer due for a run today with its tickets, by payer name: two queries."""
    accounts = list(due_accounts(today))
    ids = invoiceable_ticket_ids(accounts)
    rows = [
        DuePayer(
            account=account,
            next_billing_date=next_billing_date(
                account.billing_cycle, account.billing_day, account.last_billed_on, today
            ),
            ticket_count=account.ticket_count,
            amount=account.ticket_amount,
            ticket_ids=ids.get(account.pk, ()),
        )
        for account in accounts
    ]
    return sorted(rows, key=lambda row: (row.account.name.casefold(), row.account.pk))
