from django.urls import path

from statements import views

app_name = "statements"

urlpatterns = [
    path("billing-agents/<id:pk>/statement/", views.agent_statement, name="agent_statement"),
    path(
        "billing-agents/<id:pk>/statement/email/",
        views.agent_statement_email,
        name="agent_statement_email",
    ),
    path(
        "billing-agents/<id:pk>/statement.pdf",
        views.agent_statement_pdf,
        name="agent_statement_pdf",
    ),
    path("customers/<id:pk>/statement/", views.customer_statement, name="customer_statement"),
    path(
        "customers/<id:pk>/statement.pdf",
        views.customer_statement_pdf,
        name="customer_statement_pdf",
    ),
    path(
        "customers/<id:pk>/statement/email/",
        views.customer_statement_email,
        name="customer_statement_email",
    ),
    path(
        "billing-agents/<id:pk>/statement/emails/<id:delivery_id>/retry/",
        views.agent_statement_email_retry,
        name="agent_statement_email_retry",
    ),
    path(
        "customers/<id:pk>/statement/emails/<id:delivery_id>/retry/",
        views.customer_statement_email_retry,
        name="customer_statement_email_retry",
    ),
]
