"""Public lieux API: /api/v1/lieux, /lieux/{id}, /lieux.geojson, /carte, /sante and the OpenAPI snapshot."""

import difflib
import json
import os
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.cache import cache

from mednum.lieux import api as lieux_api
from mednum.lieux import search
from mednum.lieux.models import Lieu
from mednum.standard import schema
from tests.factories import CommuneFactory, DepartementFactory, RegionFactory
from tests.geo.helpers import bulk, lieu, random_lieux

pytestmark = pytest.mark.django_db

LYON = (45.7640, 4.8357)
SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


@pytest.fixture(autouse=True)
def _fresh_caches():
    search.forget_caches()
    cache.clear()
    yield
    cache.clear()
    search.forget_caches()


def get(client, path="/api/v1/lieux", **params):
    return client.get(f"{path}?{urlencode(params, doseq=True)}")


def near(**params):
    params.setdefault("lat", LYON[0])
    params.setdefault("lon", LYON[1])
    return params


def result_ids(response):
    return [item["id"] for item in response.json()["resultats"]]


# --- /lieux ----------------------------------------------------------------------------------------


def test_search_by_distance(client):
    far = lieu(45.80, 4.90)
    close = lieu(45.765, 4.836)
    response = get(client, **near())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert [r["id"] for r in body["resultats"]] == [close.id, far.id]
    assert body["resultats"][0]["distance_km"] < body["resultats"][1]["distance_km"]
    assert body["total"] == 2 and body["page_suivante"] is False
    assert body["centre"] == {"lat": LYON[0], "lon": LYON[1]}
    lieux_api.LieuxPage.model_validate(body)  # the documented schema holds


def test_result_fields(client):
    lieu(45.765, 4.836, services=["Aide aux démarches administratives"], typologie=["BIB", "MUNI"],
         courriels=["a@example.org", "b@example.org"], horaires="Mo-Fr 09:00-18:00")
    item = get(client, **near()).json()["resultats"][0]
    assert item["services"] == ["Aide aux démarches administratives"]
    assert item["typologie"] == ["BIB", "MUNI"]
    assert item["courriels"] == ["a@example.org", "b@example.org"]
    assert item["horaires_etat"]["etat"] in ("ouvert", "ferme")
    assert item["date_maj"] == "2026-01-15"
    assert set(item) == set(lieux_api.LieuResultat.model_fields)


@pytest.mark.parametrize("field_name", search.FILTER_FIELDS)
def test_every_filter_by_standard_name_and_value(client, field_name):
    values = schema.enumerations()[field_name]
    first = lieu(45.765, 4.836, **{field_name: [values[0]]})
    second = lieu(45.766, 4.836, **{field_name: [values[1]]})
    lieu(45.767, 4.836)
    assert result_ids(get(client, **near(**{field_name: values[0]}))) == [first.id]
    # Repeated parameter = OR.
    assert result_ids(get(client, **near(**{field_name: [values[0], values[1]]}))) == [first.id, second.id]


def test_filters_combine_with_and(client):
    s1, s2 = "Aide aux démarches administratives", "Utilisation sécurisée du numérique"
    a = lieu(45.765, 4.836, services=[s1], frais_a_charge=["Gratuit"], modalites_accompagnement=["En autonomie"])
    b = lieu(45.766, 4.836, services=[s2], frais_a_charge=["Gratuit"], modalites_accompagnement=["À distance"])
    c = lieu(45.767, 4.836, services=[s1, s2], frais_a_charge=["Payant"])
    assert result_ids(get(client, **near(services=[s1, s2]))) == [a.id, b.id, c.id]
    assert result_ids(get(client, **near(services=[s1, s2], frais_a_charge="Gratuit"))) == [a.id, b.id]
    assert result_ids(get(client, **near(services=[s1, s2], frais_a_charge="Gratuit",
                                         modalites_accompagnement="À distance"))) == [b.id]
    assert result_ids(get(client, **near(services=s1, frais_a_charge="Payant"))) == [c.id]


