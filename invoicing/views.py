"""Invoice pages: thin views that parse the request, call the services and render."""

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.db.models import F, Prefetch, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from billing_agents.models import BillingAgent
from core.access import require_perm
from core.combobox import options_context, request_query
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import confirm_response, is_partial_request, page_or_partial
from core.inputs import InvalidInput, parse_decimal, parse_id
from core.money import MAX_MONEY, ZERO, format_money, to_cents
from core.paging import ShopPaginator, is_filtered
from core.spreadsheets import csv_download
from customers.models import Customer
from invoicing import delivery, exports, pickers, services
from invoicing.accounts import (
    account_for,
    account_from_token,
    account_of,
    customer_receivables,
)
from invoicing.documents import (
    document_pdf,
    invoice_document,
    invoice_page_lines,
    ticket_number,
)
from invoicing.forms import (
    CreateInvoicesForm,
    InvoiceFilterForm,
    PayerPickForm,
    PaymentExportForm,
    RemittanceForm,
    TicketFilterForm,
    VoidForm,
    WriteOffForm,
)
from invoicing.ledger import credit_balance
from invoicing.models import (
    Account,
    CreditKind,
    CreditTransaction,
    EmailDelivery,
    Invoice,
    InvoiceStatus,
    InvoiceWriteOff,
    Remittance,
    RemittanceAllocation,
    invoiceable_tickets,
)
from invoicing.reminders import clerk_reminder_level
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
    # Unfiltered (live invoices: deleted ones are few), the table's estimate stands for the count.
    paginator = ShopPaginator(invoices, PAGE_SIZE, filtered=is_filtered(request.GET))
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filters": filters,
        "page": page,
        "invoices": page.object_list,
        "query": query.urlencode(),
        "payment_export_form": PaymentExportForm(),
    }
    template = page_or_partial(request, "invoicing/invoice_list.html", "invoice-table")
    return TemplateResponse(request, template, context)


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def invoice_export(request: HttpRequest) -> HttpResponse:
    """The list with its current filters (every page, same order) as CSV, streamed."""
    filters = InvoiceFilterForm(request.GET or None)
    if filters.is_bound and not filters.is_valid():
        # Nothing is exported: the list shows each filter's message beside it.
        response = invoice_list(request)
        response.status_code = 422
        return response
    today = timezone.localdate()
    rows = exports.invoice_rows(filters.apply(Invoice.objects.for_list()), today=today)
    return csv_download(f"invoices-{today:%Y-%m-%d}.csv", exports.INVOICE_HEADER, rows)


@require_GET
@permission_required("invoicing.view_remittance", raise_exception=True)
def payment_export(request: HttpRequest) -> HttpResponse:
    """Payments received in a date range (`received_from`, `received_to`; either open) as
    CSV, streamed: one row per allocation, one for the credit each payment left."""
    form = PaymentExportForm(request.GET)
    if not form.is_valid():
        context = {"payment_export_form": form}
        return TemplateResponse(request, "invoicing/payment_export.html", context, status=422)
    start, end = form.cleaned_data["received_from"], form.cleaned_data["received_to"]
    span = "".join(f"-{word}-{day:%Y-%m-%d}" for word, day in (("from", start), ("to", end)) if day)
    rows = exports.payment_rows(exports.payments_received(start, end))
    return csv_download(f"payments{span}.csv", exports.PAYMENT_HEADER, rows)


# --- create ----------------------------------------------------------------------------


def _ticked_ids(values: list[str]) -> set[int]:
    """The ticket ids among ticked-box values (ASCII-digit ids only; others ignored)."""
    return {pk for pk in map(parse_id, values) if pk is not None}


def _filter_query(params: QueryDict, account) -> QueryDict:
    """The payer and the ticket filters of `params`, as a query string's values."""
    query = QueryDict(mutable=True)
    if account is not None:
        query["payer"] = account.token
    for name in TicketFilterForm.base_fields:
        if values := [v for v in params.getlist(name) if v]:
            query.setlist(name, values)
    return query


def _create_context(request: HttpRequest, account, form: CreateInvoicesForm | None) -> dict:
    # The filters and ticks come with the filter GET (htmx or the no-JS redirect) and
    # with the create POST, so a refused POST shows the same table, still ticked.
    params = request.GET if request.method == "GET" else request.POST
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
            },
            account=account,
        )
    if request.method == "GET" and request.GET.get("tick") == "all":
        ticked = {str(t.pk) for t in tickets}
    else:
        # Only the shown tickets stay ticked: nothing is invoiced that the clerk cannot see.
        wanted = _ticked_ids(params.getlist("tickets"))
        ticked = {str(t.pk) for t in tickets if t.pk in wanted}
    return {
        "account": account,
        "payer_form": PayerPickForm(request.GET) if account is None else None,
        "filters": filters,
        "tickets": tickets,
        "ticked": ticked,
        "ticked_total": sum((t.balance_due for t in tickets if str(t.pk) in ticked), ZERO),
        "form": form,
        "query": _filter_query(params, account).urlencode(),
    }


