from django.urls import path

from tickets import views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("<int:pk>/", views.ticket_detail, name="ticket_detail"),
    path(
        "<int:pk>/attach-customer/",
        views.ticket_attach_customer,
        name="ticket_attach_customer",
    ),
    path("<int:pk>/agent/", views.ticket_set_agent, name="ticket_set_agent"),
    path("<int:pk>/items/add/", views.ticket_add_item, name="ticket_add_item"),
    path(
        "<int:pk>/items/<int:item_pk>/edit/",
        views.ticket_update_item,
        name="ticket_update_item",
    ),
    path(
        "<int:pk>/items/<int:item_pk>/remove/",
        views.ticket_remove_item,
        name="ticket_remove_item",
    ),
    path("<int:pk>/discount/", views.ticket_set_discount, name="ticket_set_discount"),
    path("<int:pk>/deposits/", views.ticket_add_deposit, name="ticket_add_deposit"),
    path(
        "<int:pk>/deposits/refund/",
        views.ticket_refund_deposit,
        name="ticket_refund_deposit",
    ),
    path("<int:pk>/move/", views.ticket_move, name="ticket_move"),
]
