"""Input shapes for the ticket pages; the rules themselves live in tickets.services.

Money and quantity fields only check that a number was typed (and its size); whether it
is allowed (above zero, within the subtotal or the balance due) is the services' call,
and their DomainError is shown beside the field.
"""

from django import forms

from billing_agents.models import BillingAgent
from core.combobox import ComboboxMixin
from core.forms import IdChoiceField, MoneyField, QuantityField
from customers.forms import AgentChoiceField, agent_choices, agent_picker
from customers.models import Customer
from tickets.models import OPEN_FILTER, DiscountType, Location, PaymentMethod, Ticket
from tickets.services import DEPOSIT_METHODS, MAX_REASON
from tickets.transitions import Kind, Status

MONEY_ATTRS = {"step": "0.01", "inputmode": "decimal", "class": "text-end"}
# The payer-reference field's label when the agent has not named its number.
GENERIC_REFERENCE_LABEL = "Claim or PO number"


def _money_field(label: str, **kwargs) -> MoneyField:
    return MoneyField(label=label, widget=forms.NumberInput(attrs=MONEY_ATTRS), **kwargs)


class TicketCreateForm(forms.Form):
    kind = forms.ChoiceField(
        label="Kind",
        choices=[(Kind.REPAIR, "Repair ticket"), (Kind.QUICK_SALE, Kind.QUICK_SALE.label)],
        initial=Kind.REPAIR,
        widget=forms.RadioSelect,
    )
    location = IdChoiceField(
        label="Location", queryset=Location.objects.order_by("name"), empty_label=None
    )
    device = forms.CharField(
        label="Device", max_length=200, required=False, help_text="Needed for a repair."
    )
    problem_description = forms.CharField(
        label="Problem description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    customer = IdChoiceField(
        queryset=Customer.objects.all(), required=False, widget=forms.HiddenInput
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == Kind.REPAIR and not (data.get("device") or "").strip():
            self.add_error("device", "Say which device is being repaired.")
        return data


STATUS_FILTER_CHOICES = [
    ("", "Any status"),
    (OPEN_FILTER, "Any open status"),
    *Status.choices,
]


class TicketFilterForm(ComboboxMixin, forms.Form):
    """The ticket list's search and filters (all optional; unknown values are dropped)."""

    q = forms.CharField(label="Search tickets", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", choices=STATUS_FILTER_CHOICES, required=False)
    kind = forms.ChoiceField(
        label="Kind", choices=[("", "Any kind"), *Kind.choices], required=False
    )
    location = IdChoiceField(
        label="Location",
        queryset=Location.objects.order_by("name"),
        required=False,
        empty_label="Any location",
    )
    # Any agent, active or not: old tickets stay findable by the agent that paid them.
    billing_agent = IdChoiceField(
        label="Billing agent",
        queryset=BillingAgent.objects.all(),
        required=False,
        widget=agent_picker(links=True, submit_on_pick=True),
    )

    def __init__(self, *args, with_agent: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_agent:
            del self.fields["billing_agent"]
        self.fields["q"].widget.attrs.update(
            {
                "type": "search",
                "placeholder": "T-000123, customer or reference",
                "autocomplete": "off",
            }
        )

    def filters(self) -> dict:
        """Keyword arguments for TicketQuerySet.filtered() from the valid fields."""
        data = self.cleaned_data
        location = data.get("location")
        agent = data.get("billing_agent")
        return {
            "status": data.get("status") or "",
            "kind": data.get("kind") or "",
            "location_id": location.pk if location else None,
            "billing_agent_id": agent.pk if agent else None,
        }


class ItemForm(forms.Form):
    description = forms.CharField(label="Description", max_length=300)
    quantity = QuantityField(
        label="Quantity",
        initial=1,
        widget=forms.NumberInput(attrs={"step": "any", "class": "text-end"}),
    )
    unit_price = _money_field("Unit price")
    taxable = forms.BooleanField(label="Taxable", required=False, initial=True)


class DiscountForm(forms.Form):
    discount_type = forms.ChoiceField(label="Discount type", choices=DiscountType.choices)
    discount_value = _money_field("Discount value")


class DepositForm(forms.Form):
    amount = _money_field("Deposit amount")
    method = forms.ChoiceField(
        label="Payment method",
        choices=[(m.value, m.label) for m in PaymentMethod if m in DEPOSIT_METHODS],
    )
    reference = forms.CharField(label="Reference", max_length=100, required=False)


class RefundForm(forms.Form):
    """Pay back money taken at the counter; the labels differ from the deposit form's so
    each field is found by its own label on the ticket page."""

    amount = _money_field("Refund amount")
    method = forms.ChoiceField(
        label="Refunded by",
        choices=[(m.value, m.label) for m in PaymentMethod if m in DEPOSIT_METHODS],
    )
    reference = forms.CharField(
        label="Refund ref.",
        max_length=100,
        required=False,
        help_text="Receipt, card authorisation or cheque number.",
    )
    reason = forms.CharField(
        label="Reason for the refund",
        max_length=MAX_REASON,
        error_messages={"required": "Say why the deposit is refunded."},
    )


class AgentForm(ComboboxMixin, forms.Form):
    """Another active agent, or none, for a ticket that has a customer."""

    billing_agent = AgentChoiceField(
        label="Billing agent",
        queryset=BillingAgent.objects.none(),
        required=False,
        widget=agent_picker(),
    )

    def __init__(self, *args, current_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["billing_agent"]
        field.queryset = agent_choices(current_id=current_id)
        field.initial = current_id


class PayerReferenceForm(forms.Form):
    """The payer's own number for the job, labelled as the ticket's agent calls it.

    An agent that kept the generic label ("Reference") gets GENERIC_REFERENCE_LABEL here:
    the deposit form on the same page has its own "Reference" (the receipt number).
    """

    payer_reference = forms.CharField(
        label=GENERIC_REFERENCE_LABEL,
        max_length=Ticket._meta.get_field("payer_reference").max_length,
        required=False,
    )

    def __init__(self, *args, ticket: Ticket, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["payer_reference"]
        field.initial = ticket.payer_reference
        field.widget.attrs.update({"autocomplete": "off"})
        agent = ticket.billing_agent
        if agent is None:
            field.help_text = "The payer's claim, PO or authorization number, for the invoice."
            return
        label = agent.reference_label.strip()
        if label.casefold() != "reference":
            field.label = label
        printed = f"Printed on {agent.company_name}'s invoices as “{label}”."
        if agent.reference_required:
            printed = (
                f"Required by {agent.company_name}: the ticket cannot wait for payment without it."
            )
        field.help_text = printed
