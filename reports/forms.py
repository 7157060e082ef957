"""The aging report's filter form: parses the GET parameters only."""

from datetime import date

from django import forms
from django.utils import timezone

from core.forms import DocumentDateField
from core.inputs import document_date_window, search_text

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AgingFilterForm(forms.Form):
    """?as_of= and ?q= (the sort and the page are plain query parameters of the links)."""

    as_of = DocumentDateField(
        required=False,
        label="As of",
        widget=DATE_INPUT,
        help_text="What was owed at the end of this day; empty for today.",
    )
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.SearchInput(
            attrs={"placeholder": "Payer name or email", "autocomplete": "off"}
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The browser's date picker offers only the days the field accepts.
        first, last = document_date_window()
        self.fields["as_of"].widget.attrs.update(min=f"{first:%Y-%m-%d}", max=f"{last:%Y-%m-%d}")

    def as_of_day(self) -> date:
        """The day asked for; today when it is empty or refused (its error says why)."""
        self.is_valid()
        return self.cleaned_data.get("as_of") or timezone.localdate()

    def search(self) -> str:
        self.is_valid()
        return search_text(self.cleaned_data.get("q") or "")
