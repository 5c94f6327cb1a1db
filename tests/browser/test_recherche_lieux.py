"""In a real Chromium (Debian's), through Playwright: the search of lieux as people use it.

- a person using only the keyboard searches « Sète » from the home page, keeps the lieux offering
  « Aide aux démarches administratives », opens one and prints its sheet;
- the map draws the server's clusters (WebGL on SwiftShader, the CPU renderer);
- axe-core finds no serious or critical violation on the home, results, map, lieu, commune and
  open-data pages;
- on a phone screen (320 CSS pixels), no page of the search scrolls sideways.
"""

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache

from mednum.geo.distance import haversine_km
from mednum.territoires import search as communes_search
from tests.browser.axe import check_axe
from tests.factories import CommuneFactory, DepartementFactory, RegionFactory, make_lieu

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMARCHES = "Aide aux démarches administratives"
OUTILS = "Maîtrise des outils numériques du quotidien"
SETE = (43.4028, 3.6928)


@pytest.fixture
def donnees():
    """A few communes around Sète and lieux near it: a dozen close together (one cluster on the map)."""
    cache.clear()
    region = RegionFactory(code="76", nom="Occitanie", slug="occitanie")
    herault = DepartementFactory(code="34", nom="Hérault", slug="herault", region=region, chef_lieu="34172")
    CommuneFactory(code="34172", nom="Montpellier", slug="montpellier", codes_postaux=["34000"],
                   population=300000, departement=herault, latitude=43.6107, longitude=3.8767)
    CommuneFactory(code="34108", nom="Frontignan", slug="frontignan", codes_postaux=["34110"],
                   population=23000, departement=herault, latitude=43.4483, longitude=3.7561)
    sete = CommuneFactory(code="34301", nom="Sète", slug="sete", codes_postaux=["34200"], population=44000,
                          departement=herault, latitude=SETE[0], longitude=SETE[1])
    communes_search.invalidate_index()
    lieux = []
    for n in range(12):
        lieux.append(make_lieu(
            source_id=f"sete-{n}",
            nom=f"Espace numérique du port {n + 1}" if n % 2 == 0 else f"Atelier informatique {n + 1}",
            code_insee="34301", commune="Sète", code_postal="34200",
            adresse=f"{n + 1} quai de la Marine",
            latitude=f"{SETE[0] + 0.0006 * (n % 4):.5f}", longitude=f"{SETE[1] + 0.0006 * (n // 4):.5f}",
            services=DEMARCHES if n % 2 == 0 else OUTILS,
            telephone="+33467000000", site_web="https://port.example.fr",
            horaires="Mo-Fr 09:00-12:00,14:00-18:00",
        ))
    make_lieu(source_id="frontignan-1", nom="Médiathèque de Frontignan", code_insee="34108",
              commune="Frontignan", code_postal="34110", latitude="43.4483", longitude="3.7561",
              services=DEMARCHES)
    yield {"sete": sete, "lieux": lieux}
    cache.clear()
    communes_search.invalidate_index()


def focused(page) -> dict:
    return page.evaluate(
        "() => { const e = document.activeElement; return {id: e.id, tag: e.tagName, "
        "text: (e.innerText || e.value || '').trim(), href: e.getAttribute('href') || ''}; }"
    )


