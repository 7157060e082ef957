from django.apps import AppConfig
from django.urls import register_converter

from core.inputs import IdPathConverter


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shop core"

    def ready(self) -> None:
        # Before any URLconf is imported: every app's ids use `<id:…>`.
        register_converter(IdPathConverter, "id")
        # Models are loaded only now, so the signal receivers are imported here (Django's way).
        from core.access import watch_permission_changes

        watch_permission_changes()
