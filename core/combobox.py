"""The one search-as-you-type picker (WAI-ARIA combobox) every form uses for a big choice.

A form field that picks among thousands of rows (billing agents, payers) keeps its own
field class and validation, and takes a `Combobox` widget. The widget draws, through
templates/includes/combobox.html, a text box (role="combobox") whose typing asks a search
endpoint for at most LIMIT options (templates/includes/combobox_options.html), the hidden
input that carries the chosen value under the field's own name, and, when the server was
asked to search (no JavaScript), at most LIMIT results as radio buttons or links.

How the server reads a submitted picker (Combobox.bind, called by ComboboxMixin):
- the text box (`query_name`) absent: the hidden value is used as posted;
- the text box emptied: no choice;
- the text box unchanged since the page drew it (`<query_name>_shown`): the hidden value
  (or the radio ticked among the results) is the choice;
- otherwise the clerk typed a search: `form.searching` is true, the view saves nothing
  and renders the same form again with the matches.
"""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpRequest, QueryDict
from django.urls import reverse

from core.inputs import search_text

LIMIT = 15
# The ids a search request may give its listbox (the options' ids are derived from it).
LISTBOX_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,79}")
DEFAULT_LISTBOX = "combobox-listbox"
# Query parameters that never travel in a no-JS result link.
PAGE_PARAM = "page"


@dataclass(frozen=True)
class Option:
    """One suggestion: the value the hidden input takes, the text the box shows."""

    value: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Matches:
    """At most LIMIT options, and whether more rows matched than are shown."""

    options: list[Option]
    more: bool = False


def first_matches(
    querysets: Iterable[Any], option: Callable[[Any], Option], *, limit: int = LIMIT
) -> Matches:
    """The first `limit` rows of the querysets in turn, each sliced in SQL (one more row
    than the limit tells whether there are more)."""
    rows: list[Any] = []
    for queryset in querysets:
        if len(rows) > limit:
            break
        rows.extend(queryset[: limit + 1 - len(rows)])
    return Matches([option(row) for row in rows[:limit]], more=len(rows) > limit)


def request_query(request: HttpRequest) -> str:
    """The search text of a suggestion request: `q`, or the picker's own text box
    (`<something>_q`, what htmx sends from the box)."""
    if "q" in request.GET:
        return search_text(request.GET.get("q", ""))
    for name, value in request.GET.items():
        if name.endswith("_q"):
            return search_text(value)
    return ""


def listbox_id(request: HttpRequest) -> str:
    """The listbox the options are for (their ids derive from it); a safe default."""
    wanted = request.GET.get("list", "")
    return wanted if LISTBOX_ID.fullmatch(wanted) else DEFAULT_LISTBOX


def options_context(request: HttpRequest, matches: Matches) -> dict:
    """What templates/includes/combobox_options.html draws."""
    return {
        "options": matches.options,
        "more": matches.more,
        "q": request_query(request),
        "listbox_id": listbox_id(request),
        "limit": LIMIT,
    }


class Combobox(forms.Widget):
    """The widget of a picker field (see the module docstring).

    `search_url` names the suggestion endpoint (a URL name, with `search_params` as its
    query); `find(text)` returns the no-JS matches and `describe(value)` the text shown
    for a chosen value ("" for none). `links=True` (GET filters) draws the no-JS results
    as links to the same page with the value chosen, else as radio buttons; with
    `submit_on_pick` choosing submits the form (the list filters).
    """

    template_name = "includes/combobox.html"

    def __init__(
        self,
        *,
        search_url: str,
        query_name: str,
        find: Callable[[str], Matches],
        describe: Callable[[Any], str],
        search_params: dict[str, str] | None = None,
        placeholder: str = "Type to search",
        links: bool = False,
        submit_on_pick: bool = False,
        attrs: dict | None = None,
    ) -> None:
        super().__init__(attrs)
        self.search_url = search_url
        self.query_name = query_name
        self.find = find
        self.describe = describe
        self.search_params = search_params or {}
        self.placeholder = placeholder
        self.links = links
        self.submit_on_pick = submit_on_pick
        self.query: str | None = None
        self.cleared = False
        self.matches: Matches | None = None
        self.link_query: QueryDict | None = None

    @property
    def shown_name(self) -> str:
        return f"{self.query_name}_shown"

    @property
    def searching(self) -> bool:
        return self.query is not None

    def bind(self, data: QueryDict | dict | None) -> None:
        """Read what the clerk did with the text box (module docstring) from `data`."""
        data = data if data is not None else {}
        if self.query_name in data:
            text = search_text(data.get(self.query_name) or "")
            shown = data.get(self.shown_name)
            if not text:
                self.cleared = True
            elif shown is None or text != search_text(shown):
                self.query = text
        if self.query is not None:
            self.matches = self.find(self.query)
        if self.links and self.matches is not None:
            query = data.copy() if isinstance(data, QueryDict) else QueryDict(mutable=True)
            for name in (self.query_name, self.shown_name, PAGE_PARAM):
                query.pop(name, None)
            self.link_query = query

    def value_from_datadict(self, data, files, name):
        if self.cleared:
            return None
        return data.get(name)

    def id_for_label(self, id_: str) -> str:
        # The visible label names the text box, not the hidden value.
        return f"{id_}_text" if id_ else id_

    def _links(self, name: str) -> list[tuple[Option, str]]:
        query = self.link_query
        if query is None or self.matches is None:
            return []
        found = []
        for option in self.matches.options:
            params = query.copy()
            params[name] = option.value
            found.append((option, params.urlencode()))
        return found

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        attrs = dict(widget["attrs"])
        base_id = attrs.pop("id", "") or f"id_{name}"
        raw = "" if value is None else str(value)
        text = self.query if self.query is not None else self.describe(value) if raw else ""
        matches = self.matches
        context["picker"] = {
            "id": base_id,
            "text_id": f"{base_id}_text",
            "listbox_id": f"{base_id}_listbox",
            "name": name,
            "value": raw,
            "text": text,
            "query_name": self.query_name,
            "shown_name": self.shown_name,
            "text_attrs": attrs,
            "search_url": reverse(self.search_url),
            "hx_vals": json.dumps({"list": f"{base_id}_listbox", **self.search_params}),
            "placeholder": self.placeholder,
            "submit_on_pick": self.submit_on_pick,
            "searching": self.query is not None,
            "query": self.query or "",
            "options": matches.options if matches else [],
            "more": matches.more if matches else False,
            "links": self._links(name) if self.links else [],
            "as_links": self.links,
            "limit": LIMIT,
        }
        return context


class ComboboxMixin:
    """For a form with Combobox fields: binds each to the submitted data, and says
    whether the clerk asked to search (then the view saves nothing)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, Combobox):
                field.widget.bind(self.data if self.is_bound else None)

    @property
    def searching(self) -> bool:
        return any(
            isinstance(field.widget, Combobox) and field.widget.searching
            for field in self.fields.values()
        )
