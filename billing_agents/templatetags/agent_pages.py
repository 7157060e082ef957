"""Small template helpers for the billing agent pages."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value: Decimal | None) -> str:
    """$1,234.50, or $12.00 after a minus sign (U+2212) when negative; empty for None."""
    if value is None:
        return ""
    sign = "\N{MINUS SIGN}" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The current query string with `param` set to `number` (other sections' pages kept)."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"
