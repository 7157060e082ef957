from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("<id:pk>/", views.ticket_detail, name="ticket_detail"),
    path(
        "<id:pk>/attach-customer/",
        views.ticket_attach_customer,
        name="ticket_attach_customer",
    ),
    path("<id:pk>/agent/", views.ticket_set_agent, name="ticket_set_agent"),
    path("<id:pk>/reference/", views.ticket_set_reference, name="ticket_set_reference"),
    path("<id:pk>/items/add/", views.ticket_add_item, name="ticket_add_item"),
    path(
        "<id:pk>/items/<id:item_pk>/edit/",
        views.ticket_update_item,
        name="ticket_update_item",
    ),
    path(
        "<id:pk>/items/<id:item_pk>/remove/",
        views.ticket_remove_item,
        name="ticket_remove_item",
    ),
    path("<id:pk>/discount/", views.ticket_set_discount, name="ticket_set_discount"),
    path("<id:pk>/deposits/", views.ticket_add_deposit, name="ticket_add_deposit"),
    path(
        "<id:pk>/deposits/refund/",
        views.ticket_refund_deposit,
        name="ticket_refund_deposit",
    ),
    path("<id:pk>/move/", views.ticket_move, name="ticket_move"),
]
