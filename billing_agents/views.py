"""Billing agent pages: the manage list, Add / Edit, View with its sections, and actions.

Views parse the request, call the domain code and render; an htmx request gets the
partial named after the DOM id it swaps (core.htmx.page_or_partial).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Page, Paginator
from django.db.models import Expression, F, OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from billing_agents.forms import BillingAgentForm, CreditAdjustmentForm
from billing_agents.history import agent_history
from billing_agents.models import (
    DEFAULT_SORT,
    FIGURE_FIELDS,
    SORT_FIELDS,
    BillingAgent,
    BillingAgentQuerySet,
    StatusFilter,
)
from billing_agents.pickers import agent_matches
from billing_agents.services import save_agent
from core.access import require_perm
from core.combobox import options_context, request_query
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import confirm_response, into_modal, is_partial_request, page_or_partial
from core.inputs import parse_id, search_text
from core.money import ZERO, format_money, to_cents
from core.spreadsheets import csv_download, csv_safe
from customers.models import Customer
from customers.services import remove_customer_from_agent
from invoicing.accounts import account_for
from invoicing.agent_tickets import remove_ticket_from_agent, why_ticket_cannot_be_removed
from invoicing.aging import overdue_balance
from invoicing.credit_pages import credit_refund_form, credit_refund_step
from invoicing.ledger import adjust_credit
from invoicing.models import Account, CreditTransaction, Invoice, InvoiceLine
from tickets.credit_hold import credit_hold_annotations, hold_after_days, hold_for, mark_holds
from tickets.figures import BillingAgentFiguresQuerySet, agents_with_figures
from tickets.models import Ticket

PAGE_SIZE = 25
SECTION_PAGE_SIZE = 10
LIST_TEMPLATE = "billing_agents/agent_list.html"
DETAIL_TEMPLATE = "billing_agents/agent_detail.html"

# The agent columns the manage page and its CSV show (figures: tickets.figures).
LIST_FIELDS = [
    "company_name",
    "contact_first_name",
    "contact_last_name",
    "phone",
    "email",
    "is_active",
    *FIGURE_FIELDS,
]
# The "Overdue" column: invoicing.aging's past-due figure, sorted here (not a model field).
OVERDUE_SORT = "overdue"
# (label, sort key, css class) for the manage table's sortable columns. On a narrow
# screen the less important columns hide (the row template hides the same cells), so the
# company, its open balance and the actions fit a phone without sideways scrolling.
COLUMNS = [
    ("Company", "company", ""),
    ("Contact", "contact", "d-none d-lg-table-cell"),
    ("Phone", "phone", "d-none d-lg-table-cell"),
    ("Email", "email", "d-none d-md-table-cell"),
    ("Customers", "customers", "text-end d-none d-sm-table-cell"),
    ("Open tickets", "open_tickets", "text-end d-none d-sm-table-cell"),
    ("Open balance", "open_balance", "text-end"),
    ("Overdue", OVERDUE_SORT, "text-end d-none d-sm-table-cell"),
    ("Last ticket", "last_ticket", "d-none d-md-table-cell"),
    ("Status", "status", "d-none d-sm-table-cell"),
]


def _row_permissions(request: HttpRequest) -> dict:
    """What the row buttons need, asked once per page rather than once per row."""
    return {
        "can_change": request.user.has_perm("billing_agents.change_billingagent"),
        "can_deactivate": request.user.has_perm("billing_agents.deactivate_billingagent"),
        "can_view_invoices": request.user.has_perm("invoicing.view_invoice"),
        "invoice_list_url": reverse("invoicing:invoice_list"),
    }


@lru_cache(maxsize=4)
def _row_annotations(today: date, hold_days: int) -> dict[str, Expression]:
    """The manage page's per-row subqueries for `today`: the "On hold" badge and what the
    agent's account has past due (invoicing.aging, as the aging report's past-due buckets,
    0 for none). Built once per day (and shop hold setting) per process: an expression
    is a template that each queryset resolves into a copy of its own, so one build serves
    every request, and building them cost more than running them."""
    del hold_days  # part of the cache key only: credit_hold_annotations reads the setting
    return {
        **credit_hold_annotations(today),
        "overdue": overdue_balance(today, OuterRef("account")),
    }


def _close_modal(response: HttpResponse) -> HttpResponse:
    return trigger_client_event(response, "closeModal")


# --- manage page ---------------------------------------------------------------------


@dataclass(frozen=True)
class ListState:
    """The manage page's search, filter and sort, as read from (and kept in) the URL."""

    q: str
    status: str
    sort: str

    @classmethod
    def from_query(cls, query: QueryDict) -> "ListState":
        status = query.get("status", StatusFilter.ACTIVE)
        if status not in StatusFilter.values:
            status = StatusFilter.ACTIVE
        sort = query.get("sort", DEFAULT_SORT)
        if sort.removeprefix("-") not in (*SORT_FIELDS, OVERDUE_SORT):
            sort = DEFAULT_SORT
        return cls(q=search_text(query.get("q", "")), status=status, sort=sort)

    def matching(self) -> BillingAgentQuerySet:
        """The agents the search and filter keep, without figures (what the count needs)."""
        return BillingAgent.objects.with_status(self.status).search(self.q)

    def agents(self) -> BillingAgentFiguresQuerySet:
        row_annotations = _row_annotations(timezone.localdate(), settings.CREDIT_HOLD_DAYS)
        agents = (
            agents_with_figures()
            .with_status(self.status)
            .search(self.q)
            .only(*LIST_FIELDS)
            .annotate(**row_annotations)
        )
        if self.sort.removeprefix("-") != OVERDUE_SORT:
            return agents.sorted_by(self.sort)
        overdue = F("overdue").desc() if self.sort.startswith("-") else F("overdue").asc()
        return agents.order_by(overdue, "company_name", "pk")

    def columns(self) -> list[dict]:
        """Each sortable column with the sort its header link asks for next."""
        current = self.sort.removeprefix("-")
        descending = self.sort.startswith("-")
        return [
            {
                "label": label,
                "key": key,
                "css": css,
                "direction": ("desc" if descending else "asc") if key == current else "",
                "next": f"-{key}" if key == current and not descending else key,
            }
            for label, key, css in COLUMNS
        ]


