"""Pages of a payer's receivables account, under the payer's own address
(/billing-agents/<id>/…, /customers/<id>/…)."""

from django.urls import path

from invoicing import views

app_name = "accounts"

urlpatterns = [
    path("billing-agents/<id:pk>/payments/new/", views.agent_payment_new, name="agent_payment_new"),
    path(
        "billing-agents/<id:pk>/payments/new/allocation/",
        views.agent_payment_allocation,
        name="agent_payment_allocation",
    ),
    path(
        "billing-agents/<id:pk>/credit/apply/", views.agent_credit_apply, name="agent_credit_apply"
    ),
    path(
        "customers/<id:pk>/payments/new/", views.customer_payment_new, name="customer_payment_new"
    ),
    path(
        "customers/<id:pk>/payments/new/allocation/",
        views.customer_payment_allocation,
        name="customer_payment_allocation",
    ),
    path(
        "customers/<id:pk>/credit/apply/", views.customer_credit_apply, name="customer_credit_apply"
    ),
]
