"""Ticket pages: the list, create, and the detail page where everything happens in place.

Every change on the detail page is a POST to its own endpoint. With htmx the answer is
the re-rendered `ticket-workspace` partial (parties, items, discount, deposits, totals
and status together, so no figure on the page can disagree with another); without htmx
a success redirects back to the page (PRG) and a refusal renders the page with the
message beside the field and a 4xx status.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from core.access import require_perm
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import confirm_response, is_partial_request, page_or_partial
from core.inputs import parse_id, search_text
from core.money import format_money
from core.paging import ShopPaginator, is_filtered
from core.plans import billing_enabled, requires_billing_plan
from customers.models import Customer
from invoicing.models import Invoice, InvoiceLine
from tickets import services
from tickets.credit_hold import hold_for
from tickets.forms import (
    AgentForm,
    DepositForm,
    DiscountForm,
    ItemForm,
    PayerReferenceForm,
    RefundForm,
    TicketCreateForm,
    TicketFilterForm,
)
from tickets.history import ticket_history
from tickets.models import (
    CreditHoldError,
    CreditLimitExceeded,
    Ticket,
    TicketItem,
    TicketLocked,
)
from tickets.transitions import Status

PAGE_SIZE = 25
CUSTOMER_RESULTS = 8
LIST_TEMPLATE = "tickets/ticket_list.html"
DETAIL_TEMPLATE = "tickets/ticket_detail.html"
REFUND_PERMISSION = "tickets.refund_deposit"
# The parts of the detail page an htmx GET may ask for (by hx-target).
DETAIL_PARTIALS = frozenset({"ticket-workspace", "customer-results"})


def _ticket(pk: int) -> Ticket:
    return get_object_or_404(
        Ticket.objects.select_related("location", "customer", "billing_agent"), pk=pk
    )


# --- list and create -------------------------------------------------------------------


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
@vary_on_headers("HX-Request")
def ticket_list(request: HttpRequest) -> TemplateResponse:
    """Tickets, newest first, filtered by status, kind, location and agent, searchable by
    number or customer; one page is a fixed number of queries."""
    form = TicketFilterForm(request.GET, with_agent=billing_enabled())
    tickets = Ticket.objects.for_list().order_by("-created_at", "-id")
    if form.is_valid():
        tickets = tickets.search(form.cleaned_data["q"]).filtered(**form.filters())
    # An unfiltered list of a big table shows PostgreSQL's estimate, a filtered one a capped count.
    paginator = ShopPaginator(tickets, PAGE_SIZE, filtered=is_filtered(request.GET))
    page_obj = paginator.get_page(request.GET.get("page"))
    context = {"form": form, "page_obj": page_obj, "tickets": page_obj.object_list}
    return TemplateResponse(
        request, page_or_partial(request, LIST_TEMPLATE, "ticket-table"), context
    )


@require_http_methods(["GET", "POST"])
@permission_required("tickets.add_ticket", raise_exception=True)
def ticket_create(request: HttpRequest) -> HttpResponse:
    """A repair (device, problem) or a quick sale at a location; `?customer=` pre-attaches."""
    initial = {"customer": parse_id(request.GET.get("customer"))}
    form = TicketCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ticket = services.create_ticket(
            kind=data["kind"],
            location=data["location"],
            device=data["device"].strip(),
            problem_description=data["problem_description"].strip(),
            customer=data["customer"],
            by=request.user,
        )
        messages.success(request, f"{ticket.get_kind_display()} {ticket.number} was created.")
        return HttpResponseRedirect(ticket.get_absolute_url())
    customer = None
    if initial["customer"] and not form.is_bound:
        customer = Customer.objects.filter(pk=initial["customer"]).first()
    elif form.is_bound and form.is_valid():
        customer = form.cleaned_data.get("customer")
    context = {"form": form, "customer": customer}
    status = 422 if request.method == "POST" else 200
    return TemplateResponse(request, "tickets/ticket_form.html", context, status=status)


# --- detail page -------------------------------------------------------------------------


def _edit_item(request: HttpRequest, ticket: Ticket) -> TicketItem | None:
    item_id = parse_id(request.GET.get("edit_item"))
    if item_id is None or ticket.is_locked:
        return None
    return ticket.items.filter(pk=item_id).first()


def _item_form(item: TicketItem, data=None) -> ItemForm:
    return ItemForm(
        data,
        prefix="edit",
        initial={
            "description": item.description,
            "quantity": item.quantity.normalize(),
            "unit_price": item.unit_price,
            "taxable": item.taxable,
        },
    )


def _workspace(request: HttpRequest, ticket: Ticket, **overrides) -> dict:
    """Everything the workspace shows; `overrides` carry bound forms and errors."""
    can_change = request.user.has_perm("tickets.change_ticket")
    try:
        ticket.ensure_editable()
        locked_reason = None
    except TicketLocked as error:
        locked_reason = error.message
    editable = can_change and locked_reason is None
    can_refund = request.user.has_perm(REFUND_PERMISSION) and locked_reason is None
    refundable = services.refundable_amount(ticket) if can_refund else None
    customer_q = search_text(request.GET.get("customer_q", ""))
    with_agent = billing_enabled()
    context = {
        "ticket": ticket,
        "items": list(ticket.items.all()),
        "payments": list(ticket.payments.select_related("received_by")),
        "status_changes": list(
            ticket.status_changes.select_related("changed_by").order_by("-changed_at", "-id")[:10]
        ),
        "history": ticket_history(ticket, with_agent=with_agent),
        "can_change": can_change,
        "editable": editable,
        "locked_reason": locked_reason,
        "locked_invoice": _holding_invoice(ticket) if locked_reason else None,
        "with_agent": with_agent,
        # The agent's badge on this page; the move itself checks again (transition_to).
        "credit_hold": hold_for(ticket.billing_agent) if with_agent else None,
        "can_override": request.user.has_perm(services.OVERRIDE_PERMISSION),
        "moves": [(target, Status(target).label) for target in ticket.allowed_moves()]
        if can_change
        else [],
        "refused_moves": [(Status(t).label, reason) for t, reason in ticket.refused_moves()]
        if can_change and locked_reason is None
        else [],
        "customer_q": customer_q,
        "customer_results": _customer_results(customer_q) if editable else [],
        "item_form": ItemForm(prefix="item"),
        "edit_item": None,
        "edit_form": None,
        "discount_form": DiscountForm(
            initial={
                "discount_type": ticket.discount_type,
                "discount_value": ticket.discount_value,
            }
        ),
        "deposit_form": DepositForm(prefix="deposit"),
        # The refund form shows while something paid at the counter can be paid back.
        "can_refund": bool(refundable),
        "refundable": refundable,
        "refund_form": RefundForm(prefix="refund"),
        "agent_form": AgentForm(current_id=ticket.billing_agent_id),
        # Labelled by the agent on the ticket now, so an agent change relabels it.
        "reference_form": PayerReferenceForm(ticket=ticket),
        "alert": None,
        "credit_error": None,
        "hold_error": None,
        "credit_target": "",
        # Overrides already given for the refused move, carried by the next override form.
        "override_limit": False,
        "override_hold": False,
    }
    edit_item = overrides.get("edit_item") or _edit_item(request, ticket)
    if edit_item is not None and editable:
        context["edit_item"] = edit_item
        context["edit_form"] = _item_form(edit_item)
    context.update(overrides)
    return context


def _holding_invoice(ticket: Ticket) -> Invoice | None:
    """The live invoice an invoiced ticket is on (the locked banner names and links it)."""
    if ticket.status != Status.INVOICED:
        return None
    line = InvoiceLine.objects.filter(ticket=ticket, is_live=True).select_related("invoice")
    found = line.first()
    return found.invoice if found else None


def _customer_results(q: str) -> list[Customer]:
    if not q:
        return []
    return list(Customer.objects.search(q).for_list()[:CUSTOMER_RESULTS])


@require_GET
@permission_required("tickets.view_ticket", raise_exception=True)
@vary_on_headers("HX-Request", "HX-Target")
def ticket_detail(request: HttpRequest, pk: int) -> TemplateResponse:
    """The ticket page; htmx may ask for the workspace or the customer lookup results."""
    ticket = _ticket(pk)
    context = _workspace(request, ticket)
    target = request.htmx.target if is_partial_request(request) else None
    template = f"{DETAIL_TEMPLATE}#{target}" if target in DETAIL_PARTIALS else DETAIL_TEMPLATE
    return TemplateResponse(request, template, context)


def _done(request: HttpRequest, ticket: Ticket, message: str) -> HttpResponse:
    """After a change: the fresh workspace for htmx, a redirect to the page otherwise."""
    messages.success(request, message)
    if is_partial_request(request):
        ticket = _ticket(ticket.pk)
        return TemplateResponse(
            request, f"{DETAIL_TEMPLATE}#ticket-workspace", _workspace(request, ticket)
        )
    return HttpResponseRedirect(ticket.get_absolute_url())


def _refused(
    request: HttpRequest, ticket: Ticket, *, status: int = 422, **overrides
) -> TemplateResponse:
    """A refusal: the workspace (htmx) or the page, with the message shown and a 4xx status
    (422 for a refused form, 409 for a refused move; htmx swaps both, see base.html)."""
    ticket = _ticket(ticket.pk)  # what the database holds: the refused change left no trace
    context = _workspace(request, ticket, **overrides)
    template = page_or_partial(request, DETAIL_TEMPLATE, "ticket-workspace")
    return TemplateResponse(request, template, context, status=status)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_attach_customer(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(pk)
    customer_id = parse_id(request.POST.get("customer"))
    customer = (
        Customer.objects.select_related("billing_agent").filter(pk=customer_id).first()
        if customer_id
        else None
    )
    if customer is None:
        return _refused(request, ticket, alert="Choose a customer to attach.")
    try:
        services.attach_customer(ticket=ticket, customer=customer, by=request.user)
    except DomainError as error:
        return _refused(request, ticket, alert=error.message)
    message = f"{customer} is now the customer of {ticket.number}."
    if ticket.billing_agent_id and billing_enabled():
        message += f" Billed through {ticket.billing_agent}."
    return _done(request, ticket, message)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
@requires_billing_plan
def ticket_set_agent(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(pk)
    form = AgentForm(request.POST, current_id=ticket.billing_agent_id)
    if form.searching:
        # The agent box was searched (no JavaScript): the matches beside it, nothing saved.
        return _refused(request, ticket, status=200, agent_form=form)
    if form.is_valid():
        agent = form.cleaned_data["billing_agent"]
        try:
            services.set_billing_agent(ticket=ticket, agent=agent, by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if agent is None:
                return _done(request, ticket, f"{ticket.number} is no longer billed to an agent.")
            return _done(request, ticket, f"{ticket.number} is now billed through {agent}.")
    return _refused(request, ticket, agent_form=form)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
@requires_billing_plan
def ticket_set_reference(request: HttpRequest, pk: int) -> HttpResponse:
    """The payer's reference (claim, PO or authorization number) for the job."""
    ticket = _ticket(pk)
    form = PayerReferenceForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            services.set_payer_reference(
                ticket=ticket, reference=form.cleaned_data["payer_reference"], by=request.user
            )
        except TicketLocked as error:
            return _refused(request, ticket, status=409, alert=error.message)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            label = form.fields["payer_reference"].label
            if ticket.payer_reference:
                return _done(request, ticket, f"{label} {ticket.payer_reference} saved.")
            return _done(request, ticket, f"{label} removed from {ticket.number}.")
    return _refused(request, ticket, reference_form=form)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_add_item(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(pk)
    form = ItemForm(request.POST, prefix="item")
    if form.is_valid():
        try:
            item = services.add_item(ticket=ticket, **form.cleaned_data, by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _done(request, ticket, f"Added “{item.description}”.")
    return _refused(request, ticket, item_form=form)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_update_item(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    ticket = _ticket(pk)
    item = get_object_or_404(TicketItem, pk=item_pk, ticket=ticket)
    form = _item_form(item, request.POST)
    if form.is_valid():
        try:
            services.update_item(item=item, **form.cleaned_data, by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _done(request, ticket, f"Saved “{form.cleaned_data['description']}”.")
    return _refused(request, ticket, edit_item=item, edit_form=form)


def _remove_item_confirm(request: HttpRequest, ticket: Ticket, item: TicketItem) -> dict:
    """The confirm dialog / page for removing an item (the page is what a click opens
    without JavaScript; with it the item's button asks in the shop's dialog)."""
    try:
        ticket.ensure_editable()
        blocked_reason = None
    except TicketLocked as error:
        blocked_reason = error.message
    return {
        "title": f"Remove “{item.description}”?",
        "question": f"Remove “{item.description}” from {ticket.number}? "
        "The ticket's history keeps a record of the removal.",
        "details": [
            ("Quantity", item.quantity.normalize()),
            ("Amount", format_money(item.amount)),
        ],
        "action_url": reverse("tickets:ticket_remove_item", args=[ticket.pk, item.pk]),
        "confirm_label": "Remove item",
        "cancel_url": f"{ticket.get_absolute_url()}#ticket-items",
        "blocked_reason": blocked_reason,
        "hx_target": "#ticket-workspace" if is_partial_request(request) else None,
        "hx_swap": "outerHTML",
    }


@require_http_methods(["GET", "POST"])
@permission_required("tickets.change_ticket", raise_exception=True)
@vary_on_headers("HX-Request")
def ticket_remove_item(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """GET: confirm removing the item. POST: remove it (its history stays)."""
    ticket = _ticket(pk)
    item = get_object_or_404(TicketItem, pk=item_pk, ticket=ticket)
    if request.method == "GET":
        return confirm_response(request, _remove_item_confirm(request, ticket, item))
    try:
        services.remove_item(item=item, by=request.user)
    except DomainError as error:
        return _refused(request, ticket, alert=error.message)
    return _done(request, ticket, f"Removed “{item.description}”.")


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_set_discount(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(pk)
    form = DiscountForm(request.POST)
    if form.is_valid():
        try:
            services.set_discount(ticket=ticket, **form.cleaned_data, by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _done(request, ticket, f"Discount on {ticket.number} saved.")
    return _refused(request, ticket, discount_form=form)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_add_deposit(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _ticket(pk)
    form = DepositForm(request.POST, prefix="deposit")
    if form.is_valid():
        try:
            payment = services.add_deposit(ticket=ticket, **form.cleaned_data, by=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _done(
                request,
                ticket,
                f"Deposit of {format_money(payment.amount)} recorded on {ticket.number}.",
            )
    return _refused(request, ticket, deposit_form=form)


@require_POST
@permission_required(REFUND_PERMISSION, raise_exception=True)
def ticket_refund_deposit(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay back money taken at the counter (Billing and Manager): a refund row of its own."""
    ticket = _ticket(pk)
    form = RefundForm(request.POST, prefix="refund")
    if form.is_valid():
        try:
            payment = services.refund_deposit(ticket=ticket, **form.cleaned_data, by=request.user)
        except TicketLocked as error:
            return _refused(request, ticket, status=409, alert=error.message)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _done(
                request,
                ticket,
                f"Refund of {format_money(-payment.amount)} recorded on {ticket.number}.",
            )
    return _refused(request, ticket, refund_form=form)


@require_POST
@permission_required("tickets.change_ticket", raise_exception=True)
def ticket_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move to `target`; `override=1` (credit limit) and `override_hold=1` (credit hold)
    need the override permission."""
    override_limit = request.POST.get("override") == "1"
    override_hold = request.POST.get("override_hold") == "1"
    if override_limit or override_hold:
        require_perm(request.user, services.OVERRIDE_PERMISSION)
    ticket = _ticket(pk)
    target = request.POST.get("target", "")
    refused = {
        "status": 409,
        "credit_target": target,
        "override_limit": override_limit,
        "override_hold": override_hold,
    }
    try:
        change = services.move_ticket(
            ticket=ticket,
            target=target,
            by=request.user,
            override_credit_limit=override_limit,
            override_credit_hold=override_hold,
        )
    except CreditHoldError as error:
        return _refused(request, ticket, hold_error=error, **refused)
    except CreditLimitExceeded as error:
        return _refused(request, ticket, credit_error=error, **refused)
    except DomainError as error:
        return _refused(request, ticket, status=409, alert=error.message)
    label = Status(target).label
    overridden = [
        what
        for what, used in (
            ("credit hold", change.credit_hold_override),
            ("credit limit", change.credit_limit_override),
        )
        if used
    ]
    if overridden:
        return _done(
            request,
            ticket,
            f"{ticket.number} moved to {label} ({' and '.join(overridden)} overridden).",
        )
    return _done(request, ticket, f"{ticket.number} moved to {label}.")
