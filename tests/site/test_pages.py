"""The site shell: base layout, State brand on/off, error pages, home page and its search without JavaScript."""

import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.base import Message
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from mednum.site import views

pytestmark = pytest.mark.django_db


def html(response):
    return response.content.decode()


# --- Layout ---------------------------------------------------------------------------------------


def test_home_is_french_with_skip_links_and_one_h1(client):
    response = client.get("/")
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="fr"' in page
    for label, target in [
        ("Aller au contenu", "#contenu"),
        ("Aller au menu", "#navigation-principale"),
        ("Aller à la recherche", "#commune-champ"),
        ("Aller au pied de page", "#pied-de-page"),
    ]:
        assert f'href="{target}">{label}</a>' in page
        assert f'id="{target[1:]}"' in page
    assert '<main id="contenu" tabindex="-1"' in page
    assert len(re.findall(r"<h1[ >]", page)) == 1
    assert "<title>Médiation numérique</title>" in page


def test_header_has_service_name_tagline_search_and_navigation(client, settings):
    settings.MEDNUM_SITE_NAME = "Nom du service"
    settings.MEDNUM_SITE_TAGLINE = "Devise du service"
    page = html(client.get("/"))
    assert '<p class="fr-header__service-title">Nom du service</p>' in page
    assert '<p class="fr-header__service-tagline">Devise du service</p>' in page
    # Commune search in the header: a GET form to the home page, with a label.
    assert re.search(r'<form class="fr-search-bar"[^>]*method="get" action="/"', page)
    assert '<label class="fr-label" for="recherche-entete-champ">' in page
    assert '<a class="fr-nav__link" href="/" aria-current="page">Accueil</a>' in page
    assert "Trouver un lieu" in page
    assert "Données ouvertes" in page
    assert '<a class="fr-nav__link" href="/territoires/"' in page  # the territory pages are reachable


def test_footer_links(client):
    page = html(client.get("/"))
    footer = page[page.index('<footer class="fr-footer"') :]
    assert "Accessibilité : non conforme" in footer
    assert "Mentions légales" in footer
    assert "Données personnelles" in footer
    assert '<a class="fr-footer__bottom-link" href="/donnees/">Données ouvertes / API</a>' in footer


def test_static_files_exist_and_are_used(client):
    page = html(client.get("/"))
    for name in ["site/js/commune-autocomplete.js", "site/css/site.css"]:
        assert finders.find(name), name
        assert f"/static/{name}" in page
    assert "/static/dsfr/dist/dsfr/dsfr.min.css" in page
    assert "dsfr.module.min.js" in page


def test_api_documentation_is_french_and_loads_nothing_from_another_site(client):
    """The API explorer (linked from /donnees/): Swagger UI from the site's own static files."""
    response = client.get("/api/v1/docs", secure=True)
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="fr">' in page
    assert re.findall(r"<h1>(.*?)</h1>", page) == ["Documentation de l’API"]
    assert '<a href="/">Retour au site</a>' in page
    assert 'href="/api/v1/openapi.json"' in page
    assert '<main id="contenu"' in page and 'href="#contenu"' in page
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert [ref for ref in references if "//" in ref] == []
    static = [ref.removeprefix("/static/") for ref in references if ref.startswith("/static/")]
    for name in ["ninja/swagger-ui.css", "ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js",
                 "site/css/api-docs.css"]:
        assert name in static, name
    for name in static:
        assert finders.find(name), name


