"""The project's URL patterns, walked once for every test that checks each route."""

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def walk(patterns=None, prefix: str = "", namespaces: tuple = ()) -> Iterator[tuple]:
    """(route, pattern, namespaces) for every URL pattern, included ones too."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry, namespaces


def url_name(entry: URLPattern, namespaces: tuple) -> str:
    """The pattern's full URL name, "app:name" ("?" when it has none)."""
    return ":".join((*namespaces, entry.name or "?"))