def test_hours_filters(client, monkeypatch):
    # A Wednesday morning: the Saturday lieu is closed « now » (on a real Saturday morning it was open,
    # and this test failed then).
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    mercredi = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    monkeypatch.setattr(timezone, "now", lambda: mercredi)
    open_all_week = lieu(45.765, 4.836, horaires="24/7")
    lieu(45.766, 4.836, horaires="off")
    saturday = lieu(45.767, 4.836, horaires="Sa 09:00-12:00")
    assert result_ids(get(client, **near(ouvert_maintenant="true"))) == [open_all_week.id]
    assert result_ids(get(client, **near(ouvert_week_end="true"))) == [open_all_week.id, saturday.id]
    assert result_ids(get(client, **near(ouvert_week_end="true", ouvert_maintenant="1"))) == [open_all_week.id]


def test_merged_lieux_are_excluded(client):
    survivor = lieu(45.765, 4.836)
    lieu(45.765, 4.8361, fusionne_dans=survivor)
    assert result_ids(get(client, **near())) == [survivor.id]


def test_pagination_is_stable(client):
    bulk(random_lieux(75, centre=LYON, spread_km=5, seed=21))
    for _ in range(4):
        lieu(45.765, 4.836)  # ties, ordered by id
    pages, page = [], 1
    while True:
        body = get(client, **near(taille=10, page=page)).json()
        pages.append([r["id"] for r in body["resultats"]])
        distances = [r["distance_km"] for r in body["resultats"]]
        assert distances == sorted(distances)
        if not body["page_suivante"]:
            break
        page += 1
    flat = [i for p in pages for i in p]
    assert len(flat) == len(set(flat)) == body["total"]
    whole = [r["id"] for r in get(client, **near(taille=100)).json()["resultats"]]
    assert flat == whole
    assert len(whole) == Lieu.objects.count()
    # Ordered by distance, then id.
    whole_body = get(client, **near(taille=100)).json()["resultats"]
    keys = [(r["distance_km"], r["id"]) for r in whole_body]
    assert keys == sorted(keys)


def test_page_beyond_the_last(client):
    lieu(45.765, 4.836)
    response = get(client, **near(page=2))
    assert response.status_code == 422
    assert response.json()["detail"] == "La page 2 n'existe pas : 1 résultat, soit 1 page."


def test_zero_results_suggest_a_radius(client):
    lieu(LYON[0] + 0.4, LYON[1])  # ≈ 44 km
    body = get(client, **near()).json()
    assert body["resultats"] == [] and body["total"] == 0
    assert body["rayon_suggere_km"] == 50
    assert "50 km" in body["message"]


def test_page_json_is_the_serialised_search(client):
    """/lieux assembles its body from cached per-lieu JSON: same bytes as serialising `search_lieux`."""
    bulk(random_lieux(30, centre=LYON, spread_km=3, seed=5))
    lieu(45.765, 4.836, horaires="24/7", courriels=["a@example.org", "b@example.org"])
    lieu(45.7641, 4.8358, horaires="")
    for query in (near(), near(taille=7, page=2), near(services="Aide aux démarches administratives"),
                  near(lat=LYON[0] + 0.4, rayon_km=5), near(ouvert_maintenant="true")):
        params = search.parse_params(query)
        params.maintenant = search.timezone.now()
        expected = lieux_api.dumps(lieux_api._page_payload(search.search_lieux(params)))
        assert search.search_page_json(params) == expected
        assert search.search_page_json(params) == expected  # from the cache


def test_page_json_follows_changes_to_a_lieu(client):
    a = lieu(45.765, 4.836, nom="Avant")
    assert get(client, **near()).json()["resultats"][0]["nom"] == "Avant"
    Lieu.objects.filter(id=a.id).update(nom="Après", telephone="0102030405")  # modifie_le untouched
    item = get(client, **near()).json()["resultats"][0]
    assert (item["nom"], item["telephone"]) == ("Après", "0102030405")


def _counting_fetches(monkeypatch) -> list:
    calls = []
    fetch = search.fetch_lieux

    def counting(ids):
        calls.append(list(ids))
        return fetch(ids)

    monkeypatch.setattr(search, "fetch_lieux", counting)
    return calls


@pytest.mark.django_db(transaction=True)
def test_page_json_reads_rows_only_after_a_change(client, monkeypatch):
    """A page whose lieux were checked since the database last changed is served from the cache
    without reading their rows."""
    a = lieu(45.765, 4.836, nom="Avant")
    b = lieu(45.766, 4.836, nom="Autre")
    calls = _counting_fetches(monkeypatch)
    first = get(client, **near()).content
    assert calls == [[a.id, b.id]]
    assert get(client, **near()).content == first
    assert len(calls) == 1
    Lieu.objects.filter(id=b.id).update(nom="Changé")  # this connection's own write
    assert [r["nom"] for r in get(client, **near()).json()["resultats"]] == ["Avant", "Changé"]
    assert calls[-1] == [a.id, b.id]


