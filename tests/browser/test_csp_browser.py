"""The Content-Security-Policy is enforced by the browser, and its violations are visible.

The `signed_in` fixture fails any browser test whose pages break the policy; this test shows the
detection works: an inline script injected into an admin page is refused and reported.
"""

import pytest

pytestmark = pytest.mark.browser


def test_an_inline_script_is_refused_and_reported(chromium, live_server):
    context = chromium.new_context()
    messages: list[str] = []
    context.on("console", lambda message: messages.append(message.text))
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.injected = true'; document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    injected = page.evaluate("() => window.injected === true")
    context.close()
    assert injected is False
    assert any("Content Security Policy" in text for text in messages), messages