def tab_to(page, predicate, limit=150, backwards=False):
    """Press Tab (or Shift+Tab) until `predicate(focused element)` holds; fail after `limit` presses."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        element = focused(page)
        if predicate(element):
            return element
        seen.append(element.get("id") or element.get("text")[:30])
    raise AssertionError(f"Élément jamais atteint au clavier ; parcours : {seen}")


def test_keyboard_only_search_filter_open_and_print(page, live_server, donnees):
    page.goto(live_server.url + "/")
    tab_to(page, lambda e: e["id"] == "commune-champ")
    page.keyboard.type("Sète")
    # The home page's suggestions (combobox): arrow down to « Sète », Enter opens it.
    page.wait_for_selector("[role=listbox] [role=option]")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    # The chosen commune leads straight to the lieux near it.
    page.wait_for_url(re.compile(r"/lieux/\?commune=34301$"))
    status = page.locator("#resultats-nombre")
    assert "13 lieux" in status.inner_text() or "12 lieux" in status.inner_text(), status.inner_text()
    assert "Sète (34200)" in status.inner_text()

    # Filter « Aide aux démarches administratives »: Space checks the box, then « Appliquer les filtres ».
    tab_to(page, lambda e: e["id"] == "filtre-services-0")
    page.keyboard.press("Space")
    assert page.locator("#filtre-services-0").is_checked()
    tab_to(page, lambda e: e["text"] == "Appliquer les filtres")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"services=Aide"))
    assert "7 lieux" in page.locator("#resultats-nombre").inner_text()
    names = page.locator(".lieux-resultat h3 a").all_inner_texts()
    assert names and all("Espace numérique" in n or "Frontignan" in n for n in names), names
    assert page.locator("#filtre-services-0").is_checked()

    # Open the first lieu of the list.
    first = tab_to(page, lambda e: e["tag"] == "A" and e["text"].startswith("Espace numérique"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/lieux/[^?]+-\d+/$"))
    assert page.locator("h1").inner_text() == first["text"]
    assert "Aide aux démarches administratives" in page.locator("main").inner_text()

    # « Imprimer la fiche » calls window.print (stubbed to record the call).
    page.evaluate("() => { window.__impressions = 0; window.print = () => { window.__impressions += 1; }; }")
    tab_to(page, lambda e: e["id"] == "fiche-imprimer")
    page.keyboard.press("Enter")
    assert page.evaluate("window.__impressions") == 1
    page.keyboard.press("Space")
    assert page.evaluate("window.__impressions") == 2

    # The print style sheet: no header, footer, menu or buttons; the sheet's address and link targets shown.
    page.emulate_media(media="print")
    hidden = page.evaluate(
        """() => ['header', 'footer', '.fr-breadcrumb', '#fiche-imprimer']
              .map(s => document.querySelector(s))
              .filter(Boolean)
              .map(e => e.checkVisibility())"""
    )
    assert hidden == [False, False, False, False], hidden
    assert page.locator(".lieux-imprime-seulement").is_visible()
    assert "Fiche d’orientation imprimée depuis" in page.locator(".lieux-imprime-seulement").inner_text()
    after = page.evaluate(
        "() => getComputedStyle(document.querySelector('.lieux-fiche a[href^=\"https://port\"]'), '::after').content"
    )
    assert "https://port.example.fr" in after
    page.emulate_media(media="screen")
    assert page.locator("header").first.is_visible()


def test_map_draws_server_clusters(page, live_server, donnees):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/lieux/?commune=34301")
    assert page.locator("#carte").is_visible()
    assert page.evaluate("() => !!(document.createElement('canvas').getContext('webgl2') || "
                         "document.createElement('canvas').getContext('webgl'))"), "WebGL indisponible"
    page.wait_for_function("() => window.mednumCarteEtat && window.mednumCarteEtat.premierRendu !== null",
                           timeout=15000)
    clusters = page.evaluate(
        "() => window.mednumCarte.queryRenderedFeatures({layers: ['groupes']}).map(f => f.properties)"
    )
    assert clusters, "aucun regroupement dessiné"
    assert all(c["genre"] == "grappe" for c in clusters)
    assert sum(c["nombre"] for c in clusters) >= 12
    labels = page.locator(".lieux-carte__compte").all_inner_texts()
    assert any(int(label) >= 2 for label in labels if label.isdigit()), labels
    # The list's distance (10 km by default) is a circle around Sète: the map also shows farther lieux.
    ring = page.evaluate("() => window.mednumCarte.getStyle().sources.rayon.data.geometry.coordinates")
    distances = [haversine_km(SETE[0], SETE[1], lat, lon) for lon, lat in ring]
    assert len(ring) > 60 and all(abs(km - 10) < 0.05 for km in distances), (min(distances), max(distances))
    assert page.evaluate("() => window.mednumCarte.getLayer('rayon').type") == "line"
    # The map's text alternative, and the list still there.
    assert "le cercle bleu marque la distance choisie (10 km)" in page.locator("#carte-description").inner_text()
    assert page.locator("#carte-maplibre").get_attribute("aria-label")
    assert page.locator(".lieux-resultat").count() == 13
    # Clicking a cluster zooms in.
    page.locator("#carte-maplibre").scroll_into_view_if_needed()
    zoom = page.evaluate("window.mednumCarte.getZoom()")
    point = page.evaluate(
        "() => { const f = window.mednumCarte.queryRenderedFeatures({layers: ['groupes']})[0]; "
        "const p = window.mednumCarte.project(f.geometry.coordinates); "
        "const r = document.querySelector('#carte-maplibre').getBoundingClientRect(); "
        "return {x: r.left + p.x, y: r.top + p.y}; }"
    )
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(f"() => window.mednumCarte.getZoom() > {zoom + 1}", timeout=5000)
    assert not errors, errors


def test_map_without_its_data_says_so_and_still_draws_the_radius_and_outlines(page, live_server, donnees):
    """/api/v1/carte does not answer (server overloaded, proxy error): the map says the lieux could not be
    loaded, keeps the list's radius and the outlines of régions and départements, and the list stays."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    asked = []

    def answer(route):
        asked.append(route.request.url)
        route.fulfill(status=503, body="indisponible")

    page.route("**/api/v1/carte?**", answer)
    page.goto(live_server.url + "/lieux/?commune=34301")
    page.wait_for_function("() => !!(window.mednumCarte && window.mednumCarte.getLayer('departements-surface'))",
                           timeout=15000)
    assert asked
    assert page.locator("#carte-etat").inner_text() == (
        "Les lieux n’ont pas pu être chargés sur la carte. La liste reste disponible."
    )
    layers = page.evaluate("() => window.mednumCarte.getStyle().layers.map(l => l.id)")
    assert layers == ["fond", "departements-surface", "departements-contour", "regions-contour", "rayon", "groupes",
                      "lieux"], layers
    assert page.evaluate("window.mednumCarteEtat.premierRendu") is None
    assert page.locator(".lieux-resultat").count() == 13
    assert not errors, errors


