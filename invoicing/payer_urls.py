"""Pages of a payer's receivables account, under the payer's own address
(/billing-agents/<id>/…, /customers/<id>/…)."""

from django.urls import path  # noqa: F401

app_name = "accounts"

urlpatterns: list = []
