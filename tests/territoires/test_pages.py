"""Public pages of territories: index, région, département, commune (with Django's test client)."""

import re
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse

from mednum.territoires import views_pages
from tests.factories import CommuneFactory, DepartementFactory, RegionFactory, make_lieu
from tests.landmarks import duplicate_landmarks, landmark_names

pytestmark = pytest.mark.django_db

DEMARCHES = "Aide aux démarches administratives"
OUTILS = "Maîtrise des outils numériques du quotidien"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def territoires():
    region = RegionFactory(code="76", nom="Occitanie", slug="occitanie")
    herault = DepartementFactory(code="34", nom="Hérault", slug="herault", region=region)
    gard = DepartementFactory(code="30", nom="Gard", slug="gard", region=region)
    sete = CommuneFactory(code="34301", nom="Sète", slug="sete", codes_postaux=["34200"], departement=herault,
                          latitude=43.4028, longitude=3.6928)
    frontignan = CommuneFactory(code="34108", nom="Frontignan", slug="frontignan", codes_postaux=["34110"],
                                departement=herault, latitude=43.4483, longitude=3.7561)
    nimes = CommuneFactory(code="30189", nom="Nîmes", slug="nimes", codes_postaux=["30000"], departement=gard,
                           latitude=43.8367, longitude=4.3601)
    return {"region": region, "herault": herault, "gard": gard, "sete": sete, "frontignan": frontignan, "nimes": nimes}


def lieu(n, commune, lat, lon, services):
    return make_lieu(
        source_id=f"t-{n}", nom=f"Lieu {n}", code_insee=commune.code, commune=commune.nom,
        code_postal=commune.codes_postaux[0], latitude=str(lat), longitude=str(lon), services=services,
    )


def text(response) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def service_count(response, service) -> str:
    html = unescape(response.content.decode())
    match = re.search(rf'<th scope="row">{re.escape(service)}</th><td>([^<]*)</td>', html)
    return match.group(1) if match else None


def test_index_lists_regions_and_their_departements(client, territoires):
    response = client.get(reverse("territoires_pages:index"))
    assert response.status_code == 200
    page = text(response)
    assert "Occitanie" in page and "Hérault (34)" in page and "Gard (30)" in page
    assert reverse("territoires_pages:departement", args=["herault"]) in response.content.decode()


def test_region_page(client, territoires):
    lieu(1, territoires["sete"], 43.4030, 3.6930, f"{DEMARCHES}|{OUTILS}")
    lieu(2, territoires["nimes"], 43.8367, 4.3601, DEMARCHES)
    response = client.get(reverse("territoires_pages:region", args=["occitanie"]))
    assert response.status_code == 200
    page = text(response)
    assert "2 lieux de médiation numérique dans la région" in page
    assert "Lieu 1" in page and "Lieu 2" in page
    assert service_count(response, DEMARCHES) == "2"
    assert service_count(response, OUTILS) == "1"
    assert 'id="carte"' in response.content.decode()
    assert 'data-bbox="' in response.content.decode()


def test_departement_counts_are_cached_until_the_data_changes(client, territoires):
    lieu(1, territoires["sete"], 43.4030, 3.6930, DEMARCHES)
    url = reverse("territoires_pages:departement", args=["herault"])
    response = client.get(url)
    assert service_count(response, DEMARCHES) == "1"
    page = text(response)
    assert "1 lieu de médiation numérique dans le département" in page
    assert "Occitanie" in page  # breadcrumb: région > département
    # Counted once, then read from the cache under the data version.
    calls = []
    original = views_pages.sommaire_territoire
    views_pages.sommaire_territoire = lambda qs: calls.append(1) or original(qs)
    try:
        client.get(url)
        assert calls == []
        lieu(2, territoires["frontignan"], 43.4483, 3.7561, DEMARCHES)
        from mednum.lieux.search import forget_data_version

        forget_data_version()
        response = client.get(url)
        assert calls == [1]
        assert service_count(response, DEMARCHES) == "2"
    finally:
        views_pages.sommaire_territoire = original


def test_commune_page_lists_its_lieux_and_nearby_ones(client, territoires):
    lieu(1, territoires["sete"], 43.4030, 3.6930, DEMARCHES)
    lieu(2, territoires["frontignan"], 43.4483, 3.7561, OUTILS)  # ≈ 7 km away
    lieu(3, territoires["nimes"], 43.8367, 4.3601, OUTILS)  # far away
    response = client.get(reverse("territoires_pages:commune", args=["sete"]))
    assert response.status_code == 200
    page = text(response)
    assert page.index("Les lieux de la commune") < page.index("Lieu 1") < page.index("Lieux proches")
    nearby = page[page.index("Lieux proches"):]
    assert "Lieu 2" in nearby and "Lieu 3" not in page
    assert service_count(response, DEMARCHES) == "1" and service_count(response, OUTILS) == "0"
    html = response.content.decode()
    # Breadcrumb: Accueil > Territoires > région > département > commune.
    crumbs = re.findall(r'class="fr-breadcrumb__link"[^>]*>([^<]+)<', html)
    assert [unescape(c) for c in crumbs] == ["Accueil", "Territoires", "Occitanie", "Hérault", "Sète"]
    assert reverse("lieux:recherche") + "?commune=34301" in html
    assert 'data-lat="43.40280"' in html


