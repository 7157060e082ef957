from django.apps import AppConfig
from django.urls import register_converter

from core.inputs import IdPathConverter


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shop core"

    def ready(self) -> None:
        # Before any URLconf is imported: every app's ids use `<id:…>`.
        register_converter(IdPathConverter, "id")
