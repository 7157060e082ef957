"""core.money.format_money: how every page, message, dialog and email shows money."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from core.money import format_money


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.56"), "$1,234.56"),
        (Decimal("-5"), "\N{MINUS SIGN}$5.00"),
        (Decimal("0"), "$0.00"),
        (Decimal("-0.001"), "$0.00"),
        (Decimal("400637.12"), "$400,637.12"),
        (Decimal("9999999999.99"), "$9,999,999,999.99"),
        (Decimal("2.345"), "$2.35"),
        (Decimal("2.335"), "$2.34"),
        (Decimal("-2.345"), "\N{MINUS SIGN}$2.35"),
        (7, "$7.00"),
        ("12.5", "$12.50"),
        (None, ""),
        ("", ""),
    ],
)
def test_format_money_shows_dollars_cents_thousands_and_a_true_minus(value, shown):
    assert format_money(value) == shown


def test_the_money_filter_is_format_money():
    rendered = Template("{{ a|money }}|{{ b|money }}|{{ c|money }}").render(
        Context({"a": Decimal("-1234.5"), "b": Decimal("0.005"), "c": None})
    )
    assert rendered == "\N{MINUS SIGN}$1,234.50|$0.01|"
