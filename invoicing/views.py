"""Invoice pages: thin views that parse the request, call the services and render."""

import smtplib
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Prefetch, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import confirm_response, is_partial_request, page_or_partial
from core.inputs import InvalidInput, parse_decimal, search_text
from core.money import MAX_MONEY, ZERO, format_money, to_cents
from invoicing import services
from invoicing.accounts import account_for, account_from_token, search_payers
from invoicing.forms import (
    CreateInvoicesForm,
    InvoiceFilterForm,
    RemittanceForm,
    TicketFilterForm,
)
from invoicing.ledger import credit_balance
from invoicing.models import (
    CreditKind,
    CreditTransaction,
    Invoice,
    InvoiceStatus,
    RemittanceAllocation,
    invoiceable_tickets,
)
from tickets.models import PaymentMethod

PAGE_SIZE = 25


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """After a change: a client redirect for htmx, a plain redirect otherwise."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


# --- list ------------------------------------------------------------------------------


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_list(request: HttpRequest) -> TemplateResponse:
    filters = InvoiceFilterForm(request.GET or None)
    invoices = filters.apply(Invoice.objects.for_list())
    page = Paginator(invoices, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "invoices": page.object_list,
        "query": query.urlencode(),
    }
    template = page_or_partial(request, "invoicing/invoice_list.html", "invoice-table")
    return TemplateResponse(request, template, context)


# --- create ----------------------------------------------------------------------------


def _create_context(request: HttpRequest, account, form: CreateInvoicesForm | None) -> dict:
    params = request.GET if request.method == "GET" else QueryDict(mutable=True)
    filters = TicketFilterForm(params)
    tickets = []
    if account is not None:
        tickets = list(
            filters.apply(invoiceable_tickets().invoiceable().for_account(account)).for_picker()
        )
    if form is None:
        form = CreateInvoicesForm(
            initial={
                "payer": account.token if account else "",
                "invoice_method": "batch" if account and account.prefers_batch else "individual",
                "send_email": False,
            }
        )
    if form.is_bound:
        ticked = {str(pk) for pk in form.data.getlist("tickets")}
    else:
        ticked = {str(t.pk) for t in tickets} if request.GET.get("tick") == "all" else set()
    query = request.GET.copy()
    query.pop("tick", None)
    return {
        "account": account,
        "q": search_text(request.GET.get("q", "")),
        "payers": search_payers(search_text(request.GET.get("q", ""))) if account is None else [],
        "filters": filters,
        "tickets": tickets,
        "ticked": ticked,
        "total_due": sum((t.balance_due for t in tickets), ZERO),
        "form": form,
        "query": query.urlencode(),
    }


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CreateInvoicesForm(request.POST)
        account = account_from_token(request.POST.get("payer"))
        if form.is_valid():
            data = form.cleaned_data
            try:
                invoices = services.create_invoices(
                    account=account_for(data["payer"].payer),
                    ticket_ids=data["tickets"],
                    batch=data["invoice_method"] == "batch",
                    issue_date=data["issue_date"],
                    by=request.user,
                    send_email=data["send_email"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                numbers = ", ".join(i.number for i in invoices)
                note = " and emailed" if data["send_email"] else ""
                messages.success(request, f"Created{note}: {numbers}.")
                if len(invoices) == 1:
                    url = invoices[0].get_absolute_url()
                else:
                    url = (
                        reverse("invoicing:invoice_list")
                        + "?"
                        + urlencode({"payer": data["payer"].token})
                    )
                return _redirect(request, url)
        context = _create_context(request, account, form)
        return TemplateResponse(request, "invoicing/invoice_create.html", context, status=422)
    account = account_from_token(request.GET.get("payer"))
    context = _create_context(request, account, None)
    template = page_or_partial(request, "invoicing/invoice_create.html", "ticket-table")
    return TemplateResponse(request, template, context)


@require_GET
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_payer_search(request: HttpRequest) -> HttpResponse:
    """The payer picker's results; the full create page without htmx."""
    if not is_partial_request(request):
        query = urlencode({"q": search_text(request.GET.get("q", ""))})
        url = reverse("invoicing:invoice_create") + "?" + query
        return HttpResponseRedirect(url)
    q = search_text(request.GET.get("q", ""))
    context = {"payers": search_payers(q), "q": q}
    return TemplateResponse(request, "invoicing/invoice_create.html#payer-results", context)


