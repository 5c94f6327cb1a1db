"""`GET /api/v1/communes`: the commune lookup of the public API."""

import pytest
from django.core.management import call_command

from mednum.territoires import arrondissements, search
from mednum.territoires.models import CodePostal, Commune, Departement, Epci, Region

URL = "/api/v1/communes"


def get(client, **params):
    return client.get(URL, params)


def result_codes(response):
    assert response.status_code == 200, response.content
    return [item["code"] for item in response.json()]


# --- With a few communes --------------------------------------------------------------------------


@pytest.mark.django_db
class TestWithSampleCommunes:
    @pytest.fixture(autouse=True)
    def _communes(self, communes):
        self.communes = communes

    def test_item_fields(self, client):
        response = get(client, q="saint etienne", limit=1)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert response.json() == [
            {
                "code": "42218",
                "nom": "Saint-Étienne",
                "codes_postaux": ["42000", "42100"],
                "departement": {"code": "42", "nom": "Loire"},
                "epci": {"code": "244200770", "nom": "Saint-Étienne Métropole"},
                "latitude": 45.4339,
                "longitude": 4.3903,
                "population": 173000,
                "arrondissement_de": None,
            }
        ]

    def test_unknown_position_and_no_epci_are_null(self, client):
        (item,) = get(client, q="floure").json()
        assert item["code"] == "11147"
        assert item["latitude"] is None and item["longitude"] is None
        assert item["epci"] is None

    @pytest.mark.parametrize("query", ["saint etienne", "SAINT-ÉTIENNE", "st etienne", "Saint Etienne"])
    def test_name_first_result(self, client, query):
        assert result_codes(get(client, q=query))[0] == "42218"

    def test_ranking_exact_then_prefix_then_word_by_population(self, client):
        assert result_codes(get(client, q="saint etienne")) == ["42218", "76575", "06120"]
        assert result_codes(get(client, q="castanet")) == ["12061", "31113", "34059"]
        assert result_codes(get(client, q="etienne")) == ["42218", "76575", "06120"]
        assert result_codes(get(client, q="saint")) == ["42218", "76575", "42279", "06120"]

    def test_apostrophes_hyphens_case(self, client):
        assert result_codes(get(client, q="L ISLE SUR LA SORGUE")) == ["84054"]
        assert result_codes(get(client, q="l'isle-sur-la-sorgue")) == ["84054"]

    def test_postal_code(self, client):
        assert result_codes(get(client, q="11800", limit=20)) == ["11397", "11026", "11220", "11147"]
        assert result_codes(get(client, q="34200")) == ["34301"]

    def test_partial_postal_code(self, client):
        assert result_codes(get(client, q="118")) == ["11397", "11026", "11220", "11147"]

    def test_insee_codes(self, client):
        assert result_codes(get(client, q="34301")) == ["34301"]
        assert result_codes(get(client, q="2A004")) == ["2A004"]
        assert result_codes(get(client, q="2a004")) == ["2A004"]

    def test_default_limit_is_10(self, client):
        for i in range(15):
            self.make_commune(i)
        assert len(result_codes(get(client, q="villeneuve"))) == 10
        assert len(result_codes(get(client, q="villeneuve", limit=50))) == 15

    def make_commune(self, i):
        from tests.factories import CommuneFactory

        return CommuneFactory(code=f"34{400 + i}", nom=f"Villeneuve-{i}", population=100 + i)

    @pytest.mark.parametrize("limit", ["1", "50"])
    def test_limit_bounds_accepted(self, client, limit):
        assert len(result_codes(get(client, q="saint", limit=limit))) == min(int(limit), 4)

    @pytest.mark.parametrize("limit", ["0", "51", "-3", "dix", "2.5", "%FF"])
    def test_limit_out_of_bounds_is_a_422_in_french(self, client, limit):
        response = get(client, q="saint", limit=limit)
        assert response.status_code == 422
        assert response.json() == {"detail": "Le paramètre « limit » doit être un nombre entier entre 1 et 50."}

    def test_unknown_parameter_is_a_422_in_french(self, client):
        response = get(client, query="saint")  # « q » misspelt: not an empty list that looks like an answer
        assert response.status_code == 422
        assert response.json() == {"detail": "Paramètre inconnu : « query ». Paramètres possibles : « q », « limit »."}
        assert result_codes(get(client, q="saint", _="1")) != []  # cache breakers pass

    @pytest.mark.parametrize("query", ["", "a", "é", " ", "--", "\x00", "\x00\x00\x00", "zzzz"])
    def test_empty_or_one_letter_or_junk_gives_an_empty_list(self, client, query):
        assert result_codes(get(client, q=query)) == []

    def test_no_query_at_all(self, client):
        assert result_codes(client.get(URL)) == []

    def test_ten_thousand_characters_is_a_422_in_french(self, client):
        response = get(client, q="saint etienne " * 715)
        assert response.status_code == 422
        assert "trop longue" in response.json()["detail"]

    @pytest.mark.parametrize(
        "query_string",
        ["q=%FF", "q=%FF%FE%00", "q=s%C3%A8te%00", "q=%00%00", "q=%C3", "q=%E2%80%99", "q=%ED%A0%80", "q=s%FFte"],
    )
    def test_binary_and_invalid_utf8_never_fail(self, client, query_string):
        response = client.get(f"{URL}?{query_string}")
        assert response.status_code == 200
        assert isinstance(response.json(), list)

    def test_nul_byte_inside_a_name_is_ignored(self, client):
        assert result_codes(client.get(f"{URL}?q=s%C3%A8te%00")) == ["34301"]

    @pytest.mark.parametrize("query", ["saint etienne", "castanet", "34", "floure", "2a004"])
    def test_items_are_what_the_documented_schema_writes(self, client, query):
        """The JSON is written by the search (kept per commune); it must be what the OpenAPI document's
        schema `CommuneOut` gives for the same communes."""
        from mednum.territoires.api import CommuneOut

        expected = [CommuneOut.from_orm(commune).dict() for commune in search.search_communes(query, limit=50)]
        assert expected
        assert get(client, q=query, limit=50).json() == expected

    def test_a_renamed_commune_is_answered_with_its_new_name(self, client, django_assert_num_queries):
        assert get(client, q="floure").json()[0]["nom"] == "Floure"
        with django_assert_num_queries(0):  # the same keystroke again reads nothing
            search.communes_json("floure")
        commune = Commune.objects.get(code="11147")
        commune.nom, commune.latitude, commune.longitude = "Floure-Village", 43.17, 2.45
        commune.save()
        (item,) = get(client, q="floure").json()
        assert (item["nom"], item["latitude"], item["longitude"]) == ("Floure-Village", 43.17, 2.45)

    def test_an_arrondissement_whose_commune_is_not_loaded_is_left_out(self, client):
        """Without Paris in the database (its département and EPCI unknown), « 75015 » finds nothing."""
        assert get(client, q="75015").json() == []
        assert get(client, q="Paris 15e").json() == []

    def test_openapi_documents_the_endpoint(self, client):
        schema = client.get("/api/v1/openapi.json").json()
        operation = schema["paths"]["/api/v1/communes"]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["limit"]["schema"]["maximum"] == 50
        assert parameters["q"]["in"] == "query"
        assert "422" in operation["responses"]


