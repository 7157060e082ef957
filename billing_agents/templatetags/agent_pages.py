"""Small template helpers for the billing agent pages."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_query(context: template.Context, param: str, number: int) -> str:
    """The current query string with `param` set to `number` (other sections' pages kept)."""
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"
