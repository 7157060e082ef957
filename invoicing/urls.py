from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("export.csv", views.invoice_export, name="invoice_export"),
    path("payments/export.csv", views.payment_export, name="payment_export"),
    path("new/", views.invoice_create, name="invoice_create"),
    path("payers/search/", views.payer_search, name="payer_search"),
    path("<id:pk>/", views.invoice_detail, name="invoice_detail"),
    path("<id:pk>/print/", views.invoice_print, name="invoice_print"),
    path("<id:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("<id:pk>/remittance/", views.invoice_remittance, name="invoice_remittance"),
    path("<id:pk>/apply-credit/", views.invoice_apply_credit, name="invoice_apply_credit"),
    path(
        "<id:pk>/remittance/allocation/",
        views.invoice_remittance_allocation,
        name="invoice_remittance_allocation",
    ),
    path("<id:pk>/delete/", views.invoice_delete, name="invoice_delete"),
    path("<id:pk>/send/", views.invoice_send, name="invoice_send"),
    path("<id:pk>/emails/", views.invoice_emails, name="invoice_emails"),
    path("<id:pk>/remind/", views.invoice_remind, name="invoice_remind"),
    path(
        "<id:pk>/emails/<id:delivery_id>/retry/",
        views.delivery_retry,
        name="delivery_retry",
    ),
    path(
        "<id:pk>/remittances/<id:remittance_id>/void/",
        views.remittance_void,
        name="remittance_void",
    ),
    path("<id:pk>/write-off/", views.invoice_write_off, name="invoice_write_off"),
    path(
        "<id:pk>/write-offs/<id:write_off_id>/void/",
        views.write_off_void,
        name="write_off_void",
    ),
]