STYLE_EN_LIGNE = "https://tuiles.example.fr/style.json"


def open_map_with_online_style(page, live_server, settings, answer, timeout=15000) -> list[str]:
    """Opens the results for Sète with MEDNUM_MAP_STYLE_URL set, the style's requests answered by
    `answer(route)` in the browser (no network), until the first data is drawn; returns the page's
    script errors, still collected."""
    settings.MEDNUM_MAP_STYLE_URL = STYLE_EN_LIGNE
    page.route("https://tuiles.example.fr/**", answer)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/lieux/?commune=34301")
    page.wait_for_function("() => window.mednumCarteEtat && window.mednumCarteEtat.premierRendu !== null",
                           timeout=timeout)
    return errors


def drawn_cluster_counts(page) -> list[int]:
    return page.evaluate(
        "() => window.mednumCarte.queryRenderedFeatures({layers: ['groupes']}).map(f => f.properties.nombre)"
    )


def test_map_on_an_online_style_draws_the_lieux_above_it(page, live_server, donnees, settings):
    """With MEDNUM_MAP_STYLE_URL the base map comes from a tile service (here answered by the browser
    itself, no network): the lieux's layers go on top of its style, the offline outlines are not added."""
    style = {
        "version": 8,
        "sources": {},
        "layers": [{"id": "fond-en-ligne", "type": "background", "paint": {"background-color": "#f6f6f6"}}],
    }
    asked = []

    def answer(route):
        asked.append(route.request.url)
        route.fulfill(json=style)

    errors = open_map_with_online_style(page, live_server, settings, answer)
    assert asked == [STYLE_EN_LIGNE]
    layers = page.evaluate("() => window.mednumCarte.getStyle().layers.map(l => l.id)")
    assert layers == ["fond-en-ligne", "rayon", "groupes", "lieux"], layers
    assert sum(drawn_cluster_counts(page)) >= 12
    assert not errors, errors


