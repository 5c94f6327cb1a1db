"""Lieux endpoints of the public API (`/api/v1/lieux`, `/api/v1/lieux/{id}`, `/api/v1/carte`, `/api/v1/sante`).

Views stay thin: parameters are read and checked by `lieux.search` (French messages, 422 for any bad
parameter — Ninja's own validation answers in English, so query parameters are read by hand and
documented through `openapi_extra`), the work is done there too. Responses are serialised directly
(`HttpResponse` with JSON built from plain dicts, or for `/lieux` assembled from cached per-lieu JSON by
`search.search_page_json`, the same bytes as `_page_payload`): the schemas below document them in
OpenAPI and the tests check that real responses validate against them.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from ninja import Field, Router, Schema

from mednum.standard import schema as standard

from . import search

router = Router(tags=["lieux"])

CARTE_CACHE_CONTROL = "public, max-age=60"
LIEUX_CACHE_CONTROL = "public, max-age=60"  # lets a reverse proxy absorb popular searches
CARTE_BODY_TTL = 60


# --- schemas (documentation and tests) -------------------------------------------------------------


SLUG_DESCRIPTION = (
    "Forme lisible du nom du lieu. La page publique du lieu est /lieux/{slug}-{id}/ (/lieux/{id}/ y redirige)."
)


class HorairesEtat(Schema):
    etat: Literal["ouvert", "ferme", "inconnu"]
    libelle: str
    valide: bool


class LieuResultat(Schema):
    """A lieu in a list of results (the lieu's page, /lieux/{id}, has every field of the standard)."""

    id: int
    slug: str = Field(description=SLUG_DESCRIPTION)
    nom: str
    typologie: list[str]
    adresse: str
    complement_adresse: str
    code_postal: str
    commune: str
    code_insee: str
    latitude: float | None
    longitude: float | None
    telephone: str
    courriels: list[str]
    site_web: list[str]
    horaires: str
    horaires_etat: HorairesEtat
    services: list[str]
    publics_specifiquement_adresses: list[str]
    prise_en_charge_specifique: list[str]
    frais_a_charge: list[str]
    dispositif_programmes_nationaux: list[str]
    modalites_acces: list[str]
    modalites_accompagnement: list[str]
    itinerance: list[str]
    prise_rdv: str
    date_maj: str | None
    est_demo: bool
    distance_km: float


class Centre(Schema):
    lat: float
    lon: float


class CommuneRef(Schema):
    code: str
    nom: str


class LieuxPage(Schema):
    resultats: list[LieuResultat]
    page: int
    taille: int
    page_suivante: bool
    total: int | None
    centre: Centre
    commune: CommuneRef | None
    rayon_km: float
    rayon_suggere_km: int | None
    message: str | None


class JourSemaine(Schema):
    jour: str
    date: str
    libelle: str
    intervalles: list[list[str]]
    aujourd_hui: bool


class LieuDetail(Schema):
    id: int
    slug: str = Field(description=SLUG_DESCRIPTION)
    id_standard: str
    nom: str
    typologie: list[str]
    adresse: str
    complement_adresse: str
    code_postal: str
    commune: str
    code_insee: str
    latitude: float | None
    longitude: float | None
    position_precision: str
    telephone: str
    courriels: list[str]
    site_web: list[str]
    horaires: str
    horaires_etat: HorairesEtat
    presentation_resume: str
    presentation_detail: str
    services: list[str]
    publics_specifiquement_adresses: list[str]
    prise_en_charge_specifique: list[str]
    frais_a_charge: list[str]
    dispositif_programmes_nationaux: list[str]
    formations_labels: list[str]
    autres_formations_labels: list[str]
    modalites_acces: list[str]
    modalites_accompagnement: list[str]
    itinerance: list[str]
    prise_rdv: str
    fiche_acces_libre: str
    structure_parente: str
    pivot: str
    source: str
    date_maj: str | None
    est_demo: bool
    modifie_le: str | None
    fusionnes: list[int]
    semaine: list[JourSemaine]


class ErreurLieux(Schema):
    parametre: str
    message: str
    valeurs_possibles: list[str] | None = None


class LieuxErreur(Schema):
    detail: str
    erreurs: list[ErreurLieux] = []


class Carte(Schema):
    mode: Literal["regions", "departements", "grappes", "points"]
    zoom: int
    nombre: int
    territoires: list[list[str | float | int]]
    grappes: list[list[float | int]]
    points: list[list[int | float | str]]


class Sante(Schema):
    status: str


# --- documented query parameters -------------------------------------------------------------------

_BOOL = {"type": "boolean", "default": False}


def _filter_parameters() -> list[dict]:
    out = []
    for field_name in search.FILTER_FIELDS:
        out.append(
            {
                "name": field_name,
                "in": "query",
                "required": False,
                "description": (
                    f"Valeurs du champ « {field_name} » du standard. Répéter le paramètre (ou séparer par « | ») "
                    "pour accepter l'une ou l'autre valeur (OU) ; des filtres différents se cumulent (ET)."
                ),
                "schema": {"type": "array", "items": {"type": "string", "enum": standard.enumerations()[field_name]}},
                "style": "form",
                "explode": True,
            }
        )
    return out


def _hours_parameters() -> list[dict]:
    return [
        {"name": "ouvert_maintenant", "in": "query", "required": False, "schema": _BOOL,
         "description": "Seulement les lieux ouverts en ce moment (heure locale du lieu, jours fériés compris)."},
        {"name": "ouvert_week_end", "in": "query", "required": False, "schema": _BOOL,
         "description": "Seulement les lieux ouverts le samedi ou le dimanche."},
    ]


LIEUX_PARAMETERS = [
    {"name": "lat", "in": "query", "required": False, "schema": {"type": "number", "minimum": -90, "maximum": 90},
     "description": "Latitude du point de recherche (WGS 84), avec « lon »."},
    {"name": "lon", "in": "query", "required": False, "schema": {"type": "number", "minimum": -180, "maximum": 180},
     "description": "Longitude du point de recherche (WGS 84), avec « lat »."},
    {"name": "commune", "in": "query", "required": False, "schema": {"type": "string", "pattern": "^[0-9AB]{5}$"},
     "description": "Code INSEE d'une commune : la recherche part de sa mairie (à la place de lat/lon). "
                    "Les arrondissements municipaux de Paris, Lyon et Marseille ont le leur (75115 : Paris 15e)."},
    {"name": "rayon_km", "in": "query", "required": False,
     "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": search.RAYON_MAX_KM, "default": search.RAYON_PAR_DEFAUT_KM},
     "description": "Rayon de recherche en kilomètres."},
    *_filter_parameters(),
    *_hours_parameters(),
    {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "default": 1},
     "description": "Numéro de page (les résultats sont triés par distance puis par identifiant)."},
    {"name": "taille", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": search.TAILLE_MAX, "default": search.TAILLE_PAR_DEFAUT},
     "description": "Nombre de lieux par page."},
    {"name": "format", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "geojson"], "default": "json"},
     "description": "« geojson » renvoie une FeatureCollection GeoJSON (comme /lieux.geojson)."},
]

