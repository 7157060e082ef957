# ruff: noqa: RUF001 -- the non-ASCII digits are the point of these tests
"""The one input policy (core.inputs) and the form fields built on it (core.forms)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django import forms
from django.utils import timezone

from core.forms import (
    DocumentDateField,
    IdChoiceField,
    MoneyField,
    QuantityField,
    StrictIntegerField,
)
from core.inputs import (
    InvalidInput,
    check_document_date,
    parse_decimal,
    parse_id,
    parse_integer,
    parse_token,
)
from core.money import MAX_MONEY, AmountTooLarge, ensure_fits
from tests.factories import LocationFactory
from tickets.models import Location


def _errors(field: forms.Field, value: str) -> list[str]:
    try:
        field.clean(value)
    except forms.ValidationError as error:
        return error.messages
    return []


# --- ids and tokens ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("12", 12), (" 7 ", 7), ("000123", 123)])
def test_id_is_ascii_digits(text, expected):
    assert parse_id(text) == expected


@pytest.mark.parametrize(
    "text", ["²", "١٢٣", "12²", "-1", "+1", "1.0", "1e2", "0x10", "", " ", "\x00", "9" * 13]
)
def test_id_refuses_anything_but_up_to_twelve_ascii_digits(text):
    assert parse_id(text) is None


def test_id_refuses_non_strings():
    assert parse_id(None) is None
    assert parse_id(["1"]) is None


def test_token_names_a_known_kind_and_an_ascii_id():
    assert parse_token("agent-12", ("agent", "customer")) == ("agent", 12)
    assert parse_token("customer-3", ("agent", "customer")) == ("customer", 3)


@pytest.mark.parametrize("token", ["agent-²", "agent-١٢", "agent-", "vendor-1", "agent-1-2", "1"])
def test_token_refuses_unknown_kinds_and_non_ascii_ids(token):
    assert parse_token(token, ("agent", "customer")) is None


@pytest.mark.django_db
def test_id_choice_field_refuses_a_non_ascii_id():
    location = LocationFactory()
    field = IdChoiceField(queryset=Location.objects.all())
    arabic = "".join(chr(0x0660 + int(d)) for d in str(location.pk))
    assert field.clean(str(location.pk)) == location
    assert _errors(field, arabic)
    assert _errors(field, "²")


# --- money, quantity, whole numbers ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", "12"), ("12.5", "12.5"), ("0.01", "0.01"), (".5", "0.5"), ("1,234.50", "1234.50")],
)
def test_money_field_accepts_plain_decimal_notation(text, expected):
    assert MoneyField().clean(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "inf", "-Infinity", "Infinity"])
def test_money_field_refuses_nan_and_infinity(text):
    assert _errors(MoneyField(), text) == [
        "Enter a number such as 12.50; NaN and infinity are not amounts."
    ]


@pytest.mark.parametrize("text", ["1e2", "1E2", "1.5e-3"])
def test_money_field_refuses_exponent_notation(text):
    assert _errors(MoneyField(), text) == [
        "Write the number out in full (for example 100, not 1e2)."
    ]


@pytest.mark.parametrize("text", ["١٢٣", "²", "١٢.٥", "１２"])
def test_money_field_refuses_non_ascii_digits(text):
    assert _errors(MoneyField(), text) == ["Use the digits 0 to 9."]


@pytest.mark.parametrize("text", ["1,2,3", "12,34", "0x10", "1..2", "--1", "1 000", "\x00"])
def test_money_field_refuses_other_shapes(text):
    assert _errors(MoneyField(), text) == ["Enter a number."]


def test_money_field_refuses_more_than_two_decimals():
    assert _errors(MoneyField(), "1.234") == ["Enter whole cents (at most 2 decimal places)."]


def test_money_field_says_too_large_past_the_column():
    assert MoneyField().clean("9999999999.99") == MAX_MONEY
    assert _errors(MoneyField(), "10000000000") == ["That is too large: at most $9,999,999,999.99."]
    assert _errors(MoneyField(), "9" * 30) == ["That is too large: at most $9,999,999,999.99."]


def test_money_field_refuses_absurdly_long_text():
    assert _errors(MoneyField(), "9" * 100) == ["That number is far too long."]


def test_negative_zero_reads_as_zero():
    value = parse_decimal("-0")
    assert value == 0 and not value.is_signed()


def test_money_field_leaves_negatives_to_its_range_rule():
    assert MoneyField().clean("-5") == Decimal("-5")
    assert _errors(MoneyField(min_value=0), "-5")


def test_quantity_field_holds_what_its_column_holds():
    assert QuantityField().clean("99999999.99") == Decimal("99999999.99")
    assert _errors(QuantityField(), "100000000") == ["That is too large: at most 99,999,999."]
    assert _errors(QuantityField(), "1e2") == [
        "Write the number out in full (for example 100, not 1e2)."
    ]


def test_django_integer_field_accepts_arabic_indic_digits_but_the_strict_one_does_not():
    assert forms.IntegerField().clean("١٢٣") == 123
    assert _errors(StrictIntegerField(), "١٢٣") == ["Use the digits 0 to 9."]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e2", "Write the number out in full (for example 100, not 1e2)."),
        ("30.0", "Enter a whole number."),
        ("NaN", "Enter a number such as 12.50; NaN and infinity are not amounts."),
        ("²", "Use the digits 0 to 9."),
    ],
)
def test_strict_integer_field_refuses_what_is_not_ascii_digits(text, message):
    assert _errors(StrictIntegerField(), text) == [message]


def test_strict_integer_field_accepts_ascii_digits_and_keeps_its_bounds():
    assert StrictIntegerField(max_value=365).clean(" 30 ") == 30
    assert _errors(StrictIntegerField(max_value=365), "366")


def test_parse_integer_refuses_decimals():
    with pytest.raises(InvalidInput):
        parse_integer("1.5")


# --- dates and column ranges -------------------------------------------------------------


def test_document_date_field_refuses_9999_12_31():
    errors = _errors(DocumentDateField(), "9999-12-31")
    assert len(errors) == 1 and errors[0].startswith("Enter a date between 2000-01-01 and ")


def test_document_date_field_refuses_dates_before_2000():
    assert _errors(DocumentDateField(), "1999-12-31")


def test_document_date_field_accepts_today_and_up_to_a_year_ahead():
    today = timezone.localdate()
    field = DocumentDateField()
    assert field.clean(today.isoformat()) == today
    assert field.clean((today + timedelta(days=365)).isoformat()) == today + timedelta(days=365)
    assert _errors(field, (today + timedelta(days=400)).isoformat())


def test_document_date_check_names_the_field():
    with pytest.raises(InvalidInput) as error:
        check_document_date(date(1900, 1, 1), field="issue_date")
    assert error.value.field == "issue_date"


def test_an_amount_past_the_money_column_is_too_large():
    assert ensure_fits(MAX_MONEY, what="the total") == MAX_MONEY
    with pytest.raises(AmountTooLarge) as error:
        ensure_fits(MAX_MONEY + Decimal("0.01"), what="the total", field="amount")
    assert error.value.field == "amount"
    assert "too large" in error.value.message


@pytest.mark.django_db
@pytest.mark.parametrize("junk", ["9" * 13, "9" * 30, "0x10"])
def test_an_id_in_a_path_longer_than_12_digits_is_a_404(manager_client, junk):
    assert manager_client.get(f"/invoices/1/remittances/{junk}/void/").status_code == 404
    assert manager_client.get(f"/invoices/{junk}/").status_code == 404
