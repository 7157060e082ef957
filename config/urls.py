from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_GET


@require_GET
@login_not_required
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever the page links: send them to the SVG."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # Receivables pages that live under a payer's address or beside the invoices.
    path("", include("invoicing.payer_urls")),
    path("", include("statements.urls")),
    path("", include("billing_runs.urls")),
    path("reports/", include("reports.urls")),
    path("billing-agents/", include("billing_agents.urls")),
    path("customers/", include("customers.urls")),
    path("tickets/", include("tickets.urls")),
    path("invoices/", include("invoicing.urls")),
    path("settings/", include("core.urls")),
    path("", include("dashboard.urls")),
]