def test_map_whose_data_fails_before_its_style_is_ready_still_draws_the_radius(page, live_server, donnees, settings):
    """The data's error comes first, the online style afterwards: once the style is ready the radius is
    drawn on it (the style's request is held until the map has said that the lieux could not be loaded)."""
    style = {
        "version": 8,
        "sources": {},
        "layers": [{"id": "fond-en-ligne", "type": "background", "paint": {"background-color": "#f6f6f6"}}],
    }
    held = []
    settings.MEDNUM_MAP_STYLE_URL = STYLE_EN_LIGNE
    page.route("https://tuiles.example.fr/**", lambda route: held.append(route))
    page.route("**/api/v1/carte?**", lambda route: route.fulfill(status=503, body="indisponible"))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/lieux/?commune=34301")
    page.wait_for_function("() => /pas pu être chargés/.test(document.querySelector('#carte-etat').textContent)",
                           timeout=15000)
    assert page.evaluate("() => !!window.mednumCarte.getLayer('rayon')") is False
    assert len(held) == 1
    held[0].fulfill(json=style)
    page.wait_for_function("() => !!window.mednumCarte.getLayer('rayon')", timeout=5000)
    layers = page.evaluate("() => window.mednumCarte.getStyle().layers.map(l => l.id)")
    assert layers == ["fond-en-ligne", "rayon", "groupes", "lieux"], layers
    assert not errors, errors


@pytest.mark.parametrize("panne", ["erreur", "sans_reponse"])
def test_map_falls_back_to_the_offline_base_when_the_online_style_cannot_be_loaded(
    page, live_server, donnees, settings, panne
):
    """The tile service answers with an error, or not at all: the map draws the lieux on the outlines
    shipped with the site instead of staying empty."""
    pending = []

    def answer(route):
        if panne == "erreur":
            route.fulfill(status=503, body="indisponible")
        else:
            pending.append(route)  # never answered

    errors = open_map_with_online_style(page, live_server, settings, answer, timeout=20000)
    assert sum(drawn_cluster_counts(page)) >= 12
    # With the outlines of régions and départements under the lieux, as on any offline map.
    page.wait_for_function("() => !!window.mednumCarte.getLayer('departements-surface')", timeout=10000)
    layers = page.evaluate("() => window.mednumCarte.getStyle().layers.map(l => l.id)")
    assert layers == ["fond", "departements-surface", "departements-contour", "regions-contour", "rayon", "groupes",
                      "lieux"], layers
    assert not errors, errors
    if panne == "sans_reponse":
        assert pending, "la requête du style n'a pas été faite"


def test_map_falls_back_to_the_offline_base_when_the_online_style_is_invalid(page, live_server, donnees, settings):
    """An online style MapLibre cannot use (a layer of a type that does not exist) is refused at once, not
    after the 8 s given to a silent tile service: the offline base takes its place."""
    style = {"version": 8, "sources": {}, "layers": [{"id": "fond-en-ligne", "type": "pas-un-type"}]}
    errors = open_map_with_online_style(page, live_server, settings, lambda route: route.fulfill(json=style),
                                        timeout=6000)
    assert sum(drawn_cluster_counts(page)) >= 12
    page.wait_for_function("() => !!window.mednumCarte.getLayer('departements-surface')", timeout=10000)
    assert page.evaluate("() => window.mednumCarte.getStyle().layers[0].id") == "fond"
    assert not errors, errors


