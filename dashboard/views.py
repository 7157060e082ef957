from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from core.plans import billing_enabled
from dashboard import figures
from tickets.tallies import fold_status_tallies


@require_GET
def dashboard(request: HttpRequest) -> TemplateResponse:
    tickets = figures.open_tickets()
    if tickets.ledger.needs_fold:
        # Bookkeeping, not a user's change: any reader may fold, and folds never double-count.
        fold_status_tallies(up_to=tickets.ledger.last_id)
    context = {
        "by_status": tickets.by_status,
        "wfp_count": tickets.waiting_count,
        "wfp_due": tickets.waiting_due,
        "invoices": figures.invoice_figures()
        if billing_enabled() and request.user.has_perm("invoicing.view_invoice")
        else None,
        "payers_due": figures.payers_due_for_billing()
        if billing_enabled() and request.user.has_perm("invoicing.add_invoice")
        else None,
    }
    return TemplateResponse(request, "dashboard/dashboard.html", context)
