"""The Content-Security-Policy of the site's responses (mednum.site.csp). That the pages break none of
its rules in a real browser is checked by every browser test (tests/browser/conftest.py)."""

import re

import pytest
from django.urls import reverse

from mednum.site import csp
from tests.factories import make_lieu

pytestmark = pytest.mark.django_db

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)
_DONNEES = re.compile(r'type="application/(?:ld\+)?json"')


def directives(response, header="Content-Security-Policy") -> dict[str, list[str]]:
    out = {}
    for part in response[header].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def inline_scripts(html: str) -> list[str]:
    """The texts of the inline scripts a browser would run (not data blocks, not `src=` scripts)."""
    return [body for attrs, body in _SCRIPT.findall(html) if "src=" not in attrs and not _DONNEES.search(attrs)]


@pytest.fixture
def lieu(communes):
    return make_lieu(source_id="csp-1", nom="Espace numérique du port", code_insee="34301", commune="Sète",
                     code_postal="34200", latitude="43.4030", longitude="3.6930",
                     presentation_resume="Un lieu <script>alert(1)</script> pour tous")


def test_pages_run_only_the_sites_scripts(client, lieu):
    response = client.get("/")
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"] and "https:" not in policy["img-src"]


@pytest.mark.parametrize("url", [
    "/", "/lieux/?commune=34301", "/widget?commune=34301", "/api/v1/docs", "/widget/integrer/",
])
def test_every_inline_script_of_a_page_is_allowed_by_its_hash(client, lieu, url):
    response = client.get(url)
    assert response.status_code == 200, url
    allowed = directives(response)["script-src"]
    for body in inline_scripts(response.content.decode()):
        assert csp.empreinte(body) in allowed, f"{url} : script en ligne non autorisé : {body[:80]}"


def test_the_search_page_has_the_inline_script_of_its_filters(client, lieu):
    """The results page folds its filters on phones with an inline script: allowed by its hash."""
    response = client.get("/lieux/?commune=34301")
    scripts = inline_scripts(response.content.decode())
    assert scripts == [csp.SCRIPTS_EN_LIGNE["repli_filtres"]]
    assert csp.empreinte(scripts[0]) in directives(response)["script-src"]


def test_a_lieus_page_shows_a_script_written_in_its_data_as_text(client, lieu):
    html = client.get(f"/lieux/{lieu.slug}-{lieu.pk}/").content.decode()
    assert "alert(1)" not in "".join(inline_scripts(html))


def test_the_widget_may_be_framed_by_other_sites_and_nothing_else(client, lieu):
    assert directives(client.get(reverse("widget:recherche"), {"commune": "34301"}))["frame-ancestors"] == ["*"]
    assert directives(client.get("/lieux/?commune=34301"))["frame-ancestors"] == ["'none'"]


def test_an_online_base_map_may_load_from_https_servers(client, lieu, settings):
    settings.MEDNUM_MAP_STYLE_URL = "https://tuiles.example.org/style.json"
    policy = directives(client.get("/lieux/?commune=34301"))
    assert policy["connect-src"] == ["'self'", "https:"] and "https:" in policy["img-src"]
    assert "https:" not in policy["script-src"]


def test_report_only_mode(client, lieu, settings):
    settings.MEDNUM_CSP_REPORT_ONLY = True
    response = client.get("/")
    assert "Content-Security-Policy" not in response
    assert directives(response, "Content-Security-Policy-Report-Only")["frame-ancestors"] == ["'none'"]


def test_api_answers_carry_the_policy_too(client, lieu):
    response = client.get("/api/v1/lieux", {"commune": "34301"})
    assert response.status_code == 200 and directives(response)["default-src"] == ["'self'"]


def test_djangos_debug_error_pages_keep_their_scripts(client, settings):
    settings.DEBUG = True
    response = client.get("/adresse-qui-n-existe-pas/")
    assert response.status_code == 404 and "Content-Security-Policy" not in response
    assert "Content-Security-Policy" in client.get("/")
