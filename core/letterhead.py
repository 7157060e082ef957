"""Saving the shop's letterhead (core.models.Letterhead) and checking its logo.

The logo rules live here, not in the form, so a management command or a test that saves
a letterhead gets the same refusals as the settings page.
"""

from collections.abc import Mapping
from io import BytesIO

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from PIL import Image

from core.errors import DomainError
from core.models import Letterhead

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_PIXELS = 2000  # per side
# Pillow's format name → the content type stored beside the bytes (and put in the data: URI).
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
TEXT_FIELDS = ("name", "address", "phone", "email", "tax_number", "remit_to")

NOT_AN_IMAGE = "That file is not a PNG or JPEG image that can be read; upload a PNG or JPEG logo."
WRONG_TYPE = "The logo must be a PNG or JPEG image (this one is {format})."
_KB = f"{MAX_LOGO_BYTES // 1024} KB"
_PIXELS = f"{MAX_LOGO_PIXELS} by {MAX_LOGO_PIXELS} pixels"
LOGO_LIMITS = f"at most {_KB} and {_PIXELS}"
TOO_LARGE = f"The logo is too large: at most {_KB} (this one is {{size}} KB)."
TOO_WIDE = f"The logo is too large: at most {_PIXELS} (this one is {{width}} by {{height}})."
TOO_WIDE_UNKNOWN = f"The logo is too large: at most {_PIXELS}."
BOTH_LOGO_ACTIONS = "Either upload a new logo or remove the current one, not both."
NAME_REQUIRED = "Enter the shop's name as it should print."


class LogoRefused(DomainError):
    """The uploaded logo is not a small PNG or JPEG that Pillow can read."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="logo")


def check_logo(content: bytes) -> str:
    """The logo's content type ("image/png" or "image/jpeg"); LogoRefused unless `content`
    is a PNG or JPEG of at most 256 KB and 2000 by 2000 pixels that Pillow fully decodes."""
    if len(content) > MAX_LOGO_BYTES:
        raise LogoRefused(TOO_LARGE.format(size=-(-len(content) // 1024)))
    try:
        with Image.open(BytesIO(content)) as image:
            kind, (width, height) = image.format, image.size
            if kind not in LOGO_TYPES:
                raise LogoRefused(WRONG_TYPE.format(format=kind or "unknown"))
            # The header's size is checked before decoding, so a tiny file that claims
            # millions of pixels is refused without being expanded in memory.
            if width > MAX_LOGO_PIXELS or height > MAX_LOGO_PIXELS:
                raise LogoRefused(TOO_WIDE.format(width=width, height=height))
            image.verify()
        with Image.open(BytesIO(content)) as image:
            image.load()  # verify() does not decode the pixels; a truncated file fails here
    except LogoRefused:
        raise
    except Image.DecompressionBombError:  # a header claiming far more pixels than allowed
        raise LogoRefused(TOO_WIDE_UNKNOWN) from None
    # Pillow raises many kinds of error on a damaged or hostile file; each one is a refusal.
    except Exception:
        raise LogoRefused(NOT_AN_IMAGE) from None
    return LOGO_TYPES[kind]


@transaction.atomic
def save_letterhead(
    *,
    data: Mapping[str, str],
    logo: bytes | None,
    remove_logo: bool,
    by: AbstractBaseUser | None,
) -> Letterhead:
    """Save the shop's letterhead (the one row, created on the first save).

    `data` holds the text fields (name, address, phone, email, tax_number, remit_to; a
    missing one is kept as saved). `logo` is a new logo's bytes (None keeps the current
    one); `remove_logo` drops the current logo. Refused (DomainError) without a name, with
    a logo that check_logo refuses, or with both a new logo and remove_logo.
    """
    if logo is not None and remove_logo:
        raise DomainError(BOTH_LOGO_ACTIONS, field="remove_logo")
    content_type = check_logo(logo) if logo is not None else ""
    # The row lock makes two Managers' saves queue up; get_or_create survives a race on
    # the very first save (the second insert fails and reads the first one's row).
    letterhead, _ = Letterhead.objects.select_for_update().get_or_create(
        pk=Letterhead.SINGLETON_ID, defaults={"name": settings.SHOP_NAME}
    )
    for field in TEXT_FIELDS:
        if field in data:
            value = (data[field] or "").strip()
            limit = Letterhead._meta.get_field(field).max_length
            if limit is not None and len(value) > limit:
                raise DomainError(f"That is too long: at most {limit} characters.", field=field)
            setattr(letterhead, field, value)
    if not letterhead.name:
        raise DomainError(NAME_REQUIRED, field="name")
    if logo is not None:
        letterhead.logo, letterhead.logo_content_type = logo, content_type
    elif remove_logo:
        letterhead.logo, letterhead.logo_content_type = None, ""
    letterhead.updated_by = by if by is not None and by.is_authenticated else None
    letterhead.save()
    return letterhead
