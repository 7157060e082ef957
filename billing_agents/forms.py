from django import forms

from billing_agents.models import BillingAgent
from core.forms import MoneyField, StrictIntegerField


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
            "invoice_method",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        field_classes = {"credit_limit": MoneyField, "net_terms_days": StrictIntegerField}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credit_limit"].widget.attrs.update({"min": "0", "step": "0.01"})
        self.fields["net_terms_days"].widget.attrs.update({"min": "0", "max": "365"})


class CreditAdjustmentForm(forms.Form):
    """A manager's manual credit adjustment: positive adds credit, negative takes it away."""

    amount = MoneyField(
        help_text="Positive adds credit; negative takes credit away.",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    reason = forms.CharField(max_length=300)
