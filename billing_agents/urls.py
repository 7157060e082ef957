from django.urls import path

from billing_agents import views

app_name = "billing_agents"

urlpatterns = [
    path("", views.agent_list, name="agent_list"),
    path("new/", views.agent_create, name="agent_create"),
    path("export.csv", views.agent_export, name="agent_export"),
    path("search/", views.agent_search, name="agent_search"),
    path("<id:pk>/", views.agent_detail, name="agent_detail"),
    path("<id:pk>/edit/", views.agent_edit, name="agent_edit"),
    path("<id:pk>/deactivate/", views.agent_deactivate, name="agent_deactivate"),
    path("<id:pk>/reactivate/", views.agent_reactivate, name="agent_reactivate"),
    path(
        "<id:pk>/customers/<id:customer_pk>/remove/",
        views.agent_customer_remove,
        name="agent_customer_remove",
    ),
    path(
        "<id:pk>/tickets/<id:ticket_pk>/remove/",
        views.agent_ticket_remove,
        name="agent_ticket_remove",
    ),
    path("<id:pk>/credit/adjust/", views.agent_credit_adjust, name="agent_credit_adjust"),
    path("<id:pk>/credit/refund/", views.agent_credit_refund, name="agent_credit_refund"),
]
