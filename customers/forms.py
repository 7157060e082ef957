"""Input shapes for the customer pages; the rules themselves live in customers.services."""

from django import forms
from django.db.models import Q, QuerySet

from billing_agents.models import BillingAgent
from billing_agents.pickers import agent_label, agent_matches, agent_text
from core.combobox import Combobox, ComboboxMixin
from core.forms import IdChoiceField, StrictIntegerField
from customers.models import Customer


def agent_choices(*, current_id: int | None) -> QuerySet:
    """The agents a picker accepts: the active ones, plus the current agent.

    The current agent stays valid even if it was deactivated since, so saving the form
    unchanged never drops it; choosing an inactive agent anew is refused. The picker
    searches (core.combobox); this queryset is only asked about the one id submitted.
    """
    condition = Q(is_active=True)
    if current_id is not None:
        condition |= Q(pk=current_id)
    return BillingAgent.objects.filter(condition).order_by("company_name", "id")


def agent_picker(*, links: bool = False, submit_on_pick: bool = False) -> Combobox:
    """The billing-agent picker every form uses (text box `agent_q`)."""
    return Combobox(
        search_url="billing_agents:agent_search",
        query_name="agent_q",
        find=agent_matches,
        describe=agent_text,
        placeholder="Type a company, contact, email or phone",
        links=links,
        submit_on_pick=submit_on_pick,
    )


class AgentChoiceField(IdChoiceField):
    default_error_messages = {
        "invalid_choice": "Choose an active billing agent: that one cannot be chosen.",
    }

    def label_from_instance(self, obj: BillingAgent) -> str:
        return agent_label(obj)


class CustomerForm(ComboboxMixin, forms.ModelForm):
    """Contact, address and billing terms; the billing agent is applied by the service."""

    billing_agent = AgentChoiceField(
        queryset=BillingAgent.objects.none(),
        required=False,
        label="Billing agent",
        help_text="Only active billing agents can be chosen; empty the box to bill the "
        "customer directly.",
        widget=agent_picker(),
    )
    move_open_tickets = forms.BooleanField(required=False)

    class Meta:
        model = Customer
        fields = [
            "first_name",
            "last_name",
            "company_name",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "country",
            "net_terms_days",
            "prefers_batch_invoices",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        field_classes = {
            "net_terms_days": StrictIntegerField,
        }

    def __init__(self, *args, with_agent: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        current_id = self.instance.billing_agent_id if self.instance.pk else None
        if with_agent:
            field = self.fields["billing_agent"]
            field.queryset = agent_choices(current_id=current_id)
            field.initial = current_id
        else:
            # Plans without billing agents: the field is not offered at all.
            del self.fields["billing_agent"]
            del self.fields["move_open_tickets"]
        self.fields["net_terms_days"].widget.attrs.update({"min": "0", "max": "365"})
        self.fields["prefers_batch_invoices"].label = "Prefers batch invoices"

    @property
    def agent_changed(self) -> bool:
        """True when the submitted agent differs from the customer's current one."""
        if "billing_agent" not in self.fields or not hasattr(self, "cleaned_data"):
            return False
        agent = self.cleaned_data.get("billing_agent")
        return (agent.pk if agent else None) != self.instance.billing_agent_id
