"""Template filters every page uses (loaded as a builtin in settings.TEMPLATES)."""

from decimal import Decimal

from django import template

from core.money import to_cents

register = template.Library()


@register.filter
def money(value) -> str:
    """$1,234.50; a U+2212 minus sign when negative; empty for None (Decimal, never float)."""
    if value is None or value == "":
        return ""
    amount = to_cents(Decimal(value))
    sign = "\N{MINUS SIGN}" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The current query string with `param` set to `number` (every other filter kept)."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"
