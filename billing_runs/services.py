"""Billing-run operations: set a payer's billing cycle, and invoice the payers due today.

Each is a keyword-only function; a rule a clerk can break raises a DomainError with a
message for the clerk. A run bills each payer in its own transaction, so one payer's
refusal never undoes another's invoices.
"""

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from billing_runs.cycles import days_for, describe, next_billing_date
from core.errors import DomainError
from core.money import ZERO, format_money
from invoicing.models import WEEKDAYS, Account, BillingCycle, Invoice, invoiceable_tickets
from invoicing.services import TicketsAlreadyInvoiced, create_invoices
from tickets.models import ticket_number

logger = logging.getLogger(__name__)


class InvalidBillingCycle(DomainError):
    """The cycle is unknown, its day does not fit it, or the payer cannot be invoiced."""


# --- billing cycle ---------------------------------------------------------------------


def _checked_day(account: Account, cycle: str, day: int | None) -> int | None:
    """The billing day to store for the cycle, or InvalidBillingCycle. The error's field
    names the form input that holds the day: `weekday` or `day_of_month`."""
    if cycle not in BillingCycle.values:
        raise InvalidBillingCycle("Choose a billing cycle from the list.", field="cycle")
    if not account.can_be_invoiced:
        raise InvalidBillingCycle(
            f"{account.name} has no direct-billing terms, so no billing run invoices it; "
            "give the customer net terms first.",
            field="cycle",
        )
    if cycle == BillingCycle.NONE:
        return None
    if cycle == BillingCycle.MONTHLY:
        if day not in days_for(cycle):
            raise InvalidBillingCycle(
                "Enter the day of the month to bill on, from 1 to 28 (every month has it).",
                field="day_of_month",
            )
        return day
    if day not in days_for(cycle):
        raise InvalidBillingCycle(
            f"Choose the weekday to bill on ({WEEKDAYS[0]} to {WEEKDAYS[-1]}).", field="weekday"
        )
    return day


def set_billing_cycle(*, account: Account, cycle: str, day: int | None, by) -> Account:
    """Set how often a billing run invoices the payer: no fixed cycle, weekly or every two
    weeks on a weekday (`day` 0 = Monday … 6 = Sunday), or monthly on a day (1 to 28).

    Checked before anything is written (InvalidBillingCycle beside the day's field); an
    account not saved yet (Account.of) is created for the payer. `last_billed_on` is kept:
    the new cycle counts from the last run.
    """
    day = _checked_day(account, cycle, day)
    if account.pk is None:
        account = Account.objects.for_payer(account.payer)
    # One UPDATE of the two columns: a run reading the account sees the old or the new cycle.
    Account.objects.filter(pk=account.pk).update(billing_cycle=cycle, billing_day=day)
    account.billing_cycle, account.billing_day = cycle, day
    logger.info(
        "Billing cycle of %s set to %s by %s", account.name, describe(cycle, day), by or "system"
    )
    return account


# --- billing run -----------------------------------------------------------------------


class Outcome(StrEnum):
    INVOICED = "invoiced"
    NOTHING = "nothing"
    FAILED = "failed"


@dataclass(frozen=True)
class RunResult:
    """What a run did for one payer; `message` is the line the clerk reads."""

    account: Account
    outcome: Outcome
    invoices: tuple[Invoice, ...] = ()
    ticket_count: int = 0
    total: Decimal = ZERO
    # Why nothing was created, or what else the clerk should know (email, later tickets).
    note: str = ""

    @property
    def message(self) -> str:
        name = self.account.name
        if self.outcome == Outcome.INVOICED:
            count = len(self.invoices)
            tickets = f"{self.ticket_count} ticket{'s' if self.ticket_count != 1 else ''}"
            invoices = f"{count} invoice{'s' if count != 1 else ''}"
            text = f"{name}: {tickets}, {invoices}, {format_money(self.total)}"
            return f"{text}; {self.note}" if self.note else text
        if self.outcome == Outcome.NOTHING:
            return f"{name}: nothing to invoice ({self.note})."
        return f"{name}: {self.note}"


def _numbers(ids: Iterable[int]) -> str:
    return ", ".join(ticket_number(pk) for pk in sorted(ids))


def _bill(
    account: Account, *, email: bool, seen: Collection[int] | None, today: date, by
) -> RunResult:
    """One payer of a run, all or nothing."""
    account = Account.objects.select_related("billing_agent", "customer").get(pk=account.pk)
    upcoming = next_billing_date(
        account.billing_cycle, account.billing_day, account.last_billed_on, today
    )
    if upcoming is None:
        return RunResult(account, Outcome.NOTHING, note="no billing cycle")
    if upcoming > today:
        why = (
            "already billed today"
            if account.last_billed_on == today
            else f"not due until {upcoming:%Y-%m-%d}"
        )
        return RunResult(account, Outcome.NOTHING, note=why)
    current = list(
        invoiceable_tickets()
        .invoiceable()
        .for_account(account)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = sorted(set(current if seen is None else seen))
    if not ids:
        return RunResult(account, Outcome.NOTHING, note="no tickets waiting for payment")
    later = sorted(set(current) - set(ids))
    send = email and bool(account.email)
    try:
        with transaction.atomic():
            invoices = create_invoices(
                account=account,
                ticket_ids=ids,
                batch=account.prefers_batch,
                issue_date=today,
                by=by,
                send_email=send,
            )
            Account.objects.filter(pk=account.pk).update(last_billed_on=today)
    except TicketsAlreadyInvoiced as error:
        return RunResult(
            account,
            Outcome.FAILED,
            note=f"its tickets were invoiced meanwhile ({', '.join(error.numbers)}); "
            "nothing created.",
        )
    except DomainError as error:
        return RunResult(account, Outcome.FAILED, note=f"{error.message} Nothing created.")
    notes = []
    if send:
        notes.append(f"email queued to {account.email}")
    elif email:
        notes.append("not emailed: no email address")
    if later:
        notes.append(f"left for later, added after the list was shown: {_numbers(later)}")
    return RunResult(
        account,
        Outcome.INVOICED,
        invoices=tuple(invoices),
        ticket_count=len(ids),
        total=sum((invoice.total for invoice in invoices), ZERO),
        note="; ".join(notes),
    )


def run_billing(
    *,
    accounts: Iterable[Account],
    email: bool,
    by,
    seen: Mapping[int, Collection[int]] | None = None,
    today: date | None = None,
) -> list[RunResult]:
    """Invoice each payer whose cycle is due, in the order given, by its invoice method
    (Account.prefers_batch: one invoice for all its tickets, else one per ticket), issued
    today; optionally email the invoices (queued with each payer's invoices, sent by the
    worker; a payer without an email address is invoiced and reported, not refused).
    Sets last_billed_on = today.

    `seen` (account id -> ticket ids) are the tickets the clerk was shown: only those are
    invoiced, a ticket added since is left for later and named in the result, and an
    account missing from it has nothing to invoice. Without `seen`, every ticket the
    payer can be invoiced for now.

    Each payer runs in its own transaction: a payer whose tickets were invoiced meanwhile
    (or are no longer invoiceable) gets a FAILED result with the reason and nothing
    created, and the others go on. Idempotent: a payer billed today is not due again
    today, so a second submit reports "nothing to invoice".
    """
    today = today or timezone.localdate()
    results = []
    for account in accounts:
        wanted = None if seen is None else seen.get(account.pk, ())
        results.append(_bill(account, email=email, seen=wanted, today=today, by=by))
    return results
