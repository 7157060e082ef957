from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The start page: figures composed from tickets and invoicing; no models of its own."""

    name = "dashboard"
    verbose_name = "Dashboard"