@pytest.mark.django_db(transaction=True)
def test_page_json_follows_writes_of_the_transaction_in_progress(client):
    from django.db import transaction

    a = lieu(45.765, 4.836, nom="Avant")
    assert get(client, **near()).json()["resultats"][0]["nom"] == "Avant"
    with transaction.atomic():
        for nom in ("Un", "Deux"):
            Lieu.objects.filter(id=a.id).update(nom=nom)
            assert search.search_lieux({"lat": LYON[0], "lon": LYON[1]}).resultats[0]["nom"] == nom
            assert json.loads(search.search_page_json(search.parse_params(near())))["resultats"][0]["nom"] == nom


@pytest.mark.django_db(transaction=True)
def test_page_json_follows_a_change_committed_by_another_connection(client):
    import threading

    from django.db import connections

    a = lieu(45.765, 4.836, nom="Avant")
    assert get(client, **near()).json()["resultats"][0]["nom"] == "Avant"
    assert get(client, **near()).json()["resultats"][0]["nom"] == "Avant"

    def other_connection():  # each thread has its own connection
        with connections["default"].cursor() as cursor:
            cursor.execute("UPDATE lieux_lieu SET nom = %s WHERE id = %s", ["Après", a.id])
        connections["default"].close()

    thread = threading.Thread(target=other_connection)
    thread.start()
    thread.join()
    assert get(client, **near()).json()["resultats"][0]["nom"] == "Après"


def test_commune_parameter(client):
    region = RegionFactory(code="84", nom="Auvergne-Rhône-Alpes")
    CommuneFactory(code="69123", nom="Lyon", departement=DepartementFactory(code="69", nom="Rhône", region=region),
                   latitude=45.7676, longitude=4.8345)
    a = lieu(45.768, 4.835)
    body = get(client, commune="69123").json()
    assert [r["id"] for r in body["resultats"]] == [a.id]
    assert body["commune"] == {"code": "69123", "nom": "Lyon"}
    response = get(client, commune="99999")
    assert response.status_code == 422
    assert "Commune inconnue" in response.json()["detail"]


def test_commune_parameter_with_a_municipal_arrondissement(client):
    """75115: the search starts from the 15th arrondissement's own point, not from Paris's town hall."""
    region = RegionFactory(code="11", nom="Île-de-France")
    CommuneFactory(code="75056", nom="Paris", departement=DepartementFactory(code="75", nom="Paris", region=region),
                   latitude=48.85659, longitude=2.34292)
    centre = lieu(48.8566, 2.3430)  # by the Hôtel de Ville
    quinzieme = lieu(48.8416, 2.2999)  # by the town hall of the 15th
    body = get(client, commune="75115").json()
    assert [r["id"] for r in body["resultats"]] == [quinzieme.id, centre.id]
    assert body["commune"] == {"code": "75115", "nom": "Paris 15e Arrondissement"}
    assert body["resultats"][0]["distance_km"] < 0.1 < 3 < body["resultats"][1]["distance_km"]
    assert [r["id"] for r in get(client, commune="75056").json()["resultats"]] == [centre.id, quinzieme.id]


@pytest.mark.parametrize(
    "params,parametre,fragment",
    [
        ({"lat": "45.7"}, "lon", "indiquez aussi « lon »"),
        ({"lat": "145", "lon": "4.8"}, "lat", "entre -90 et 90"),
        ({"lat": "45.7", "lon": "4.8", "rayon_km": "101"}, "rayon_km", "au plus 100"),
        ({"lat": "45.7", "lon": "4.8", "taille": "101"}, "taille", "entre 1 et 100"),
        ({"lat": "45.7", "lon": "4.8", "services": "Réparation de vélos"}, "services", "« Réparation de vélos »"),
        ({"lat": "45.7", "lon": "4.8", "format": "xml"}, "format", "« json » ou « geojson »"),
        ({}, "lat", "Indiquez une position"),
    ],
)
def test_bad_parameters_give_422_in_french(client, params, parametre, fragment):
    response = get(client, **params)
    assert response.status_code == 422
    body = response.json()
    assert fragment in body["detail"]
    assert parametre in [e["parametre"] for e in body["erreurs"]]
    lieux_api.LieuxErreur.model_validate(body)


