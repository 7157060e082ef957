from django.apps import AppConfig


class BillingRunsConfig(AppConfig):
    name = "billing_runs"
