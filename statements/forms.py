from datetime import date

from django import forms

from core.forms import DocumentDateField
from invoicing.forms import DATE_INPUT
from statements.statements import last_full_month

# A longer statement is a history export, not a statement.
MAX_YEARS = 10


class StatementPeriodForm(forms.Form):
    """The statement's period (GET, and the hidden fields of "Email statement").

    Both dates lie in the document window (2000-01-01 to a year after today). A missing
    start is the first of the end's month; a missing end is today (or the start, for a
    start after today); neither: the last full calendar month.
    """

    start = DocumentDateField(required=False, label="From", widget=DATE_INPUT)
    end = DocumentDateField(required=False, label="To", widget=DATE_INPUT)

    def __init__(self, *args, today: date, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        if not self.is_bound:
            start, end = last_full_month(today)
            self.initial = {"start": start, "end": end}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        start, end = data.get("start"), data.get("end")
        if start is None and end is None:
            start, end = last_full_month(self.today)
        elif end is None:
            end = max(start, self.today)
        elif start is None:
            start = end.replace(day=1)
        if start > end:
            self.add_error("end", "The end date is before the start date.")
        elif _add_years(start, MAX_YEARS) <= end:
            self.add_error(
                "start", f"A statement covers at most {MAX_YEARS} years; choose a later start."
            )
        data["period"] = (start, end)
        return data

    def period(self) -> tuple[date, date]:
        """The period asked for when it is valid, else the last full month."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["period"]
        return last_full_month(self.today)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
