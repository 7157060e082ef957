"""Small display helpers for invoice pages."""

from decimal import Decimal

from django import template

from core.money import to_cents

register = template.Library()

STATUS_CLASSES = {
    "open": "text-bg-primary",
    "partially paid": "text-bg-info",
    "paid": "text-bg-success",
    "overdue": "text-bg-danger",
    "deleted": "text-bg-secondary",
}


@register.filter
def status_badge(display_status: str) -> str:
    """The Bootstrap badge class for an invoice's display status."""
    return STATUS_CLASSES.get(display_status, "text-bg-light")


@register.filter
def money(value) -> str:
    """$1,234.50 from a Decimal (no float on the way)."""
    if value is None or value == "":
        return ""
    amount = to_cents(Decimal(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
