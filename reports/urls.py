from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("aging/", views.aging_report, name="aging"),
    path("aging/export.csv", views.aging_export, name="aging_export"),
]