def test_without_webgl_the_map_says_so_and_the_list_stays(page, live_server, donnees):
    """A device whose browser gives no WebGL context (old phone, graphics blocked): a sentence instead of
    the map, no script error, and every lieu still in the list."""
    page.add_init_script(
        """(() => { const natif = HTMLCanvasElement.prototype.getContext;
             HTMLCanvasElement.prototype.getContext = function (type, ...options) {
               return /webgl/.test(type) ? null : natif.call(this, type, ...options); }; })()"""
    )
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/lieux/?commune=34301")
    etat = page.locator("#carte-etat")
    etat.wait_for()
    assert "La carte ne peut pas s’afficher sur cet appareil. La liste contient tous les lieux." in etat.inner_text()
    assert page.locator("#carte").is_visible() and page.locator("#carte-maplibre").count() == 0
    assert page.evaluate("window.mednumCarteEtat.premierRendu") is None
    assert page.locator(".lieux-resultat").count() == 13
    assert not errors, errors


def test_map_counts_the_lieux_of_its_visible_part(page, live_server, donnees):
    """The server's clusters cover whole cells of its grid: with Frontignan just beyond the map's east
    edge, the map said « 13 lieux dans cette partie de la carte » where 12 were drawn."""
    page.goto(live_server.url + "/lieux/?commune=34301")
    page.wait_for_function("() => window.mednumCarteEtat && window.mednumCarteEtat.premierRendu !== null",
                           timeout=15000)
    loads = page.evaluate("window.mednumCarteEtat.chargements")
    # Zoom 10.3 (grid clusters), the east edge at 3.745°: Sète's lieux inside, Frontignan (3.7561°) out.
    bounds = page.evaluate(
        """() => { const m = window.mednumCarte; m.jumpTo({center: [3.6928, 43.4028], zoom: 10.3});
                   const b = m.getBounds(); const half = (b.getEast() - b.getWest()) / 2;
                   m.jumpTo({center: [3.745 - half, 43.4028]});
                   const v = m.getBounds(); return [v.getWest(), v.getSouth(), v.getEast(), v.getNorth()]; }"""
    )
    page.wait_for_function(f"() => window.mednumCarteEtat.chargements > {loads}", timeout=15000)
    west, south, east, north = bounds
    positions = [(float(lieu.latitude), float(lieu.longitude)) for lieu in donnees["lieux"]] + [(43.4483, 3.7561)]
    inside = [p for p in positions if south <= p[0] <= north and west <= p[1] <= east]
    assert len(inside) == 12 and east < 3.7561, (bounds, len(inside))
    page.wait_for_function("() => /lieux? dans cette partie/.test(document.querySelector('#carte-etat').textContent)")
    assert page.locator("#carte-etat").inner_text() == "12 lieux dans cette partie de la carte."


def test_axe_no_serious_violations(page, live_server, donnees):
    sete_lieu = donnees["lieux"][0]
    pages = {
        "accueil": "/",
        "résultats": "/lieux/?commune=34301&services=Aide+aux+d%C3%A9marches+administratives",
        "carte": "/lieux/?commune=34301&vue=carte",
        "fiche du lieu": f"/lieux/{sete_lieu.slug}-{sete_lieu.pk}/",
        "commune": "/territoires/communes/sete/",
        "widget": "/widget?commune=34301",
        "données ouvertes et API": "/donnees/",
    }
    for name, path in pages.items():
        page.goto(live_server.url + path)
        if page.locator("#carte").count():
            page.wait_for_function(
                "() => window.mednumCarteEtat && window.mednumCarteEtat.premierRendu !== null", timeout=15000
            )
        check_axe(page, name)