# --- view / print ----------------------------------------------------------------------


def _invoice_context(invoice: Invoice) -> dict:
    lines = list(
        invoice.lines.select_related("ticket__customer").order_by("ticket__created_at", "ticket_id")
    )
    remittances = list(
        invoice.remittances.select_related("recorded_by").prefetch_related(
            Prefetch(
                "allocations",
                queryset=RemittanceAllocation.objects.select_related("invoice_line__ticket"),
            ),
            "credit_transactions",
        )
    )
    credit_applied = sum(
        (r.amount for r in remittances if r.method == PaymentMethod.ACCOUNT_CREDIT), ZERO
    )
    overpaid = to_cents(
        CreditTransaction.objects.filter(
            remittance__invoice=invoice, kind=CreditKind.OVERPAYMENT
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    return {
        "invoice": invoice,
        "payer": invoice.account.payer,
        "lines": lines,
        "remittances": remittances,
        "credit_applied": credit_applied,
        "overpaid": overpaid,
        "credit_balance": credit_balance(account=invoice.account),
        "can_pay": invoice.status == InvoiceStatus.OPEN,
    }


def _shown(value) -> str:
    if isinstance(value, Decimal):  # an invoice's only decimals are its total and amount paid
        return format_money(value)
    return "—" if value is None or value == "" else str(value)


def _history(invoice: Invoice) -> list[dict]:
    """The invoice's audit trail: who changed what, oldest first."""
    records = list(
        invoice.history.select_related("history_user").order_by("history_date", "history_id")
    )
    rows = []
    previous = None
    for record in records:
        if previous is None:
            what = "Created"
        else:
            changes = record.diff_against(
                previous, excluded_fields=["updated_at", "deleted_by"]
            ).changes
            what = (
                "; ".join(
                    f"{c.field.replace('_', ' ')}: {_shown(c.old)} → {_shown(c.new)}"
                    for c in changes
                )
                or "Saved"
            )
        rows.append({"when": record.history_date, "who": record.history_user, "what": what})
        previous = record
    return rows


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def invoice_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    context = {**_invoice_context(invoice), "history": _history(invoice)}
    return TemplateResponse(request, "invoicing/invoice_detail.html", context)


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def invoice_print(request: HttpRequest, pk: int) -> TemplateResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    return TemplateResponse(request, "invoicing/invoice_print.html", _invoice_context(invoice))


# --- remittance ------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    """An amount as typed into the remittance form, or None when it is not a usable one."""
    try:
        amount = parse_decimal(value)
    except InvalidInput:
        return None
    return to_cents(amount) if abs(amount) <= MAX_MONEY else None


def _remittance_rows(lines, values: dict[int, Decimal | None], errors: dict[str, str]) -> list:
    return [
        {
            "line": line,
            "field": RemittanceForm.line_field(line),
            "value": values.get(line.pk),
            "error": errors.get(RemittanceForm.line_field(line), ""),
        }
        for line in lines
    ]


def _remittance_context(invoice: Invoice, form: RemittanceForm, rows, summary: dict) -> dict:
    return {
        "invoice": invoice,
        "form": form,
        "rows": rows,
        "summary": summary,
        "available_credit": credit_balance(account=invoice.account),
        "allocation_url": reverse("invoicing:invoice_remittance_allocation", args=[invoice.pk]),
    }


def _summary(amount, values: dict, method: str, error: str = "") -> dict:
    allocated = sum((v for v in values.values() if v), ZERO)
    amount = amount or ZERO
    return {
        "amount": amount,
        "allocated": allocated,
        "credit": max(amount - allocated, ZERO),
        "from_credit": method == PaymentMethod.ACCOUNT_CREDIT,
        "error": error,
    }


def _proposal(invoice, lines, amount) -> tuple[dict, str]:
    """The oldest-first split of `amount` for the form, or an error to show."""
    if amount is None or amount <= 0:
        return {line.pk: None for line in lines}, ""
    try:
        plan = services.propose_remittance(invoice=invoice, amount=amount)
    except DomainError as error:
        return {line.pk: None for line in lines}, error.message
    return {line.pk: share for line, share in zip(plan.lines, plan.amounts, strict=True)}, ""


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
def invoice_remittance(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    if invoice.status != InvoiceStatus.OPEN:
        state = "deleted" if invoice.status == InvoiceStatus.DELETED else "paid in full"
        messages.error(request, f"{invoice.number} is {state} and takes no payments.")
        return _redirect(request, invoice.get_absolute_url())
    lines = services.open_lines(invoice)
    if request.method == "GET":
        amount = invoice.balance
        values, error = _proposal(invoice, lines, amount)
        form = RemittanceForm(lines=lines, initial={"amount": amount})
        rows = _remittance_rows(lines, values, {})
        summary = _summary(amount, values, PaymentMethod.CHEQUE, error)
        context = _remittance_context(invoice, form, rows, summary)
        return TemplateResponse(request, "invoicing/invoice_remittance.html", context)

    form = RemittanceForm(request.POST, lines=lines)
    propose = request.POST.get("action") == "propose"
    valid = form.is_valid()
    if propose:
        # Without JavaScript: re-render the form with the oldest-first proposal.
        amount = form.cleaned_data.get("amount") if valid else _decimal(request.POST.get("amount"))
        values, error = _proposal(invoice, lines, amount)
        data = request.POST.copy()
        for line in lines:
            value = values.get(line.pk)
            data[RemittanceForm.line_field(line)] = "" if value is None else str(value)
        form = RemittanceForm(data, lines=lines)
        form.is_valid()
        rows = _remittance_rows(lines, values, {})
        summary = _summary(amount, values, request.POST.get("method", ""), error)
        context = _remittance_context(invoice, form, rows, summary)
        return TemplateResponse(request, "invoicing/invoice_remittance.html", context)
    if valid:
        data = form.cleaned_data
        try:
            remittance = services.record_remittance(
                invoice=invoice,
                amount=data["amount"],
                method=data["method"],
                reference=data["reference"],
                received_on=data["received_on"],
                allocations=form.allocations(),
                idempotency_key=data["idempotency_key"],
                by=request.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if remittance.already_recorded:
                messages.info(
                    request,
                    f"This payment was already recorded ({remittance.get_method_display()} "
                    f"{format_money(remittance.amount)} on {remittance.received_on:%Y-%m-%d}).",
                )
            else:
                credit = (
                    f"; {format_money(remittance.credit)} added to the payer's credit"
                    if remittance.credit
                    else ""
                )
                messages.success(
                    request,
                    f"Recorded {remittance.get_method_display().lower()} payment of "
                    f"{format_money(remittance.amount)} for {invoice.number}{credit}.",
                )
            return _redirect(request, invoice.get_absolute_url())
    values = {
        line.pk: _decimal(request.POST.get(RemittanceForm.line_field(line), "")) for line in lines
    }
    errors = {name: " ".join(errs) for name, errs in form.errors.items()}
    rows = _remittance_rows(lines, values, errors)
    summary = _summary(
        _decimal(request.POST.get("amount", "")), values, request.POST.get("method", "")
    )
    context = _remittance_context(invoice, form, rows, summary)
    return TemplateResponse(request, "invoicing/invoice_remittance.html", context, status=422)


@require_GET
@permission_required("invoicing.add_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_remittance_allocation(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx helper: propose a split as the amount is typed (mode=propose, the table), or
    check the clerk's edited lines (mode=check, the summary)."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    if not is_partial_request(request):
        return HttpResponseRedirect(reverse("invoicing:invoice_remittance", args=[pk]))
    lines = services.open_lines(invoice)
    amount = _decimal(request.GET.get("amount", ""))
    method = request.GET.get("method", "")
    form = RemittanceForm(lines=lines)
    if request.GET.get("mode") == "check":
        values = {
            line.pk: _decimal(request.GET.get(RemittanceForm.line_field(line), ""))
            for line in lines
        }
        error = ""
        errors: dict[str, str] = {}
        if amount is not None and amount > 0:
            allocations = {pk_: v for pk_, v in values.items() if v is not None}
            try:
                services.propose_remittance(invoice=invoice, amount=amount, allocations=allocations)
            except DomainError as exc:
                error = exc.message
                if exc.field:
                    errors[exc.field] = exc.message
        summary = _summary(amount, values, method, error)
        context = _remittance_context(
            invoice, form, _remittance_rows(lines, values, errors), summary
        )
        return TemplateResponse(
            request, "invoicing/invoice_remittance.html#allocation-summary", context
        )
    values, error = _proposal(invoice, lines, amount)
    summary = _summary(amount, values, method, error)
    context = _remittance_context(invoice, form, _remittance_rows(lines, values, {}), summary)
    return TemplateResponse(request, "invoicing/invoice_remittance.html#allocation-table", context)


# --- delete / send ---------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.delete_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_delete(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    from_list = request.GET.get("from") == "list"
    if request.method == "GET":
        action_url = reverse("invoicing:invoice_delete", args=[pk])
        blocked = ""
        if invoice.status == InvoiceStatus.PAID:
            blocked = f"{invoice.number} is paid in full and cannot be deleted."
        elif invoice.status == InvoiceStatus.DELETED:
            blocked = f"{invoice.number} is already deleted."
        context = {
            "title": f"Delete invoice {invoice.number}?",
            "question": (
                "The invoice is kept as a deleted record and its tickets go back to "
                "Waiting for Payment, with their payments intact."
            ),
            "details": [
                ("Payer", invoice.account.name),
                ("Total", format_money(invoice.total)),
                ("Paid", format_money(invoice.amount_paid)),
                ("Tickets", invoice.lines.count()),
            ],
            "action_url": action_url + ("?from=list" if from_list else ""),
            "confirm_label": "Delete invoice",
            "cancel_url": reverse("invoicing:invoice_list")
            if from_list
            else invoice.get_absolute_url(),
            "hx_target": f"#invoice-row-{pk}" if from_list else "",
            "blocked_reason": blocked,
        }
        return confirm_response(request, context)
    try:
        invoice = services.delete_invoice(invoice=invoice, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"{invoice.number} deleted; its tickets are back in Waiting for Payment."
        )
    if from_list and is_partial_request(request):
        invoice.refresh_from_db()
        response = TemplateResponse(
            request, "invoicing/invoice_list.html#invoice-row", {"invoice": invoice}
        )
        return trigger_client_event(response, "closeModal")
    return _redirect(request, invoice.get_absolute_url())


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_send(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    try:
        services.send_invoice_email(invoice=invoice, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    except (smtplib.SMTPException, OSError) as error:
        messages.error(request, f"The mail server refused the email: {error}")
    else:
        invoice.refresh_from_db()
        messages.success(request, f"{invoice.number} sent to {invoice.sent_to}.")
    if is_partial_request(request):
        invoice.refresh_from_db()
        return TemplateResponse(
            request,
            "invoicing/invoice_detail.html#invoice-sent",
            {"invoice": invoice, "now": timezone.now()},
        )
    return _redirect(request, invoice.get_absolute_url())
