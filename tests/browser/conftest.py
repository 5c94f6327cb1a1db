"""Every browser test also checks that the pages it opens break none of the site's Content-Security-Policy
rules (mednum.site.csp): Chromium writes each blocked script, style, image, connection or frame in its
console."""

import pytest


@pytest.fixture(autouse=True)
def _sans_violation_csp(request):
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield
    assert not violations, "Contenus bloqués par la politique de sécurité (CSP) :\n" + "\n".join(violations)