def test_unknown_service_lists_allowed_values(client):
    body = get(client, **near(services="Cuisine")).json()
    (erreur,) = body["erreurs"]
    assert erreur["valeurs_possibles"] == schema.enumerations()["services"]
    assert "Valeur inconnue pour « services » : « Cuisine »" in erreur["message"]


def test_unknown_parameter_is_refused_with_the_closest_name(client):
    """A misspelt filter must not be ignored silently: the answer would list every lieu, unfiltered."""
    lieu(45.765, 4.836, services=["Aide aux démarches administratives"])
    response = get(client, **near(service="Aide aux démarches administratives"))
    assert response.status_code == 422
    (erreur,) = response.json()["erreurs"]
    assert erreur["parametre"] == "service"
    assert "Paramètre inconnu : « service ». Vouliez-vous dire « services » ?" in erreur["message"]
    assert "services" in erreur["valeurs_possibles"] and "rayon_km" in erreur["valeurs_possibles"]
    lieux_api.LieuxErreur.model_validate(response.json())
    # Reported together with the other errors of the request; no suggestion when nothing is close.
    body = client.get("/api/v1/lieux.geojson?lat=45.7&lon=4.8&rayon_km=500&zzz=1").json()
    assert {e["parametre"] for e in body["erreurs"]} == {"zzz"}
    assert "Vouliez-vous" not in body["erreurs"][0]["message"]
    bad_map = carte(client, bbox="4.82,45.75,4.85,45.78", z=15, zoom=15)
    assert bad_map.status_code == 422
    assert bad_map.json()["erreurs"][0]["parametre"] == "zoom"


def test_known_parameters_and_cache_breakers_pass(client):
    lieu(45.765, 4.836)
    assert get(client, **near(_="1700000000", par_page="5")).status_code == 200
    assert carte(client, bbox="4.82,45.75,4.85,45.78", z=15, _ts="1").status_code == 200
    # Every documented parameter is known (the list and the documentation are the same data).
    documented = {p["name"] for p in client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/lieux"]["get"]["parameters"]}
    assert documented <= lieux_api.LIEUX_PARAMETER_NAMES


@pytest.mark.parametrize(
    "query",
    [
        "lat=&lon=", "lat=1e999&lon=2", "lat=45&lon=5&rayon_km=-inf", "lat=45&lon=5&page=99999999999999999999",
        "lat=45&lon=5&taille=0x10", "lat=%00&lon=5", "lat=45&lon=5&services=", "lat=45&lon=5&services=%7C%7C",
        "commune=%27%3B--", "lat=45&lon=5&ouvert_maintenant=", "lat=45&lon=5&format=GEOJSON",
        # A radius whose square is 0.0 in floating point (it divided by zero).
        "lat=45.76&lon=4.84&rayon_km=1e-300", "lat=-0&lon=-0&rayon_km=5e-324&ouvert_maintenant=1",
    ],
)
def test_never_a_server_error(client, query):
    for path in ("/api/v1/lieux", "/api/v1/lieux.geojson", "/api/v1/carte"):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 422), (path, query, response.content)


# --- GeoJSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path,extra", [("/api/v1/lieux", {"format": "geojson"}), ("/api/v1/lieux.geojson", {})])
def test_geojson(client, path, extra):
    a = lieu(45.765, 4.836, nom="Médiathèque")
    lieu(45.77, 4.84)
    response = get(client, path, **near(**extra))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 2
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["id"] == a.id
    assert feature["geometry"] == {"type": "Point", "coordinates": [4.836, 45.765]}  # [lon, lat]
    assert feature["properties"]["nom"] == "Médiathèque"
    assert "distance_km" in feature["properties"]
    assert "latitude" not in feature["properties"]


# --- /lieux/{id} -------------------------------------------------------------------------------------


