"""In Chromium: the API explorer (Swagger UI) draws the API's operations with no request to another site,
and stays usable with a screen reader once its panels are open."""

from urllib.parse import urlsplit

import pytest

from tests.browser.axe import check_axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_explorer_renders_from_the_site_alone(page, live_server):
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.goto(live_server.url + "/api/v1/docs")
    # Swagger UI lists the operations read from /api/v1/openapi.json.
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(path.strip() == "/api/v1/lieux" for path in paths), paths
    assert page.locator("h1").first.inner_text() == "Documentation de l’API"
    assert hosts == {urlsplit(live_server.url).netloc}, hosts


def test_api_explorer_with_its_panels_open_has_no_serious_axe_violation(page, live_server):
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=15000)
    check_axe(page, "explorateur de l'API")
    # Every operation open, the first one ready to be tried (its parameters become form fields).
    summaries = page.locator(".opblock-summary-control")
    for n in range(summaries.count()):
        summaries.nth(n).click()
    page.locator("button.try-out__btn").first.click()
    page.wait_for_selector("button.execute")
    page.wait_for_timeout(300)  # the page's script names the new fields on the next frame
    check_axe(page, "explorateur de l'API, opérations ouvertes")
