"""Template filters every page uses (loaded as a builtin in settings.TEMPLATES)."""

from django import template

from core.links import row_url as _row_url
from core.money import format_money

register = template.Library()


@register.filter
def money(value) -> str:
    """See core.money.format_money."""
    return format_money(value)


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