def _filtered_create_url(request: HttpRequest, account) -> str:
    """The create page with the posted filters and ticks (the no-JS "Apply filters")."""
    query = _filter_query(request.POST, account)
    query.setlist(
        "tickets", [str(pk) for pk in sorted(_ticked_ids(request.POST.getlist("tickets")))]
    )
    return reverse("invoicing:invoice_create") + "?" + query.urlencode()


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        account = account_from_token(request.POST.get("payer"))
        if request.POST.get("action") == "filter":
            return HttpResponseRedirect(_filtered_create_url(request, account))
        form = CreateInvoicesForm(request.POST, account=account)
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
    # An invalid filter answers 422 (htmx swaps it): the error shows beside its field.
    status = 422 if context["filters"].errors else 200
    return TemplateResponse(request, template, context, status=status)


@require_GET
def payer_search(request: HttpRequest) -> TemplateResponse:
    """A payer picker's suggestions: at most core.combobox.LIMIT payers matching `q`.
    `scope=billable` (the create page) or `invoiced` (the list's filter)."""
    scope = request.GET.get("scope", "")
    scope = scope if scope in pickers.SCOPES else pickers.BILLABLE
    require_perm(
        request.user,
        "invoicing.add_invoice" if scope == pickers.BILLABLE else "invoicing.view_invoice",
    )
    matches = pickers.payer_matches(request_query(request), scope=scope)
    context = options_context(request, matches)
    return TemplateResponse(request, "includes/combobox_options.html", context)


# --- view / print ----------------------------------------------------------------------


def _payments_on(invoice: Invoice):
    """Payments recorded for the invoice or paying any of its lines (payments on the
    account), oldest first."""
    # An IN list worked out once: an EXISTS per payment re-walked every line of the
    # invoice for each payment in the books (a 500-line invoice page grew with them).
    paid_here = RemittanceAllocation.objects.filter(invoice_line__invoice=invoice).values(
        "remittance_id"
    )
    return Remittance.objects.filter(Q(invoice=invoice) | Q(pk__in=paid_here)).order_by(
        "received_on", "id"
    )


