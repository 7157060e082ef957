from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("new/", views.invoice_create, name="invoice_create"),
    path("new/payers/", views.invoice_payer_search, name="invoice_payer_search"),
    path("<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("<int:pk>/print/", views.invoice_print, name="invoice_print"),
    path("<int:pk>/remittance/", views.invoice_remittance, name="invoice_remittance"),
    path(
        "<int:pk>/remittance/allocation/",
        views.invoice_remittance_allocation,
        name="invoice_remittance_allocation",
    ),
    path("<int:pk>/delete/", views.invoice_delete, name="invoice_delete"),
    path("<int:pk>/send/", views.invoice_send, name="invoice_send"),
    path(
        "<int:pk>/remittances/<int:remittance_id>/void/",
        views.remittance_void,
        name="remittance_void",
    ),
    path("<int:pk>/write-off/", views.invoice_write_off, name="invoice_write_off"),
    path(
        "<int:pk>/write-offs/<int:write_off_id>/void/",
        views.write_off_void,
        name="write_off_void",
    ),
]