def test_territory_list_is_paginated(client, territoires):
    for n in range(25):
        lieu(n, territoires["sete"], 43.4030 + n * 0.001, 3.6930, DEMARCHES)
    url = reverse("territoires_pages:departement", args=["herault"])
    first = text(client.get(url))
    assert "Page 1 sur 2" in first
    second = client.get(url, {"page": "2"})
    assert "Page 2 sur 2" in text(second)
    assert len(re.findall(r'<li class="lieux-resultat">', second.content.decode())) == 5


def test_unknown_territory_is_404(client, territoires):
    assert client.get(reverse("territoires_pages:commune", args=["nulle-part"])).status_code == 404


def test_territory_list_by_commune_then_name_across_pages(client, territoires):
    """The list runs commune by commune (alphabetical, accents ignored), then by name, and every lieu
    of the territory appears exactly once across the pages."""
    made = []
    for n in range(13):
        made.append(lieu(100 + n, territoires["sete"], 43.4030, 3.6930 + n * 0.001, DEMARCHES))
    for n in range(9):
        made.append(lieu(200 + n, territoires["frontignan"], 43.4483, 3.7561 + n * 0.001, DEMARCHES))
    for n in range(5):
        made.append(lieu(300 + n, territoires["nimes"], 43.8367, 4.3601 + n * 0.001, DEMARCHES))
    url = reverse("territoires_pages:region", args=["occitanie"])
    listed = []
    for number in (1, 2):
        html = client.get(url, {"page": number}).content.decode()
        listed += [unescape(n) for n in re.findall(r'<li class="lieux-resultat">\s*<h3[^>]*>\s*<a [^>]*>([^<]+)</a>', html)]
    expected = [l.nom for l in sorted(made, key=lambda l: (
        {"Frontignan": 0, "Nîmes": 1, "Sète": 2}[l.commune_nom], l.nom, l.pk))]
    assert listed == expected and len(listed) == 27
    assert "Page 2 sur 2" in text(client.get(url, {"page": 2}))


def test_commune_page_lists_lieux_not_linked_to_a_commune_after_the_others(client, territoires):
    linked = lieu(1, territoires["sete"], 43.4030, 3.6930, DEMARCHES)
    unlinked = lieu(2, territoires["sete"], 43.4031, 3.6931, DEMARCHES)
    type(unlinked).objects.filter(pk=unlinked.pk).update(commune=None, nom="Aaa sans commune liée")
    from mednum.lieux.search import forget_data_version

    forget_data_version()
    response = client.get(reverse("territoires_pages:commune", args=["sete"]))
    page = text(response)
    assert "2 lieux de médiation numérique dans la commune" in page
    assert page.index(linked.nom) < page.index("Aaa sans commune liée")


def test_departement_lists_its_biggest_communes(client, territoires):
    lieu(1, territoires["sete"], 43.4030, 3.6930, DEMARCHES)
    lieu(2, territoires["frontignan"], 43.4483, 3.7561, DEMARCHES)
    lieu(3, territoires["frontignan"], 43.4484, 3.7562, DEMARCHES)
    html = unescape(client.get(reverse("territoires_pages:departement", args=["herault"])).content.decode())
    section = html[html.index("Communes qui ont le plus de lieux"):]
    assert section.index("Frontignan</a> : 2 lieux") < section.index("Sète</a> : 1 lieu")


def test_each_landmark_of_a_territory_page_has_its_own_name(client, territoires):
    """A screen reader lists the page's landmarks: two regions named alike cannot be told apart (the table of
    services once took the name of its section)."""
    lieu(1, territoires["sete"], 43.4030, 3.6930, DEMARCHES)
    for url in (
        reverse("territoires_pages:region", args=["occitanie"]),
        reverse("territoires_pages:departement", args=["herault"]),
        reverse("territoires_pages:commune", args=["sete"]),
    ):
        html = client.get(url).content.decode()
        names = landmark_names(html)
        assert ("region", "Les services proposés") in names, names
        assert ("navigation", "Menu principal") in names
        assert duplicate_landmarks(html) == [], url
