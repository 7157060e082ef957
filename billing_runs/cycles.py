"""When a payer's billing cycle makes it due for a billing run: plain date arithmetic.

The rule (next_billing_date) is the one source; the database filter the run page uses
(billing_runs.queries.due_condition) is built from `due_if_billed_before`, which a test
proves equivalent to it for every cycle, day and last billing date.
"""

from datetime import date, timedelta

from invoicing.models import WEEKDAYS, BillingCycle

WEEKLY_CYCLES = frozenset({BillingCycle.WEEKLY, BillingCycle.BIWEEKLY})
# A monthly cycle bills on day 1 to 28, so every month has its day.
MONTH_DAYS = range(1, 29)
WEEK_DAYS = range(7)


def days_for(cycle: str) -> range:
    """The billing days a cycle allows: weekdays 0 (Monday) to 6, or days 1 to 28."""
    if cycle in WEEKLY_CYCLES:
        return WEEK_DAYS
    if cycle == BillingCycle.MONTHLY:
        return MONTH_DAYS
    return range(0)


def describe(cycle: str, day: int | None) -> str:
    """How pages name a cycle: "Weekly on Friday", "Every two weeks on Monday",
    "Monthly on day 1", "No fixed cycle"."""
    if cycle in WEEKLY_CYCLES and day in WEEK_DAYS:
        return f"{BillingCycle(cycle).label} on {WEEKDAYS[day]}"
    if cycle == BillingCycle.MONTHLY and day in MONTH_DAYS:
        return f"Monthly on day {day}"
    return BillingCycle.NONE.label


def _check(cycle: str, day: int | None) -> None:
    if day not in days_for(cycle):
        raise ValueError(f"{day!r} is not a billing day of the cycle {cycle!r}")


def _latest_weekday(weekday: int, on_or_before: date) -> date:
    return on_or_before - timedelta(days=(on_or_before.weekday() - weekday) % 7)


def _next_weekday(weekday: int, on_or_after: date) -> date:
    return on_or_after + timedelta(days=(weekday - on_or_after.weekday()) % 7)


def _latest_month_day(day: int, on_or_before: date) -> date:
    if on_or_before.day >= day:
        return on_or_before.replace(day=day)
    last_of_previous = on_or_before.replace(day=1) - timedelta(days=1)
    return last_of_previous.replace(day=day)


def _next_month_day(day: int, after: date) -> date:
    if after.day < day:
        return after.replace(day=day)
    first_of_next = (after.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_of_next.replace(day=day)


def latest_cycle_date(cycle: str, day: int, today: date) -> date:
    """The most recent billing date of the cycle on or before `today`."""
    _check(cycle, day)
    if cycle == BillingCycle.MONTHLY:
        return _latest_month_day(day, today)
    return _latest_weekday(day, today)


def next_billing_date(
    cycle: str, day: int | None, last_billed_on: date | None, today: date
) -> date | None:
    """The payer's next billing date; it is due for a run when that date is <= today.

    - No cycle: None (never listed).
    - Never billed: the most recent billing date of the cycle on or before today, so a
      payer given a cycle is due at once (its weekday or day of the month has passed).
    - Weekly on weekday d: the first d after last_billed_on (billed on a Friday with a
      Friday cycle: the next Friday; billed on a Wednesday: the Friday two days later).
    - Every two weeks on weekday d: the first d on or after last_billed_on + 14 days.
    - Monthly on day n (1 to 28): the first day n after last_billed_on (billed on the
      31st with day 28: the 28th of the next month; billed on the 5th with day 10: the
      10th of the same month).

    Billed today is never due today: every rule lands on a later day.
    """
    if not cycle:
        return None
    _check(cycle, day)
    if last_billed_on is None:
        return latest_cycle_date(cycle, day, today)
    if cycle == BillingCycle.WEEKLY:
        return _next_weekday(day, last_billed_on + timedelta(days=1))
    if cycle == BillingCycle.BIWEEKLY:
        return _next_weekday(day, last_billed_on + timedelta(days=14))
    return _next_month_day(day, last_billed_on)


def is_due(cycle: str, day: int | None, last_billed_on: date | None, today: date) -> bool:
    """next_billing_date(...) is today or earlier (a payer without a cycle never is)."""
    upcoming = next_billing_date(cycle, day, last_billed_on, today)
    return upcoming is not None and upcoming <= today


def due_if_billed_before(cycle: str, day: int, today: date) -> date:
    """The same rule as a threshold: a payer with this cycle and day is due today exactly
    when it was never billed or last billed before the returned date.

    Weekly and monthly: a billing date falls in (last_billed_on, today] exactly when the
    latest one on or before today is after last_billed_on. Every two weeks: the first
    weekday on or after last_billed_on + 14 is <= today exactly when the latest one on or
    before today is >= last_billed_on + 14, i.e. last_billed_on < latest - 13 days.
    """
    latest = latest_cycle_date(cycle, day, today)
    if cycle == BillingCycle.BIWEEKLY:
        return latest - timedelta(days=13)
    return latest