def test_pages_fit_a_phone_screen_without_sideways_scrolling(browser, live_server, donnees):
    """At 320 CSS pixels wide (WCAG reflow), no page of the search (nor the open-data page) scrolls sideways."""
    sete_lieu = donnees["lieux"][0]
    context = browser.new_context(viewport={"width": 320, "height": 700}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        paths = ["/", "/lieux/?commune=34301", "/lieux/?commune=34301&services=Aide+aux+d%C3%A9marches+administratives",
                 f"/lieux/{sete_lieu.slug}-{sete_lieu.pk}/", "/territoires/communes/sete/", "/widget?commune=34301",
                 "/donnees/"]
        for path in paths:
            page.goto(live_server.url + path)
            widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1], f"{path} : {widths[0]} px de large pour un écran de {widths[1]} px"
    finally:
        context.close()


def test_geolocation_from_the_home_page(browser, live_server, donnees):
    """« Me géolocaliser »: the browser's position (granted) opens the lieux nearest to it."""
    context = browser.new_context(geolocation={"latitude": 43.4483, "longitude": 3.7561},
                                  permissions=["geolocation"], locale="fr-FR")
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        bouton = page.get_by_role("button", name="Me géolocaliser")
        bouton.focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/lieux/\?lat=43\.44830&lon=3\.75610$"))
        assert "de votre position" in page.locator("#resultats-nombre").inner_text()
        # Nearest first: the médiathèque stands at that very point, Sète's lieux are ~5 km away.
        assert page.locator(".lieux-resultat h3 a").first.inner_text() == "Médiathèque de Frontignan"
        # The same button on the search page replaces the chosen commune with the position.
        page.goto(live_server.url + "/lieux/?commune=34301")
        page.get_by_role("button", name="Me géolocaliser").click()
        page.wait_for_url(re.compile(r"/lieux/\?.*lat=43\.44830&lon=3\.75610"))
        assert "commune=" not in page.url
        assert page.locator(".lieux-resultat h3 a").first.inner_text() == "Médiathèque de Frontignan"
    finally:
        context.close()


def test_skip_links_reach_the_menu_and_the_search_on_a_phone(browser, live_server, donnees):
    """On a phone the menu and the header search sit in closed dialogs: « Aller au menu » and « Aller à
    la recherche » used to leave the focus on the page's body. They now open the dialog and focus it."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        for lien, cible in (("Aller au menu", "#navigation-principale a"), ("Aller à la recherche", "#recherche-entete-champ")):
            page.goto(live_server.url + "/lieux/?commune=34301")
            tab_to(page, lambda e, lien=lien: e["text"] == lien, limit=10)
            page.keyboard.press("Enter")
            page.wait_for_function(
                "(sel) => { const e = document.activeElement; return e && e.matches(sel) && e.getClientRects().length > 0"
                " && getComputedStyle(e).visibility !== 'hidden'; }",
                arg=cible, timeout=3000,
            )
    finally:
        context.close()


def test_table_of_services_fits_a_phone_screen(browser, live_server, donnees):
    """The count of lieux per service was off-screen at 360 px (service names kept on one line)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/territoires/communes/sete/")
        widths = page.evaluate(
            "() => { const c = document.querySelector('#services-titre').parentElement.querySelector('.fr-table__container');"
            " return [c.scrollWidth, c.clientWidth]; }"
        )
        assert widths[0] <= widths[1], widths
    finally:
        context.close()


