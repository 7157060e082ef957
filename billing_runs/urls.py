"""Billing runs beside the invoices, and each payer's billing cycle under its own page."""

from django.urls import path

from billing_runs import views

app_name = "billing_runs"

urlpatterns = [
    path("invoices/runs/", views.run_list, name="run_list"),
    path("invoices/runs/create/", views.run_create, name="run_create"),
    path(
        "billing-agents/<id:pk>/billing-cycle/",
        views.agent_billing_cycle,
        name="agent_billing_cycle",
    ),
    path(
        "customers/<id:pk>/billing-cycle/",
        views.customer_billing_cycle,
        name="customer_billing_cycle",
    ),
]