def test_detail_by_id_and_slug(client):
    a = lieu(45.765, 4.836, slug="espace-numerique-lyon", horaires="Mo-Fr 09:00-12:00", presentation_detail="Ateliers.")
    by_id = client.get(f"/api/v1/lieux/{a.id}")
    assert by_id.status_code == 200
    body = by_id.json()
    assert body["id"] == a.id and body["presentation_detail"] == "Ateliers."
    assert [d["jour"] for d in body["semaine"]] == ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
    assert body["semaine"][0]["libelle"] == "09:00 – 12:00"
    assert body["semaine"][5]["libelle"] == "Fermé"
    lieux_api.LieuDetail.model_validate(body)
    assert client.get("/api/v1/lieux/espace-numerique-lyon").json()["id"] == a.id


def test_detail_of_a_merged_lieu_redirects_to_its_survivor(client):
    survivor = lieu(45.765, 4.836)
    middle = lieu(45.765, 4.836, fusionne_dans=survivor)
    merged = lieu(45.765, 4.836, fusionne_dans=middle, slug="ancien-doublon")
    response = client.get(f"/api/v1/lieux/{merged.id}")
    assert response.status_code == 302
    assert response["Location"] == f"/api/v1/lieux/{survivor.id}"
    assert client.get("/api/v1/lieux/ancien-doublon")["Location"] == f"/api/v1/lieux/{survivor.id}"
    followed = client.get(f"/api/v1/lieux/{merged.id}", follow=True)
    assert followed.json()["id"] == survivor.id
    assert followed.json()["fusionnes"] == [middle.id]


def test_unknown_lieu_is_404(client):
    response = client.get("/api/v1/lieux/999999")
    assert response.status_code == 404
    assert response.json()["detail"] == "Lieu introuvable : « 999999 »."
    assert client.get("/api/v1/lieux/pas-de-slug").status_code == 404
    # Beyond a 64-bit key, and digits that are not ASCII: no such lieu either, never a 500.
    assert client.get("/api/v1/lieux/99999999999999999999").status_code == 404
    assert client.get("/api/v1/lieux/%C2%B2").status_code == 404


# --- /carte ------------------------------------------------------------------------------------------


def carte(client, headers=None, **params):
    return client.get(f"/api/v1/carte?{urlencode(params, doseq=True)}", headers=headers or {})


def test_carte_points_at_high_zoom(client):
    a = lieu(45.765, 4.836, typologie=["BIB", "MUNI"])
    b = lieu(45.766, 4.837)
    lieu(45.9, 4.9)  # outside the box
    body = carte(client, bbox="4.82,45.75,4.85,45.78", z=15).json()
    assert body["mode"] == "points"
    assert body["points"] == [[a.id, 45.765, 4.836, "BIB"], [b.id, 45.766, 4.837, ""]]
    lieux_api.Carte.model_validate(body)


def test_carte_clusters_at_middle_zoom(client):
    bulk(random_lieux(400, centre=LYON, spread_km=20, seed=3))
    lone = lieu(46.2, 5.3)
    body = carte(client, bbox="4.4,45.5,5.4,46.3", z=10).json()
    assert body["mode"] == "grappes"
    total = sum(g[2] for g in body["grappes"]) + len(body["points"])
    assert total == body["nombre"] == Lieu.objects.filter(latitude__range=(45.5, 46.3), longitude__range=(4.4, 5.4)).count()
    assert all(g[2] >= 2 for g in body["grappes"])
    assert [lone.id, 46.2, 5.3, ""] in body["points"]
    lieux_api.Carte.model_validate(body)


def test_carte_filters(client):
    a = lieu(45.765, 4.836, services=["Aide aux démarches administratives"])
    lieu(45.766, 4.837, services=["Loisirs et créations numériques"])
    body = carte(client, bbox="4.82,45.75,4.85,45.78", z=15, services="Aide aux démarches administratives").json()
    assert [p[0] for p in body["points"]] == [a.id]
    body = carte(client, bbox="4.82,45.75,4.85,45.78", z=10, services="Aide aux démarches administratives").json()
    assert body["nombre"] == 1
    bad = carte(client, bbox="4.82,45.75,4.85,45.78", z=15, services="Pétanque")
    assert bad.status_code == 422


