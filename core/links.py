"""Row links without one `reverse()` per row.

A list page links every row to a few pages (view, edit, deactivate); `reverse()` walks the
URL resolver each time, which on a 25-row page was a large share of the render. The link
of a route that takes one integer is the same text around the number, so the text is
worked out once per route (and per URL conf and script prefix) and the number put in.
"""

from functools import cache

from django.urls import get_script_prefix, get_urlconf, reverse

# Never a real primary key in this shop; it marks where the number goes.
_MARK = 2147483629


@cache
def _around(urlconf: str | None, prefix: str, name: str) -> tuple[str, str]:
    url = reverse(name, args=[_MARK], urlconf=urlconf)
    head, mark, tail = url.rpartition(str(_MARK))
    if not mark:
        raise ValueError(f"{name} does not take one integer argument")
    return head, tail


def row_url(name: str, pk: int) -> str:
    """`reverse(name, args=[pk])` for a route with one integer argument, from a cache."""
    head, tail = _around(get_urlconf(), get_script_prefix(), name)
    return f"{head}{int(pk)}{tail}"
