"""Small display helpers for invoice pages."""

from django import template

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
