from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create, name="customer_create"),
    path("<id:pk>/", views.customer_detail, name="customer_detail"),
    path("<id:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<id:pk>/credit/refund/", views.customer_credit_refund, name="customer_credit_refund"),
    path("<id:pk>/agent-offer/", views.customer_agent_offer, name="customer_agent_offer"),
]
