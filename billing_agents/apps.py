from django.apps import AppConfig


class BillingAgentsConfig(AppConfig):
    name = "billing_agents"
    verbose_name = "Billing agents"
