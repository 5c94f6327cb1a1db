"""In Chromium: the API documentation page draws the API's operations with no request to another site."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_documentation_renders_from_the_site_alone(page, live_server):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(live_server.url + "/api/v1/docs")
    # Swagger UI lists the operations read from /api/v1/openapi.json.
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(path.strip() == "/api/v1/lieux" for path in paths), paths
    assert page.locator("h1").first.inner_text() == "Documentation de l’API"
    assert hosts == {urlsplit(live_server.url).netloc}, hosts
