from django.apps import AppConfig


class DemoConfig(AppConfig):
    """`manage.py seed_demo`: the demo data of `make run`; no models, nothing imports it."""

    name = "demo"
    verbose_name = "Demo data"
