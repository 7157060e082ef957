"""Customer pages: the lookup, Add / Edit with the billing agent, and the View page.

Views parse the request, call the domain code and render; an htmx request gets the
partial named after the DOM id it swaps (core.htmx.page_or_partial).
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from billing_agents.models import BillingAgent
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import is_partial_request, page_or_partial
from core.inputs import parse_id, search_text
from core.paging import ShopPaginator
from core.plans import billing_enabled, requires_billing_plan
from customers.forms import CustomerForm
from customers.models import Customer
from invoicing.credit_pages import credit_refund_form, credit_refund_step
from invoicing.ledger import credit_balance
from invoicing.models import Account
from tickets.customer_agent import save_customer, tickets_that_would_move
from tickets.figures import customers_with_open_balance
from tickets.models import Ticket

PAGE_SIZE = 25
TICKETS_PAGE_SIZE = 20
LIST_TEMPLATE = "customers/customer_list.html"
FORM_TEMPLATE = "customers/customer_form.html"
DETAIL_TEMPLATE = "customers/customer_detail.html"


def _query(request: HttpRequest) -> str:
    return search_text(request.GET.get("q", ""))


# --- lookup --------------------------------------------------------------------------


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_list(request: HttpRequest) -> TemplateResponse:
    """The lookup: search as you type over name, company, phone and email, paginated."""
    q = _query(request)
    paginator = ShopPaginator(Customer.objects.search(q).for_list(), PAGE_SIZE, filtered=bool(q))
    if q and paginator.is_capped:
        # More matches than the cap: a page read in index order beats sorting every match.
        paginator.object_list = Customer.objects.search(q, broad=True).for_list()
    page_obj = paginator.get_page(request.GET.get("page"))
    context = {
        "q": q,
        "page_obj": page_obj,
        "customers": page_obj.object_list,
        "can_change": request.user.has_perm("customers.change_customer"),
    }
    return TemplateResponse(
        request, page_or_partial(request, LIST_TEMPLATE, "customer-table"), context
    )


# --- add / edit ----------------------------------------------------------------------


def _selected_agent(form: CustomerForm, customer: Customer) -> BillingAgent | None:
    if "billing_agent" in form.fields:
        return form.cleaned_data.get("billing_agent")
    return customer.billing_agent


def _form_context(form: CustomerForm, customer: Customer | None, **extra) -> dict:
    with_agent = "billing_agent" in form.fields
    return {
        "form": form,
        "customer": customer,
        "with_agent": with_agent,
        "move_count": 0,
        **extra,
    }


def _save(request: HttpRequest, form: CustomerForm, *, move: bool) -> HttpResponse | None:
    """Save through the service; None (with the error on the form) if a rule refused."""
    customer = form.save(commit=False)
    is_new = customer.pk is None
    try:
        moved = save_customer(
            customer=customer,
            agent=_selected_agent(form, customer),
            move_open_tickets=move,
            by=request.user,
        )
    except DomainError as error:
        add_domain_error(form, error)
        return None
    messages.success(request, f"{customer} was {'added' if is_new else 'saved'}.")
    if moved:
        agent = customer.billing_agent
        target = f"to {agent}" if agent else "off their billing agent"
        messages.success(request, f"Moved {moved} open ticket{'s' if moved != 1 else ''} {target}.")
    return redirect(customer)


@require_http_methods(["GET", "POST"])
@permission_required("customers.add_customer", raise_exception=True)
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, with_agent=billing_enabled())
    if form.searching:
        # The agent box was searched (no JavaScript): the same form, the matches beside it.
        return TemplateResponse(request, FORM_TEMPLATE, _form_context(form, None))
    if request.method == "POST" and form.is_valid():
        response = _save(request, form, move=False)
        if response is not None:
            return response
    status = 422 if request.method == "POST" else 200
    return TemplateResponse(request, FORM_TEMPLATE, _form_context(form, None), status=status)


@require_http_methods(["GET", "POST"])
@permission_required("customers.change_customer", raise_exception=True)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit; when the agent changes and open tickets could follow, offer to move them.

    Nothing moves unless the clerk ticks the box. The offer is part of the form (shown by
    htmx as soon as the picker changes); without JavaScript the first Save that changes
    the agent shows it instead of saving.
    """
    customer = get_object_or_404(Customer.objects.select_related("billing_agent"), pk=pk)
    form = CustomerForm(request.POST or None, instance=customer, with_agent=billing_enabled())
    if form.searching:
        return TemplateResponse(request, FORM_TEMPLATE, _form_context(form, customer))
    move_count = 0
    if request.method == "POST" and form.is_valid():
        if form.agent_changed:
            agent = form.cleaned_data.get("billing_agent")
            move_count = tickets_that_would_move(customer=customer, agent=agent).count()
        if move_count and "move_offer_seen" not in request.POST:
            messages.info(
                request,
                "The billing agent changes: choose whether this customer's open tickets "
                "follow, then save again.",
            )
            context = _form_context(form, customer, move_count=move_count)
            return TemplateResponse(request, FORM_TEMPLATE, context)
        if not form.has_changed() and not form.agent_changed:
            messages.info(request, "Nothing was changed.")
            return redirect(customer)
        response = _save(request, form, move=form.cleaned_data.get("move_open_tickets", False))
        if response is not None:
            return response
    status = 422 if request.method == "POST" else 200
    context = _form_context(form, customer, move_count=move_count)
    return TemplateResponse(request, FORM_TEMPLATE, context, status=status)


