"""The letterhead settings page (/settings/letterhead/) and core.letterhead (issue 12, item 3)."""

import base64
import struct
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse
from PIL import Image

from core.errors import DomainError
from core.letterhead import MAX_LOGO_BYTES, LogoRefused, check_logo, save_letterhead
from core.models import Letterhead

pytestmark = pytest.mark.django_db

URL = "/settings/letterhead/"
FIELDS = {
    "name": "Harbor Phone Repair",
    "address": "12 Dock Street\nSuite 4\n\nPortsmouth, NH 03801",
    "phone": "603-555-0142",
    "email": "billing@harborrepair.example",
    "tax_number": "EIN 12-3456789",
    "remit_to": "Cheques to Harbor Phone Repair\nACH: routing 011000015, account 12345678",
}


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 20), **save) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def upload(content: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def saved_with_logo() -> Letterhead:
    return save_letterhead(data=FIELDS, logo=image_bytes(), remove_logo=False, by=None)


def row() -> dict:
    return Letterhead.objects.values().get()


# --- saving -----------------------------------------------------------------------------


def test_manager_saves_every_field(manager_client, manager_user):
    response = manager_client.post(URL, FIELDS)

    assert response.status_code == 303
    assert response["Location"] == URL
    letterhead = Letterhead.objects.get()
    for field, value in FIELDS.items():
        assert getattr(letterhead, field) == value
    assert letterhead.updated_by == manager_user
    assert letterhead.address_lines == ["12 Dock Street", "Suite 4", "Portsmouth, NH 03801"]
    assert not letterhead.logo


def test_the_saved_letterhead_shows_in_the_preview(manager_client):
    manager_client.post(URL, FIELDS)

    response = manager_client.get(URL)
    html = response.content.decode()
    preview = html[html.index("data-letterhead-preview") :]
    assert '<div class="letterhead-name">Harbor Phone Repair</div>' in preview
    assert "12 Dock Street<br>Suite 4<br>Portsmouth, NH 03801" in preview
    assert "603-555-0142" in preview and "billing@harborrepair.example" in preview
    assert "Tax no. EIN 12-3456789" in preview
    assert "ACH: routing 011000015, account 12345678" in preview
    assert "Not saved yet" not in preview
    assert 'value="Harbor Phone Repair"' in html  # the form starts from the saved values


def test_a_saved_png_logo_is_stored_and_previewed_as_a_data_uri(manager_client):
    png = image_bytes("PNG")

    response = manager_client.post(URL, {**FIELDS, "logo": upload(png)}, follow=True)

    letterhead = Letterhead.objects.get()
    assert bytes(letterhead.logo) == png
    assert letterhead.logo_content_type == "image/png"
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    assert letterhead.logo_data_uri == uri
    html = response.content.decode()
    assert f'<img class="letterhead-logo" src="{uri}" alt="Harbor Phone Repair">' in html
    assert "Remove the current logo" in html


def test_a_jpeg_logo_is_stored_with_its_own_content_type(manager_client):
    # The type comes from the decoded image, not from the file's name or the browser's word.
    jpeg = image_bytes("JPEG")

    manager_client.post(URL, {**FIELDS, "logo": upload(jpeg, "logo.png", "image/png")})

    assert Letterhead.objects.get().logo_content_type == "image/jpeg"


def test_an_empty_logo_field_keeps_the_current_logo(manager_client):
    before = bytes(saved_with_logo().logo)

    response = manager_client.post(URL, {**FIELDS, "name": "Harbor Repairs"})

    assert response.status_code == 303
    letterhead = Letterhead.objects.get()
    assert letterhead.name == "Harbor Repairs"
    assert bytes(letterhead.logo) == before


def test_remove_logo_drops_the_logo(manager_client):
    saved_with_logo()

    response = manager_client.post(URL, {**FIELDS, "remove_logo": "on"}, follow=True)

    letterhead = Letterhead.objects.get()
    assert letterhead.logo is None and letterhead.logo_content_type == ""
    assert letterhead.logo_data_uri == ""
    assert "letterhead-logo" not in response.content.decode()


# --- refusals: 422, the message beside the field, nothing changed ------------------------


def _assert_refused(response, field: str, message: str, before: dict) -> None:
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="id_{field}_error">{message}' in html, html
    assert row() == before


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"just some text, not an image\n", "logo.png", "That file is not a PNG or JPEG image"),
        (image_bytes("PNG")[:60], "cut.png", "That file is not a PNG or JPEG image"),
        (image_bytes("GIF"), "logo.gif", "The logo must be a PNG or JPEG image (this one is GIF)."),
        (image_bytes("BMP"), "logo.png", "The logo must be a PNG or JPEG image (this one is BMP)."),
        (
            image_bytes("PNG", size=(2001, 10)),
            "wide.png",
            "The logo is too large: at most 2000 by 2000 pixels (this one is 2001 by 10).",
        ),
        (b"\x89PNG" + b"\0" * MAX_LOGO_BYTES, "big.png", "The logo is too large: at most 256 KB"),
    ],
    ids=["text-renamed-png", "truncated-png", "gif", "bmp", "too-many-pixels", "too-many-bytes"],
)
def test_a_bad_logo_is_refused_beside_the_field_and_changes_nothing(
    manager_client, content, name, message
):
    saved_with_logo()
    before = row()

    response = manager_client.post(
        URL, {**FIELDS, "name": "Changed", "logo": upload(content, name)}
    )

    _assert_refused(response, "logo", message, before)


