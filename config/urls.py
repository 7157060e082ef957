from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("billing-agents/", include("billing_agents.urls")),
    path("customers/", include("customers.urls")),
    path("tickets/", include("tickets.urls")),
    path("invoices/", include("invoicing.urls")),
    path("", include("dashboard.urls")),
]
