from django import forms

from billing_runs.cycles import WEEKLY_CYCLES
from core.forms import StrictIntegerField
from invoicing.models import WEEKDAYS, Account, BillingCycle


class BillingCycleForm(forms.Form):
    """A payer's billing cycle. The day has two inputs, one per meaning; the cycle says
    which one counts (the service checks it: billing_runs.services.set_billing_cycle)."""

    cycle = forms.ChoiceField(label="Billing cycle", choices=BillingCycle.choices, required=False)
    weekday = forms.TypedChoiceField(
        label="Weekday",
        choices=[("", "—"), *enumerate(WEEKDAYS)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="For a weekly or two-weekly cycle.",
    )
    day_of_month = StrictIntegerField(
        label="Day of the month",
        required=False,
        help_text="For a monthly cycle: 1 to 28, so every month has it.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["day_of_month"].widget.attrs.update({"min": "1", "max": "28"})

    @classmethod
    def initial_for(cls, account: Account) -> dict:
        """The form's starting values from the payer's current cycle."""
        weekly = account.billing_cycle in WEEKLY_CYCLES
        return {
            "cycle": account.billing_cycle,
            "weekday": account.billing_day if weekly else None,
            "day_of_month": account.billing_day
            if account.billing_cycle == BillingCycle.MONTHLY
            else None,
        }

    def day(self) -> int | None:
        """The day the chosen cycle uses (None without a cycle)."""
        cycle = self.cleaned_data["cycle"]
        if cycle in WEEKLY_CYCLES:
            return self.cleaned_data["weekday"]
        if cycle == BillingCycle.MONTHLY:
            return self.cleaned_data["day_of_month"]
        return None


class BillingRunForm(forms.Form):
    """The run's option; the ticked payers are read from the `payers` boxes."""

    email = forms.BooleanField(label="Email the invoices", required=False)