@require_GET
@permission_required("customers.change_customer", raise_exception=True)
@vary_on_headers("HX-Request")
@requires_billing_plan
def customer_agent_offer(request: HttpRequest, pk: int) -> HttpResponse:
    """How many open tickets would follow the customer to the agent now in the picker."""
    customer = get_object_or_404(Customer, pk=pk)
    selected_id = parse_id(request.GET.get("billing_agent", ""))
    agent = BillingAgent.objects.filter(pk=selected_id).first() if selected_id else None
    move_count = 0
    if (agent.pk if agent else None) != customer.billing_agent_id:
        move_count = tickets_that_would_move(customer=customer, agent=agent).count()
    context = {"customer": customer, "move_count": move_count, "new_agent": agent}
    if not is_partial_request(request):
        return redirect("customers:customer_edit", pk=customer.pk)
    return TemplateResponse(request, f"{FORM_TEMPLATE}#agent-move-offer", context)


# --- view page -----------------------------------------------------------------------


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
@vary_on_headers("HX-Request")
def customer_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    customer = get_object_or_404(
        customers_with_open_balance().select_related("billing_agent"), pk=pk
    )
    tickets = (
        Ticket.objects.filter(customer=customer)
        .select_related("billing_agent", "location")
        .order_by("-created_at", "-id")
    )
    tickets_page = Paginator(tickets, TICKETS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "customer": customer,
        "tickets_page": tickets_page,
        "can_change": request.user.has_perm("customers.change_customer"),
        "can_add_ticket": request.user.has_perm("tickets.add_ticket"),
        "can_view_tickets": request.user.has_perm("tickets.view_ticket"),
        **_credit_context(request, customer),
    }
    return TemplateResponse(
        request, page_or_partial(request, DETAIL_TEMPLATE, "customer-tickets"), context
    )


def _credit_context(request: HttpRequest, customer: Customer) -> dict:
    """The payer's account credit, for a billing plan and a user who may see the ledger.

    Only a customer that already has an account (a direct-billed payer) shows the card;
    looking creates nothing.
    """
    if not (billing_enabled() and request.user.has_perm("invoicing.view_credittransaction")):
        return {"credit_account": None}
    account = Account.objects.filter(customer=customer).first()
    return {
        "credit_account": account,
        "credit_balance": credit_balance(account=account) if account else None,
    }


# --- account credit ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("invoicing.refund_credit", raise_exception=True)
@vary_on_headers("HX-Request")
@requires_billing_plan
def customer_credit_refund(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager pays account credit back to a direct-billed customer: a `refund` row."""
    customer = get_object_or_404(Customer, pk=pk)
    step = credit_refund_step(request, customer)
    if step.refunded is not None:
        if is_partial_request(request):
            context = {"customer": customer, **_credit_context(request, customer)}
            response = TemplateResponse(request, f"{DETAIL_TEMPLATE}#customer-credit", context)
            return trigger_client_event(response, "closeModal")
        return redirect(customer)
    return credit_refund_form(
        request,
        step,
        payer=customer,
        refund_url=reverse("customers:customer_credit_refund", args=[customer.pk]),
        section_id="customer-credit",
    )
