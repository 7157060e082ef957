"""The due rule of billing cycles (billing_runs.cycles): plain dates, no database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_runs.cycles import (
    days_for,
    describe,
    due_if_billed_before,
    is_due,
    next_billing_date,
)
from invoicing.models import BillingCycle

WEEKLY, BIWEEKLY, MONTHLY = BillingCycle.WEEKLY, BillingCycle.BIWEEKLY, BillingCycle.MONTHLY
MON, WED, FRI, SUN = 0, 2, 4, 6
# 2026-03-06 is a Friday.
FRIDAY = date(2026, 3, 6)


def test_no_cycle_has_no_billing_date_and_is_never_due():
    assert next_billing_date("", None, None, FRIDAY) is None
    assert next_billing_date("", None, date(2020, 1, 1), FRIDAY) is None
    assert not is_due("", None, None, FRIDAY)


# --- weekly --------------------------------------------------------------------------


def test_weekly_billed_on_its_weekday_is_due_a_week_later():
    assert next_billing_date(WEEKLY, FRI, FRIDAY, FRIDAY) == FRIDAY + timedelta(days=7)


def test_weekly_billed_today_is_not_due_today():
    assert not is_due(WEEKLY, FRI, FRIDAY, FRIDAY)


def test_weekly_billed_off_cycle_is_due_on_the_next_weekday():
    wednesday = FRIDAY - timedelta(days=2)
    assert next_billing_date(WEEKLY, FRI, wednesday, FRIDAY) == FRIDAY
    assert is_due(WEEKLY, FRI, wednesday, FRIDAY)


def test_weekly_is_due_on_the_weekday_not_the_day_before():
    last_friday = FRIDAY - timedelta(days=7)
    thursday = FRIDAY - timedelta(days=1)
    assert not is_due(WEEKLY, FRI, last_friday, thursday)
    assert is_due(WEEKLY, FRI, last_friday, FRIDAY)


def test_weekly_sunday_and_monday_edges_wrap_the_week():
    sunday = date(2026, 3, 8)
    assert next_billing_date(WEEKLY, MON, sunday, sunday) == sunday + timedelta(days=1)
    monday = date(2026, 3, 9)
    assert next_billing_date(WEEKLY, SUN, monday, monday) == monday + timedelta(days=6)
    assert next_billing_date(WEEKLY, SUN, sunday, sunday) == sunday + timedelta(days=7)


def test_weekly_never_billed_is_due_since_the_latest_weekday():
    assert next_billing_date(WEEKLY, FRI, None, FRIDAY) == FRIDAY
    assert next_billing_date(WEEKLY, MON, None, FRIDAY) == date(2026, 3, 2)
    assert next_billing_date(WEEKLY, SUN, None, FRIDAY) == date(2026, 3, 1)
    assert is_due(WEEKLY, SUN, None, FRIDAY)


def test_weekly_missed_weeks_stay_due_from_the_first_missed_weekday():
    long_ago = FRIDAY - timedelta(days=30)
    assert next_billing_date(WEEKLY, FRI, long_ago, FRIDAY) == date(2026, 2, 6)


# --- every two weeks -----------------------------------------------------------------


def test_biweekly_billed_on_its_weekday_is_due_two_weeks_later():
    assert next_billing_date(BIWEEKLY, FRI, FRIDAY, FRIDAY) == FRIDAY + timedelta(days=14)
    assert not is_due(BIWEEKLY, FRI, FRIDAY, FRIDAY + timedelta(days=13))
    assert is_due(BIWEEKLY, FRI, FRIDAY, FRIDAY + timedelta(days=14))


def test_biweekly_billed_off_cycle_waits_for_the_weekday_after_fourteen_days():
    wednesday = date(2026, 3, 4)
    # +14 days is Wednesday the 18th; the next Friday on or after it is the 20th.
    assert next_billing_date(BIWEEKLY, FRI, wednesday, FRIDAY) == date(2026, 3, 20)


def test_biweekly_never_billed_is_due_on_the_latest_weekday():
    assert next_billing_date(BIWEEKLY, MON, None, FRIDAY) == date(2026, 3, 2)
    assert is_due(BIWEEKLY, MON, None, FRIDAY)


def test_biweekly_billed_today_is_not_due_today():
    assert not is_due(BIWEEKLY, FRI, FRIDAY, FRIDAY)


# --- monthly -------------------------------------------------------------------------


def test_monthly_before_the_day_is_due_the_same_month():
    assert next_billing_date(MONTHLY, 10, date(2026, 3, 5), FRIDAY) == date(2026, 3, 10)


def test_monthly_on_or_after_the_day_is_due_next_month():
    assert next_billing_date(MONTHLY, 1, date(2026, 3, 1), FRIDAY) == date(2026, 4, 1)
    assert next_billing_date(MONTHLY, 5, date(2026, 3, 6), FRIDAY) == date(2026, 4, 5)


def test_monthly_month_ends_land_on_the_day_of_the_next_month():
    assert next_billing_date(MONTHLY, 28, date(2026, 1, 31), FRIDAY) == date(2026, 2, 28)
    assert next_billing_date(MONTHLY, 28, date(2026, 2, 28), FRIDAY) == date(2026, 3, 28)
    assert next_billing_date(MONTHLY, 1, date(2026, 1, 31), FRIDAY) == date(2026, 2, 1)
    # A leap year's February 29th bills on day 28 of March.
    assert next_billing_date(MONTHLY, 28, date(2028, 2, 29), FRIDAY) == date(2028, 3, 28)


def test_monthly_december_rolls_into_january():
    assert next_billing_date(MONTHLY, 15, date(2026, 12, 20), FRIDAY) == date(2027, 1, 15)


def test_monthly_never_billed_is_due_since_the_latest_day():
    assert next_billing_date(MONTHLY, 1, None, FRIDAY) == date(2026, 3, 1)
    assert next_billing_date(MONTHLY, 6, None, FRIDAY) == FRIDAY
    assert next_billing_date(MONTHLY, 20, None, FRIDAY) == date(2026, 2, 20)
    assert next_billing_date(MONTHLY, 28, None, date(2026, 3, 1)) == date(2026, 2, 28)
    assert next_billing_date(MONTHLY, 15, None, date(2026, 1, 3)) == date(2025, 12, 15)


def test_monthly_billed_today_is_not_due_today():
    assert not is_due(MONTHLY, 6, FRIDAY, FRIDAY)
    assert is_due(MONTHLY, 6, FRIDAY - timedelta(days=1), FRIDAY)


# --- days and words ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle", "day"), [(WEEKLY, 7), (WEEKLY, None), (BIWEEKLY, -1), (MONTHLY, 0), (MONTHLY, 29)]
)
def test_a_day_outside_the_cycle_is_a_programming_error(cycle, day):
    with pytest.raises(ValueError, match="billing day"):
        next_billing_date(cycle, day, None, FRIDAY)


@pytest.mark.parametrize(
    ("cycle", "day", "words"),
    [
        (MONTHLY, 1, "Monthly on day 1"),
        (WEEKLY, FRI, "Weekly on Friday"),
        (BIWEEKLY, MON, "Every two weeks on Monday"),
        ("", None, "No fixed cycle"),
        (WEEKLY, None, "No fixed cycle"),
    ],
)
def test_describe_names_the_cycle(cycle, day, words):
    assert describe(cycle, day) == words


# --- the database threshold equals the rule -----------------------------------------

cycles_and_days = st.sampled_from(
    [(cycle, day) for cycle in (WEEKLY, BIWEEKLY, MONTHLY) for day in days_for(cycle)]
)
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))


@given(cycles_and_days, st.one_of(st.none(), days), days)
def test_due_if_billed_before_agrees_with_the_rule(cycle_and_day, last_billed_on, today):
    cycle, day = cycle_and_day
    before = due_if_billed_before(cycle, day, today)
    threshold_says = last_billed_on is None or last_billed_on < before
    assert is_due(cycle, day, last_billed_on, today) == threshold_says


@given(cycles_and_days, days)
def test_billed_today_is_never_due_today(cycle_and_day, today):
    cycle, day = cycle_and_day
    assert not is_due(cycle, day, today, today)
    assert is_due(cycle, day, None, today)