CARTE_PARAMETERS = [
    {"name": "bbox", "in": "query", "required": True, "schema": {"type": "string"},
     "description": "Emprise visible : minLon,minLat,maxLon,maxLat (WGS 84).", "example": "4.75,45.70,4.95,45.80"},
    {"name": "z", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": search.ZOOM_MAX},
     "description": "Niveau de zoom de la carte (tuiles de 256 pixels)."},
    *_filter_parameters(),
    *_hours_parameters(),
]


LIEUX_PARAMETER_NAMES = frozenset(p["name"] for p in LIEUX_PARAMETERS) | {"par_page"}  # older name of taille
CARTE_PARAMETER_NAMES = frozenset(p["name"] for p in CARTE_PARAMETERS)


# --- helpers ---------------------------------------------------------------------------------------


def _refuse_unknown(query, names: frozenset[str]) -> None:
    inconnus = search.parametres_inconnus(query, names)
    if inconnus:
        raise search.ParametresInvalides(inconnus)


dumps = search.json_dumps  # orjson when installed, else the standard library


def _json(payload, status: int = 200, content_type: str = "application/json") -> HttpResponse:
    return HttpResponse(dumps(payload), status=status, content_type=content_type)


def _error(exc: search.ParametresInvalides, status: int = 422) -> HttpResponse:
    return _json(exc.as_dict(), status=status)


def _page_payload(result: search.SearchResult) -> dict:
    return {"resultats": result.resultats, **search.page_fields(result)}


