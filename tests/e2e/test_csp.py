"""The CSP header reaches the browser and blocks what it should (the journeys' guard can fail)."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.csp_violation_expected
def test_inline_script_and_style_are_blocked_and_reported(live_server, page, csp_violations):
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert csp_violations == []
    # What an injected payload would try: an inline handler and an inline style.
    page.evaluate(
        """() => {
        const probe = document.createElement("div");
        probe.id = "probe";
        probe.setAttribute("style", "color: rgb(255, 0, 0)");
        probe.setAttribute("onclick", "document.title = 'pwned'");
        probe.textContent = "probe";
        document.body.appendChild(probe);
        }"""
    )
    page.locator("#probe").click()
    expect(page).not_to_have_title("pwned")
    page.wait_for_function("() => true")
    assert any("style-src" in v for v in csp_violations), csp_violations
    assert any("script-src" in v for v in csp_violations), csp_violations
