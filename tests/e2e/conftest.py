"""Every browser journey also checks the Content-Security-Policy: no violation may occur."""

import pytest

# Chromium reports a violation on the console; the listener below also turns each
# `securitypolicyviolation` event into a console line, so none is missed.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture
def csp_violations(page):
    """The CSP violations seen by `page` so far (console lines)."""
    seen: list[str] = []

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or text.startswith("CSP violation"):
            seen.append(text)

    page.add_init_script(_REPORT_VIOLATIONS)
    page.on("console", on_console)
    return seen


@pytest.fixture(autouse=True)
def _no_csp_violations(request, csp_violations):
    yield
    if request.node.get_closest_marker("csp_violation_expected"):
        return
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)