def _geojson_payload(result: search.SearchResult) -> dict:
    features = []
    for item in result.resultats:
        properties = {k: v for k, v in item.items() if k not in ("latitude", "longitude")}
        features.append(
            {
                "type": "Feature",
                "id": item["id"],
                "geometry": {"type": "Point", "coordinates": [item["longitude"], item["latitude"]]},
                "properties": properties,
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "page": result.page,
        "taille": result.taille,
        "page_suivante": result.page_suivante,
        "total": None if result.total_plafonne else result.total,
        "rayon_km": result.rayon_km,
        "rayon_suggere_km": result.rayon_suggere_km,
        "message": result.message,
    }


def _search(request: HttpRequest, geojson: bool | None = None) -> HttpResponse:
    query = request.GET
    fmt = (query.get("format") or "json").strip().lower()
    if fmt not in ("json", "geojson"):
        return _error(
            search.ParametresInvalides(
                [search.ErreurParametre("format", f"« format » vaut « json » ou « geojson » (reçu : « {fmt} »).")]
            )
        )
    if geojson is None:
        geojson = fmt == "geojson"
    try:
        _refuse_unknown(query, LIEUX_PARAMETER_NAMES)
        params = search.parse_params(query)
        if geojson:
            body = dumps(_geojson_payload(search.search_lieux(params)))
        else:  # the hot path: JSON assembled from per-lieu fragments (same body as _page_payload's)
            body = search.search_page_json(params)
    except search.ParametresInvalides as exc:
        return _error(exc)
    response = HttpResponse(body, content_type="application/geo+json" if geojson else "application/json")
    response["Cache-Control"] = LIEUX_CACHE_CONTROL
    return response


# --- endpoints -------------------------------------------------------------------------------------

_LIEUX_DESCRIPTION = (
    "Lieux de médiation numérique autour d'un point (`lat`, `lon`) ou d'une commune (`commune`, code INSEE), "
    "dans un rayon (`rayon_km`, 10 km par défaut, 100 au plus), du plus proche au plus lointain (puis par "
    "identifiant). Chaque résultat porte `distance_km`. Les filtres reprennent les noms de champs et les "
    "valeurs du standard national ; les lieux fusionnés dans un autre (doublons) n'apparaissent pas. "
    "`total` n'est connu que lorsque le rayon contient moins de résultats que les pages demandées ; "
    "`page_suivante` indique s'il reste des résultats. Aucun résultat : `rayon_suggere_km` propose un rayon "
    "plus large (20, 50 ou 100 km) qui en contient. Paramètre inconnu ou valeur invalide : réponse 422 "
    "expliquant l'erreur."
)


@router.get(
    "/lieux",
    response={200: LieuxPage, 422: LieuxErreur},
    summary="Chercher des lieux près d'un point ou d'une commune",
    description=_LIEUX_DESCRIPTION,
    openapi_extra={"parameters": LIEUX_PARAMETERS},
    url_name="lieux",
)
def lieux(request: HttpRequest):
    return _search(request)


@router.get(
    "/lieux.geojson",
    response={200: dict, 422: LieuxErreur},
    summary="Chercher des lieux (GeoJSON)",
    description="Comme /lieux, sous forme de FeatureCollection GeoJSON (une Feature Point par lieu).",
    openapi_extra={"parameters": [p for p in LIEUX_PARAMETERS if p["name"] != "format"]},
    url_name="lieux_geojson",
)
def lieux_geojson(request: HttpRequest):
    return _search(request, geojson=True)


@router.get(
    "/lieux/{ident}",
    response={200: LieuDetail, 302: None, 404: LieuxErreur},
    summary="Un lieu, par identifiant ou par slug",
    description=(
        "La fiche complète d'un lieu, avec ses horaires de la semaine. Un lieu fusionné dans un autre "
        "(doublon) renvoie une redirection 302 vers le lieu qui le remplace."
    ),
    url_name="lieu",
)
def lieu(request: HttpRequest, ident: str):
    detail = search.lieu_detail(ident)
    if detail.redirection is not None:
        base = request.path.rsplit("/", 1)[0]
        query = request.META.get("QUERY_STRING", "")
        return HttpResponseRedirect(f"{base}/{detail.redirection}" + (f"?{query}" if query else ""))
    if detail.lieu is None:
        return _json({"detail": f"Lieu introuvable : « {ident} ».", "erreurs": []}, status=404)
    return _json(detail.lieu)


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.strip('"')
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate.strip('"') == wanted:
            return True
    return False


@router.get(
    "/carte",
    response={200: Carte, 304: None, 422: LieuxErreur},
    summary="Données de la carte pour une emprise et un zoom",
    description=(
        "Seulement ce que la carte dessine. Zoom ≤ 6 : nombre de lieux par région (`territoires` : "
        "[code, nom, lat, lon, nombre]) ; zoom 7 à 8 : par département ; des territoires dont les cercles se "
        "chevaucheraient sur la carte y viennent en un seul (codes et noms séparés par des virgules, nombres "
        "additionnés, par exemple « 75,92,93,94 ») ; zoom 9 à 12 : regroupements sur une "
        "grille de 64 pixels (`grappes` : [lat, lon, nombre], un lieu seul dans sa case vient dans `points`), "
        "les cercles qui se chevaucheraient sur la carte étant réunis en un seul regroupement ; "
        "zoom ≥ 13 : les lieux (`points` : [id, lat, lon, type], type = premier code de typologie), ou des "
        "regroupements s'ils sont plus de 1 500 dans l'emprise. Les filtres de /lieux s'appliquent. "
        "Réponse avec ETag et Cache-Control ; If-None-Match donne 304 quand rien n'a changé."
    ),
    openapi_extra={"parameters": CARTE_PARAMETERS},
    url_name="carte",
)
def carte(request: HttpRequest):
    try:
        _refuse_unknown(request.GET, CARTE_PARAMETER_NAMES)
        params = search.parse_carte_params(request.GET)
    except search.ParametresInvalides as exc:
        return _error(exc)
    digest = hashlib.sha1(f"{search.data_version()}\n{params.cache_key()}".encode()).hexdigest()[:24]
    etag = f'"{digest}"'
    if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH", ""), etag):
        response = HttpResponse(status=304)
    else:
        key = f"mednum:carte:{digest}"
        body = cache.get(key)
        if body is None:
            body = dumps(search.carte(params))
            cache.set(key, body, CARTE_BODY_TTL)
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = CARTE_CACHE_CONTROL
    return response


@router.get(
    "/sante",
    response=Sante,
    summary="Le service répond",
    description="Vérification de disponibilité : répond {\"status\": \"ok\"} sans interroger la base.",
    url_name="sante",
)
def sante(request: HttpRequest):
    return _json({"status": "ok"})
