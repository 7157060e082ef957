"""iso_date and short_date print exactly what Django's date filter prints with their format."""

from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.test import override_settings

VALUES = [
    None,
    "",
    "2026-12-02",  # not a date: both print nothing
    date(2026, 1, 5),
    date(999, 12, 31),
    *[date(2026, month, 9) for month in range(1, 13)],
    # 02:30 UTC is still the evening before in New York: both print the local day.
    datetime(2026, 12, 2, 2, 30, tzinfo=UTC),
    datetime(2026, 6, 30, 23, 59, tzinfo=UTC),
]


def _render(source: str, value) -> str:
    return engines["django"].from_string(source).render({"value": value})


@pytest.mark.parametrize("value", VALUES)
@override_settings(TIME_ZONE="America/New_York")
def test_iso_date_is_the_date_filter_with_y_m_d(value):
    assert _render("{{ value|iso_date }}", value) == _render('{{ value|date:"Y-m-d" }}', value)


@pytest.mark.parametrize("value", VALUES)
@override_settings(TIME_ZONE="America/New_York")
def test_short_date_is_the_date_filter_with_m_j_y(value):
    assert _render("{{ value|short_date }}", value) == _render('{{ value|date:"M j, Y" }}', value)


@override_settings(TIME_ZONE="America/New_York")
def test_a_late_utc_time_shows_the_shops_local_day():
    assert _render("{{ value|iso_date }}", datetime(2026, 12, 2, 2, 30, tzinfo=UTC)) == "2026-12-01"
