from django.urls import path

from billing_agents import views

app_name = "billing_agents"

urlpatterns = [
    path("", views.agent_list, name="agent_list"),
    path("new/", views.agent_create, name="agent_create"),
    path("export.csv", views.agent_export, name="agent_export"),
    path("<int:pk>/", views.agent_detail, name="agent_detail"),
    path("<int:pk>/edit/", views.agent_edit, name="agent_edit"),
    path("<int:pk>/deactivate/", views.agent_deactivate, name="agent_deactivate"),
    path("<int:pk>/reactivate/", views.agent_reactivate, name="agent_reactivate"),
    path(
        "<int:pk>/customers/<int:customer_pk>/remove/",
        views.agent_customer_remove,
        name="agent_customer_remove",
    ),
    path(
        "<int:pk>/tickets/<int:ticket_pk>/remove/",
        views.agent_ticket_remove,
        name="agent_ticket_remove",
    ),
    path("<int:pk>/credit/adjust/", views.agent_credit_adjust, name="agent_credit_adjust"),
    path("<int:pk>/credit/refund/", views.agent_credit_refund, name="agent_credit_refund"),
]
