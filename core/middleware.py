import json
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django_htmx.http import trigger_client_event

from core.plans import PLAN_REQUIRED_MESSAGE, billing_enabled, is_billing_feature


class PlanGateMiddleware:
    """Answers 403 for billing-agent and invoicing views when the plan does not include them.

    Keyed on the resolved view (core.plans.is_billing_feature), not its URL, so a billing
    feature served from the customer or ticket pages is gated like the billing apps' own.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        if billing_enabled() or not is_billing_feature(view_func):
            return None
        response = TemplateResponse(
            request, "403.html", {"reason": PLAN_REQUIRED_MESSAGE, "plan_gate": True}, status=403
        )
        return response.render()


class HtmxMessagesMiddleware:
    """Hands Django messages to the toast script on htmx responses via the HX-Trigger header.

    A full page renders its messages into the toast area itself; an htmx swap does not
    re-render base.html, so the messages travel in a header instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or "HX-Redirect" in response:
            return response
        if 300 <= response.status_code < 400:
            return response
        pending = [{"message": str(m), "tags": m.tags} for m in messages.get_messages(request)]
        if pending:
            if response.get("HX-Trigger"):
                try:
                    json.loads(response["HX-Trigger"])
                except ValueError:  # a bare event name: make it JSON so the helper can merge
                    response["HX-Trigger"] = json.dumps({response["HX-Trigger"]: True})
            trigger_client_event(response, "messages", {"items": pending})
        return response