def test_a_new_logo_and_remove_logo_together_are_refused(manager_client):
    saved_with_logo()
    before = row()

    response = manager_client.post(
        URL, {**FIELDS, "logo": upload(image_bytes()), "remove_logo": "on"}
    )

    _assert_refused(response, "remove_logo", "Either upload a new logo or remove", before)


def test_remove_logo_without_a_saved_logo_is_ignored(manager_client):
    # The box is not on the page then, so a refusal beside it could not be seen.
    response = manager_client.post(
        URL, {**FIELDS, "logo": upload(image_bytes()), "remove_logo": "on"}
    )

    assert response.status_code == 303
    assert Letterhead.objects.get().logo_content_type == "image/png"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("name", "   ", "This field is required."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("name", "x" * 201, "Ensure this value has at most 200 characters"),
        ("address", "x" * 501, "Ensure this value has at most 500 characters"),
        ("tax_number", "\x00", "Null characters are not allowed."),
    ],
)
def test_bad_text_is_refused_beside_its_field(manager_client, field, value, message):
    saved_with_logo()
    before = row()

    response = manager_client.post(URL, {**FIELDS, field: value})

    _assert_refused(response, field, message, before)


def test_a_refused_save_previews_what_prints_now_not_the_refused_input(manager_client):
    saved_with_logo()

    response = manager_client.post(URL, {**FIELDS, "name": "Typo Name", "email": "bad"})

    html = response.content.decode()
    preview = html[html.index("data-letterhead-preview") :]
    assert "Harbor Phone Repair" in preview and "Typo Name" not in preview
    assert 'value="Typo Name"' in html  # the form keeps what the clerk typed


# --- htmx, roles, plan, queries ------------------------------------------------------------


def test_get_answers_the_full_page_and_the_htmx_partial(manager_client, htmx_headers):
    full = manager_client.get(URL)
    partial = manager_client.get(URL, headers=htmx_headers)

    assert full.status_code == partial.status_code == 200
    assert "<html" in full.content.decode() and 'id="letterhead-form"' in full.content.decode()
    html = partial.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="letterhead-form"')
    assert 'hx-post="/settings/letterhead/"' in html and 'enctype="multipart/form-data"' in html
    assert "HX-Request" in full["Vary"]


def test_an_htmx_save_answers_the_partial_with_the_new_preview(manager_client, htmx_headers):
    png = image_bytes()

    response = manager_client.post(URL, {**FIELDS, "logo": upload(png)}, headers=htmx_headers)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "data:image/png;base64," in html and "Harbor Phone Repair" in html
    assert bytes(Letterhead.objects.get().logo) == png


def test_a_refused_htmx_save_answers_the_partial_with_422(manager_client, htmx_headers):
    response = manager_client.post(URL, {**FIELDS, "name": ""}, headers=htmx_headers)

    assert response.status_code == 422
    html = response.content.decode()
    assert "<html" not in html and 'id="id_name_error"' in html
    assert not Letterhead.objects.exists()


@pytest.mark.parametrize("who", ["front_desk_client", "billing_client"])
def test_only_a_manager_may_open_or_save_the_letterhead(request, who):
    client = request.getfixturevalue(who)

    assert client.get(URL).status_code == 403
    assert client.post(URL, FIELDS).status_code == 403
    assert not Letterhead.objects.exists()
    assert reverse("core:letterhead") not in client.get("/").content.decode()