def test_tables_fit_a_phone_screen(browser, live_server, donnees):
    """The tables' cells kept their text on one line: at 360 px the afternoon hours of the lieu page
    were cut off, and the widget's parameters needed a sideways scroll. Each period of the week's
    hours stays whole and the line breaks between them."""
    context = browser.new_context(viewport={"width": 320, "height": 700}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        lieu = donnees["lieux"][0]
        for path in (f"/lieux/{lieu.slug}-{lieu.pk}/", "/widget/integrer/", "/territoires/communes/sete/"):
            page.goto(live_server.url + path)
            widths = page.evaluate(
                "() => [...document.querySelectorAll('.fr-table__container')].map(c => [c.scrollWidth, c.clientWidth])"
            )
            assert widths and all(scroll <= client for scroll, client in widths), (path, widths)
        page.goto(live_server.url + f"/lieux/{lieu.slug}-{lieu.pk}/")
        monday = page.locator(".lieux-horaires tbody td").first
        assert monday.inner_text() == "09:00 – 12:00, 14:00 – 18:00"
        periods = monday.locator(".lieux-horaires__plage")
        assert periods.count() == 2
        # On two lines, each period on one.
        tops = [periods.nth(i).evaluate("e => [e.getClientRects().length, e.getBoundingClientRect().top]")
                for i in range(2)]
        assert tops[0][0] == tops[1][0] == 1 and tops[0][1] < tops[1][1], tops
    finally:
        context.close()


def test_links_of_the_results_and_the_lieu_page_are_large_enough_to_touch(browser, live_server, donnees):
    """« Itinéraire », « Aller aux résultats » and « Voir sur OpenStreetMap » were 21 px high on a phone
    (WCAG 2.2 asks for 24 × 24 CSS px)."""
    sete_lieu = donnees["lieux"][0]
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        sizes = {}
        for path, names in (("/lieux/?commune=34301", ("Itinéraire", "Aller aux résultats")),
                            (f"/lieux/{sete_lieu.slug}-{sete_lieu.pk}/", ("Voir sur OpenStreetMap",))):
            page.goto(live_server.url + path)
            for name in names:
                box = page.get_by_role("link", name=re.compile("^" + name)).first.bounding_box()
                sizes[name] = (round(box["width"]), round(box["height"]))
        assert all(w >= 24 and h >= 24 for w, h in sizes.values()), sizes
    finally:
        context.close()


def test_links_of_the_footer_and_the_breadcrumb_are_large_enough_to_touch(browser, live_server, donnees):
    """The footer's links and the breadcrumb's were 20 px high on a phone (the design system's small
    text); WCAG 2.2 asks for targets of 24 × 24 CSS px, or that much space around them."""
    sete_lieu = donnees["lieux"][0]
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + f"/lieux/{sete_lieu.slug}-{sete_lieu.pk}/")
        page.get_by_role("button", name=re.compile("fil d.Ariane")).click()
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('footer a, footer button, .fr-breadcrumb a')]
                 .filter(a => !a.closest('.fr-footer__bottom-copy'))  // a link inside a sentence
                 .map(a => {
                 const r = a.getBoundingClientRect();
                 return [a.textContent.trim().slice(0, 40), Math.round(r.width), Math.round(r.height)];
               })"""
        )
        assert len(sizes) >= 6, sizes
        small = [size for size in sizes if size[1] < 24 or size[2] < 24]
        assert not small, small
    finally:
        context.close()


def test_on_a_phone_the_results_come_right_after_the_search_box(browser, live_server, donnees):
    """On a phone the filters (ten groups, fifty boxes) stood between the search box and the first
    result: two screens to scroll. Once there are results they fold into one « Choisir des filtres »
    line, which opens with the keyboard; on a wide screen, and without JavaScript, they stay open."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/lieux/?commune=34301")
        assert not page.locator("#filtres").evaluate("d => d.open")
        assert not page.locator("#filtre-services-0").is_visible()
        premier = page.locator(".lieux-resultat").first.bounding_box()["y"]
        repli = page.locator("#filtres").bounding_box()
        assert premier < repli["y"] + repli["height"] + 200, (premier, repli)

        # The keyboard opens the panel; a filter chosen there keeps it folded on the next page, with its count.
        tab_to(page, lambda e: e["tag"] == "SUMMARY" and e["text"].startswith("Choisir des filtres"))
        page.keyboard.press("Enter")
        assert page.locator("#filtres").evaluate("d => d.open")
        tab_to(page, lambda e: e["id"] == "filtre-services-0")
        page.keyboard.press("Space")
        tab_to(page, lambda e: e["text"] == "Appliquer les filtres")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"services=Aide"))
        assert not page.locator("#filtres").evaluate("d => d.open")
        assert "(1 choisi)" in page.locator("#filtres > summary").inner_text()

        # No result: the panel stays open (« retirer des filtres » is inside it).
        page.goto(live_server.url + "/lieux/?commune=34301&rayon=2&itinerance=Itin%C3%A9rant")
        assert "Aucun lieu" in page.locator("#resultats-nombre").inner_text()
        assert page.locator("#filtres").evaluate("d => d.open")
    finally:
        context.close()
    for options in ({"viewport": {"width": 1280, "height": 800}},
                    {"viewport": {"width": 360, "height": 740}, "java_script_enabled": False}):
        context = browser.new_context(**options)
        page = context.new_page()
        try:
            page.goto(live_server.url + "/lieux/?commune=34301")
            assert page.locator("#filtres").evaluate("d => d.open"), options
            assert page.locator("#filtre-services-0").is_visible(), options
        finally:
            context.close()