def test_carte_hours_filters_at_every_zoom(client):
    region = RegionFactory(code="84", nom="Auvergne-Rhône-Alpes")
    rhone = DepartementFactory(code="69", nom="Rhône", region=region)
    CommuneFactory(code="69123", nom="Lyon", departement=rhone, latitude=45.7676, longitude=4.8345)
    always = lieu(45.765, 4.836, horaires="24/7", commune_id="69123", code_insee="69123")
    lieu(45.766, 4.837, horaires="off", commune_id="69123", code_insee="69123")
    lieu(45.767, 4.838, horaires="", commune_id="69123", code_insee="69123")
    points = carte(client, bbox="4.82,45.75,4.85,45.78", z=15, ouvert_maintenant="true").json()
    assert [p[0] for p in points["points"]] == [always.id]
    clusters = carte(client, bbox="4.4,45.5,5.4,46.3", z=10, ouvert_maintenant="true").json()
    assert clusters["nombre"] == 1 and clusters["points"][0][0] == always.id
    regions = carte(client, bbox="-5.5,41.0,10.0,51.5", z=5, ouvert_maintenant="true").json()
    assert [(t[0], t[4]) for t in regions["territoires"]] == [("84", 1)]
    assert carte(client, bbox="-5.5,41.0,10.0,51.5", z=5).json()["territoires"][0][4] == 3


def territoires(*communes):
    """Régions, départements and one commune in each, from (région, département, commune) triples of
    (code, nom) pairs, the commune's with its latitude and longitude."""
    for (region_code, region_nom), (dep_code, dep_nom), (code, nom, lat, lon) in communes:
        region = RegionFactory(code=region_code, nom=region_nom)
        departement = DepartementFactory(code=dep_code, nom=dep_nom, region=region)
        CommuneFactory(code=code, nom=nom, departement=departement, latitude=lat, longitude=lon)


AURA = ("84", "Auvergne-Rhône-Alpes")
PACA = ("93", "Provence-Alpes-Côte d'Azur")
IDF = ("11", "Île-de-France")
MARSEILLE = (PACA, ("13", "Bouches-du-Rhône"), ("13055", "Marseille", 43.2965, 5.3698))


def test_carte_low_zoom_counts_per_region_and_departement(client):
    territoires(
        (AURA, ("69", "Rhône"), ("69123", "Lyon", 45.7676, 4.8345)),
        (AURA, ("42", "Loire"), ("42218", "Saint-Étienne", 45.4347, 4.3903)),
        MARSEILLE,
    )
    for _ in range(3):
        lieu(45.76, 4.84, code_insee="69123", commune_id="69123")
    lieu(45.43, 4.39, code_insee="42218", commune_id="42218", services=["Aide aux démarches administratives"])
    lieu(43.30, 5.37, code_insee="13055")  # no commune link: the INSEE code is used
    lieu(43.30, 5.37, code_insee="13055", fusionne_dans=Lieu.objects.first())  # merged: not counted
    france = "-5.5,41.0,10.0,51.5"
    body = carte(client, bbox=france, z=5).json()
    assert body["mode"] == "regions"
    assert {t[0]: t[4] for t in body["territoires"]} == {"84": 4, "93": 1}
    assert body["nombre"] == 5
    code, nom, lat, lon, count = next(t for t in body["territoires"] if t[0] == "84")
    assert nom == "Auvergne-Rhône-Alpes" and 45.4 < lat < 45.8 and 4.3 < lon < 4.9  # centre of its communes
    body = carte(client, bbox=france, z=7).json()
    assert body["mode"] == "departements"
    assert {t[0]: t[4] for t in body["territoires"]} == {"69": 3, "42": 1, "13": 1}
    filtered = carte(client, bbox=france, z=7, services="Aide aux démarches administratives").json()
    assert {t[0]: t[4] for t in filtered["territoires"]} == {"42": 1}
    # Only territories whose centre is in (or near) the box.
    body = carte(client, bbox="4.0,45.0,5.2,46.0", z=8).json()
    assert {t[0] for t in body["territoires"]} == {"69", "42"}
    lieux_api.Carte.model_validate(body)


