"""The API described for people on the open-data page, from the API's own OpenAPI document."""

import re

import pytest

from mednum import api_reference
from mednum.standard import schema


def _operation(path):
    (found,) = [op for op in api_reference.operations() if op.path == path]
    return found


def _parameter(operation, name):
    (found,) = [p for p in operation.parameters if p.name == name]
    return found


def test_each_public_endpoint_is_described_with_its_french_summary():
    summaries = {(op.method, op.path): op.summary for op in api_reference.operations()}
    assert summaries[("GET", "/api/v1/lieux")] == "Chercher des lieux près d'un point ou d'une commune"
    assert summaries[("GET", "/api/v1/communes")] == "Chercher une commune"
    assert ("GET", "/api/v1/lieux/{ident}") in summaries
    assert ("GET", "/api/v1/carte") in summaries


def test_filters_list_the_values_of_the_standard_and_are_repeatable():
    lieux = _operation("/api/v1/lieux")
    services = _parameter(lieux, "services")
    assert services.values == schema.enumerations()["services"]
    assert services.repeatable and "répétable" in services.kind
    assert services.place == "adresse (après « ? »)" and not services.required


def test_types_bounds_and_defaults_read_in_french():
    lieux = _operation("/api/v1/lieux")
    assert _parameter(lieux, "rayon_km").kind == "nombre, plus de 0, 100 au plus, 10 par défaut"
    assert _parameter(lieux, "lat").kind == "nombre, de -90 à 90"
    assert _parameter(lieux, "commune").kind == "texte, code de 5 caractères"
    assert _parameter(lieux, "taille").kind == "entier, de 1 à 100, 20 par défaut"
    # A boolean that defaults to false says only what it is.
    assert _parameter(lieux, "ouvert_maintenant").kind == "booléen (true ou false)"
    carte = _operation("/api/v1/carte")
    assert _parameter(carte, "bbox").required and _parameter(carte, "z").required


def test_a_path_parameter_without_description_gets_one():
    ident = _parameter(_operation("/api/v1/lieux/{ident}"), "ident")
    assert ident.place == "chemin" and ident.required
    assert ident.description.startswith("Identifiant numérique du lieu")
    assert _operation("/api/v1/lieux/{ident}").example is None


def test_examples_are_encoded_links_shown_readable():
    example = _operation("/api/v1/lieux").example
    assert example.url == "/api/v1/lieux?commune=33063&services=Aide+aux+d%C3%A9marches+administratives"
    assert example.text == "/api/v1/lieux?commune=33063&services=Aide aux démarches administratives"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("rayon `rayon_km` en km", "rayon <code>rayon_km</code> en km"),
        ("`a<b` & <script>", "<code>a&lt;b</code> &amp; &lt;script&gt;"),
        ("sans code", "sans code"),
    ],
)
def test_descriptions_keep_code_spans_and_escape_the_rest(text, html):
    assert str(api_reference.code_spans(text)) == html


@pytest.mark.django_db
def test_open_data_page_documents_the_api(client):
    page = client.get("/donnees/").content.decode()
    api = page[page.index('<h2 class="fr-mt-4w" id="api">'):]
    assert 'href="/api/v1/openapi.json"' in api and 'href="/api/v1/docs"' in api
    assert re.search(r"<code>GET /api/v1/lieux</code> : Chercher des lieux", api)
    assert "<caption>Paramètres de /api/v1/lieux</caption>" in api
    assert '<th scope="row"><code>bbox</code> (obligatoire)</th>' in api
    assert 'href="/api/v1/lieux?commune=33063&amp;services=Aide+aux+d%C3%A9marches+administratives"' in api
    for value in schema.enumerations()["frais_a_charge"]:
        assert f"<li>{value}</li>" in api
