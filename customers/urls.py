from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create, name="customer_create"),
    path("agent-picker/", views.customer_agent_picker, name="customer_agent_picker"),
    path("<int:pk>/", views.customer_detail, name="customer_detail"),
    path("<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:pk>/credit/refund/", views.customer_credit_refund, name="customer_credit_refund"),
    path("<int:pk>/agent-offer/", views.customer_agent_offer, name="customer_agent_offer"),
]