def test_carte_territories_whose_circles_would_overlap_come_as_one(client):
    """Paris and the Hauts-de-Seine are ~20 pixels apart at zoom 8: drawn apart, their counts would be
    one over the other. The map data gives one circle for both (codes and names joined), the
    Bouches-du-Rhône on its own."""
    territoires(
        (IDF, ("75", "Paris"), ("75056", "Paris", 48.8566, 2.3522)),
        (IDF, ("92", "Hauts-de-Seine"), ("92012", "Boulogne-Billancourt", 48.8397, 2.2399)),
        MARSEILLE,
    )
    for _ in range(3):
        lieu(48.856, 2.352, code_insee="75056", commune_id="75056")
    lieu(48.84, 2.24, code_insee="92012", commune_id="92012")
    lieu(43.30, 5.37, code_insee="13055", commune_id="13055")
    body = carte(client, bbox="-5.5,41.0,10.0,51.5", z=8).json()
    assert body["mode"] == "departements" and body["nombre"] == 5
    assert [(t[0], t[1], t[4]) for t in body["territoires"]] == [
        ("13", "Bouches-du-Rhône", 1), ("75,92", "Paris, Hauts-de-Seine", 4),
    ]
    merged = body["territoires"][1]
    assert merged[2] == pytest.approx((3 * 48.8566 + 48.8397) / 4, abs=1e-5)
    assert merged[3] == pytest.approx((3 * 2.3522 + 2.2399) / 4, abs=1e-5)
    lieux_api.Carte.model_validate(body)
    # At zoom 12 the two places are ~320 pixels apart: a cluster of 3 and a lone lieu.
    body = carte(client, bbox="2.1,48.7,2.5,49.0", z=12).json()
    assert [g[2] for g in body["grappes"]] == [3] and len(body["points"]) == 1


def test_carte_etag_and_304(client):
    lieu(45.765, 4.836)
    params = {"bbox": "4.82,45.75,4.85,45.78", "z": 15}
    first = carte(client, **params)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "public, max-age=60"
    again = carte(client, headers={"If-None-Match": etag}, **params)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert carte(client, headers={"If-None-Match": f'W/{etag}, "autre"'}, **params).status_code == 304
    # Another query, another tag.
    other = carte(client, headers={"If-None-Match": etag}, bbox="4.82,45.75,4.85,45.78", z=14)
    assert other.status_code == 200 and other["ETag"] != etag
    # New data, new tag (once the few-second data-version cache expires).
    lieu(45.766, 4.837)
    search.forget_data_version()
    changed = carte(client, headers={"If-None-Match": etag}, **params)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert len(changed.json()["points"]) == 2


@pytest.mark.parametrize(
    "params,fragment",
    [
        ({"z": 10}, "« bbox » est obligatoire"),
        ({"bbox": "4.8,45.7,4.9", "z": 10}, "quatre nombres"),
        ({"bbox": "4.9,45.7,4.8,45.8", "z": 10}, "minLon < maxLon"),
        ({"bbox": "a,b,c,d", "z": 10}, "quatre nombres"),
        ({"bbox": "4.8,45.7,4.9,95", "z": 10}, "entre -90 et 90"),
        ({"bbox": "4.8,45.7,4.9,45.8"}, "« z »"),
        ({"bbox": "4.8,45.7,4.9,45.8", "z": 30}, "entre 0 et 22"),
        ({"bbox": "-5,41,10,51", "z": 12}, "trop grande pour le zoom 12"),
    ],
)
def test_carte_bad_parameters(client, params, fragment):
    response = carte(client, **params)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


# --- /sante and OpenAPI ------------------------------------------------------------------------------


def test_sante(client):
    response = client.get("/api/v1/sante")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def _normalised(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def test_openapi_snapshot(client):
    """The whole /api/v1/openapi.json must match the snapshot; `UPDATE_SNAPSHOTS=1` rewrites it."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    current = _normalised(response.json())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True), current.splitlines(keepends=True),
                fromfile="snapshots/openapi.json", tofile="/api/v1/openapi.json (actuel)", n=2,
            )
        )
        pytest.fail(
            "Le schéma OpenAPI a changé. Si c'est voulu, relancez avec UPDATE_SNAPSHOTS=1.\n" + diff[:20000],
            pytrace=False,
        )


def test_openapi_documents_filters_with_standard_values(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/lieux"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(search.FILTER_FIELDS) <= set(parameters)
    assert parameters["services"]["schema"]["items"]["enum"] == schema.enumerations()["services"]
    assert {"lat", "lon", "commune", "rayon_km", "ouvert_maintenant", "ouvert_week_end", "page", "taille"} <= set(parameters)
    assert "/api/v1/carte" in document["paths"] and "/api/v1/lieux/{ident}" in document["paths"]
