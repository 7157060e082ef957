"""Statement of account pages: a billing agent's, or a directly billed customer's."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from billing_agents.models import BillingAgent
from core.errors import DomainError
from core.htmx import is_partial_request, page_or_partial
from customers.models import Customer
from invoicing.accounts import account_of, customer_receivables
from invoicing.models import Account, DeliveryKind, EmailDelivery
from statements.documents import statement_context, statement_filename, statement_pdf
from statements.forms import StatementPeriodForm
from statements.services import queue_statement_email, retry_statement_email, statement_emails
from statements.statements import Statement, build_statement

TEMPLATE = "statements/statement.html"
PARTIAL = "statement-body"


def _agent_account(pk: int) -> Account:
    return account_of(get_object_or_404(BillingAgent, pk=pk))


def _customer_account(pk: int) -> Account:
    """A customer never billed directly and without direct-billing terms has no
    statement (404); one that was billed directly keeps its history."""
    account = customer_receivables(get_object_or_404(Customer, pk=pk))
    if account is None:
        raise Http404("This customer is not billed directly and has no statement.")
    return account


def _urls(account: Account) -> dict[str, str]:
    kind = "agent" if account.is_agent else "customer"
    args = [account.payer.pk]
    return {
        "statement_url": reverse(f"statements:{kind}_statement", args=args),
        "email_url": reverse(f"statements:{kind}_statement_email", args=args),
        "pdf_url": reverse(f"statements:{kind}_statement_pdf", args=args),
    }


def _statement_url(account: Account, statement: Statement) -> str:
    query = urlencode({"start": f"{statement.start:%Y-%m-%d}", "end": f"{statement.end:%Y-%m-%d}"})
    return f"{_urls(account)['statement_url']}?{query}"


def _period_form(data: QueryDict) -> StatementPeriodForm:
    today = timezone.localdate()
    if not (data.get("start") or data.get("end")):
        return StatementPeriodForm(today=today)
    return StatementPeriodForm(data, today=today)


def _render(
    request: HttpRequest,
    account: Account,
    form: StatementPeriodForm,
    *,
    statement: Statement | None = None,
    status: int = 200,
) -> TemplateResponse:
    if statement is None:
        start, end = form.period()
        statement = build_statement(account=account, start=start, end=end)
    context = {
        **statement_context(statement),
        "form": form,
        "can_email": request.user.has_perm("invoicing.change_invoice"),
        "emails": statement_emails(account),
        **_urls(account),
    }
    if form.errors:
        # An invalid period answers 422 with the message beside its field; the statement
        # below is the default period's.
        status = max(status, 422)
    return TemplateResponse(
        request, page_or_partial(request, TEMPLATE, PARTIAL), context, status=status
    )


def _page(request: HttpRequest, account: Account) -> TemplateResponse:
    return _render(request, account, _period_form(request.GET))


def _pdf(request: HttpRequest, account: Account) -> HttpResponse:
    """The statement as a PDF download; a bad period gets the page with its message (422)."""
    form = _period_form(request.GET)
    if form.is_bound and not form.is_valid():
        return _render(request, account, form)
    start, end = form.period()
    statement = build_statement(account=account, start=start, end=end)
    response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{statement_filename(statement)}"'
    return response


def _email(request: HttpRequest, account: Account) -> HttpResponse:
    form = _period_form(request.POST)
    if form.is_bound and not form.is_valid():
        return _render(request, account, form)
    start, end = form.period()
    statement = build_statement(account=account, start=start, end=end)
    status = 200
    period = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
    try:
        queued = queue_statement_email(statement=statement, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        status = 409
    else:
        if queued.already_queued:
            messages.info(request, f"Statement {period} to {queued.to_address} is queued already.")
        else:
            messages.success(
                request, f"Queued: statement {period} goes to {queued.to_address} in a moment."
            )
    if is_partial_request(request):
        shown = StatementPeriodForm(
            {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}, today=form.today
        )
        return _render(request, account, shown, statement=statement, status=status)
    return HttpResponseRedirect(_statement_url(account, statement))


def _retry(request: HttpRequest, account: Account, delivery_id: int) -> HttpResponse:
    """Send a failed (or stuck) statement email again; the page shows its period."""
    if account.pk is None:
        raise Http404("No statement email of this payer.")
    delivery = get_object_or_404(
        EmailDelivery, pk=delivery_id, account=account, kind=DeliveryKind.STATEMENT
    )
    status = 200
    try:
        retry_statement_email(delivery=delivery, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        status = 409
    else:
        messages.success(request, f"Queued again: the statement goes to {delivery.to_address}.")
    statement = build_statement(
        account=account, start=delivery.period_start, end=delivery.period_end
    )
    if is_partial_request(request):
        shown = StatementPeriodForm(
            {"start": f"{statement.start:%Y-%m-%d}", "end": f"{statement.end:%Y-%m-%d}"},
            today=timezone.localdate(),
        )
        return _render(request, account, shown, statement=statement, status=status)
    return HttpResponseRedirect(_statement_url(account, statement))


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_statement(request: HttpRequest, pk: int) -> TemplateResponse:
    return _page(request, _agent_account(pk))


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_statement(request: HttpRequest, pk: int) -> TemplateResponse:
    return _page(request, _customer_account(pk))


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_statement_email(request: HttpRequest, pk: int) -> HttpResponse:
    return _email(request, _agent_account(pk))


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_statement_email(request: HttpRequest, pk: int) -> HttpResponse:
    return _email(request, _customer_account(pk))


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def agent_statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf(request, _agent_account(pk))


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def customer_statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return _pdf(request, _customer_account(pk))


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_statement_email_retry(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    return _retry(request, _agent_account(pk), delivery_id)


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_statement_email_retry(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    return _retry(request, _customer_account(pk), delivery_id)
