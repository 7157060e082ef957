"""Template filters every page uses (loaded as a builtin in settings.TEMPLATES)."""

from datetime import date

from django import template

from core.links import row_url as _row_url
from core.money import format_money

register = template.Library()

# What `|date:"M"` prints in this English-only shop, without a translation lookup per call.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def money(value) -> str:
    """See core.money.format_money."""
    return format_money(value)


@register.filter(expects_localtime=True)
def iso_date(value: date | None) -> str:
    """`|date:"Y-m-d"` (the shop's date, in its time zone), at a fraction of the cost: the
    date filter looks up the language and the format for every value, and list pages show
    one or more dates per row."""
    if not isinstance(value, date):
        return ""
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


@register.filter(expects_localtime=True)
def short_date(value: date | None) -> str:
    """`|date:"M j, Y"` ("Dec 2, 2026"), as cheaply as iso_date."""
    if not isinstance(value, date):
        return ""
    return f"{MONTHS[value.month - 1]} {value.day}, {value.year:04d}"


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The current query string with `param` set to `number` (every other filter kept)."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"


@register.simple_tag
def row_url(name: str, pk: int) -> str:
    """`{% url name pk %}` for a row of a list, without a reverse() per row (core.links)."""
    return _row_url(name, pk)
