"""Django's simple form widgets drawn in Python, byte for byte as their templates draw them.

Every field of every form goes through a widget template (input, select and its options,
textarea, and `attrs.html` inside each); through the template engine that is most of a
form-heavy page's time (the editable ticket page: about a third). ShopFormRenderer sends
the templates named in DRAWN here instead, and everything else (radio buttons, files, the
combobox, the field and form templates) to the templates as before.

The output must stay exactly what Django's templates give: tests/core/test_widget_html.py
renders each widget both ways and compares, so a Django upgrade that changes a template,
or a project override of one, fails there rather than drifting.
"""

from collections.abc import Callable

from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

WIDGETS = "django/forms/widgets/"
OPTION = f"{WIDGETS}select_option.html"
# What `{{ value }}` does in a template: local time, localization, then escaping.
_CONTEXT = Context(autoescape=True)


def _shown(value: object) -> str:
    return render_value_in_context(value, _CONTEXT)


def _attrs(attrs: dict) -> str:
    """attrs.html: False leaves the attribute out, True writes its bare name."""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            out.append(f" {_shown(name)}")
        else:
            # `|stringformat:'s'` then escaping: safe strings stay as they are.
            out.append(f' {_shown(name)}="{conditional_escape(value)}"')
    return "".join(out)


def _input(widget: dict) -> str:
    """input.html, as included by text.html, number.html and the other input types."""
    value = widget["value"]
    shown = "" if value is None else f' value="{conditional_escape(value)}"'
    return (
        f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>\n"
    )


def _option(option: dict) -> str:
    return (
        f'<option value="{conditional_escape(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_shown(option['label'])}</option>\n"
    )


def _select(widget: dict) -> str | None:
    out = [f'<select name="{_shown(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION:
                return None  # an option template of its own: leave it to the template
            out.append(f"\n  {_option(option)}")
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>\n")
    return "".join(out)


def _textarea(widget: dict) -> str:
    value = widget["value"]
    text = _shown(value) if value else ""
    name, attrs = _shown(widget["name"]), _attrs(widget["attrs"])
    return f'<textarea name="{name}"{attrs}>\n{text}</textarea>\n'


INPUT_TYPES = (
    "checkbox",
    "color",
    "date",
    "datetime",
    "email",
    "hidden",
    "number",
    "password",
    "search",
    "tel",
    "text",
    "time",
    "url",
)
# Template name -> how to draw it (None from a drawer: use the template after all).
DRAWN: dict[str, Callable[[dict], str | None]] = {
    f"{WIDGETS}input.html": _input,
    # text.html and the others are `{% include "…/input.html" %}` and a newline.
    **{f"{WIDGETS}{name}.html": _input for name in INPUT_TYPES},
    f"{WIDGETS}select.html": _select,
    f"{WIDGETS}textarea.html": _textarea,
}


def draw(template_name: str, context: dict) -> SafeString | None:
    """The widget's HTML if `template_name` is one drawn here, else None."""
    drawer = DRAWN.get(template_name)
    if drawer is None or "widget" not in context:
        return None
    html = drawer(context["widget"])
    # The renderer strips what a template renders (BaseRenderer.render), so strip too.
    return None if html is None else mark_safe(html.strip())