@require_GET
@permission_required("billing_agents.view_billingagent", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_list(request: HttpRequest) -> TemplateResponse:
    state = ListState.from_query(request.GET)
    paginator = Paginator(state.agents(), PAGE_SIZE)
    # The figures' subqueries change no count: count the matching agents alone.
    paginator.count = state.matching().count()
    page_obj = paginator.get_page(request.GET.get("page"))
    context = {
        "state": state,
        "columns": state.columns(),
        "page_obj": page_obj,
        "agents": mark_holds(page_obj.object_list),
        "status_choices": StatusFilter.choices,
        **_row_permissions(request),
    }
    return TemplateResponse(
        request, page_or_partial(request, LIST_TEMPLATE, "agent-table"), context
    )


@require_GET
@permission_required("billing_agents.view_billingagent", raise_exception=True)
def agent_export(request: HttpRequest) -> HttpResponse:
    """The current list (same search, filter and sort, all pages) as CSV."""
    state = ListState.from_query(request.GET)
    header = [
        "Company",
        "Contact",
        "Phone",
        "Email",
        "Customers",
        "Open tickets",
        "Open balance",
        "Last ticket",
        "Status",
    ]
    rows = (
        [
            csv_safe(agent.company_name),
            csv_safe(agent.contact_name),
            csv_safe(agent.phone),
            csv_safe(agent.email),
            agent.customer_count,
            agent.open_ticket_count,
            # A plain number (no $, no thousands comma) so a spreadsheet can sum it.
            to_cents(agent.open_balance),
            # The shop's local date, as the page shows it (not the UTC date).
            timezone.localdate(agent.last_ticket_at).isoformat() if agent.last_ticket_at else "",
            "Active" if agent.is_active else "Inactive",
        ]
        for agent in state.agents().iterator(chunk_size=500)
    )
    return csv_download("billing-agents.csv", header, rows)


# Whoever edits a ticket's or a customer's agent, or filters tickets by one, may search.
AGENT_SEARCH_PERMISSIONS = (
    "billing_agents.view_billingagent",
    "tickets.view_ticket",
    "customers.add_customer",
    "customers.change_customer",
)


@require_GET
def agent_search(request: HttpRequest) -> TemplateResponse:
    """An agent picker's suggestions: at most core.combobox.LIMIT active agents matching
    `q`, by company name (the first ones without `q`)."""
    require_perm(request.user, *AGENT_SEARCH_PERMISSIONS)
    context = options_context(request, agent_matches(request_query(request)))
    return TemplateResponse(request, "includes/combobox_options.html", context)


def _row_response(request: HttpRequest, agent: BillingAgent) -> TemplateResponse:
    row_annotations = _row_annotations(timezone.localdate(), settings.CREDIT_HOLD_DAYS)
    agent = agents_with_figures().annotate(**row_annotations).get(pk=agent.pk)
    [agent] = mark_holds([agent])
    response = TemplateResponse(
        request, f"{LIST_TEMPLATE}#agent-row", {"agent": agent, **_row_permissions(request)}
    )
    return _close_modal(response)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.GET.get("next") or request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _set_active(request: HttpRequest, pk: int, *, active: bool) -> HttpResponse:
    """GET: the confirm dialog (or page) with the agent's figures. POST: do it."""
    agent = get_object_or_404(agents_with_figures(), pk=pk)
    next_url = _safe_next(request)
    verb = "Reactivate" if active else "Deactivate"
    if request.method == "POST":
        if active:
            agent.reactivate()
            messages.success(request, f"{agent} is active again and can be chosen for customers.")
        else:
            agent.deactivate()
            messages.success(
                request, f"{agent} was deactivated; its customers, tickets and invoices stay."
            )
        if next_url:
            return HttpResponseRedirect(next_url)
        if is_partial_request(request):
            return _row_response(request, agent)
        return redirect("billing_agents:agent_list")
    url_name = "agent_reactivate" if active else "agent_deactivate"
    action_url = reverse(f"billing_agents:{url_name}", args=[agent.pk])
    if next_url:
        query = QueryDict(mutable=True)
        query["next"] = next_url
        action_url = f"{action_url}?{query.urlencode()}"
    question = (
        f"{agent} will be offered again for customers and tickets."
        if active
        else f"{agent} will no longer be offered for customers and tickets. Its customers, "
        "tickets, invoices and payments stay as they are, and you can reactivate it later."
    )
    return confirm_response(
        request,
        {
            "title": f"{verb} {agent}?",
            "question": question,
            "details": [
                ("Open balance", format_money(agent.open_balance)),
                ("Customers", agent.customer_count),
                ("Open tickets", agent.open_ticket_count),
            ],
            "action_url": action_url,
            "confirm_label": verb,
            "danger": not active,
            "hx_target": None if next_url else f"#agent-row-{agent.pk}",
            "hx_swap": "outerHTML",
            "cancel_url": next_url or reverse("billing_agents:agent_list"),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required("billing_agents.deactivate_billingagent", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=False)


@require_http_methods(["GET", "POST"])
@permission_required("billing_agents.deactivate_billingagent", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=True)


# --- add / edit ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("billing_agents.add_billingagent", raise_exception=True)
def agent_create(request: HttpRequest) -> HttpResponse:
    form = BillingAgentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            agent = save_agent(agent=form.save(commit=False), by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"{agent} was added.")
            return redirect(agent)
    return TemplateResponse(
        request,
        "billing_agents/agent_form.html",
        {"form": form, "agent": None, "history": []},
        status=422 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@permission_required("billing_agents.change_billingagent", raise_exception=True)
def agent_edit(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(BillingAgent, pk=pk)
    form = BillingAgentForm(request.POST or None, instance=agent)
    if request.method == "POST" and form.is_valid():
        if not form.has_changed():
            messages.info(request, "Nothing was changed.")
            return redirect(agent)
        try:
            save_agent(agent=form.save(commit=False), by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"{agent} was saved.")
            return redirect(agent)
    if request.method == "POST":
        agent = get_object_or_404(BillingAgent, pk=pk)  # the heading shows the saved name
    context = {"form": form, "agent": agent, "history": agent_history(agent)}
    status = 422 if request.method == "POST" else 200
    return TemplateResponse(request, "billing_agents/agent_form.html", context, status=status)


# --- view page -----------------------------------------------------------------------


def _customers(agent: BillingAgent):
    return Customer.objects.filter(billing_agent=agent).order_by("last_name", "first_name", "id")


def _tickets(agent: BillingAgent):
    live_invoice = InvoiceLine.objects.filter(ticket=OuterRef("pk"), is_live=True).values(
        "invoice_id"
    )[:1]
    return (
        Ticket.objects.filter(billing_agent=agent)
        .select_related("customer")
        .annotate(live_invoice_id=Subquery(live_invoice))
        .order_by("-created_at", "-id")
    )


def _invoices(agent: BillingAgent):
    return Invoice.objects.filter(account__billing_agent=agent).order_by("-issue_date", "-id")


def _credit(agent: BillingAgent):
    return (
        CreditTransaction.objects.filter(account__billing_agent=agent)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


# DOM id of each section -> (its page parameter, its rows).
SECTIONS = {
    "customers-section": ("customers_page", _customers),
    "tickets-section": ("tickets_page", _tickets),
    "invoices-section": ("invoices_page", _invoices),
    "credit-section": ("credit_page", _credit),
}


def _section_page(request: HttpRequest, agent: BillingAgent, section: str) -> Page:
    param, rows = SECTIONS[section]
    return Paginator(rows(agent), SECTION_PAGE_SIZE).get_page(request.GET.get(param))


def _detail_context(request: HttpRequest, agent: BillingAgent, sections) -> dict:
    context = {"agent": agent}
    for section in sections:
        context[section.replace("-", "_")] = _section_page(request, agent, section)
    return context


@dataclass(frozen=True)
class AccountFigures:
    """The money figures at the top of an agent's View page."""

    open_balance: Decimal
    open_ticket_count: int
    customer_count: int
    overdue_balance: Decimal
    credit_balance: Decimal
    credit_limit: Decimal | None
    written_off: Decimal = ZERO

    @property
    def available_credit(self) -> Decimal | None:
        """Credit limit minus open balance (negative when over the limit); None = no limit."""
        if self.credit_limit is None:
            return None
        return self.credit_limit - self.open_balance


def account_figures(agent: BillingAgent) -> AccountFigures:
    """The agent's ticket figures and its receivables account's figures: two queries."""
    tickets = (
        agents_with_figures()
        .values("customer_count", "open_ticket_count", "open_balance")
        .get(pk=agent.pk)
    )
    money = (
        Account.objects.with_figures()
        .filter(billing_agent=agent)
        .values("overdue_balance", "credit_balance", "written_off")
        .first()
    ) or {"overdue_balance": ZERO, "credit_balance": ZERO, "written_off": ZERO}
    return AccountFigures(
        open_balance=tickets["open_balance"],
        open_ticket_count=tickets["open_ticket_count"],
        customer_count=tickets["customer_count"],
        overdue_balance=money["overdue_balance"],
        credit_balance=to_cents(money["credit_balance"]),
        credit_limit=agent.credit_limit,
        written_off=to_cents(money["written_off"]),
    )


@require_GET
@permission_required("billing_agents.view_billingagent", raise_exception=True)
@vary_on_headers("HX-Request", "HX-Target")
def agent_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    agent = get_object_or_404(BillingAgent, pk=pk)
    target = request.htmx.target if is_partial_request(request) else None
    if target in SECTIONS:
        context = _detail_context(request, agent, [target])
        return TemplateResponse(request, page_or_partial(request, DETAIL_TEMPLATE, target), context)
    context = _detail_context(request, agent, SECTIONS)
    context["figures"] = account_figures(agent)
    context["credit_hold"] = hold_for(agent)
    context["credit_hold_after"] = hold_after_days(agent)
    return TemplateResponse(request, DETAIL_TEMPLATE, context)


def _section_response(request: HttpRequest, agent: BillingAgent, section: str) -> TemplateResponse:
    """After an htmx change on the View page: the section again, the figures out of band."""
    context = _detail_context(request, agent, [section])
    context["figures"] = account_figures(agent)
    context["figures_oob"] = True
    response = TemplateResponse(request, f"{DETAIL_TEMPLATE}#{section}", context)
    return _close_modal(response)


def _refused(request: HttpRequest, context: dict) -> TemplateResponse:
    """Show a refused action inside the open dialog (htmx) or on the confirm page: 409."""
    response = confirm_response(request, context, status=409)
    return into_modal(response) if is_partial_request(request) else response


def _with_query(url: str, request: HttpRequest, param: str) -> str:
    page = parse_id(request.GET.get(param))
    return f"{url}?{param}={page}" if page else url


@require_http_methods(["GET", "POST"])
@permission_required("billing_agents.change_billingagent", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_customer_remove(request: HttpRequest, pk: int, customer_pk: int) -> HttpResponse:
    """GET: confirm removing the customer from the agent. POST: remove it (never delete)."""
    agent = get_object_or_404(BillingAgent, pk=pk)
    customer = get_object_or_404(Customer, pk=customer_pk)
    action_url = _with_query(
        reverse("billing_agents:agent_customer_remove", args=[agent.pk, customer.pk]),
        request,
        "customers_page",
    )
    context = {
        "title": f"Remove {customer} from {agent}?",
        "question": f"{customer} will no longer be billed through {agent}. The customer and "
        "its tickets are kept; tickets already under the agent stay there.",
        "action_url": action_url,
        "confirm_label": "Remove from agent",
        "hx_target": "#customers-section",
        "hx_swap": "outerHTML",
        "cancel_url": agent.get_absolute_url(),
    }
    if customer.billing_agent_id != agent.pk:
        context["blocked_reason"] = f"{customer} is not billed through {agent}."
    if request.method == "POST":
        try:
            remove_customer_from_agent(agent=agent, customer=customer, by=request.user)
        except DomainError as error:
            return _refused(request, {**context, "blocked_reason": error.message})
        messages.success(request, f"{customer} was removed from {agent}.")
        if is_partial_request(request):
            return _section_response(request, agent, "customers-section")
        return redirect(agent)
    return confirm_response(request, context)


@require_http_methods(["GET", "POST"])
@permission_required("billing_agents.change_billingagent", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_ticket_remove(request: HttpRequest, pk: int, ticket_pk: int) -> HttpResponse:
    """GET: confirm taking the ticket off the agent, or say why not. POST: do it."""
    agent = get_object_or_404(BillingAgent, pk=pk)
    ticket = get_object_or_404(Ticket, pk=ticket_pk)
    action_url = _with_query(
        reverse("billing_agents:agent_ticket_remove", args=[agent.pk, ticket.pk]),
        request,
        "tickets_page",
    )
    context = {
        "title": f"Remove {ticket.number} from {agent}?",
        "question": f"{ticket.number} will no longer be billed through {agent}. The ticket is "
        "kept with its items and payments.",
        "details": [("Balance due", format_money(ticket.balance_due))],
        "action_url": action_url,
        "confirm_label": "Remove from agent",
        "hx_target": "#tickets-section",
        "hx_swap": "outerHTML",
        "cancel_url": agent.get_absolute_url(),
    }
    if ticket.billing_agent_id != agent.pk:
        context["blocked_reason"] = f"{ticket.number} is not billed through {agent}."
    else:
        context["blocked_reason"] = why_ticket_cannot_be_removed(ticket=ticket)
    if request.method == "POST":
        try:
            remove_ticket_from_agent(agent=agent, ticket=ticket, by=request.user)
        except DomainError as error:
            return _refused(request, {**context, "blocked_reason": error.message})
        messages.success(request, f"{ticket.number} was removed from {agent}.")
        if is_partial_request(request):
            return _section_response(request, agent, "tickets-section")
        return redirect(agent)
    return confirm_response(request, context)


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.adjust_credit", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_credit_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager's manual credit adjustment: a new ledger row with a reason."""
    agent = get_object_or_404(BillingAgent, pk=pk)
    form = CreditAdjustmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            adjust_credit(
                account=account_for(agent),
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Credit adjustment recorded for {agent}.")
            if is_partial_request(request):
                return _section_response(request, agent, "credit-section")
            return redirect(agent)
    template = "billing_agents/agent_credit_adjust.html"
    response = TemplateResponse(
        request,
        page_or_partial(request, template, "credit-adjust-form"),
        {"agent": agent, "form": form},
        status=422 if request.method == "POST" else 200,
    )
    if request.method == "POST" and is_partial_request(request):
        return into_modal(response)
    return response


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.refund_credit", raise_exception=True)
@vary_on_headers("HX-Request")
def agent_credit_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager pays account credit back to the agent: a `refund` row on the ledger."""
    agent = get_object_or_404(BillingAgent, pk=pk)
    step = credit_refund_step(request, agent)
    if step.refunded is not None:
        if is_partial_request(request):
            return _section_response(request, agent, "credit-section")
        return redirect(agent)
    return credit_refund_form(
        request,
        step,
        payer=agent,
        refund_url=reverse("billing_agents:agent_credit_refund", args=[agent.pk]),
        section_id="credit-section",
    )
