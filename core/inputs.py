"""The one input policy: how ids, tokens, numbers and dates sent by a client are read.

Every view, form and service that takes one of these from a request goes through here,
so that "what counts as an id", "what counts as a number" and "which dates are sane"
each have exactly one answer.
"""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from core.errors import DomainError

# An id is 1 to 12 ASCII digits: `str.isdigit()` and `int()` accept "²" and "١٢٣" too.
ID_PATTERN = re.compile(r"[0-9]{1,12}")
MAX_ID_LENGTH = 12
# Plain decimal notation: optional sign, ASCII digits (optionally grouped by commas in
# threes), at most one point. No exponent, no NaN or infinity, no other digits.
PLAIN_DECIMAL = re.compile(r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)")
PLAIN_INTEGER = re.compile(r"[+-]?[0-9]+")
# Longest numeric text read at all: far beyond any column, short of costly parsing.
MAX_NUMBER_LENGTH = 40

# Document dates (invoice issue date, payment received date...) lie in this window:
# from this day to one year after today.
EARLIEST_DOCUMENT_DATE = date(2000, 1, 1)


class InvalidInput(DomainError):
    """A value sent by the client is not in the shape the policy accepts."""


def parse_id(value: object) -> int | None:
    """A primary key from ASCII digits (surrounding blanks ignored), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10**MAX_ID_LENGTH else None
    if not isinstance(value, str):
        return None
    value = value.strip()
    return int(value) if ID_PATTERN.fullmatch(value) else None


def parse_token(value: object, kinds: tuple[str, ...]) -> tuple[str, int] | None:
    """("agent", 12) from "agent-12" when the kind is one of `kinds`, else None."""
    if not isinstance(value, str):
        return None
    kind, _, pk = value.strip().partition("-")
    number = parse_id(pk) if pk == pk.strip() else None
    if kind not in kinds or number is None:
        return None
    return kind, number


def search_text(value: object, *, max_length: int = 100) -> str:
    """Text to search by: control characters (PostgreSQL refuses NUL) become spaces, capped."""
    if not isinstance(value, str):
        return ""
    text = "".join(ch if ch.isprintable() else " " for ch in value[: max_length * 4])
    return text.strip()[:max_length]


def _number_error(text: str) -> str:
    """Why `text` is not plain notation, worded for the clerk."""
    lowered = text.lower().lstrip("+-")
    if lowered in {"nan", "snan", "inf", "infinity"}:
        return "Enter a number such as 12.50; NaN and infinity are not amounts."
    if any(ch.isnumeric() and ch not in "0123456789" for ch in text):
        return "Use the digits 0 to 9."
    if re.fullmatch(r"[+-]?[0-9.,]+[eE][+-]?[0-9]+", text):
        return "Write the number out in full (for example 100, not 1e2)."
    return "Enter a number."


def parse_decimal(value: object) -> Decimal:
    """A Decimal from plain decimal notation; InvalidInput (with a clear message) otherwise.

    Grouping commas must come in threes ("1,234.50"); "-0" reads as 0.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise InvalidInput("Enter a number such as 12.50; NaN and infinity are not amounts.")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    text = str(value).strip()
    if len(text) > MAX_NUMBER_LENGTH:
        raise InvalidInput("That number is far too long.")
    if not PLAIN_DECIMAL.fullmatch(text):
        raise InvalidInput(_number_error(text))
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:  # the pattern admits nothing Decimal refuses; kept as a guard
        raise InvalidInput("Enter a number.") from None
    return abs(number) if number == 0 else number


def parse_integer(value: object) -> int:
    """An int from an optional sign and ASCII digits; InvalidInput otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if len(text) > MAX_NUMBER_LENGTH:
        raise InvalidInput("That number is far too long.")
    if not PLAIN_INTEGER.fullmatch(text):
        message = _number_error(text)
        raise InvalidInput("Enter a whole number." if message == "Enter a number." else message)
    return int(text)


def document_date_window() -> tuple[date, date]:
    """The first and last date a document (invoice, payment) may carry."""
    today = timezone.localdate()
    try:
        last = today.replace(year=today.year + 1)
    except ValueError:  # 29 February: a year later there is only the 28th
        last = today.replace(year=today.year + 1, day=28)
    return EARLIEST_DOCUMENT_DATE, last


def check_document_date(value: date, *, field: str | None = None) -> date:
    """`value` if it lies in the document window, else InvalidInput naming the window."""
    first, last = document_date_window()
    if not first <= value <= last:
        raise InvalidInput(
            f"Enter a date between {first:%Y-%m-%d} and {last:%Y-%m-%d}.", field=field
        )
    return value


class IdPathConverter:
    """`<id:pk>` in URL patterns: 1-12 ASCII digits, so any other id is a 404 before a view
    (or the database) sees it; the same rule as `parse_id`."""

    regex = f"[0-9]{{1,{MAX_ID_LENGTH}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