def test_choosing_a_suggested_commune_on_the_results_page_keeps_the_filters(page, live_server, donnees):
    """The results page's box suggests communes as the home page's does; the one chosen with the
    keyboard starts a new search with the filters already set."""
    page.goto(live_server.url + "/lieux/?" + urlencode({"commune": "34301", "services": DEMARCHES}))
    assert "Sète" in page.locator("h1").inner_text()
    page.locator("#recherche-q").fill("")
    page.locator("#recherche-q").focus()
    page.keyboard.type("Frontig")
    option = page.locator("#recherche-q-suggestions [role=option]").first
    option.wait_for()
    assert "Frontignan" in option.inner_text() and "34110" in option.inner_text()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"commune=34108"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["commune"] == ["34108"] and query["services"] == [DEMARCHES] and query["q"] == ["Frontignan"]
    assert "Frontignan (34110)" in page.locator("h1").inner_text()
    assert page.locator(".lieux-resultat h3 a").all_inner_texts()[0] == "Médiathèque de Frontignan"


def test_keyboard_search_from_an_arrondissement_on_the_home_page(page, live_server, donnees):
    """« Paris 15 » is no commune's name: the suggestions offer the 15th arrondissement; chosen with the
    keyboard, it opens the lieux near it, nearest first. Closing the suggestions and pressing Enter sends
    the text, which the server reads the same way."""
    region = RegionFactory(code="11", nom="Île-de-France", slug="ile-de-france")
    departement = DepartementFactory(code="75", nom="Paris", slug="paris", region=region, chef_lieu="75056")
    CommuneFactory(code="75056", nom="Paris", slug="paris", codes_postaux=["75001", "75015"], population=2100000,
                   departement=departement, latitude=48.85659, longitude=2.34292)
    communes_search.invalidate_index()
    centre = make_lieu(source_id="hdv", nom="Espace de l'Hôtel de Ville", code_insee="75056", commune="Paris",
                       code_postal="75004", latitude="48.8566", longitude="2.3430")
    quinzieme = make_lieu(source_id="peclet", nom="Espace Péclet", code_insee="75115", commune="Paris",
                          code_postal="75015", latitude="48.8416", longitude="2.2999")
    for choose, url in ((["ArrowDown", "Enter"], r"/lieux/\?commune=75115$"), (["Escape", "Enter"], r"/lieux/\?q=Paris\+15$")):
        page.goto(live_server.url + "/")
        tab_to(page, lambda e: e["id"] == "commune-champ")
        page.keyboard.type("Paris 15")
        first = page.locator("#commune-champ-suggestions [role=option]").first
        first.wait_for()
        assert "Paris 15e Arrondissement" in first.inner_text() and "75015" in first.inner_text()
        for key in choose:
            page.keyboard.press(key)
        page.wait_for_url(re.compile(url))
        assert "Paris 15e arrondissement (75015)" in page.locator("h1").inner_text()
        assert page.locator(".lieux-resultat h3 a").all_inner_texts()[:2] == [quinzieme.nom, centre.nom]
