"""The shop's own details, printed on every invoice, statement and email."""

import base64

from django.conf import settings
from django.db import models


class Letterhead(models.Model):
    """The shop's letterhead: one row, edited by a Manager on /settings/letterhead/.

    The logo is kept in the database (small PNG or JPEG) so PDFs, emails and printouts embed
    it from any machine, with no shared media folder to deploy.
    """

    SINGLETON_ID = 1

    name = models.CharField("shop name", max_length=200)
    address = models.TextField(blank=True, help_text="As it should print, one line per line.")
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    tax_number = models.CharField(
        "tax number", max_length=60, blank=True, help_text="E.g. “EIN 12-3456789” or a VAT number."
    )
    remit_to = models.TextField(
        "remit-to instructions",
        blank=True,
        help_text="Where and how to pay: cheque address, bank transfer details.",
    )
    logo = models.BinaryField(null=True, blank=True, editable=False)
    logo_content_type = models.CharField(max_length=20, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="letterhead_single_row"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "Letterhead":
        """The saved letterhead, or (before a Manager saves one) the name from settings."""
        return cls.objects.filter(pk=cls.SINGLETON_ID).first() or cls(
            pk=cls.SINGLETON_ID, name=settings.SHOP_NAME
        )

    @property
    def logo_data_uri(self) -> str:
        """The logo as a data: URI (empty without one), for pages, PDFs and emails alike."""
        if not self.logo:
            return ""
        encoded = base64.b64encode(bytes(self.logo)).decode("ascii")
        return f"data:{self.logo_content_type};base64,{encoded}"

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    @property
    def remit_to_lines(self) -> list[str]:
        return [line.strip() for line in self.remit_to.splitlines() if line.strip()]
