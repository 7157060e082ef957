"""core.widget_html draws Django's simple widgets exactly as their templates do."""

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.forms import ShopFormRenderer
from core.widget_html import DRAWN, draw
from tickets.forms import DepositForm, DiscountForm, ItemForm, RefundForm


class _RawInput(forms.widgets.Input):
    """A widget drawn by input.html itself (not through text.html)."""

    input_type = "text"


ATTRS = {
    "class": "form-control is-invalid",
    "required": True,
    "disabled": False,
    "maxlength": 60,
    "data-note": 'say "hi" & <go>',
    "aria-describedby": "id_f_helptext id_f_error",
}
VALUES = [None, "", "plain", "a<b>&\"'", mark_safe("<b>kept</b>"), 0, Decimal("12.30")]
CHOICES = [("", "---------"), ("a", "Apple & <pear>"), (1, gettext_lazy("One")), ("c", 3)]
GROUPED = [("Fruit", [("a", "Apple"), ("b", "Banana")]), ("Other", [("x", "X")]), ("z", "Zed")]

CASES = [
    *[(forms.TextInput(), value, ATTRS) for value in VALUES],
    (_RawInput(), "raw", {}),
    (forms.NumberInput(attrs={"step": "0.01", "min": 0}), Decimal("12.30"), {}),
    (forms.EmailInput(), "a@example.org", {"autocomplete": "email"}),
    (forms.URLInput(), "https://example.org/?a=1&b=2", {}),
    (forms.PasswordInput(render_value=True), "secret", {}),
    (forms.PasswordInput(), "secret", {}),
    (forms.HiddenInput(), 42, {"id": "id_f"}),
    (forms.DateInput(), date(2026, 12, 2), {}),
    (forms.DateTimeInput(), datetime(2026, 12, 2, 3, 4), {}),
    (forms.TimeInput(), time(3, 4), {}),
    (forms.SearchInput(), "q", {"placeholder": "Search…"}),
    (forms.TelInput(), "+1 555 0100", {}),
    (forms.ColorInput(), "#ff0000", {}),
    *[(forms.CheckboxInput(), value, {"id": "id_f"}) for value in (True, False, None, "on")],
    *[(forms.Textarea(), value, ATTRS) for value in (None, "", "two\nlines <x> & y")],
    *[(forms.Select(choices=CHOICES), value, {"id": "id_f"}) for value in (None, "a", 1, "c")],
    (forms.Select(choices=GROUPED), "b", {}),
    (forms.SelectMultiple(choices=CHOICES), ["a", 1], {"size": 3}),
    *[(forms.NullBooleanSelect(), value, {}) for value in (None, True, False)],
]


def _both(widget: forms.Widget, value, attrs) -> tuple[str, str]:
    context = widget.get_context("f", value, attrs)
    return draw(widget.template_name, context), TemplatesSetting().render(
        widget.template_name, context
    )


@pytest.mark.parametrize(("widget", "value", "attrs"), CASES)
def test_a_drawn_widget_is_byte_for_byte_what_its_template_renders(widget, value, attrs):
    drawn, rendered = _both(widget, value, attrs)
    assert drawn == rendered


def test_every_template_drawn_in_python_is_compared_with_its_template():
    compared = {widget.template_name for widget, _, _ in CASES}
    assert set(DRAWN) <= compared


def test_other_widgets_are_left_to_their_templates():
    radio = forms.RadioSelect(choices=[("a", "A")])
    assert draw(radio.template_name, radio.get_context("f", "a", {})) is None
    assert draw("forms/field.html", {"field": None}) is None


class _TemplatesOnly(ShopFormRenderer):
    """The project's renderer with every widget drawn by its template."""

    def render(self, template_name, context, request=None):
        return TemplatesSetting.render(self, template_name, context, request)


@pytest.mark.parametrize(
    ("form_class", "kwargs"),
    [
        (ItemForm, {"prefix": "item"}),
        (DiscountForm, {}),
        (DepositForm, {"prefix": "deposit"}),
        (RefundForm, {"prefix": "refund"}),
    ],
)
@pytest.mark.parametrize("data", [None, {"junk": "1"}])
def test_the_ticket_pages_forms_render_the_same_either_way(form_class, kwargs, data):
    """Whole fields, errors and help included (bound to nothing useful: every error)."""
    fast = form_class(data, renderer=ShopFormRenderer(), **kwargs)
    slow = form_class(data, renderer=_TemplatesOnly(), **kwargs)
    assert [str(fast[name].as_field_group()) for name in fast.fields] == [
        str(slow[name].as_field_group()) for name in slow.fields
    ]
