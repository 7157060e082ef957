"""The "Refund credit" step that every payer's page offers (agent page, customer page).

Each page keeps its own templates and sections; the form, the refund under the account
lock and the refusal beside its field happen here once.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from billing_agents.models import BillingAgent
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import into_modal, is_partial_request, page_or_partial
from core.money import format_money
from customers.models import Customer
from invoicing.accounts import account_for, account_of
from invoicing.forms import CreditRefundForm
from invoicing.ledger import credit_balance, refund_credit
from invoicing.models import CreditTransaction


@dataclass(frozen=True)
class CreditRefundStep:
    form: CreditRefundForm
    available: Decimal
    refunded: CreditTransaction | None


def credit_refund_step(request: HttpRequest, payer: BillingAgent | Customer) -> CreditRefundStep:
    """Read the refund form; on a valid POST refund the payer's credit (a `refund` ledger
    row under the account lock), or keep the form with the refusal beside its field."""
    # Showing the form creates nothing: a payer never invoiced has no account (no credit).
    account = account_of(payer)
    form = CreditRefundForm(request.POST or None)
    refunded = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            refunded = refund_credit(
                account=account_for(payer),
                amount=data["amount"],
                method=data["method"],
                reference=data["reference"],
                reason=data["reason"],
                by=request.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request, f"Refunded {format_money(-refunded.amount)} of credit to {payer}."
            )
    return CreditRefundStep(form, credit_balance(account=account), refunded)


def credit_refund_form(
    request: HttpRequest,
    step: CreditRefundStep,
    *,
    payer: BillingAgent | Customer,
    refund_url: str,
    section_id: str,
) -> HttpResponse:
    """The refund form of one payer's page (its `credit-refund-form` partial for htmx,
    inside the dialog after a refused POST); 422 when a POST was refused. A success swaps
    the page's `section_id`."""
    posted = request.method == "POST"
    context = {
        "payer": payer,
        "form": step.form,
        "available": step.available,
        "refund_url": refund_url,
        "section_id": section_id,
    }
    response = TemplateResponse(
        request,
        page_or_partial(request, "invoicing/credit_refund.html", "credit-refund-form"),
        context,
        status=422 if posted else 200,
    )
    return into_modal(response) if posted and is_partial_request(request) else response
