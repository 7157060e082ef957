"""Input shapes for the customer pages; the rules themselves live in customers.services."""

from django import forms
from django.db.models import Q, QuerySet

from billing_agents.models import BillingAgent
from core.forms import IdChoiceField, StrictIntegerField
from customers.models import Customer

# With more active agents than this, the form shows a search box that narrows the picker.
AGENT_SEARCH_THRESHOLD = 10


def agent_choices(
    *, current_id: int | None, q: str = "", selected_id: int | None = None
) -> QuerySet:
    """Active agents matching `q` (all of them without one), plus the current agent.

    The current agent stays listed even if it was deactivated since, so saving the form
    unchanged never drops it; choosing an inactive agent anew is not offered.
    `selected_id` (the agent picked before the search narrowed the list) stays listed too
    while it is active.
    """
    if not q and selected_id is None:
        condition = Q(is_active=True)
    else:
        condition = Q(pk__in=BillingAgent.objects.active().search(q).values("pk"))
        if selected_id is not None:
            condition |= Q(pk=selected_id, is_active=True)
    if current_id is not None:
        condition |= Q(pk=current_id)
    return BillingAgent.objects.filter(condition).order_by("company_name", "id")


class AgentChoiceField(IdChoiceField):
    def label_from_instance(self, obj: BillingAgent) -> str:
        return str(obj) if obj.is_active else f"{obj} (inactive)"


class CustomerForm(forms.ModelForm):
    """Contact, address and billing terms; the billing agent is applied by the service."""

    billing_agent = AgentChoiceField(
        queryset=BillingAgent.objects.none(),
        required=False,
        empty_label="— None (billed directly) —",
        label="Billing agent",
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

    def __init__(
        self,
        *args,
        agent_q: str = "",
        selected_agent_id: int | None = None,
        with_agent: bool = True,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        current_id = self.instance.billing_agent_id if self.instance.pk else None
        if with_agent:
            field = self.fields["billing_agent"]
            field.queryset = agent_choices(
                current_id=current_id, q=agent_q, selected_id=selected_agent_id
            )
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
