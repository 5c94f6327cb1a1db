"""Odd input never breaks a page: every public page and API endpoint answers a query string full of
strange values with a page or a clear 4xx, never a server error."""

import pytest

from tests.factories import CommuneFactory, DepartementFactory, RegionFactory, make_lieu

pytestmark = pytest.mark.django_db

PARAMS = ["q", "lat", "lon", "commune", "rayon_km", "rayon", "page", "taille", "limit", "services",
          "frais_a_charge", "publics_specifiquement_adresses", "itinerance", "ouvert_maintenant",
          "ouvert_week_end", "bbox", "zoom", "vue", "departement", "region", "format", "territoire"]
ODD = ["", " ", "a", "x" * 10_000, "\x00", "%FF", "-1", "0", "1e309", "nan", "-inf", "999999999999999999999",
       "1.5", "'; DROP TABLE lieux_lieu; --", "<script>alert(1)</script>", "2A004", "[]", "true", "🙂", "٣"]


@pytest.fixture
def pages():
    region = RegionFactory(code="76", nom="Occitanie", slug="occitanie")
    dep = DepartementFactory(code="34", nom="Hérault", slug="herault", region=region)
    CommuneFactory(code="34301", nom="Sète", slug="sete", codes_postaux=["34200"], departement=dep,
                   latitude=43.4028, longitude=3.6928)
    lieu = make_lieu(source_id="robuste-1", nom="Espace numérique", code_insee="34301", commune="Sète",
                     code_postal="34200", latitude="43.403", longitude="3.693")
    return ["/", "/lieux/", f"/lieux/{lieu.pk}/", "/widget", "/territoires/", "/territoires/communes/sete/",
            "/donnees/", "/donnees/lieux.csv", "/api/v1/lieux", "/api/v1/lieux.geojson", "/api/v1/carte",
            "/api/v1/communes", f"/api/v1/lieux/{lieu.pk}"]


def test_every_parameter_at_once_with_odd_values(client, pages):
    for path in pages:
        for value in ODD:
            response = client.get(path, {name: value for name in PARAMS})
            assert response.status_code < 500, (path, value[:20], response.status_code)


def test_each_parameter_alone_with_the_worst_values(client, pages):
    for path in pages:
        for name in PARAMS:
            for value in ("x" * 10_000, "\x00", "1e309", "-1"):
                response = client.get(path, {name: value})
                assert response.status_code < 500, (path, name, value[:20], response.status_code)


@pytest.mark.parametrize("path", ["/lieux/%00/", "/lieux/zz-0/", "/lieux/99999999999999999999/",
                                  "/api/v1/lieux/abc", "/api/v1/lieux/99999999999999999999",
                                  "/territoires/communes/%FF/", "/commune/2C004/", "/api/v1/lieux/%C2%B2",
                                  # PostgreSQL refused U+0000 in the slug query (500 there only):
                                  "/api/v1/lieux/%00", "/api/v1/lieux/a%00b", "/admin/accounts/role/%00/change/",
                                  "/territoires/regions/%00/",
                                  # Python reads integers of at most 4,300 digits (a ValueError before):
                                  "/lieux/" + "9" * 4301 + "/", "/lieux/a-" + "9" * 4301 + "/",
                                  "/lieux/" + "9" * 4301 + "/signaler/", "/api/v1/lieux/" + "9" * 4301])
def test_odd_addresses_are_not_found(client, pages, path):
    response = client.get(path)
    assert response.status_code in (404, 302), response.status_code  # 302: the admin sends to its login
    if path.startswith("/api/"):
        assert response.json()["detail"]


def test_a_nul_in_the_query_string_is_read_as_absent(client, pages):
    # PostgreSQL refuses NUL in text: the widget of a commune must not care about one.
    response = client.get("/widget", {"commune": "343\x0001"})
    assert response.status_code == 200
    assert "Espace numérique" in response.content.decode()
    assert response.wsgi_request.GET["commune"] == "34301"
    assert client.get("/api/v1/communes", {"q\x00": "s\x00ète"}).wsgi_request.GET["q"] == "sète"


@pytest.mark.parametrize("path", ["/api/v1/sante", "/api/v1/lieux?commune=34301",
                                  "/api/v1/carte?bbox=3.5,43.3,3.8,43.5&z=12", "/donnees/", "/donnees/lieux.csv",
                                  "/donnees/lieux.geojson"])
def test_head_is_answered_like_get(client, pages, path):
    """Link checkers and caches ask with HEAD: it used to be refused (405) on the API and the downloads."""
    head, get = client.head(path), client.get(path)
    assert head.status_code == get.status_code == 200
    assert head["Content-Type"] == get["Content-Type"]


def test_a_method_the_api_does_not_take_is_explained_in_french(client, pages):
    response = client.post("/api/v1/lieux?commune=34301")
    assert response.status_code == 405
    assert response.json()["detail"].startswith("Méthode POST non acceptée ici : utilisez GET")
    assert "GET" in response["Allow"]
