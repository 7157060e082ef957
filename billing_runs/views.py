"""Billing-run pages: the payers due today with one POST that invoices the ticked ones,
and the billing-cycle form of an agent or a direct-billed customer."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from billing_agents.models import BillingAgent
from billing_runs.cycles import describe
from billing_runs.forms import BillingCycleForm, BillingRunForm
from billing_runs.queries import due_payers
from billing_runs.services import Outcome, RunResult, run_billing, set_billing_cycle
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import into_modal, is_partial_request, page_or_partial
from core.inputs import parse_id
from core.money import ZERO
from customers.models import Customer
from invoicing.accounts import account_of
from invoicing.models import Account

RUN_TEMPLATE = "billing_runs/run_list.html"
CYCLE_TEMPLATE = "billing_runs/billing_cycle_form.html"
# How each outcome shows as a flash message on the page without htmx.
MESSAGE_LEVELS = {
    Outcome.INVOICED: messages.SUCCESS,
    Outcome.NOTHING: messages.INFO,
    Outcome.FAILED: messages.ERROR,
}


def _ids(values: list[str]) -> set[int]:
    """The ids among ticked-box or hidden-field values (ASCII digits only; others ignored)."""
    return {pk for pk in map(parse_id, values) if pk is not None}


# --- billing run -----------------------------------------------------------------------


def _run_context(request: HttpRequest, *, ticked: set[int], **extra) -> dict:
    today = timezone.localdate()
    payers = due_payers(today)
    if request.method == "GET" and request.GET.get("tick") == "all":
        ticked = {row.account.pk for row in payers}
    return {
        "today": today,
        "payers": payers,
        "ticked": {row.account.pk for row in payers if row.account.pk in ticked},
        "ticket_count": sum(row.ticket_count for row in payers),
        "amount": sum((row.amount for row in payers), ZERO),
        "form": extra.pop("form", None) or BillingRunForm(),
        **extra,
    }


@require_GET
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def run_list(request: HttpRequest) -> TemplateResponse:
    context = _run_context(request, ticked=_ids(request.GET.getlist("payers")))
    return TemplateResponse(request, page_or_partial(request, RUN_TEMPLATE, "run-table"), context)


def _seen(params: QueryDict, account_ids: set[int]) -> dict[int, set[int]]:
    """Account id -> the ticket ids its row showed (hidden field seen-<account id>)."""
    return {pk: _ids(params.get(f"seen-{pk}", "").split(",")) for pk in account_ids}


def _flash(request: HttpRequest, results: list[RunResult]) -> None:
    for result in results:
        messages.add_message(request, MESSAGE_LEVELS[result.outcome], result.message)


@require_POST
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def run_create(request: HttpRequest) -> HttpResponse:
    """Invoice the ticked payers (billing_runs.services.run_billing). With htmx: the
    results above the refreshed table; without: a flash line per payer and a redirect."""
    form = BillingRunForm(request.POST)
    form.is_valid()  # one optional box: always valid
    ticked = _ids(request.POST.getlist("payers"))
    accounts = sorted(
        Account.objects.filter(pk__in=ticked).select_related("billing_agent", "customer"),
        key=lambda account: (account.name.casefold(), account.pk),
    )
    if not accounts:
        error = "Tick at least one payer to invoice."
        context = _run_context(request, ticked=set(), form=form, error=error)
        template = page_or_partial(request, RUN_TEMPLATE, "run-results")
        return TemplateResponse(request, template, context, status=422)
    results = run_billing(
        accounts=accounts,
        email=form.cleaned_data.get("email", False),
        by=request.user,
        seen=_seen(request.POST, {account.pk for account in accounts}),
    )
    if is_partial_request(request):
        context = _run_context(request, ticked=set(), form=form, results=results)
        return TemplateResponse(request, f"{RUN_TEMPLATE}#run-results", context)
    _flash(request, results)
    return HttpResponseRedirect(reverse("billing_runs:run_list"), status=303)


# --- billing cycle ---------------------------------------------------------------------


def _billing_cycle(request: HttpRequest, payer: BillingAgent | Customer, url: str) -> HttpResponse:
    """GET: the form with the payer's cycle. POST: save it and go back to the payer's page
    (a client redirect for htmx); refused: the form again, 422, message beside the field."""
    account = account_of(payer)
    if request.method == "POST":
        form = BillingCycleForm(request.POST)
        if form.is_valid():
            try:
                account = set_billing_cycle(
                    account=account,
                    cycle=form.cleaned_data["cycle"],
                    day=form.day(),
                    by=request.user,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                label = describe(account.billing_cycle, account.billing_day)
                messages.success(request, f"Billing cycle of {account.name}: {label}.")
                if is_partial_request(request):
                    return HttpResponseClientRedirect(payer.get_absolute_url())
                return HttpResponseRedirect(payer.get_absolute_url())
    else:
        form = BillingCycleForm(initial=BillingCycleForm.initial_for(account))
    context = {"account": account, "payer": payer, "form": form, "action_url": url}
    response = TemplateResponse(
        request,
        page_or_partial(request, CYCLE_TEMPLATE, "billing-cycle-form"),
        context,
        status=422 if request.method == "POST" else 200,
    )
    if request.method == "POST" and is_partial_request(request):
        return into_modal(response)
    return response


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_billing_cycle(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(BillingAgent, pk=pk)
    return _billing_cycle(request, agent, reverse("billing_runs:agent_billing_cycle", args=[pk]))


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_billing_cycle(request: HttpRequest, pk: int) -> HttpResponse:
    """Only a customer billed directly (with net terms) has a cycle: others are 404."""
    customer = get_object_or_404(Customer.objects.directly_billable(), pk=pk)
    url = reverse("billing_runs:customer_billing_cycle", args=[pk])
    return _billing_cycle(request, customer, url)