# --- With the real territories --------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_territories(django_db_setup, django_db_blocker):
    """All French communes, loaded once for this module and removed afterwards."""
    with django_db_blocker.unblock():
        already_loaded = Commune.objects.count() > 30_000
        if not already_loaded:
            call_command("load_territoires", verbosity=0)
        search.invalidate_index()
    yield
    with django_db_blocker.unblock():
        if not already_loaded:
            CodePostal.objects.all().delete()
            Commune.objects.all().delete()
            Epci.objects.all().delete()
            Departement.objects.all().delete()
            Region.objects.all().delete()
        search.invalidate_index()


@pytest.mark.django_db
class TestWithRealTerritories:
    @pytest.fixture(autouse=True)
    def _loaded(self, real_territories):
        pass

    def test_all_communes_are_there(self):
        assert Commune.objects.count() > 34_000

    def test_postal_code_of_sete(self, client):
        assert "34301" in result_codes(get(client, q="34200"))

    def test_postal_code_shared_by_14_communes(self, client):
        found = result_codes(get(client, q="11800", limit=20))
        assert len(found) == 14
        assert all("11800" in item["codes_postaux"] for item in get(client, q="11800", limit=20).json())

    def test_saint_etienne(self, client):
        assert result_codes(get(client, q="saint etienne"))[0] == "42218"
        assert result_codes(get(client, q="st etienne"))[0] == "42218"

    def test_l_isle_sur_la_sorgue(self, client):
        assert result_codes(get(client, q="L ISLE SUR LA SORGUE"))[0] == "84054"

    def test_castanet_tolosan(self, client):
        assert "31113" in result_codes(get(client, q="castanet"))

    def test_insee_codes(self, client):
        assert result_codes(get(client, q="34301"))[0] == "34301"
        assert result_codes(get(client, q="2A004")) == ["2A004"]

    def test_an_arrondissement_named_comes_first_with_the_departement_and_epci_of_its_commune(self, client):
        """« Paris 15e » names no commune: the 15th arrondissement is offered, with its own postal code,
        point and population, and the département and EPCI of Paris."""
        (paris,) = get(client, q="paris", limit=1).json()
        quinzieme = arrondissements.par_code("75115")
        assert get(client, q="Paris 15e").json()[0] == {
            "code": "75115",
            "nom": "Paris 15e Arrondissement",
            "codes_postaux": ["75015"],
            "departement": {"code": "75", "nom": "Paris"},
            "epci": paris["epci"],
            "latitude": quinzieme.latitude,
            "longitude": quinzieme.longitude,
            "population": quinzieme.population,
            "arrondissement_de": {"code": "75056", "nom": "Paris"},
        }
        assert paris["code"] == "75056" and paris["epci"]["nom"] == "Métropole du Grand Paris"
        assert (quinzieme.latitude, quinzieme.longitude) != (paris["latitude"], paris["longitude"])
        assert 100_000 < quinzieme.population < paris["population"]

    @pytest.mark.parametrize("query, first", [
        ("75015", ["75115", "75056"]),
        ("paris 75015", ["75115", "75056"]),
        ("Lyon 3", ["69383", "69123"]),
        ("marseille 1er arrondissement", ["13201"]),
        # 13013 is Marseille 13e's postal code and Belcodène's INSEE code.
        ("13013", ["13213", "13055", "13013"]),
    ])
    def test_arrondissement_first_then_the_communes(self, client, query, first):
        assert result_codes(get(client, q=query))[: len(first)] == first

    def test_the_arrondissement_counts_in_the_limit(self, client):
        assert result_codes(get(client, q="75015", limit=1)) == ["75115"]
        assert result_codes(get(client, q="13013", limit=2)) == ["13213", "13055"]

    def test_a_city_alone_offers_no_arrondissement(self, client):
        items = get(client, q="marseille", limit=50).json()
        assert items[0]["code"] == "13055"
        assert [item for item in items if item["arrondissement_de"] is not None] == []

    def test_an_arrondissement_has_the_documented_fields(self, client):
        from mednum.territoires.api import CommuneOut, CommuneParenteOut

        (item,) = get(client, q="lyon 3e", limit=1).json()
        assert set(item) == set(CommuneOut.model_json_schema()["properties"])
        assert set(item["arrondissement_de"]) == set(CommuneParenteOut.model_json_schema()["properties"])
