from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("billing-agents/", include("billing_agents.urls")),
    path("customers/", include("customers.urls")),
    path("tickets/", include("tickets.urls")),
    path("invoices/", include("invoicing.urls")),
    path("", include("core.urls")),
]
