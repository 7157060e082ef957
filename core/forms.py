"""Form helpers shared by every app, and the form fields of the one input policy.

Rendering has one path: settings.FORM_RENDERER is ShopFormRenderer, whose ShopBoundField
gives every widget its Bootstrap class (and `is-invalid` when the field has errors), and
whose field template (templates/forms/field.html) draws label, widget, help and error
with aria-describedby. Templates write `{{ form.field.as_field_group }}` or `{{ form }}`.

Money, quantity, percent and day-count fields read plain notation only (core.inputs), so
NaN, infinities, exponents and non-ASCII digits get a clear message beside the field.
"""

from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.boundfield import BoundField
from django.forms.renderers import TemplatesSetting

from core.errors import DomainError
from core.inputs import InvalidInput, check_document_date, parse_decimal, parse_id, parse_integer
from core.money import MAX_MONEY, format_money
from core.widget_html import draw

TOO_LARGE = f"That is too large: at most {format_money(MAX_MONEY)}."


def bootstrap_class(widget: forms.Widget) -> str:
    """The Bootstrap 5 class a widget's type needs ("" for hidden inputs)."""
    if widget.is_hidden:
        return ""
    if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


class ShopBoundField(BoundField):
    """Every widget gets its Bootstrap class, and `is-invalid` while the field has errors.

    Django adds aria-invalid and aria-describedby (`<id>_helptext`, `<id>_error`) itself;
    the field template gives the help and error those ids.
    """

    def build_widget_attrs(self, attrs, widget=None):
        widget = widget or self.field.widget
        attrs = super().build_widget_attrs(attrs, widget)
        classes = (attrs.get("class") or widget.attrs.get("class", "")).split()
        wanted = [bootstrap_class(widget)]
        if self.errors and not widget.is_hidden:
            wanted.append("is-invalid")
        classes += [css for css in wanted if css and css not in classes]
        if classes:
            attrs["class"] = " ".join(classes)
        return attrs


class ShopFormRenderer(TemplatesSetting):
    """The project's one form renderer (settings.FORM_RENDERER): Django's simple widgets
    drawn in Python (core.widget_html, identical output), everything else by template."""

    field_template_name = "forms/field.html"
    bound_field_class = ShopBoundField

    def render(self, template_name, context, request=None):
        html = draw(template_name, context)
        if html is not None:
            return html
        return super().render(template_name, context, request)


def add_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Put a refused rule's message on the form: beside its field if the form has that
    field, otherwise among the form's non-field errors (shown as the form's alert)."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


class PlainDecimalField(forms.DecimalField):
    """A DecimalField that reads plain decimal notation only (core.inputs.parse_decimal)."""

    def to_python(self, value) -> Decimal | None:
        if value in self.empty_values:
            return None
        try:
            return parse_decimal(value)
        except InvalidInput as error:
            raise ValidationError(error.message, code="invalid") from None


class MoneyField(PlainDecimalField):
    """An amount of money or a percent: what a 12-digit, 2-place column holds."""

    def __init__(self, *, max_digits: int = 12, decimal_places: int = 2, **kwargs) -> None:
        messages = {
            "max_digits": TOO_LARGE,
            "max_whole_digits": TOO_LARGE,
            "max_decimal_places": "Enter whole cents (at most 2 decimal places).",
            **kwargs.pop("error_messages", {}),
        }
        super().__init__(
            max_digits=max_digits, decimal_places=decimal_places, error_messages=messages, **kwargs
        )


class QuantityField(PlainDecimalField):
    """A quantity: what a 10-digit, 2-place column holds."""

    def __init__(self, *, max_digits: int = 10, decimal_places: int = 2, **kwargs) -> None:
        limit = f"That is too large: at most {Decimal(10) ** (max_digits - decimal_places) - 1:,}."
        messages = {
            "max_digits": limit,
            "max_whole_digits": limit,
            "max_decimal_places": f"Use at most {decimal_places} decimal places.",
            **kwargs.pop("error_messages", {}),
        }
        super().__init__(
            max_digits=max_digits, decimal_places=decimal_places, error_messages=messages, **kwargs
        )


class StrictIntegerField(forms.IntegerField):
    """An IntegerField of ASCII digits only (Django's accepts "١٢٣" and "1e2")."""

    def to_python(self, value) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_integer(value)
        except InvalidInput as error:
            raise ValidationError(error.message, code="invalid") from None


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose submitted value must be an ASCII-digit id."""

    def to_python(self, value) -> Model | None:
        if value in self.empty_values or isinstance(value, Model):
            return super().to_python(value)
        if parse_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class DocumentDateField(forms.DateField):
    """The date a document carries (issue date, payment date): inside the sane window."""

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None:
            try:
                check_document_date(value)
            except InvalidInput as error:
                raise ValidationError(error.message, code="out_of_range") from None