def test_the_menu_links_the_settings_for_a_manager(manager_client):
    html = manager_client.get("/").content.decode()
    assert f'href="{URL}"' in html and "Settings</a>" in html
    assert 'active" href="/settings/letterhead/"' in manager_client.get(URL).content.decode()


def test_the_letterhead_is_not_a_billing_feature(manager_client, settings):
    # The shop's own name and address are set on every plan; only billing pages are gated.
    settings.SHOP_PLAN = "essentials"

    assert manager_client.get(URL).status_code == 200
    assert manager_client.post(URL, FIELDS).status_code == 303


def test_the_page_runs_a_fixed_number_of_queries(manager_client, django_assert_max_num_queries):
    saved_with_logo()
    with django_assert_max_num_queries(5):
        assert manager_client.get(URL).status_code == 200


# --- Letterhead.current(), the include, the service ------------------------------------------


def test_before_a_save_the_letterhead_is_the_shop_name_from_settings(manager_client, settings):
    settings.SHOP_NAME = "Corner Fix Shop"

    letterhead = Letterhead.current()

    assert letterhead.name == "Corner Fix Shop" and letterhead.pk == Letterhead.SINGLETON_ID
    assert letterhead.address_lines == [] and letterhead.logo_data_uri == ""
    assert not Letterhead.objects.exists()
    html = manager_client.get(URL).content.decode()
    assert '<div class="letterhead-name">Corner Fix Shop</div>' in html
    assert "Not saved yet" in html and 'value="Corner Fix Shop"' in html


def test_the_include_prints_only_what_is_set():
    html = render_to_string("includes/letterhead.html", {"letterhead": Letterhead(name="Solo")})

    assert "Solo" in html
    for part in ("<img", "<address", "letterhead-contact", "Tax no."):
        assert part not in html


def test_the_include_prints_every_part_of_a_full_letterhead():
    letterhead = saved_with_logo()

    html = render_to_string("includes/letterhead.html", {"letterhead": letterhead})

    assert f'src="{letterhead.logo_data_uri}" alt="Harbor Phone Repair"' in html
    assert "Portsmouth, NH 03801</address>" in html
    assert "603-555-0142" in html and "billing@harborrepair.example" in html
    assert "Tax no. EIN 12-3456789" in html
    assert "style=" not in html  # strict CSP: classes only


def test_save_letterhead_creates_the_one_row_then_updates_it(manager_user):
    first = save_letterhead(data=FIELDS, logo=None, remove_logo=False, by=manager_user)
    second = save_letterhead(data={"phone": " 555-0199 "}, logo=None, remove_logo=False, by=None)

    assert first.pk == second.pk == Letterhead.SINGLETON_ID
    assert Letterhead.objects.count() == 1
    saved = Letterhead.objects.get()
    assert saved.phone == "555-0199" and saved.name == FIELDS["name"]  # missing fields kept
    assert saved.updated_by is None


@pytest.mark.parametrize(
    ("data", "logo", "remove", "field"),
    [
        ({"name": "  "}, None, False, "name"),
        ({"name": "x" * 201}, None, False, "name"),
        ({}, b"not an image", False, "logo"),
        ({}, image_bytes(), True, "remove_logo"),
    ],
    ids=["blank-name", "long-name", "bad-logo", "logo-and-remove"],
)
def test_save_letterhead_refuses_bad_input_and_saves_nothing(data, logo, remove, field):
    with pytest.raises(DomainError) as refused:
        save_letterhead(data={**FIELDS, **data}, logo=logo, remove_logo=remove, by=None)

    assert refused.value.field == field
    assert not Letterhead.objects.exists()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header (IHDR) claims width x height pixels."""
    png = image_bytes("PNG", size=(1, 1))
    ihdr = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + png[33:]


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (5000, 5000, "at most 2000 by 2000 pixels (this one is 5000 by 5000)"),
        (30000, 30000, "at most 2000 by 2000 pixels."),  # Pillow's own bomb guard trips first
    ],
)
def test_check_logo_refuses_a_header_claiming_too_many_pixels_without_decoding_it(
    width, height, message
):
    with pytest.raises(LogoRefused) as refused:
        check_logo(_png_claiming(width, height))

    assert message in refused.value.message


def test_check_logo_names_the_content_type_of_a_good_logo():
    assert check_logo(image_bytes("PNG")) == "image/png"
    assert check_logo(image_bytes("JPEG")) == "image/jpeg"
    assert check_logo(image_bytes("PNG", size=(2000, 2000))) == "image/png"
