from django.conf import settings
from django.http import HttpRequest

from core.plans import billing_enabled


def shop(request: HttpRequest) -> dict:
    return {
        "SHOP_NAME": settings.SHOP_NAME,
        "SHOP_PLAN": settings.SHOP_PLAN,
        "billing_enabled": billing_enabled(),
    }