@pytest.mark.parametrize("url", ["/mentions-legales/", "/donnees-personnelles/"])
def test_footer_pages_exist(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert "en cours de rédaction" in html(response)


def test_messages_are_shown():
    page = render_to_string(
        "base.html",
        {
            "messages": [Message(messages.SUCCESS, "Modifications enregistrées."), Message(messages.ERROR, "Échec.")],
            "MEDNUM_SITE_NAME": "Médiation numérique",
        },
    )
    assert '<div class="fr-alert fr-alert--sm fr-mb-2w fr-alert--success">' in page
    assert "Modifications enregistrées." in page
    assert 'fr-alert--error" role="alert"' in page


# --- State brand ----------------------------------------------------------------------------------


def test_state_brand_shown_when_enabled(client, settings):
    settings.MEDNUM_STATE_BRAND = True
    page = html(client.get("/"))
    assert page.count('<p class="fr-logo">République<br>Française</p>') == 2  # header and footer
    assert "info.gouv.fr" in page
    assert "favicon" in page


def test_no_state_brand_when_disabled(client, settings):
    settings.MEDNUM_STATE_BRAND = False
    settings.MEDNUM_OPERATOR = "Opérateur exemple"
    page = html(client.get("/"))
    assert "fr-logo" not in page
    assert "République" not in page
    assert "gouv.fr" not in page
    assert "dsfr/dist/favicon" not in page  # the Marianne favicon is part of the brand
    assert '<p class="fr-header__service-title">Médiation numérique</p>' in page
    assert "Opérateur exemple" in page


def test_no_state_brand_without_operator_shows_the_site_name_in_the_footer(client, settings):
    settings.MEDNUM_STATE_BRAND = False
    settings.MEDNUM_OPERATOR = ""
    page = html(client.get("/"))
    footer = page[page.index('<footer class="fr-footer"') :]
    assert "Médiation numérique" in footer
    assert "fr-logo" not in footer


# --- Error pages ----------------------------------------------------------------------------------


def test_404_page(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    page = html(response)
    assert '<html lang="fr"' in page
    assert "<h1>Page introuvable</h1>" in page
    assert "Aller à la page d’accueil" in page


def test_400_page_is_french(client):
    """A request Django refuses (here a Host header the site does not serve) gets the site's page, not
    Django's English one."""
    response = client.get("/", HTTP_HOST="ailleurs.example")
    assert response.status_code == 400
    page = html(response)
    assert '<html lang="fr"' in page and "<h1>Demande incorrecte</h1>" in page
    assert "Invalid HTTP_HOST" not in page  # Django's technical message is not shown


def test_api_errors_outside_its_operations_are_json(client):
    """Unknown API addresses and requests Django refuses (too many query fields, a bad Host) answered
    with the site's HTML pages; API clients read JSON."""
    unknown = client.get("/api/v1/lieuxx")
    assert unknown.status_code == 404 and "openapi.json" in unknown.json()["detail"]
    too_many = client.get("/api/v1/lieux?" + "&".join(f"a{n}=1" for n in range(1100)))
    assert too_many.status_code == 400 and "trop nombreux" in too_many.json()["detail"]
    assert client.get("/api/v1/sante", HTTP_HOST="ailleurs.example").json()["detail"].startswith("Requête refusée")
    # The site's pages keep their HTML error pages.
    assert "<h1>Demande incorrecte</h1>" in html(client.get("/lieux/?" + "&".join(f"a{n}=1" for n in range(1100))))


def test_expired_form_gets_a_french_explanation():
    """A form sent without its security token (page open too long, cookies blocked): Django's page is
    in English; the site's says what to do."""
    response = Client(enforce_csrf_checks=True).post("/compte/connexion/", {"username": "a@b.fr", "password": "x"})
    assert response.status_code == 403
    page = html(response)
    assert "<h1>Accès refusé</h1>" in page and "Rechargez la page" in page


def test_404_for_an_unknown_commune(client):
    assert client.get("/commune/99999/").status_code == 404
    assert client.get("/commune/3430/").status_code == 404
    assert client.get("/commune/34%0001/").status_code == 404


def test_500_view_needs_neither_request_context_nor_database(django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = views.server_error(request)
    assert response.status_code == 500
    page = html(response)
    assert '<html lang="fr"' in page
    assert "Erreur inattendue" in page
    assert "Désolé, le service rencontre un problème" in page


def test_500_brand_follows_the_setting(settings):
    settings.MEDNUM_STATE_BRAND = False
    page = html(views.server_error(RequestFactory().get("/")))
    assert "fr-logo" not in page
    settings.MEDNUM_STATE_BRAND = True
    assert "fr-logo" in html(views.server_error(RequestFactory().get("/")))


def test_500_still_answers_when_its_template_fails(monkeypatch):
    def broken(name):
        raise ValueError("manifest introuvable")

    monkeypatch.setattr(views.loader, "get_template", broken)
    response = views.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Erreur inattendue" in html(response)


def test_500_through_the_handler(settings):
    settings.ROOT_URLCONF = "tests.site.urls_erreur"
    client = Client(raise_request_exception=False)
    response = client.get("/panne/")
    assert response.status_code == 500
    assert "Erreur inattendue" in html(response)


# --- Home page search without JavaScript ---------------------------------------------------------


def test_home_search_box(client):
    page = html(client.get("/"))
    assert '<label class="fr-label" for="commune-champ">' in page
    assert "Où cherchez-vous ? (commune ou code postal)" in page
    form = r'<form class="mednum-recherche[^"]*" id="recherche-commune" role="search" aria-label="[^"]+" method="get" action="/"'
    assert re.search(form, page)
    assert 'name="q"' in page
    assert 'data-api-url="/api/v1/communes"' in page
    assert 'data-commune-url="/commune/00000/"' in page


def test_search_without_javascript_lists_communes(client, communes):
    response = client.get("/", {"q": "castanet"})
    assert response.status_code == 200
    page = html(response)
    assert "3 communes trouvées pour « castanet »" in page
    assert "<title>3 communes pour « castanet » — Médiation numérique</title>" in page
    links = re.findall(r'href="/commune/([0-9AB]{5})/"', page)
    assert links == ["12061", "31113", "34059"]
    assert "31320 — Haute-Garonne (31)" in page
    assert 'value="castanet"' in page


def test_search_without_javascript_by_postal_code(client, communes):
    page = html(client.get("/", {"q": "11800"}))
    assert re.findall(r'href="/commune/([0-9AB]{5})/"', page) == ["11397", "11026", "11220", "11147"]


def test_search_without_javascript_one_result(client, communes):
    page = html(client.get("/", {"q": "sète"}))
    assert "1 commune trouvée pour « sète »" in page
    assert 'href="/commune/34301/"' in page


def test_search_without_results(client, communes):
    page = html(client.get("/", {"q": "zzzz"}))
    assert "Aucune commune trouvée pour « zzzz »" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Saisissez le nom d’une commune ou son code postal."),
        ("a", "Saisissez au moins 2 lettres du nom de la commune, ou son code postal."),
        ("x" * 10_000, "La recherche est trop longue"),
    ],
)
def test_search_errors_are_explained(client, communes, query, message):
    response = client.get("/", {"q": query})
    assert response.status_code == 200
    page = html(response)
    assert message in page
    assert 'aria-invalid="true"' in page
    assert "<title>Erreur — " in page
    assert "x" * 101 not in page


@pytest.mark.parametrize("query_string", ["q=%00", "q=%FF", "q=s%C3%A8te%00", "q=%ED%A0%80", "q=%00%00%00x"])
def test_search_with_binary_input_never_fails(client, communes, query_string):
    response = client.get(f"/?{query_string}")
    assert response.status_code == 200
    assert "\x00" not in html(response)


def test_choosing_a_commune_leads_to_the_lieux_near_it(client, communes):
    response = client.get("/commune/34301/")
    assert response.status_code == 302
    assert response["Location"] == "/lieux/?commune=34301"
    # Corsican codes are accepted in either case and normalised.
    assert client.get("/commune/2a004/")["Location"] == "/lieux/?commune=2A004"
    # The search page then starts from that commune.
    page = html(client.get(response["Location"]))
    assert "Sète" in page


def test_choosing_an_arrondissement_leads_to_the_lieux_near_it(client, db):
    """The suggestions offer « Paris 15e Arrondissement » (code 75115, no commune of the database): the
    search then starts from that arrondissement."""
    assert client.get("/commune/75115/")["Location"] == "/lieux/?commune=75115"
    assert client.get("/commune/13216/")["Location"] == "/lieux/?commune=13216"
    assert client.get("/commune/75121/").status_code == 404  # Paris has 20 arrondissements


def test_an_address_on_the_home_page_goes_to_the_lieux_search_when_a_geocoder_is_configured(client, communes, settings):
    settings.MEDNUM_GEOCODER_URL = "http://127.0.0.1:9/"  # never called: the lieux search geocodes
    response = client.get("/", {"q": "12 rue de la Mairie 34200 Sète"})
    assert response.status_code == 302
    assert response["Location"] == "/lieux/?q=12+rue+de+la+Mairie+34200+S%C3%A8te"
    # A commune's name stays on the home page's list of communes.
    assert client.get("/", {"q": "Sète"}).status_code == 200
    # Without a geocoder, an address is looked up as communes (its postal code, its last words).
    settings.MEDNUM_GEOCODER_URL = ""
    assert client.get("/", {"q": "12 rue de la Mairie 34200 Sète"}).status_code == 200


def test_home_search_reads_arrondissements_departements_and_typing_slips(client, communes):
    """The home page's search (its list of communes without JavaScript, and the text typed then sent with
    Enter) reads the text as the lieux search does: « Paris 15 » goes straight to the lieux near the
    15th arrondissement, « Hérault » offers the département's page, « Sète 75 » and « sette » find Sète."""
    response = client.get("/", {"q": "Paris 15"})
    assert response.status_code == 302 and response["Location"] == "/lieux/?q=Paris+15"
    assert client.get("/", {"q": "13016"})["Location"] == "/lieux/?q=13016"
    page = html(client.get("/", {"q": "Hérault"}))
    assert re.search(r'href="/territoires/departements/[^"]+/"><span class="mednum-resultats__nom">Tous les lieux : '
                     r'Hérault \(département, 34\)', page), page
    assert "Aucune commune trouvée" not in page
    for query in ("Sète 75", "sette"):
        page = html(client.get("/", {"q": query}))
        assert re.findall(r'href="/commune/([0-9AB]{5})/"', page)[:1] == ["34301"], query


def test_home_offers_geolocation_only_with_javascript(client, communes):
    page = html(client.get("/"))
    assert re.search(r'<button type="button"[^>]*id="accueil-geoloc"[^>]*hidden>Me géolocaliser</button>', page, re.S)
    assert "site/js/geolocalisation" in page


def test_integrity_of_static_files_holds_with_the_production_storage(client, settings, tmp_path):
    """In production, static files get hashed names and the links inside CSS files are rewritten: the
    DSFR's own `integrity` checksums (of its original files) then no longer match, and browsers blocked
    the design system's CSS on every page. Any `integrity` left in a page must be that of the file
    actually served."""
    import base64
    import hashlib

    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    html = client.get("/").content.decode()
    css = re.findall(r'<link\b[^>]*href="/static/(dsfr/dist/dsfr/dsfr\.min\.[0-9a-f]+\.css)"', html)
    assert css and (tmp_path / css[0]).is_file()  # the production name, served from STATIC_ROOT
    for tag in re.findall(r"<(?:link|script)\b[^>]*\bintegrity=[^>]*>", html):
        url = re.search(r'(?:href|src)="/static/([^"]+)"', tag).group(1)
        algorithm, _, expected = re.search(r'integrity="([^"]+)"', tag).group(1).partition("-")
        served = (tmp_path / url).read_bytes()
        assert base64.b64encode(hashlib.new(algorithm, served).digest()).decode() == expected, url


def test_accessibility_statement_says_the_state_and_the_recourse(client, settings):
    settings.MEDNUM_OPERATOR = "L'Agence nationale de la cohésion des territoires"
    settings.MEDNUM_CONTACT_EMAIL = "accessibilite@example.fr"
    page = html(client.get("/accessibilite/"))
    assert "<h1>Déclaration d’accessibilité</h1>" in page
    assert "non conforme" in page and "RGAA" in page
    assert "Défenseur des droits" in page and "Libre réponse 71120" in page
    assert 'href="mailto:accessibilite@example.fr"' in page
    assert "L&#x27;Agence nationale de la cohésion des territoires s’engage" in page
    settings.MEDNUM_CONTACT_EMAIL = ""
    assert "mailto:" not in html(client.get("/accessibilite/"))
