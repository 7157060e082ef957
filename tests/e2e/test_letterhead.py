"""Journey in Chromium: a Manager sets the shop's letterhead and logo (issue 12, item 3)."""

import base64

import pytest
from PIL import Image
from playwright.sync_api import expect

from core.models import Letterhead
from core.roles import MANAGER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_sets_the_letterhead_and_sees_the_preview_with_the_logo(
    live_server, login, tmp_path
):
    manager = UserFactory(username="e2e-letterhead", role=MANAGER)
    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (20, 90, 160)).save(logo, format="PNG")

    page = login(manager)
    page.get_by_role("link", name="Settings").click()

    expect(page.locator("h1")).to_have_text("Letterhead")
    preview = page.locator("[data-letterhead-preview]")
    expect(preview).to_contain_text("Not saved yet")
    page.get_by_label("Shop name").fill("Harbor Phone Repair")
    page.get_by_label("Address", exact=True).fill("12 Dock Street\nPortsmouth, NH 03801")
    page.get_by_label("Tax number").fill("EIN 12-3456789")
    page.get_by_label("Logo", exact=True).set_input_files(logo)
    page.get_by_role("button", name="Save letterhead").click()

    expect(page.locator("#toast-area")).to_contain_text("The letterhead was saved.")
    expect(preview.locator(".letterhead-name")).to_have_text("Harbor Phone Repair")
    expect(preview.locator(".letterhead-address")).to_contain_text("Portsmouth, NH 03801")
    expect(preview).to_contain_text("Tax no. EIN 12-3456789")
    expect(preview).not_to_contain_text("Not saved yet")
    image = preview.get_by_role("img", name="Harbor Phone Repair")
    expect(image).to_have_attribute("src", "data:image/png;base64," + _b64(logo))
    # The data: URI really decodes as an image in the browser (CSP allows img-src data:).
    assert image.evaluate("img => img.complete && img.naturalWidth") == 120
    saved = Letterhead.objects.get()
    assert saved.tax_number == "EIN 12-3456789" and bytes(saved.logo) == logo.read_bytes()

    # A text file named .png is refused beside the field; the saved logo stays.
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    page.get_by_label("Logo", exact=True).set_input_files(fake)
    page.get_by_role("button", name="Save letterhead").click()
    expect(page.locator("#id_logo_error")).to_contain_text("not a PNG or JPEG image")
    expect(preview.get_by_role("img", name="Harbor Phone Repair")).to_be_visible()
    assert bytes(Letterhead.objects.get().logo) == logo.read_bytes()


def _b64(path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
