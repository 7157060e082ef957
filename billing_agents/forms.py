from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from billing_agents.models import BillingAgent
from billing_agents.services import DuplicateAgentName, ensure_unique_name
from core.forms import MoneyField, StrictIntegerField


def duplicate_name_message(error: DuplicateAgentName) -> str:
    """The refusal with a link to the agent that already has the name."""
    existing = error.existing
    return format_html(
        'A billing agent named <a href="{}">{}</a> already exists{}; use that agent, '
        "or a name that tells the two apart.",
        existing.get_absolute_url(),
        existing.company_name,
        "" if existing.is_active else " (inactive: reactivate it instead)",
    )


class BillingAgentForm(forms.ModelForm):
    """Every field of the agent record a clerk may edit (status has its own actions)."""

    class Meta:
        model = BillingAgent
        fields = [
            "company_name",
            "contact_first_name",
            "contact_last_name",
            "phone",
            "email",
            "fax",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "country",
            "credit_limit",
            "net_terms_days",
            "credit_hold_days",
            "invoice_method",
            "reference_label",
            "reference_required",
            "send_reminders",
            "notes",
        ]
        labels = {
            "credit_hold_days": "Credit hold after (days past due)",
            "reference_label": "Reference label",
            "reference_required": "Require it on every ticket",
            "send_reminders": "Send overdue reminders",
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        field_classes = {
            "credit_limit": MoneyField,
            "net_terms_days": StrictIntegerField,
            "credit_hold_days": StrictIntegerField,
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credit_limit"].widget.attrs.update({"min": "0", "step": "0.01"})
        self.fields["net_terms_days"].widget.attrs.update({"min": "0", "max": "365"})
        hold = self.fields["credit_hold_days"]
        hold.widget.attrs.update({"min": "0", "max": "365"})
        # The shop's setting as it is now (tickets.credit_hold reads it on every check).
        hold.help_text = (
            f"Leave blank to use the shop's setting ({settings.CREDIT_HOLD_DAYS} days)."
        )

    def clean_company_name(self) -> str:
        """Refuse the name of another agent beside the field (the service checks again)."""
        name = self.cleaned_data["company_name"].strip()
        try:
            ensure_unique_name(name, exclude_pk=self.instance.pk)
        except DuplicateAgentName as error:
            raise ValidationError(duplicate_name_message(error), code="duplicate") from None
        return name


class CreditAdjustmentForm(forms.Form):
    """A manager's manual credit adjustment: positive adds credit, negative takes it away."""

    amount = MoneyField(
        help_text="Positive adds credit; negative takes credit away.",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    reason = forms.CharField(max_length=300)
