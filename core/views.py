"""Shop settings pages: the letterhead printed on invoices, statements and emails.

Not a billing feature (core is outside core.plans.BILLING_APPS): the shop's name and
address are the shop's own details on every plan.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import is_partial_request, page_or_partial
from core.letterhead import save_letterhead
from core.letterhead_forms import LetterheadForm
from core.models import Letterhead

LETTERHEAD_TEMPLATE = "core/letterhead_form.html"


@require_http_methods(["GET", "POST"])
@permission_required("core.change_letterhead", raise_exception=True)
@vary_on_headers("HX-Request")
def letterhead(request: HttpRequest) -> HttpResponse:
    """GET: the form and a preview of the printed letterhead. POST: save, then the page
    again (the partial for htmx, a redirect without); refused: 422, messages by the fields."""
    saved = Letterhead.current()
    status = 200
    if request.method == "POST":
        # A copy of its own: is_valid() writes the input onto the instance, and the preview
        # shows what prints now (the saved letterhead), not a refused form's input.
        form = LetterheadForm(request.POST, request.FILES, instance=Letterhead.current())
        if form.is_valid():
            try:
                saved = save_letterhead(
                    data=form.letterhead_data(),
                    logo=form.cleaned_data["logo"],
                    remove_logo=form.cleaned_data["remove_logo"],
                    by=request.user,
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, "The letterhead was saved.")
                if not is_partial_request(request):
                    return HttpResponseRedirect(reverse("core:letterhead"), status=303)
                form = LetterheadForm(instance=saved)
        if form.errors:
            status = 422
    else:
        form = LetterheadForm(instance=saved)
    context = {"form": form, "letterhead": saved}
    return TemplateResponse(
        request,
        page_or_partial(request, LETTERHEAD_TEMPLATE, "letterhead-form"),
        context,
        status=status,
    )
