"""Territory endpoints of the public API. The search itself lives in `territoires.search`."""

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.errors import HttpError

from mednum import parametres
from mednum.territoires import search

router = Router(tags=["territoires"])


class DepartementOut(Schema):
    code: str
    nom: str


class EpciOut(Schema):
    code: str
    nom: str


class CommuneParenteOut(Schema):
    code: str
    nom: str


class CommuneOut(Schema):
    code: str
    nom: str
    codes_postaux: list[str]
    departement: DepartementOut
    epci: EpciOut | None
    latitude: float | None
    longitude: float | None
    population: int
    arrondissement_de: CommuneParenteOut | None

    @staticmethod
    def resolve_arrondissement_de(obj) -> None:
        """A commune of the database is no arrondissement (the API's JSON, arrondissements included,
        is written by `search.communes_json`; this schema documents it)."""
        return None


class ErreurOut(Schema):
    detail: str


# `q` and `limit` are read by hand so that a wrong value gets a French message (Ninja's own
# validation answers in English); they are documented here for the OpenAPI schema.
_COMMUNES_PARAMETERS = [
    {
        "name": "q",
        "in": "query",
        "required": False,
        "description": (
            "Nom de la commune (ou son début), code postal ou code INSEE, ou arrondissement municipal "
            "(« Paris 15e »). Les accents, majuscules, "
            "tirets et apostrophes sont ignorés. Moins de 2 lettres ou chiffres : liste vide."
        ),
        "schema": {"type": "string", "maxLength": search.MAX_LENGTH},
        "examples": {
            "nom": {"value": "saint etienne"},
            "code_postal": {"value": "11800"},
            "code_insee": {"value": "2A004"},
            "arrondissement": {"value": "Paris 15e"},
        },
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Nombre maximal de communes renvoyées.",
        "schema": {"type": "integer", "minimum": 1, "maximum": search.MAX_LIMIT, "default": search.DEFAULT_LIMIT},
    },
]

_COMMUNES_PARAMETER_NAMES = tuple(p["name"] for p in _COMMUNES_PARAMETERS)


@router.get(
    "/communes",
    response={200: list[CommuneOut], 422: ErreurOut},
    summary="Chercher une commune",
    description=(
        "Communes dont le nom, le code postal ou le code INSEE correspond à `q`, de la plus pertinente "
        "à la moins pertinente (nom exact, début du nom, mot du nom), puis de la plus peuplée à la "
        "moins peuplée. Quand aucun nom ne correspond, les noms à une faute de frappe près (une lettre "
        "oubliée, doublée, erronée ou deux lettres inversées : « montpelier ») ; un code postal peut "
        "s'écrire en deux parties (« 34 200 »). Quand `q` désigne un arrondissement municipal de Paris, "
        "Lyon ou Marseille (« Paris 15e », « lyon 3 », « 13016 »), il vient en premier, avec son code "
        "INSEE (75115), ses codes postaux, sa position et `arrondissement_de` qui nomme sa commune ; "
        "`arrondissement_de` vaut `null` pour une commune. `latitude` et `longitude` valent `null` quand "
        "la position est inconnue. Le code d'une commune ou d'un arrondissement sert de paramètre "
        "`commune` à `GET /lieux`."
    ),
    openapi_extra={"parameters": _COMMUNES_PARAMETERS},
    url_name="communes",
)
def communes(request: HttpRequest):
    inconnus = parametres.texte(request.GET, _COMMUNES_PARAMETER_NAMES)
    if inconnus:
        raise HttpError(422, inconnus)
    try:
        limit = search.parse_limit(request.GET.get("limit"))
        # The JSON of `list[CommuneOut]`, written by the search (kept per commune, see `communes_json`).
        return HttpResponse(search.communes_json(request.GET.get("q"), limit=limit), content_type="application/json")
    except search.RechercheInvalide as error:
        raise HttpError(422, str(error)) from error
