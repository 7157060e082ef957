"""The letterhead settings form: it reads and checks the input; core.letterhead saves it."""

from django import forms
from django.core.exceptions import ValidationError

from core.letterhead import (
    BOTH_LOGO_ACTIONS,
    LOGO_LIMITS,
    MAX_LOGO_BYTES,
    TEXT_FIELDS,
    TOO_LARGE,
    LogoRefused,
    check_logo,
)
from core.models import Letterhead


class LetterheadForm(forms.ModelForm):
    """Name, address, contact, tax number, remit-to and the logo upload.

    After is_valid(), cleaned_data["logo"] is the uploaded logo's bytes (None for no
    upload). The form is never saved itself: the view calls core.letterhead.save_letterhead.
    """

    address = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=Letterhead._meta.get_field("address").help_text,
    )
    remit_to = forms.CharField(
        label="Remit-to instructions",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=Letterhead._meta.get_field("remit_to").help_text,
    )
    logo = forms.FileField(
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text=f"PNG or JPEG, {LOGO_LIMITS}. Leave empty to keep the current logo.",
    )
    remove_logo = forms.BooleanField(label="Remove the current logo", required=False)

    class Meta:
        model = Letterhead
        fields = TEXT_FIELDS
        labels = {"name": "Shop name"}

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        # Refuse an oversized upload by its size, before reading it into memory.
        if upload.size > MAX_LOGO_BYTES:
            raise ValidationError(TOO_LARGE.format(size=-(-upload.size // 1024)), code="too_large")
        content = upload.read()
        try:
            check_logo(content)
        except LogoRefused as error:
            raise ValidationError(error.message, code="invalid_logo") from None
        return content

    def clean(self) -> dict:
        cleaned = super().clean()
        if not self.instance.logo:
            cleaned["remove_logo"] = False  # the box is shown only while a logo is saved
        if cleaned.get("logo") is not None and cleaned.get("remove_logo"):
            self.add_error("remove_logo", BOTH_LOGO_ACTIONS)
        return cleaned

    def letterhead_data(self) -> dict[str, str]:
        """The text fields, as save_letterhead's `data`."""
        return {field: self.cleaned_data[field] for field in TEXT_FIELDS}
