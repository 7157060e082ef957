"""The small htmx conventions every view shares."""

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_htmx.http import reswap, retarget


def is_partial_request(request: HttpRequest) -> bool:
    """True for an htmx swap; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request


def page_or_partial(request: HttpRequest, template: str, partial: str) -> str:
    """`template#partial` for an htmx swap, otherwise the full page."""
    return f"{template}#{partial}" if is_partial_request(request) else template


def confirm_response(request: HttpRequest, context: dict, *, status: int = 200) -> TemplateResponse:
    """Render the shop's confirm dialog: modal content for htmx, a full page without JS.

    `context` holds title, question, details, action_url, confirm_label, cancel_url and,
    for htmx, hx_target / hx_swap for the POST that follows.
    """
    template = "includes/confirm.html" if is_partial_request(request) else "confirm_page.html"
    return TemplateResponse(request, template, context, status=status)


def into_modal(response: HttpResponse) -> HttpResponse:
    """Show this htmx answer inside the open confirm dialog instead of the form's target."""
    return reswap(retarget(response, "#confirm-modal .modal-content"), "innerHTML")
