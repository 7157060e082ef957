"""Forms parse and check input only; the rules live in invoicing.services."""

import uuid
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.combobox import Combobox, ComboboxMixin
from core.forms import DocumentDateField, IdChoiceField, MoneyField
from core.inputs import InvalidInput, parse_decimal, parse_id
from core.money import format_money
from invoicing.accounts import account_from_token, payer_from_token
from invoicing.ledger import REFUND_METHODS
from invoicing.models import Account, DisplayStatus
from invoicing.pickers import (
    BILLABLE,
    INVOICED,
    billable_matches,
    invoiced_matches,
    payer_text,
)
from invoicing.services import Confirmations
from tickets.models import Location, PaymentMethod

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class IdListField(forms.Field):
    """A list of ids from repeated form values (ticked checkboxes)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        ids = {parse_id(v) for v in value} if isinstance(value, list | tuple) else {None}
        if None in ids:
            raise ValidationError("Pick tickets from the list.")
        return sorted(ids)


class PayerField(forms.CharField):
    """A payer token ("agent-3", "customer-8") cleaned to the payer's account (unsaved
    when the payer has never been invoiced)."""

    widget = forms.HiddenInput

    def to_python(self, value) -> Account | None:
        value = super().to_python(value)
        if not value:
            return None
        account = account_from_token(value)
        if account is None:
            raise ValidationError("Choose a billing agent or a customer with billing terms.")
        return account


def payer_picker(find, scope: str, **kwargs) -> Combobox:
    """The payer picker (text box `payer_q`) of the invoice pages."""
    return Combobox(
        search_url="invoicing:payer_search",
        search_params={"scope": scope},
        query_name="payer_q",
        find=find,
        describe=payer_text,
        placeholder="Type a billing agent or customer (name, email, phone)",
        links=True,
        submit_on_pick=True,
        **kwargs,
    )


class PayerPickForm(ComboboxMixin, forms.Form):
    """Step 1 of the create page (GET): who pays. Choosing submits the form."""

    payer = forms.CharField(
        required=False,
        label="Find a billing agent or customer",
        widget=payer_picker(billable_matches, BILLABLE),
    )


class TicketFilterForm(forms.Form):
    """Filters of the invoice-create ticket list (GET)."""

    location = IdChoiceField(
        queryset=Location.objects.all(),
        required=False,
        empty_label="All locations",
    )
    date_field = forms.ChoiceField(
        choices=[("created", "Created"), ("updated", "Updated")],
        required=False,
        initial="created",
        label="Date",
    )
    date_from = DocumentDateField(required=False, label="From", widget=DATE_INPUT)
    date_to = DocumentDateField(required=False, label="To", widget=DATE_INPUT)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def apply(self, tickets):
        """Narrow an InvoiceableTicketQuerySet by the filters that are valid: a field with
        an error (shown beside it) is left out, the others still apply."""
        self.is_valid()
        data = self.cleaned_data
        location = data.get("location")
        tickets = tickets.at_location(location.pk if location else None)
        return tickets.dated_between(
            data.get("date_field") or "created", data.get("date_from"), data.get("date_to")
        )


class CreateInvoicesForm(forms.Form):
    payer = PayerField(error_messages={"required": "Choose who pays."})
    tickets = IdListField(error_messages={"required": "Tick at least one ticket to invoice."})
    invoice_method = forms.ChoiceField(
        choices=[("batch", "One batch invoice"), ("individual", "One invoice per ticket")],
        widget=forms.RadioSelect,
        label="Invoices",
    )
    issue_date = DocumentDateField(
        initial=timezone.localdate,
        widget=DATE_INPUT,
        help_text="Today or earlier, and not before the newest ticket was created.",
    )
    send_email = forms.BooleanField(required=False, label="Email the invoice now")

    def __init__(self, *args, account: Account | None = None, **kwargs) -> None:
        """`account` (the payer shown) words the help texts; without an email address the
        invoice cannot be emailed, so the box is disabled and its value ignored."""
        super().__init__(*args, **kwargs)
        if account is None:
            return
        issue_date = self.fields["issue_date"]
        due = f"Due date = issue date + {account.net_terms_days} days."
        issue_date.help_text = f"{issue_date.help_text} {due}".strip()
        send_email = self.fields["send_email"]
        if account.email:
            send_email.help_text = f"To {account.email}"
        else:
            send_email.help_text = "The payer has no email address."
            send_email.disabled = True


class RemittanceForm(forms.Form):
    """Amount, method, reference, date, and one allocation field per open line.

    The amount starts empty (a pre-filled balance turned "400" into "400637.12"); blank with
    method Account credit it is the credit payable on the invoice. The confirm_* boxes are
    shown only when services.PaymentNeedsConfirmation asked; each holds only for the
    figure in its hidden companion (the credit, the earlier payment's id).
    """

    amount = MoneyField(
        min_value=Decimal("0.01"),
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "data-select-on-focus": ""}
        ),
    )
    method = forms.ChoiceField(
        choices=[
            (PaymentMethod.CHEQUE, "Cheque"),
            (PaymentMethod.ACH, "ACH"),
            (PaymentMethod.CARD, "Card"),
            (PaymentMethod.CASH, "Cash"),
            (PaymentMethod.ACCOUNT_CREDIT, "Account credit"),
        ],
        initial=PaymentMethod.CHEQUE,
    )
    reference = forms.CharField(
        max_length=100,
        required=False,
        help_text="Cheque number, transaction id…",
    )
    received_on = DocumentDateField(
        label="Date received", initial=timezone.localdate, widget=DATE_INPUT
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)
    confirm_overpayment = forms.BooleanField(required=False)
    confirmed_credit = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_duplicate = forms.BooleanField(required=False)
    confirmed_duplicate = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args,
        lines=(),
        payable_credit: Decimal = Decimal("0.00"),
        credit_only: bool = False,
        paying: str = "this invoice",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.payable_credit = payable_credit
        self.credit_only = credit_only
        method = self.fields["method"]
        method.help_text = f"Account credit can pay {format_money(payable_credit)} of {paying}."
        if credit_only:
            # Apply credit: the method is fixed, and credit is applied on the day it is.
            method.choices = [(PaymentMethod.ACCOUNT_CREDIT, "Account credit")]
            method.initial = PaymentMethod.ACCOUNT_CREDIT
            method.widget = forms.HiddenInput()
            method.required = False
            self.fields["received_on"].required = False
            self.fields["received_on"].widget = forms.HiddenInput()
            self.fields["reference"].widget = forms.HiddenInput()
        # app.js: choosing Account credit puts what it can pay into a blank or larger amount.
        method.widget.attrs.update(
            {
                "data-fill-when": PaymentMethod.ACCOUNT_CREDIT,
                "data-fill-target": f"#{self['amount'].auto_id}",
                "data-fill-value": str(payable_credit),
            }
        )
        self.lines = list(lines)
        for line in self.lines:
            self.fields[self.line_field(line)] = MoneyField(
                min_value=0,
                max_value=line.balance,
                required=False,
                label=line.ticket.number,
                error_messages={
                    "max_value": f"At most {format_money(line.balance)}: "
                    "that is all this ticket owes."
                },
            )

    @staticmethod
    def line_field(line) -> str:
        return f"line-{line.pk}"

    def method_chosen(self) -> str:
        """The method as submitted (valid or not): what the page re-proposes with."""
        if self.credit_only:
            return PaymentMethod.ACCOUNT_CREDIT
        return self.data.get("method", "")

    def clean(self):
        data = super().clean()
        if self.credit_only:
            data["method"] = PaymentMethod.ACCOUNT_CREDIT
        if data.get("amount") is None and "amount" not in self.errors:
            if data.get("method") != PaymentMethod.ACCOUNT_CREDIT:
                self.add_error("amount", "Enter the amount received.")
            elif self.payable_credit > 0:
                data["amount"] = self.payable_credit
            else:
                self.add_error("amount", "There is no account credit to pay this invoice with.")
        return data

    def confirmations(self) -> Confirmations:
        """What the clerk ticked, each for the figure it was asked about (else nothing)."""
        data = self.cleaned_data
        credit = None
        if data.get("confirm_overpayment"):
            try:
                credit = parse_decimal(data.get("confirmed_credit") or "")
            except InvalidInput:
                credit = None
        duplicate = (
            parse_id(data.get("confirmed_duplicate")) if data.get("confirm_duplicate") else None
        )
        return Confirmations(credit=credit, duplicate_of=duplicate)

    def allocations(self) -> dict[int, object] | None:
        """The clerk's split (line id -> amount), or None when every line is blank."""
        values = {line.pk: self.cleaned_data.get(self.line_field(line)) for line in self.lines}
        if all(v is None for v in values.values()):
            return None
        return {pk: v for pk, v in values.items() if v is not None}


STATUS_FILTERS = [
    ("", "All live"),
    ("unpaid", "Unpaid (open, partly paid or overdue)"),
    *DisplayStatus.choices,
    ("all", "All, with deleted"),
]


class InvoiceFilterForm(ComboboxMixin, forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.SearchInput(
            attrs={
                "placeholder": "Invoice or ticket number, payer, or claim/PO reference",
                "autocomplete": "off",
            }
        ),
    )
    status = forms.ChoiceField(choices=STATUS_FILTERS, required=False)
    payer = forms.CharField(required=False, widget=payer_picker(invoiced_matches, INVOICED))
    overdue = forms.BooleanField(required=False, label="Overdue only")
    # Due-date range: where the aging report's figures lead (one bucket of one payer).
    due_from = DocumentDateField(required=False, label="Due from", widget=DATE_INPUT)
    due_to = DocumentDateField(required=False, label="Due to", widget=DATE_INPUT)

    def clean_payer(self) -> str:
        token = self.cleaned_data.get("payer") or ""
        if token and payer_from_token(token, billable_only=False) is None:
            raise ValidationError("Choose a payer from the suggestions.")
        return token

    def apply(self, invoices):
        if not self.is_valid():
            return invoices.live()
        data = self.cleaned_data
        status = data.get("status") or ""
        if status == "":
            invoices = invoices.live()
        elif status == "unpaid":
            invoices = invoices.unpaid()
        elif status != "all":
            invoices = invoices.with_display_status(status)
        if data.get("overdue"):
            invoices = invoices.overdue()
        account = account_from_token(data.get("payer"), billable_only=False)
        if account is not None:
            invoices = invoices.for_account(account)
        if data.get("due_from"):
            invoices = invoices.filter(due_date__gte=data["due_from"])
        if data.get("due_to"):
            invoices = invoices.filter(due_date__lte=data["due_to"])
        return invoices.search(data.get("q") or "")


class PaymentExportForm(forms.Form):
    """The received-date range of the payments export (GET); either end may stay open."""

    received_from = DocumentDateField(required=False, label="Received from", widget=DATE_INPUT)
    received_to = DocumentDateField(required=False, label="Received to", widget=DATE_INPUT)

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", "The end date is before the start date.")
        return data


# --- corrections -----------------------------------------------------------------------


def _reason_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        max_length=300,
        label=label,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why: the reason is kept on the record."},
    )


class VoidForm(forms.Form):
    """Voiding a payment or a write-off: the reason is required and kept."""

    reason = _reason_field("Reason", "Kept with the void: who, when and why.")


class WriteOffForm(forms.Form):
    reason = _reason_field("Reason", "Why the balance will not be collected.")


class CreditRefundForm(forms.Form):
    """Paying account credit back to the payer."""

    amount = MoneyField(
        min_value=Decimal("0.01"),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01"}),
    )
    method = forms.ChoiceField(
        choices=[(m.value, m.label) for m in REFUND_METHODS], initial=PaymentMethod.CHEQUE
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="Cheque number, transaction id…"
    )
    reason = _reason_field("Reason", "Why the credit is paid back.")