def _invoice_context(invoice: Invoice) -> dict:
    document = invoice_document(invoice, live_tickets=True)
    remittances = list(
        _payments_on(invoice)
        .select_related("recorded_by", "voided_by")
        .prefetch_related(
            Prefetch(
                "allocations",
                queryset=RemittanceAllocation.objects.filter(
                    invoice_line__invoice=invoice
                ).annotate(line_ticket_id=F("invoice_line__ticket_id")),
                to_attr="here",
            ),
            "credit_transactions",
        )
    )
    for r in remittances:
        for allocation in r.here:
            allocation.ticket_number = ticket_number(allocation.line_ticket_id)
        # A payment on the account shows what it paid here and the credit it left.
        r.credit_here = [
            c for c in r.credit_transactions.all() if c.invoice_id in (None, invoice.pk)
        ]
    credit_applied = sum(
        (
            a.amount
            for r in remittances
            if r.method == PaymentMethod.ACCOUNT_CREDIT and not r.is_voided
            for a in r.here
        ),
        ZERO,
    )
    overpaid = to_cents(
        CreditTransaction.objects.filter(
            remittance__invoice=invoice, kind=CreditKind.OVERPAYMENT, reversed_by__isnull=True
        ).aggregate(s=Sum("amount"))["s"]
        or ZERO
    )
    write_offs = list(invoice.write_offs.select_related("created_by", "voided_by"))
    return {
        **document.context(),
        "lines": invoice_page_lines(document.lines),
        "remittances": remittances,
        "credit_applied": credit_applied,
        "overpaid": overpaid,
        "write_offs": write_offs,
        "credit_balance": credit_balance(account=invoice.account),
        "can_pay": invoice.status == InvoiceStatus.OPEN,
        "can_apply_credit": invoice.status == InvoiceStatus.OPEN
        and credit_balance(account=invoice.account) > 0,
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
    context = {
        **_invoice_context(invoice),
        "history": _history(invoice),
        "emails": delivery.invoice_emails(invoice),
    }
    return TemplateResponse(request, "invoicing/invoice_detail.html", context)


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def invoice_print(request: HttpRequest, pk: int) -> TemplateResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    context = invoice_document(invoice).context()
    return TemplateResponse(request, "invoicing/invoice_print.html", context)


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The print page as a PDF download (a deleted invoice too, marked DELETED)."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    document = invoice_document(invoice)
    response = HttpResponse(document_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


# --- remittance ------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    """An amount as typed into the remittance form, or None when it is not a usable one."""
    try:
        amount = parse_decimal(value)
    except InvalidInput:
        return None
    return to_cents(amount) if abs(amount) <= MAX_MONEY else None


def _amount(params: QueryDict, method: str, payable: Decimal) -> Decimal | None:
    """The amount typed; left blank with method Account credit, what the credit can pay."""
    text = params.get("amount", "")
    if text.strip():
        return _decimal(text)
    if method == PaymentMethod.ACCOUNT_CREDIT and payable > 0:
        return payable
    return None


def _line_inputs(params: QueryDict, lines) -> tuple[dict[int, str], set[int]]:
    """What stands in each allocation line, and which lines the clerk edited (the
    `edited` markers app.js enables on input, and the page keeps once enabled)."""
    typed = {line.pk: params.get(RemittanceForm.line_field(line), "") for line in lines}
    marked = {parse_id(value) for value in params.getlist("edited")}
    return typed, {line.pk for line in lines if line.pk in marked}


def _remittance_rows(lines, values: dict, errors: dict[str, str], edited=frozenset()) -> list:
    """One dict per allocation line with what its row shows, worked out here once: looked
    up through the line in the template, they were most of a long form's render."""
    rows = []
    for line in lines:
        field = RemittanceForm.line_field(line)
        ticket = line.ticket
        rows.append(
            {
                "line": line,
                "field": field,
                "number": ticket.number,
                "customer": str(ticket.customer) if ticket.customer_id else "",
                "created": f"{timezone.localdate(ticket.created_at):%Y-%m-%d}",
                "balance": format_money(line.balance),
                "value": values.get(line.pk),
                "edited": line.pk in edited,
                "error": errors.get(field, ""),
            }
        )
    return rows


@dataclass(frozen=True)
class PaymentTarget:
    """What one payment form pays: one invoice's open lines (the invoice's Remittance and
    Apply credit pages) or every open invoice's lines (a payment on the account)."""

    account: Account
    invoice: Invoice | None
    lines: list
    payable_credit: Decimal
    action_url: str
    allocation_url: str
    cancel_url: str
    # Apply credit: the method is account credit and cannot be changed.
    credit_only: bool = False

    @property
    def balance(self) -> Decimal:
        return sum((line.balance for line in self.lines), ZERO)

    @property
    def title(self) -> str:
        if self.credit_only:
            return f"Apply credit to {self.invoice.number if self.invoice else self.account.name}"
        if self.invoice is not None:
            return f"Remittance for {self.invoice.number}"
        return f"Payment from {self.account.name}"

    def propose(self, amount, **kwargs) -> services.RemittancePlan:
        return services.propose_remittance(
            invoice=self.invoice, account=self.account, amount=amount, lines=self.lines, **kwargs
        )

    def record(self, **kwargs) -> Remittance:
        if self.invoice is not None:
            return services.record_remittance(invoice=self.invoice, **kwargs)
        return services.record_account_payment(account=self.account, **kwargs)


def _invoice_target(invoice: Invoice, *, credit_only: bool = False) -> PaymentTarget:
    view = "invoicing:invoice_apply_credit" if credit_only else "invoicing:invoice_remittance"
    return PaymentTarget(
        account=invoice.account,
        invoice=invoice,
        lines=services.open_lines(invoice),
        payable_credit=services.credit_payable(invoice=invoice),
        action_url=reverse(view, args=[invoice.pk]),
        allocation_url=reverse("invoicing:invoice_remittance_allocation", args=[invoice.pk]),
        cancel_url=invoice.get_absolute_url(),
        credit_only=credit_only,
    )


def account_target(account: Account, *, action_url: str, allocation_url: str) -> PaymentTarget:
    """The payment form of a payer's account page (agent or direct-billed customer)."""
    return PaymentTarget(
        account=account,
        invoice=None,
        lines=services.account_open_lines(account),
        payable_credit=services.credit_payable(account=account),
        action_url=action_url,
        allocation_url=allocation_url,
        cancel_url=account.get_absolute_url(),
    )


def _remittance_context(
    target: PaymentTarget, form: RemittanceForm, rows, summary: dict, slip=None
) -> dict:
    return {
        "target": target,
        "invoice": target.invoice,
        "form": form,
        "rows": rows,
        "summary": summary,
        "slip": slip,
        "available_credit": credit_balance(account=target.account),
        "allocation_url": target.allocation_url,
    }


def _summary(target: PaymentTarget, amount, shares: dict, method: str, error: str = "") -> dict:
    allocated = sum((v for v in shares.values() if v), ZERO)
    amount = amount or ZERO
    from_credit = method == PaymentMethod.ACCOUNT_CREDIT
    credit = max(amount - allocated, ZERO)
    allowance = services.overpayment_allowance(target.balance)
    return {
        "amount": amount,
        "allocated": allocated,
        "credit": credit,
        "from_credit": from_credit,
        # More credit than this asks the clerk to confirm on Record (services._check_slips).
        "allowance": allowance,
        "large_credit": not from_credit and credit > allowance,
        "error": error,
    }


def _proposal(target: PaymentTarget, amount, typed=None, edited=frozenset()):
    """The split shown for `amount`: lines the clerk edited keep what they typed (blank
    counts as nothing), the others are proposed oldest first from what is left.

    Returns (values shown per line, shares per line, error message, errors per field).
    """
    lines = target.lines
    typed = typed or {}
    errors = {
        RemittanceForm.line_field(line): "Enter an amount such as 12.50."
        for line in lines
        if line.pk in edited and typed.get(line.pk, "").strip() and _decimal(typed[line.pk]) is None
    }
    kept = {
        line.pk: _decimal(typed.get(line.pk, "")) or ZERO for line in lines if line.pk in edited
    }
    shown = {pk: typed.get(pk, "") for pk in kept}
    if amount is None or amount <= 0:
        return {line.pk: shown.get(line.pk) for line in lines}, kept, "", errors
    plan = target.propose(amount, kept=kept)
    shares = {line.pk: share for line, share in zip(plan.lines, plan.amounts, strict=True)}
    values = {pk: shown.get(pk, share) for pk, share in shares.items()}
    if plan.error is None:
        return values, shares, "", errors
    if plan.error.field:
        errors.setdefault(plan.error.field, plan.error.message)
    return values, shares, plan.error.message, errors


def _payment_form(target: PaymentTarget, data=None, **kwargs) -> RemittanceForm:
    return RemittanceForm(
        data,
        lines=target.lines,
        payable_credit=target.payable_credit,
        credit_only=target.credit_only,
        paying="this invoice" if target.invoice else "the open invoices",
        **kwargs,
    )


def _ask_to_confirm(
    request: HttpRequest, target: PaymentTarget, form: RemittanceForm, slip, summary: dict, rows
) -> TemplateResponse:
    """The form again (422) with a box to tick for each slip, bound to its figure: a box
    ticked for another credit or another earlier payment is unticked."""
    data = request.POST.copy()
    confirmed = form.confirmations()
    for box, hidden, value in (
        ("confirm_overpayment", "confirmed_credit", slip.credit),
        ("confirm_duplicate", "confirmed_duplicate", slip.earlier.pk if slip.earlier else None),
    ):
        data[hidden] = "" if value is None else str(value)
        if value is None or value != (
            confirmed.credit if box == "confirm_overpayment" else confirmed.duplicate_of
        ):
            data.pop(box, None)
    form = _payment_form(target, data)
    form.fields["confirm_overpayment"].label = slip.credit_message
    form.fields["confirm_duplicate"].label = slip.duplicate_message
    form.is_valid()
    context = _remittance_context(target, form, rows, summary, slip=slip)
    return TemplateResponse(request, "invoicing/invoice_remittance.html", context, status=422)


def _recorded_message(request: HttpRequest, remittance: Remittance) -> None:
    if remittance.already_recorded:
        messages.info(
            request,
            f"This payment was already recorded ({remittance.get_method_display()} "
            f"{format_money(remittance.amount)} on {remittance.received_on:%Y-%m-%d}).",
        )
        return
    paid = ", ".join(invoice.number for invoice in remittance.invoices_paid) or "no invoice"
    credit = (
        f"; {format_money(remittance.credit)} added to the payer's credit"
        if remittance.credit
        else ""
    )
    if remittance.method == PaymentMethod.ACCOUNT_CREDIT:
        messages.success(
            request, f"Applied {format_money(remittance.amount)} of account credit to {paid}."
        )
        return
    messages.success(
        request,
        f"Recorded {remittance.get_method_display().lower()} payment of "
        f"{format_money(remittance.amount)} for {paid}{credit}.",
    )


def payment_page(request: HttpRequest, target: PaymentTarget) -> HttpResponse:
    """The payment form for `target`: GET shows it (the amount starts empty), POST with
    action=propose re-proposes the split without JavaScript, POST records the payment and
    returns to the invoice or the payer's page (422 with the reasons beside the fields)."""
    lines = target.lines
    if request.method == "GET":
        # The amount starts empty; "Pay full balance" without JavaScript is ?amount=<balance>.
        amount = _decimal(request.GET.get("amount", ""))
        if amount is None and target.credit_only and target.payable_credit > 0:
            amount = target.payable_credit
        amount = amount if amount is not None and amount > 0 else None
        values, shares, error, errors = _proposal(target, amount)
        form = _payment_form(target, initial={"amount": amount} if amount else {})
        rows = _remittance_rows(lines, values, errors)
        method = PaymentMethod.ACCOUNT_CREDIT if target.credit_only else PaymentMethod.CHEQUE
        summary = _summary(target, amount, shares, method, error)
        context = _remittance_context(target, form, rows, summary)
        return TemplateResponse(request, "invoicing/invoice_remittance.html", context)

    form = _payment_form(target, request.POST)
    valid = form.is_valid()
    method = form.method_chosen()
    typed, edited = _line_inputs(request.POST, lines)
    amount = (
        form.cleaned_data.get("amount")
        if valid
        else _amount(request.POST, method, target.payable_credit)
    )
    if request.POST.get("action") == "propose":
        # Without JavaScript: re-render the form with the oldest-first proposal.
        values, shares, error, errors = _proposal(target, amount, typed, edited)
        data = request.POST.copy()
        if amount is not None and not data.get("amount", "").strip():
            data["amount"] = str(amount)
        for line in lines:
            value = values.get(line.pk)
            data[RemittanceForm.line_field(line)] = "" if value is None else str(value)
        form = _payment_form(target, data)
        form.is_valid()
        rows = _remittance_rows(lines, values, errors, edited)
        summary = _summary(target, amount, shares, method, error)
        context = _remittance_context(target, form, rows, summary)
        return TemplateResponse(request, "invoicing/invoice_remittance.html", context)

    if all(not text.strip() for text in typed.values()):
        # No line typed: the payment goes oldest first, and the page shows that split.
        values, shares, _, _ = _proposal(target, amount)
    else:
        values, shares = typed, {pk: _decimal(text) for pk, text in typed.items()}
    summary = _summary(target, amount, shares, method)
    if valid:
        data = form.cleaned_data
        try:
            remittance = target.record(
                amount=data["amount"],
                method=data["method"],
                reference=data["reference"],
                received_on=data["received_on"],
                allocations=form.allocations(),
                idempotency_key=data["idempotency_key"],
                confirmed=form.confirmations(),
                by=request.user,
            )
        except services.PaymentNeedsConfirmation as slip:
            rows = _remittance_rows(lines, values, {}, edited)
            return _ask_to_confirm(request, target, form, slip, summary, rows)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            _recorded_message(request, remittance)
            return _redirect(request, target.cancel_url)
    errors = {name: " ".join(errs) for name, errs in form.errors.items()}
    rows = _remittance_rows(lines, values, errors, edited)
    context = _remittance_context(target, form, rows, summary)
    return TemplateResponse(request, "invoicing/invoice_remittance.html", context, status=422)


def payment_allocation(request: HttpRequest, target: PaymentTarget) -> HttpResponse:
    """htmx helper of payment_page: re-propose the split as the amount, the method or a
    line changes (mode=propose, the table: lines marked `edited` keep what the clerk
    typed, the others are proposed oldest first), or check the clerk's lines (mode=check,
    the summary)."""
    lines = target.lines
    method = request.GET.get("method", "")
    if target.credit_only:
        method = PaymentMethod.ACCOUNT_CREDIT
    amount = _amount(request.GET, method, target.payable_credit)
    typed, edited = _line_inputs(request.GET, lines)
    form = _payment_form(target)
    if request.GET.get("mode") == "check":
        values = {pk_: _decimal(text) for pk_, text in typed.items()}
        error = ""
        errors: dict[str, str] = {}
        if amount is not None and amount > 0:
            allocations = {pk_: v for pk_, v in values.items() if v is not None}
            try:
                target.propose(amount, allocations=allocations)
            except DomainError as exc:
                error = exc.message
                if exc.field:
                    errors[exc.field] = exc.message
        summary = _summary(target, amount, values, method, error)
        context = _remittance_context(
            target, form, _remittance_rows(lines, values, errors, edited), summary
        )
        return TemplateResponse(
            request, "invoicing/invoice_remittance.html#allocation-summary", context
        )
    values, shares, error, errors = _proposal(target, amount, typed, edited)
    summary = _summary(target, amount, shares, method, error)
    rows = _remittance_rows(lines, values, errors, edited)
    context = _remittance_context(target, form, rows, summary)
    return TemplateResponse(request, "invoicing/invoice_remittance.html#allocation-table", context)


def _payable_invoice(request: HttpRequest, pk: int) -> tuple[Invoice | None, HttpResponse | None]:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    if invoice.status != InvoiceStatus.OPEN:
        state = InvoiceStatus(invoice.status).label.lower()
        if invoice.status == InvoiceStatus.PAID:
            state = "paid in full"
        messages.error(request, f"{invoice.number} is {state} and takes no payments.")
        return None, _redirect(request, invoice.get_absolute_url())
    return invoice, None


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
def invoice_remittance(request: HttpRequest, pk: int) -> HttpResponse:
    invoice, refused = _payable_invoice(request, pk)
    return refused or payment_page(request, _invoice_target(invoice))


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
def invoice_apply_credit(request: HttpRequest, pk: int) -> HttpResponse:
    """Apply some of the payer's credit to this invoice: how much and on which lines."""
    invoice, refused = _payable_invoice(request, pk)
    return refused or payment_page(request, _invoice_target(invoice, credit_only=True))


@require_GET
@permission_required("invoicing.add_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_remittance_allocation(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx helper of the Remittance and Apply credit pages (payment_allocation)."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    if not is_partial_request(request):
        return HttpResponseRedirect(reverse("invoicing:invoice_remittance", args=[pk]))
    return payment_allocation(request, _invoice_target(invoice))


# --- payments on a payer's account ----------------------------------------------------


def _agent_account(pk: int) -> Account:
    """The agent's account; unsaved (nothing to pay yet) for an agent never invoiced."""
    return account_of(get_object_or_404(BillingAgent, pk=pk))


def _customer_account(pk: int) -> Account:
    """The account of a customer billed directly (or once billed directly); 404 for a
    customer only ever billed through an agent."""
    account = customer_receivables(get_object_or_404(Customer, pk=pk))
    if account is None:
        raise Http404("This customer is billed through a billing agent.")
    return account


def _account_target(request: HttpRequest, account: Account) -> PaymentTarget:
    kind = account.kind
    pk = account.payer.pk
    if request.method == "POST" and account.pk is None:
        account = account_for(account.payer)
    return account_target(
        account,
        action_url=reverse(f"accounts:{kind}_payment_new", args=[pk]),
        allocation_url=reverse(f"accounts:{kind}_payment_allocation", args=[pk]),
    )


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
def agent_payment_new(request: HttpRequest, pk: int) -> HttpResponse:
    """One payment (cheque, ACH) from the agent covering many invoices."""
    return payment_page(request, _account_target(request, _agent_account(pk)))


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
def customer_payment_new(request: HttpRequest, pk: int) -> HttpResponse:
    """One payment from a direct-billed customer covering many invoices."""
    return payment_page(request, _account_target(request, _customer_account(pk)))


def _account_allocation(request: HttpRequest, account: Account) -> HttpResponse:
    if not is_partial_request(request):
        return HttpResponseRedirect(
            reverse(f"accounts:{account.kind}_payment_new", args=[account.payer.pk])
        )
    return payment_allocation(request, _account_target(request, account))


@require_GET
@permission_required("invoicing.add_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_payment_allocation(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx helper of the agent's payment page (payment_allocation)."""
    return _account_allocation(request, _agent_account(pk))


@require_GET
@permission_required("invoicing.add_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_payment_allocation(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx helper of the customer's payment page (payment_allocation)."""
    return _account_allocation(request, _customer_account(pk))


def _apply_credit(request: HttpRequest, account: Account) -> HttpResponse:
    """GET: what applying the credit would pay (confirm dialog or page). POST: apply the
    account's credit to its oldest invoices, as much as both the credit and the open
    balance allow (a second POST finds nothing left to apply)."""
    target = _account_target(request, account)
    if request.method == "POST":
        if target.payable_credit <= 0:
            messages.info(request, f"{account.name} has no credit that an open invoice can take.")
            return _redirect(request, target.cancel_url)
        try:
            remittance = target.record(
                amount=target.payable_credit,
                method=PaymentMethod.ACCOUNT_CREDIT,
                by=request.user,
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            _recorded_message(request, remittance)
        return _redirect(request, target.cancel_url)
    plan = target.propose(target.payable_credit) if target.payable_credit > 0 else None
    paid: dict[str, Decimal] = {}
    for line, share in zip(plan.lines if plan else [], plan.amounts if plan else [], strict=True):
        if share:
            paid[line.invoice.number] = paid.get(line.invoice.number, ZERO) + share
    action_url = reverse(f"accounts:{account.kind}_credit_apply", args=[account.payer.pk])
    return confirm_response(
        request,
        {
            "title": f"Apply {account.name}'s credit to its oldest invoices?",
            "question": "The credit pays the open invoices oldest due date first; what it "
            "cannot pay stays as credit.",
            "details": [
                ("Credit", format_money(credit_balance(account=account))),
                ("Open balance", format_money(target.balance)),
                *((number, format_money(share)) for number, share in paid.items()),
            ],
            "blocked_reason": ""
            if paid
            else "There is no credit, or no open invoice it could pay.",
            "action_url": action_url,
            "confirm_label": f"Apply {format_money(target.payable_credit)}",
            "danger": False,
            "cancel_url": target.cancel_url,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_credit_apply(request: HttpRequest, pk: int) -> HttpResponse:
    return _apply_credit(request, _agent_account(pk))


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.add_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_credit_apply(request: HttpRequest, pk: int) -> HttpResponse:
    return _apply_credit(request, _customer_account(pk))


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
        elif invoice.status == InvoiceStatus.WRITTEN_OFF:
            blocked = f"{invoice.number} is written off; void the write-off before deleting it."
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


EMAILS_PARTIAL = "invoicing/includes/deliveries.html#invoice-emails"


def _emails_response(request: HttpRequest, invoice: Invoice, *, status: int = 200) -> HttpResponse:
    """After an email action: the Emails section for htmx, the invoice page otherwise."""
    if is_partial_request(request):
        context = {"invoice": invoice, "emails": delivery.invoice_emails(invoice)}
        return TemplateResponse(request, EMAILS_PARTIAL, context, status=status)
    return HttpResponseRedirect(invoice.get_absolute_url() + "#invoice-emails")


def _queued_message(request: HttpRequest, queued: EmailDelivery, what: str) -> None:
    to = queued.to_address
    if queued.already_queued:
        messages.info(request, f"{what} to {to} is queued already; it goes out in a moment.")
    else:
        messages.success(request, f"Queued: {what} goes to {to} in a moment.")


@require_GET
@permission_required("invoicing.view_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_emails(request: HttpRequest, pk: int) -> HttpResponse:
    """The Emails section on its own (it refreshes itself while an email is queued)."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    return _emails_response(request, invoice)


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_send(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    try:
        queued = delivery.queue_invoice_email(invoice=invoice, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return _emails_response(request, invoice, status=409)
    _queued_message(request, queued, invoice.number)
    return _emails_response(request, invoice)


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_remind(request: HttpRequest, pk: int) -> HttpResponse:
    """A clerk's overdue reminder: the level the invoice has reached (the first one before
    it reaches any)."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    level = clerk_reminder_level(invoice, timezone.localdate())
    try:
        if not level:
            raise delivery.DeliveryRefused(
                f"{invoice.number} is not overdue; reminders are for overdue invoices."
            )
        queued = delivery.queue_reminder(invoice=invoice, level=level, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return _emails_response(request, invoice, status=409)
    _queued_message(request, queued, f"Reminder {level} for {invoice.number}")
    return _emails_response(request, invoice)


@require_POST
@permission_required("invoicing.change_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def delivery_retry(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    failed = get_object_or_404(EmailDelivery, pk=delivery_id, invoice=invoice)
    try:
        queued = delivery.retry_delivery(delivery=failed, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return _emails_response(request, invoice, status=409)
    messages.success(request, f"Queued again: the email goes to {queued.to_address} in a moment.")
    return _emails_response(request, invoice)


# --- corrections: void a payment, write off, void a write-off -------------------------

CORRECTION_TEMPLATE = "invoicing/correction_confirm.html"


def _correction_response(
    request: HttpRequest, context: dict, form, *, status: int = 200
) -> TemplateResponse:
    """The confirm dialog with its reason form: modal content for htmx, a page without JS."""
    template = page_or_partial(request, CORRECTION_TEMPLATE, "correction-form")
    return TemplateResponse(request, template, {**context, "form": form}, status=status)


def _refused_correction(request: HttpRequest, context: dict, form, error: DomainError):
    """A refused correction: beside the reason (422) or as the dialog's reason (409)."""
    if error.field in form.fields:
        add_domain_error(form, error)
        return _correction_response(request, context, form, status=422)
    return _correction_response(
        request, {**context, "blocked_reason": error.message}, form, status=409
    )


def _void_changes(remittance: Remittance) -> list[str]:
    """What voiding the payment changes, in words, for the confirm dialog: every invoice
    it paid (a payment on the account may have paid several)."""
    changes = []
    undone: dict[int, Decimal] = {}
    for allocation in remittance.allocations.select_related("invoice_line__ticket__customer"):
        line = allocation.invoice_line
        undone[line.invoice_id] = undone.get(line.invoice_id, ZERO) + allocation.amount
        changes.append(
            f"{line.ticket.number}: a reversal of "
            f"{format_money(allocation.amount)} (reason kept on the ticket)."
        )
    for invoice in Invoice.objects.filter(pk__in=[*undone, remittance.invoice_id]).order_by("pk"):
        allocated = undone.get(invoice.pk, ZERO)
        paid_after = invoice.amount_paid - allocated
        changes.append(
            f"{invoice.number} paid: {format_money(invoice.amount_paid)} → "
            f"{format_money(paid_after)}"
            + (
                "; the invoice opens again and its tickets go back to Invoiced."
                if invoice.status == InvoiceStatus.PAID and allocated
                else "."
            )
        )
    for row in remittance.credit_transactions.filter(reversed_by__isnull=True).exclude(
        kind=CreditKind.REVERSAL
    ):
        changes.append(
            f"Payer's credit: the {row.get_kind_display().lower()} of "
            f"{format_money(row.amount)} is reversed."
        )
    return changes


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.void_remittance", raise_exception=True)
@vary_on_headers("HX-Request")
def remittance_void(request: HttpRequest, pk: int, remittance_id: int) -> HttpResponse:
    """GET: confirm voiding the payment (what changes, or why it cannot). POST: void it."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    remittance = get_object_or_404(
        _payments_on(invoice).select_related("invoice", "voided_by"), pk=remittance_id
    )
    context = {
        "title": f"Void this payment on {remittance.paid_for}?",
        "question": (
            "The payment stays on record, struck through with who, when and why; what it "
            "paid and the credit it left are reversed by new entries."
        ),
        "details": [
            ("Payer", invoice.account.name),
            ("Payment", f"{remittance.get_method_display()} {format_money(remittance.amount)}"),
            ("Reference", remittance.reference or "—"),
            ("Received", f"{remittance.received_on:%Y-%m-%d}"),
        ],
        "changes": _void_changes(remittance),
        "action_url": reverse("invoicing:remittance_void", args=[pk, remittance.pk]),
        "confirm_label": "Void payment",
        "cancel_url": invoice.get_absolute_url(),
    }
    if request.method == "GET":
        blocked = services.why_remittance_cannot_be_voided(remittance=remittance)
        return _correction_response(request, {**context, "blocked_reason": blocked}, VoidForm())
    form = VoidForm(request.POST)
    if not form.is_valid():
        return _correction_response(request, context, form, status=422)
    try:
        voided = services.void_remittance(
            remittance=remittance, reason=form.cleaned_data["reason"], by=request.user
        )
    except DomainError as error:
        return _refused_correction(request, context, form, error)
    if voided.already_voided:
        messages.info(request, "This payment was already voided; nothing was recorded now.")
    else:
        messages.success(
            request,
            f"Voided the {voided.get_method_display().lower()} payment of "
            f"{format_money(voided.amount)} on {voided.paid_for}.",
        )
    return _redirect(request, invoice.get_absolute_url())


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.write_off_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def invoice_write_off(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: confirm writing off the unpaid balance. POST: write it off."""
    invoice = get_object_or_404(Invoice.objects.with_account(), pk=pk)
    context = {
        "title": f"Write off the balance of {invoice.number}?",
        "question": (
            "The invoice is settled as written off (not paid) and its tickets close. "
            "A write-off can be voided later."
        ),
        "details": [
            ("Payer", invoice.account.name),
            ("Total", format_money(invoice.total)),
            ("Paid", format_money(invoice.amount_paid)),
            ("To write off", format_money(invoice.balance)),
            ("Tickets closing", invoice.lines.count()),
        ],
        "action_url": reverse("invoicing:invoice_write_off", args=[pk]),
        "confirm_label": "Write off",
        "cancel_url": invoice.get_absolute_url(),
    }
    if request.method == "GET":
        blocked = ""
        if invoice.status != InvoiceStatus.OPEN:
            state = InvoiceStatus(invoice.status).label.lower()
            blocked = f"{invoice.number} is {state}; only an open invoice can be written off."
        return _correction_response(request, {**context, "blocked_reason": blocked}, WriteOffForm())
    form = WriteOffForm(request.POST)
    if not form.is_valid():
        return _correction_response(request, context, form, status=422)
    try:
        write_off = services.write_off_invoice(
            invoice=invoice, reason=form.cleaned_data["reason"], by=request.user
        )
    except DomainError as error:
        return _refused_correction(request, context, form, error)
    messages.success(request, f"Wrote off {format_money(write_off.amount)} on {invoice.number}.")
    return _redirect(request, invoice.get_absolute_url())


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.write_off_invoice", raise_exception=True)
@vary_on_headers("HX-Request")
def write_off_void(request: HttpRequest, pk: int, write_off_id: int) -> HttpResponse:
    """GET: confirm voiding the write-off. POST: void it (the invoice owes again)."""
    write_off = get_object_or_404(
        InvoiceWriteOff.objects.select_related("invoice__account", "voided_by"),
        pk=write_off_id,
        invoice_id=pk,
    )
    invoice = write_off.invoice
    context = {
        "title": f"Void the write-off of {invoice.number}?",
        "question": (
            "The write-off stays on record, struck through with who, when and why; the "
            "invoice owes its balance again and its tickets go back to Invoiced."
        ),
        "details": [
            ("Payer", invoice.account.name),
            ("Written off", format_money(write_off.amount)),
            ("Reason", write_off.reason),
        ],
        "action_url": reverse("invoicing:write_off_void", args=[pk, write_off.pk]),
        "confirm_label": "Void write-off",
        "cancel_url": invoice.get_absolute_url(),
    }
    if request.method == "GET":
        blocked = ""
        if write_off.is_voided:
            blocked = f"This write-off was already voided on {write_off.voided_at:%Y-%m-%d %H:%M}."
        return _correction_response(request, {**context, "blocked_reason": blocked}, VoidForm())
    form = VoidForm(request.POST)
    if not form.is_valid():
        return _correction_response(request, context, form, status=422)
    try:
        voided = services.void_write_off(
            write_off=write_off, reason=form.cleaned_data["reason"], by=request.user
        )
    except DomainError as error:
        return _refused_correction(request, context, form, error)
    if voided.already_voided:
        messages.info(request, "This write-off was already voided; nothing was recorded now.")
    else:
        messages.success(
            request, f"Voided the write-off of {format_money(voided.amount)} on {invoice.number}."
        )
    return _redirect(request, invoice.get_absolute_url())
