"""Form helpers shared by every app, and the form fields of the one input policy.

Money, quantity, percent and day-count fields read plain notation only (core.inputs), so
NaN, infinities, exponents and non-ASCII digits get a clear message beside the field.
"""

from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model

from core.inputs import InvalidInput, check_document_date, parse_decimal, parse_id, parse_integer
from core.money import MAX_MONEY

TOO_LARGE = f"That is too large: at most {MAX_MONEY:,.2f}."


class BootstrapFormMixin:
    """Give each widget the Bootstrap 5 class its type needs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            classes = widget.attrs.get("class", "")
            if css not in classes.split():
                widget.attrs["class"] = f"{classes} {css}".strip()


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
