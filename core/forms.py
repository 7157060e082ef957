"""Form helpers shared by every app."""

from django import forms


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
