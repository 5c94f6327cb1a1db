"""Searching lieux: near a point or a commune, with the standard's filters, opening hours and pagination.

Plain functions, shared by the public API (`lieux.api`) and the pages:

* `parse_params(query)` reads request parameters (a QueryDict or a dict) into `SearchParams`, or raises
  `ParametresInvalides` with one French message per bad parameter;
* `search_lieux(params)` → `SearchResult`: the page of lieux ordered by distance then id, each with
  `distance_km`; when nothing matches, `rayon_suggere_km` (20, 50 or 100) tells which wider radius would;
* `lieu_detail(ident)` → one lieu by id or slug (a merged lieu points to the lieu that absorbed it);
* `carte(params)` → map data for a box and a zoom level (counts per territory, grid clusters or points);
* `data_version()` → a short string that changes when lieux change (for ETags and caches).

How filters work
    Each enumerated field of the standard has a bit-mask column (`lieux.models.MASK_COLUMNS`). Values of
    one filter are ORed (`(services_mask & (b1|b2)) != 0`), different filters are ANDed. This is plain
    integer arithmetic in SQL, the same on SQLite and PostgreSQL.

    "Ouvert maintenant" and "ouvert le week-end" cannot be evaluated in SQL: they run in Python, per
    distinct `horaires` string (cached, `hours`). When few lieux of France can pass (at night, on a
    Sunday: `horaires_possibles`), the lieux with those hours are read through their index and the
    radius is applied to them; otherwise on the spatial candidates (`nearest(..., accept=…)` keeps
    fetching candidates until enough of them are open, or the radius is exhausted).

Pagination is stable: results are ordered by (distance, id) and page n is the slice of the first
n × taille nearest. The total is only known when the radius holds fewer results than asked for
(`total`); otherwise `page_suivante` says whether another page exists.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import timezone as dt_timezone
from typing import NamedTuple

from django.core.cache import cache
from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.utils import timezone

from mednum import parametres
from mednum.geo import grid
from mednum.geo.distance import BBox, bboxes_for_radius, haversine_km
from mednum.geo.nearest import count_within, nearest, raw_cursor, rows_in_boxes
from mednum.standard import schema

from . import hours
from .models import HORAIRES_INDEX_CHARS, MASK_COLUMNS

RAYON_PAR_DEFAUT_KM = 10
RAYON_MAX_KM = 100
RAYONS_SUGGERES_KM = (20, 50, 100)
TAILLE_PAR_DEFAUT = 20
TAILLE_MAX = 100
RESULTATS_MAX = 1000  # page × taille may not go beyond (narrow the search instead)

FILTER_FIELDS: tuple[str, ...] = tuple(MASK_COLUMNS)

USING = "default"


# --- errors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErreurParametre:
    parametre: str
    message: str
    valeurs_possibles: tuple[str, ...] | None = None

    def as_dict(self) -> dict:
        data = {"parametre": self.parametre, "message": self.message}
        if self.valeurs_possibles is not None:
            data["valeurs_possibles"] = list(self.valeurs_possibles)
        return data


class ParametresInvalides(ValueError):
    """One or more request parameters are wrong; `erreurs` holds one French message per problem."""

    def __init__(self, erreurs: list[ErreurParametre]):
        self.erreurs = erreurs
        super().__init__(" ".join(e.message for e in erreurs))

    def as_dict(self) -> dict:
        return {"detail": str(self), "erreurs": [e.as_dict() for e in self.erreurs]}


def _guillemets(value: str) -> str:
    return f"« {value} »"


# --- parameters ------------------------------------------------------------------------------------


def parametres_inconnus(query: Mapping, connus: frozenset[str]) -> list[ErreurParametre]:
    """One error per parameter name that is not in `connus` (`mednum.parametres`), listing the known ones."""
    trouves = parametres.inconnus(query, connus)  # on every request: nothing sorted unless needed
    if not trouves:
        return []
    ordre = tuple(sorted(connus))
    return [ErreurParametre(nom, parametres.message(nom, proche), ordre) for nom, proche in trouves]



@dataclass
class SearchParams:
    latitude: float | None = None
    longitude: float | None = None
    commune: str | None = None  # INSEE code; its position is used as the centre
    rayon_km: float = RAYON_PAR_DEFAUT_KM
    filtres: dict[str, tuple[str, ...]] = field(default_factory=dict)  # standard field → values (OR)
    ouvert_maintenant: bool = False
    ouvert_week_end: bool = False
    page: int = 1
    taille: int = TAILLE_PAR_DEFAUT
    maintenant: datetime | None = None  # evaluation time for opening hours (default: now)
    # Count every match in the radius even when the pages asked for do not reach the last one (pages
    # that show "N lieux"). The API does not: `page_suivante` is enough there and costs nothing.
    avec_total: bool = False

    def __post_init__(self):
        self.filtres = {k: tuple(v) for k, v in self.filtres.items() if v}


_VRAI = {"1", "true", "vrai", "oui", "on", "yes"}
_FAUX = {"0", "false", "faux", "non", "off", "no", ""}


def _getlist(query: Mapping, name: str) -> list[str]:
    if hasattr(query, "getlist"):
        return query.getlist(name) if name in query else []  # getlist returns a fresh list
    value = query.get(name)
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _get(query: Mapping, name: str) -> str | None:
    values = _getlist(query, name)
    if not values:
        return None
    value = values[-1].strip()
    return value if value != "" else None


def _float(query, name, erreurs, minimum, maximum, libelle) -> float | None:
    raw = _get(query, name)
    if raw is None:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        erreurs.append(ErreurParametre(name, f"{_guillemets(name)} doit être un nombre (reçu : {_guillemets(raw)})."))
        return None
    if not math.isfinite(value) or not minimum <= value <= maximum:
        erreurs.append(
            ErreurParametre(name, f"{_guillemets(name)} doit être {libelle} entre {minimum:g} et {maximum:g} (reçu : {raw}).")
        )
        return None
    return value


def _int(query, name, erreurs, default, minimum, maximum, libelle) -> int:
    raw = _get(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        erreurs.append(ErreurParametre(name, f"{_guillemets(name)} doit être un nombre entier (reçu : {_guillemets(raw)})."))
        return default
    if not minimum <= value <= maximum:
        erreurs.append(ErreurParametre(name, f"{_guillemets(name)} doit être {libelle} entre {minimum} et {maximum} (reçu : {value})."))
        return default
    return value


def _bool(query, name, erreurs) -> bool:
    raw = _get(query, name)
    if raw is None:
        return False
    lowered = raw.lower()
    if lowered in _VRAI:
        return True
    if lowered in _FAUX:
        return False
    erreurs.append(ErreurParametre(name, f"{_guillemets(name)} vaut « true » ou « false » (reçu : {_guillemets(raw)})."))
    return False


def _canonical_table(field_name: str) -> dict[str, str]:
    table = {value.casefold(): value for value in schema.enumerations()[field_name]}
    for variant, value in schema.spelling_variants(field_name).items():
        table.setdefault(variant.casefold(), value)
    return table


_CANONICAL: dict[str, dict[str, str]] = {}


def resolve_values(field_name: str, raw_values: list[str]) -> tuple[tuple[str, ...], ErreurParametre | None]:
    """Standard values for a filter (case-insensitive, `|` also separates), or an error naming the unknown ones."""
    table = _CANONICAL.get(field_name)
    if table is None:
        table = _CANONICAL[field_name] = _canonical_table(field_name)
    values: list[str] = []
    inconnues: list[str] = []
    for raw in raw_values:
        for part in schema.split(raw):
            value = table.get(part.casefold())
            if value is None:
                inconnues.append(part)
            elif value not in values:
                values.append(value)
    if inconnues:
        allowed = tuple(schema.enumerations()[field_name])
        pluriel = "s" if len(inconnues) > 1 else ""
        message = (
            f"Valeur{pluriel} inconnue{pluriel} pour {_guillemets(field_name)} : "
            + ", ".join(_guillemets(v) for v in inconnues)
            + ". Valeurs possibles : "
            + ", ".join(_guillemets(v) for v in allowed)
            + "."
        )
        return tuple(values), ErreurParametre(field_name, message, allowed)
    return tuple(values), None


def parse_filters(query: Mapping, erreurs: list[ErreurParametre]) -> dict[str, tuple[str, ...]]:
    filtres = {}
    for field_name in FILTER_FIELDS:
        raw = [v for v in _getlist(query, field_name) if v.strip()]
        if not raw:
            continue
        values, erreur = resolve_values(field_name, raw)
        if erreur:
            erreurs.append(erreur)
        elif values:
            filtres[field_name] = values
    return filtres


def parse_params(query: Mapping, *, location_required: bool = True) -> SearchParams:
    """Read search parameters (`lat`, `lon`, `commune`, `rayon_km`, filters, `ouvert_maintenant`,
    `ouvert_week_end`, `page`, `taille`) and check them all; raise `ParametresInvalides` listing every error."""
    erreurs: list[ErreurParametre] = []
    lat = _float(query, "lat", erreurs, -90, 90, "comprise")
    lon = _float(query, "lon", erreurs, -180, 180, "comprise")
    lat_given, lon_given = _get(query, "lat") is not None, _get(query, "lon") is not None
    if lat_given != lon_given:
        manquant = "lon" if lat_given else "lat"
        erreurs.append(
            ErreurParametre(manquant, f"{_guillemets('lat')} et {_guillemets('lon')} vont ensemble : indiquez aussi {_guillemets(manquant)}.")
        )
    commune = _get(query, "commune")
    if commune is not None:
        commune = commune.upper()
        if len(commune) != 5 or not commune.isalnum():
            erreurs.append(
                ErreurParametre("commune", f"{_guillemets('commune')} attend un code INSEE à 5 caractères, par exemple 69123 (reçu : {_guillemets(commune)}).")
            )
            commune = None
    if lat_given and lon_given and commune is not None:
        erreurs.append(ErreurParametre("commune", "Indiquez soit une position (lat et lon), soit une commune, pas les deux."))
    if location_required and not lat_given and not lon_given and _get(query, "commune") is None:
        erreurs.append(
            ErreurParametre("lat", "Indiquez une position (lat et lon) ou une commune (code INSEE dans « commune »).")
        )
    rayon_raw = _get(query, "rayon_km")
    rayon = RAYON_PAR_DEFAUT_KM
    if rayon_raw is not None:
        try:
            rayon = float(rayon_raw.replace(",", "."))
            if not math.isfinite(rayon) or not 0 < rayon <= RAYON_MAX_KM:
                raise ValueError
        except ValueError:
            erreurs.append(
                ErreurParametre("rayon_km", f"{_guillemets('rayon_km')} doit être un nombre de kilomètres supérieur à 0 et au plus {RAYON_MAX_KM} (reçu : {_guillemets(rayon_raw)}).")
            )
            rayon = RAYON_PAR_DEFAUT_KM
    filtres = parse_filters(query, erreurs)
    ouvert_maintenant = _bool(query, "ouvert_maintenant", erreurs)
    ouvert_week_end = _bool(query, "ouvert_week_end", erreurs)
    page = _int(query, "page", erreurs, 1, 1, RESULTATS_MAX, "compris")
    taille_name = "taille" if _get(query, "taille") is not None or _get(query, "par_page") is None else "par_page"
    taille = _int(query, taille_name, erreurs, TAILLE_PAR_DEFAUT, 1, TAILLE_MAX, "comprise")
    if page * taille > RESULTATS_MAX and not any(e.parametre in ("page", "taille") for e in erreurs):
        erreurs.append(
            ErreurParametre("page", f"Les résultats au-delà du {RESULTATS_MAX}ᵉ ne sont pas servis : réduisez le rayon ou ajoutez des filtres.")
        )
    if erreurs:
        raise ParametresInvalides(erreurs)
    return SearchParams(
        latitude=lat, longitude=lon, commune=commune, rayon_km=rayon, filtres=filtres,
        ouvert_maintenant=ouvert_maintenant, ouvert_week_end=ouvert_week_end, page=page, taille=taille,
    )


# --- SQL pieces ------------------------------------------------------------------------------------


def filter_sql(filtres: Mapping[str, tuple[str, ...]]) -> tuple[str, list]:
    """`(l.services_mask & %s) != 0 AND …` for the filters (values ORed within a field, fields ANDed)."""
    parts, params = [], []
    for field_name in FILTER_FIELDS:
        values = filtres.get(field_name)
        if not values:
            continue
        mask = schema.mask_of(field_name, values)
        parts.append(f"(l.{MASK_COLUMNS[field_name]} & %s) != 0")
        params.append(mask)
    return " AND ".join(parts), params


class FiltreHoraires:
    """« Ouvert maintenant » and « ouvert le week-end » as a predicate: `filtre(extras)` on a lieu's
    (horaires, code_insee) — the HOURS_COLUMNS a spatial query appends — and `decide(horaires, fuseau)`
    for one hours string in one time zone."""

    def __init__(self, want_now: bool, want_we: bool, maintenant: datetime):
        self.want_now, self.want_we, self.maintenant = want_now, want_we, maintenant
        # Per request: many candidates share the same hours, and the answer depends only on the hours and
        # the time zone (one per overseas département, Europe/Paris elsewhere).
        self._memo: dict[tuple[str, str], bool] = {}
        self._fuseaux: dict[str, str] = {}

    def cle(self) -> tuple:
        """What the answers depend on, besides the hours and the time zone."""
        return (self.want_now, self.want_we, hours.minute_of(self.maintenant))

    def decide(self, horaires: str, fuseau: str) -> bool:
        key = (horaires, fuseau)
        answer = self._memo.get(key)
        if answer is None:
            answer = True
            if self.want_now and not hours.est_ouvert(horaires, self.maintenant, fuseau=fuseau):
                answer = False
            elif self.want_we and not hours.ouvert_le_week_end(horaires, self.maintenant, fuseau=fuseau):
                answer = False
            self._memo[key] = answer
        return answer

    def __call__(self, extras: tuple) -> bool:
        horaires = extras[0]
        if not horaires:
            return False
        prefix = extras[1][:3] if extras[1] else ""
        fuseau = self._fuseaux.get(prefix)
        if fuseau is None:
            fuseau = self._fuseaux[prefix] = hours.fuseau_pour_code_insee(extras[1])
        return self.decide(horaires, fuseau)


def _hours_accept(params: SearchParams) -> FiltreHoraires | None:
    """The opening-hours filters of a search as a predicate on (horaires, code_insee), or None."""
    if not (params.ouvert_maintenant or params.ouvert_week_end):
        return None
    return FiltreHoraires(params.ouvert_maintenant, params.ouvert_week_end, params.maintenant or timezone.now())


HOURS_COLUMNS = ("l.horaires", "l.code_insee")


# --- « ouvert maintenant » when few lieux can be open ----------------------------------------------
#
# At night or on a Sunday, few lieux of France (often none) are open: searching the radius for them would
# read every lieu within it (~220,000 within 100 km of Paris at a million lieux, ~2 s). The hours strings
# are far fewer than the lieux (~1,600 at a million synthetic lieux): each is evaluated once a minute
# (in Europe/Paris, and in the time zones of the overseas lieux that have it), and when the lieux of the
# strings that can pass are at most HORAIRES_CANDIDATS_MAX in all, only those lieux are read (index
# lieu_horaires_idx), else the spatial search runs as usual. The map (`carte`) does the same.

HORAIRES_CANDIDATS_MAX = 20_000

_PREFIXE_HORAIRES = {  # the indexed expression, as Django writes it on each database
    "sqlite": f"SUBSTR(l.horaires, 1, {HORAIRES_INDEX_CHARS})",
    "postgresql": f"SUBSTRING(l.horaires, 1, {HORAIRES_INDEX_CHARS})",
}
# The index's condition, repeated so that the database may use it (lieu_horaires_idx).
_INDEXES_HORAIRES = (
    "l.fusionne_dans_id IS NULL AND l.latitude IS NOT NULL AND l.longitude IS NOT NULL AND NOT (l.horaires = '')"
)


class _Recensement(NamedTuple):
    etat: tuple  # (max(id), max(modifie_le)): moves when a lieu is added or saved
    lu: float  # when it was read (time.monotonic)
    stamp: tuple | None  # `_change_stamp()` taken before it was read: unchanged, nothing was written since
    horaires: tuple[tuple[str, int], ...]  # (indexed prefix, number of lieux), most common first
    lieux: int  # lieux on the map with hours
    # prefix → (time zone, number of lieux) for the overseas lieux with these hours (their own time zones)
    outre_mer: dict[str, tuple[tuple[str, int], ...]]


_RECENSEMENT: list[_Recensement] = []
_POSSIBLES: dict[tuple, HorairesPossibles | None] = {}

# The index path pays off when the lieux with hours are many more than their distinct strings (each
# string is evaluated once a minute, ~15 µs; ~150 µs the first time, when it is parsed). At a million
# synthetic lieux: 686,000 lieux, 1,607 strings. Real data, more varied and far smaller, may well
# have a string for two lieux: the spatial search is then the quicker.
LIEUX_PAR_HORAIRES_MIN = 10
# Writes that leave max(id) and max(modifie_le) as they were (an import updating lieux stamps them all
# with its start time; QuerySet.update) are seen when the census is read again, at the latest after
# RECENSEMENT_TTL seconds; it is kept longer while the database tells that nothing at all was written
# since (`_change_stamp`): at a million lieux, reading it costs ~0.5 s.
RECENSEMENT_TTL = 60  # seconds


def _recensement() -> _Recensement | None:
    """The hours strings of the lieux on the map (None: a database without the index). Read again when a
    lieu was added or saved since (two index lookups tell); a lieu deleted or merged since only leaves a
    string too many, which costs nothing but its evaluation. Other writes: see RECENSEMENT_TTL."""
    connection = connections[USING]
    prefixe = _PREFIXE_HORAIRES.get(connection.vendor)
    if prefixe is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT max(id) FROM lieux_lieu), (SELECT max(modifie_le) FROM lieux_lieu)")
        etat = tuple(cursor.fetchone())
        now = time.monotonic()
        garde = _RECENSEMENT[0] if _RECENSEMENT and _RECENSEMENT[0].etat == etat else None
        if garde is not None and now - garde.lu < RECENSEMENT_TTL:
            return garde
        stamp = _change_stamp()
        if garde is not None and stamp is not None and stamp == garde.stamp:
            _RECENSEMENT[0] = garde._replace(lu=now)
            return _RECENSEMENT[0]
        cursor.execute(
            f"SELECT {prefixe}, count(*) FROM lieux_lieu l WHERE {_INDEXES_HORAIRES} GROUP BY {prefixe}"
        )
        textes = sorted(cursor.fetchall(), key=lambda row: (-row[1], row[0]))
        # Overseas lieux (INSEE codes from 97 on) have their own time zones: their hours are evaluated in
        # those too. Both queries read the index alone.
        cursor.execute(
            f"SELECT {prefixe}, l.code_insee, count(*) FROM lieux_lieu l WHERE l.code_insee >= '97' "
            f"AND {_INDEXES_HORAIRES} GROUP BY {prefixe}, l.code_insee"
        )
        outre_mer: dict[str, dict[str, int]] = {}
        for texte, code, nombre in cursor.fetchall():
            fuseau = hours.fuseau_pour_code_insee(code)
            if fuseau != hours.FUSEAU_PAR_DEFAUT:
                zones = outre_mer.setdefault(texte, {})
                zones[fuseau] = zones.get(fuseau, 0) + nombre
    recensement = _Recensement(
        etat, now, stamp, tuple(textes), sum(n for _t, n in textes),
        {t: tuple(sorted(zones.items())) for t, zones in outre_mer.items()},
    )
    _RECENSEMENT[:] = [recensement]
    _POSSIBLES.clear()
    return recensement


class HorairesPossibles(NamedTuple):
    """Hours strings (the indexed prefix of `horaires`) whose lieux may pass a filter."""

    partout: list[str]  # read wherever their lieux are
    outre_mer: list[str]  # read among overseas lieux only (they pass in an overseas time zone only)


def horaires_possibles(filtre: FiltreHoraires) -> HorairesPossibles | None:
    """The hours strings of the lieux that may pass `filtre`, or None when the spatial search is the
    quicker: more than HORAIRES_CANDIDATS_MAX lieux would be read, or the strings are too many for their
    lieux (LIEUX_PAR_HORAIRES_MIN). A string passes when it passes in Europe/Paris, or in the time zone
    of an overseas lieu that has it; each lieu read is then checked in its own (`filtre(extras)`)."""
    recensement = _recensement()
    if recensement is None or len(recensement.horaires) * LIEUX_PAR_HORAIRES_MIN > recensement.lieux:
        return None
    key = filtre.cle()
    if key in _POSSIBLES:
        return _POSSIBLES[key]
    possibles: HorairesPossibles | None = HorairesPossibles([], [])
    lus = 0
    paris = hours.FUSEAU_PAR_DEFAUT
    outre_mer = recensement.outre_mer
    for texte, lieux in recensement.horaires:  # the most common first: by day, the limit is soon passed
        zones = outre_mer.get(texte, ())
        # A prefix of the full length may be cut short: its lieux are read and checked in full.
        if len(texte) >= HORAIRES_INDEX_CHARS or filtre.decide(texte, paris):
            possibles.partout.append(texte)
            lus += lieux
        elif any(filtre.decide(texte, fuseau) for fuseau, _n in zones):
            possibles.outre_mer.append(texte)
            lus += sum(n for _f, n in zones)
        if lus > HORAIRES_CANDIDATS_MAX:
            possibles = None
            break
    if len(_POSSIBLES) >= 64:
        _POSSIBLES.clear()
    _POSSIBLES[key] = possibles
    return possibles


_HORAIRES_PAR_REQUETE = 500  # strings per query (bound parameters)


def rows_par_horaires(
    possibles: HorairesPossibles, boxes: list[BBox], where_sql: str, where_params, columns: tuple[str, ...],
) -> list[tuple]:
    """`(id, latitude, longitude, *columns)` of the lieux on the map in `boxes` whose hours are among
    `possibles` (and that pass the other filters), read through lieu_horaires_idx; not yet checked by
    the hours filter itself."""
    connection = connections[USING]
    prefixe = _PREFIXE_HORAIRES[connection.vendor]
    inside = " OR ".join("(l.latitude BETWEEN %s AND %s AND l.longitude BETWEEN %s AND %s)" for _box in boxes)
    limits = [v for box in boxes for v in (box.min_lat, box.max_lat, box.min_lon, box.max_lon)]
    select = ", ".join(("l.id", "l.latitude", "l.longitude", *columns))
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for textes, seulement in ((possibles.partout, ""), (possibles.outre_mer, " AND l.code_insee >= '97'")):
            for start in range(0, len(textes), _HORAIRES_PAR_REQUETE):
                chunk = textes[start : start + _HORAIRES_PAR_REQUETE]
                cursor.execute(
                    f"SELECT {select} FROM lieux_lieu l WHERE {prefixe} IN ({', '.join(['%s'] * len(chunk))})"
                    f"{seulement} AND {_INDEXES_HORAIRES} AND ({inside})"
                    + (f" AND ({where_sql})" if where_sql else ""),
                    [*chunk, *limits, *where_params],
                )
                rows += cursor.fetchall()  # a lieu has one prefix, in one list: no row comes twice
    return rows


def lieux_par_horaires(
    possibles: HorairesPossibles, lat: float, lon: float, radius_km: float, where_sql: str, where_params: list,
    filtre: FiltreHoraires,
) -> list[tuple]:
    """Every lieu within `radius_km` whose hours are among `possibles` and that passes `filtre` (and the
    other filters), as `nearest` gives them with HOURS_COLUMNS: `(id, distance_km, horaires, code_insee)`,
    by distance then id."""
    found = []
    for id_, la, lo, horaires, code_insee in rows_par_horaires(
        possibles, bboxes_for_radius(lat, lon, radius_km), where_sql, where_params, HOURS_COLUMNS
    ):
        distance = haversine_km(lat, lon, la, lo)
        if distance <= radius_km and filtre((horaires, code_insee)):
            found.append((id_, distance, horaires, code_insee))
    found.sort(key=lambda row: (row[1], row[0]))
    return found


# --- centre ----------------------------------------------------------------------------------------

def commune_position(code: str) -> tuple | None:
    """(code, nom, latitude, longitude) of a commune, or of a municipal arrondissement of Paris, Lyon or
    Marseille (75115: its own point, not its commune's); None if unknown (one primary-key lookup)."""
    with raw_cursor(connections[USING]) as cursor:
        cursor.execute(
            "SELECT code, nom, latitude, longitude FROM territoires_commune WHERE code = %s", [code]
        )
        row = cursor.fetchone()
    if row is None:
        from mednum.territoires import arrondissements

        arrondissement = arrondissements.par_code(code)
        if arrondissement is not None:
            return arrondissement.code, arrondissement.nom, arrondissement.latitude, arrondissement.longitude
    return row


def resolve_centre(params: SearchParams) -> tuple[float, float, dict | None]:
    if params.latitude is not None and params.longitude is not None:
        return params.latitude, params.longitude, None
    if params.commune:
        row = commune_position(params.commune)
        if row is None:
            raise ParametresInvalides(
                [ErreurParametre("commune", f"Commune inconnue : {_guillemets(params.commune)} (code INSEE attendu, par exemple 69123).")]
            )
        code, nom, lat, lon = row
        if lat is None or lon is None:
            raise ParametresInvalides(
                [ErreurParametre("commune", f"La position de la commune {nom} ({code}) est inconnue : indiquez lat et lon.")]
            )
        return lat, lon, {"code": code, "nom": nom}
    raise ParametresInvalides(
        [ErreurParametre("lat", "Indiquez une position (lat et lon) ou une commune (code INSEE dans « commune »).")]
    )


# --- search ----------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    resultats: list[dict]
    page: int
    taille: int
    page_suivante: bool
    total: int | None  # known when the radius holds fewer lieux than the pages asked for
    rayon_km: float
    latitude: float
    longitude: float
    commune: dict | None = None
    rayon_suggere_km: int | None = None
    filtre_horaires: bool = False  # « ouvert maintenant » or « ouvert le week-end » asked
    lieux_sans_filtre_horaires: bool = False  # nothing found, but lieux exist here without those filters
    # Pages that show a count (`avec_total`) count up to RESULTATS_MAX, the most a search can list: past
    # it, `total` is RESULTATS_MAX and this is True (« plus de 1 000 lieux »).
    total_plafonne: bool = False

    @property
    def aucun_resultat(self) -> bool:
        return self.total == 0

    @property
    def message(self) -> str | None:
        if not self.aucun_resultat:
            return None
        rayon = f"{self.rayon_km:g}"
        if self.filtre_horaires:
            if self.lieux_sans_filtre_horaires:
                return (
                    f"Aucun lieu ouvert à ce moment ne correspond à ces critères dans un rayon de {rayon} km. "
                    "Retirez le filtre sur les horaires pour voir les lieux de ce rayon et leurs horaires."
                )
            return f"Aucun lieu ne correspond à ces critères dans un rayon de {rayon} km."
        if self.rayon_suggere_km:
            return (
                f"Aucun lieu ne correspond à ces critères dans un rayon de {rayon} km. "
                f"Élargissez la recherche à {self.rayon_suggere_km} km pour en trouver."
            )
        return f"Aucun lieu ne correspond à ces critères dans un rayon de {rayon} km, ni à moins de {RAYON_MAX_KM} km."


class PageHorsLimites(ParametresInvalides):
    def __init__(self, page: int, taille: int, total: int):
        pages = max(1, math.ceil(total / taille))
        super().__init__(
            [ErreurParametre("page", f"La page {page} n'existe pas : {total} résultat{'s' if total > 1 else ''}, soit {pages} page{'s' if pages > 1 else ''}.")]
        )
        self.total = total


class Resultat(dict):
    """One lieu of the results: a dict (JSON as is) whose keys also read as attributes (`item.nom`)."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _search(params: SearchParams | Mapping) -> tuple[SearchResult, list[tuple], int]:
    """The work of a search, short of presenting the lieux: the result without `resultats`, the page's
    rows `(id, distance_km, …)` and the minute for opening states."""
    if not isinstance(params, SearchParams):
        mapping = params
        params = parse_params(mapping)
        flag = mapping.get("avec_total", True)
        params.avec_total = flag if isinstance(flag, bool) else str(flag).strip().lower() in _VRAI
        if isinstance(mapping, Mapping) and isinstance(mapping.get("maintenant"), datetime):
            params.maintenant = mapping["maintenant"]
    lat, lon, commune = resolve_centre(params)
    where_sql, where_params = filter_sql(params.filtres)
    accept = _hours_accept(params)
    columns = HOURS_COLUMNS if accept else ()
    wanted = params.page * params.taille + 1  # one more tells whether a next page exists
    possibles = horaires_possibles(accept) if accept is not None else None
    if possibles is not None:  # few lieux can be open: read those, all of them within the radius
        every_row = lieux_par_horaires(possibles, lat, lon, params.rayon_km, where_sql, where_params, accept)
        rows = every_row[:wanted]
    else:
        every_row = None
        rows = nearest(
            lat, lon, limit=wanted, radius_km=params.rayon_km, where_sql=where_sql, where_params=where_params,
            columns=columns, accept=accept, using=USING,
        )
    start = (params.page - 1) * params.taille
    page_rows = rows[start : start + params.taille]
    exhausted = len(rows) < wanted
    total = len(rows) if exhausted else None
    if params.page > 1 and not page_rows:
        raise PageHorsLimites(params.page, params.taille, len(rows))
    plafonne = False
    if total is None and params.avec_total:
        if every_row is not None:
            total = len(every_row)
        else:
            total = count_within(
                lat, lon, radius_km=params.rayon_km, where_sql=where_sql, where_params=where_params,
                columns=columns, accept=accept, stop_after=RESULTATS_MAX, using=USING,
            )
        if total > RESULTATS_MAX:
            total, plafonne = RESULTATS_MAX, True
    suggestion = None
    sans_horaires = False
    if not rows:
        if accept is None:
            suggestion = suggest_radius(lat, lon, params.rayon_km, where_sql, where_params)
        else:
            # Nothing open (at night, on a Sunday…): a wider radius seldom helps and would mean reading the
            # hours of every lieu up to 100 km. Say instead whether lieux exist here without that filter.
            sans_horaires = bool(nearest(lat, lon, limit=1, radius_km=params.rayon_km, where_sql=where_sql,
                                         where_params=where_params, using=USING))
    minute = hours.minute_of(params.maintenant or timezone.now())
    result = SearchResult(
        resultats=[], page=params.page, taille=params.taille, page_suivante=len(rows) > start + params.taille,
        total=total, rayon_km=params.rayon_km, latitude=lat, longitude=lon, commune=commune,
        rayon_suggere_km=suggestion, filtre_horaires=accept is not None, lieux_sans_filtre_horaires=sans_horaires,
        total_plafonne=plafonne,
    )
    return result, page_rows, minute


def search_lieux(params: SearchParams | Mapping) -> SearchResult:
    """The page of lieux nearest to the point (or commune), filtered, ordered by distance then id.

    `params` is a `SearchParams`, or a mapping of request-like parameters (read by `parse_params`; then
    `par_page` is accepted for `taille`, and `avec_total` defaults to True for pages that show a count).
    Raises `ParametresInvalides` (and `PageHorsLimites`) with French messages.
    """
    result, page_rows, minute = _search(params)
    details = fetch_lieux([row[0] for row in page_rows])
    resultats = result.resultats
    for row in page_rows:
        record = details.get(row[0])
        if record is None:  # deleted between the two queries
            continue
        item = Resultat(present_summary(record, minute))
        item["distance_km"] = round(row[1], 3)
        resultats.append(item)
    return result


def search_page_json(params: SearchParams | Mapping) -> bytes:
    """`search_lieux` as the JSON body of the API's `/lieux` (`LieuxPage`), built from per-lieu fragments.

    Same content and key order as serialising `search_lieux`'s page; each lieu's JSON is cached
    (`cached_summaries`), so a search costs its nearest query plus a few byte joins.
    """
    result, page_rows, minute = _search(params)
    entries = cached_summaries([row[0] for row in page_rows])
    items = []
    for row in page_rows:
        entry = entries.get(row[0])
        if entry is None:  # deleted between the two queries
            continue
        items.append(_entry_json(entry, minute, round(row[1], 3)))
    rest = json_dumps(page_fields(result))
    return b'{"resultats":[' + b",".join(items) + b"]," + rest[1:]


def page_fields(result: SearchResult) -> dict:
    """What a page of results says besides the lieux (`GET /api/v1/lieux`, after `resultats`)."""
    return {
        "page": result.page,
        "taille": result.taille,
        "page_suivante": result.page_suivante,
        "total": None if result.total_plafonne else result.total,
        "centre": {"lat": result.latitude, "lon": result.longitude},
        "commune": result.commune,
        "rayon_km": result.rayon_km,
        "rayon_suggere_km": result.rayon_suggere_km,
        "message": result.message,
    }


def suggest_radius(lat, lon, rayon_km, where_sql="", where_params=(), columns=(), accept=None) -> int | None:
    """Smallest of 20/50/100 km (above the current radius) holding at least one match: one nearest query."""
    larger = [r for r in RAYONS_SUGGERES_KM if r > rayon_km]
    if not larger:
        return None
    found = nearest(
        lat, lon, limit=1, radius_km=larger[-1], where_sql=where_sql, where_params=where_params,
        columns=columns, accept=accept, using=USING,
    )
    if not found:
        return None
    distance = found[0][1]
    return next(r for r in larger if distance <= r)


# --- lieu records ----------------------------------------------------------------------------------

LIST_FIELDS = (
    "typologie", "courriels", "site_web", "services", "publics_specifiquement_adresses",
    "prise_en_charge_specifique", "frais_a_charge", "dispositif_programmes_nationaux", "formations_labels",
    "autres_formations_labels", "modalites_acces", "modalites_accompagnement", "itinerance",
)

# A result of a list carries what a result card, a map popup or a partner's list needs; the lieu's page
# (`lieu_detail`, /api/v1/lieux/{id}) carries every field of the standard.
SUMMARY_COLUMNS = (
    "id", "slug", "nom", "typologie", "adresse", "complement_adresse", "code_postal", "commune_nom",
    "code_insee", "latitude", "longitude", "telephone", "courriels", "site_web", "horaires", "services",
    "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
    "dispositif_programmes_nationaux", "modalites_acces", "modalites_accompagnement", "itinerance",
    "prise_rdv", "date_maj", "est_demo",
)
DETAIL_COLUMNS = (
    "id", "slug", "id_standard", "nom", "typologie", "adresse", "complement_adresse", "code_postal",
    "commune_nom", "code_insee", "latitude", "longitude", "position_precision", "telephone", "courriels",
    "site_web", "horaires", "presentation_resume", "presentation_detail", "services",
    "publics_specifiquement_adresses", "prise_en_charge_specifique", "frais_a_charge",
    "dispositif_programmes_nationaux", "formations_labels", "autres_formations_labels", "modalites_acces",
    "modalites_accompagnement", "itinerance", "prise_rdv", "fiche_acces_libre", "structure_parente", "pivot",
    "source", "date_maj", "est_demo", "fusionne_dans_id", "modifie_le",
)

_SUMMARY_SELECT = "SELECT " + ", ".join(SUMMARY_COLUMNS) + " FROM lieux_lieu"
_DETAIL_SELECT = "SELECT " + ", ".join(DETAIL_COLUMNS) + " FROM lieux_lieu"


def fetch_lieux(ids: list[int]) -> dict[int, tuple]:
    """Summary rows (column values in SUMMARY_COLUMNS order) by id, in one query."""
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    with raw_cursor(connections[USING]) as cursor:
        cursor.execute(f"{_SUMMARY_SELECT} WHERE id IN ({placeholders})", ids)
        rows = cursor.fetchall()
    return {row[0]: row for row in rows}


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back UTC without its zone
            value = value.replace(tzinfo=dt_timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _split_fast(value: str | None) -> list[str]:
    """`schema.split`, quicker on the common cases (empty, one value)."""
    if not value:
        return []
    if "|" not in value:
        value = value.strip()
        return [value] if value else []
    return [part for part in (raw.strip() for raw in value.split("|")) if part]


def _summary_parts(row: tuple) -> tuple[dict, dict]:
    """What a result says of a summary row, in two parts: the fields before the opening state and the
    fields after it (the state depends on the time, the rest only on the row)."""
    (
        id_, slug, nom, typologie, adresse, complement, code_postal, commune, code_insee, lat, lon, telephone,
        courriels, site_web, horaires, services, publics, prise_en_charge, frais, dispositifs, acces,
        accompagnement, itinerance, prise_rdv, date_maj, est_demo,
    ) = row
    split = _split_fast
    head = {
        "id": id_,
        "slug": slug,
        "nom": nom,
        "typologie": split(typologie),
        "adresse": adresse,
        "complement_adresse": complement,
        "code_postal": code_postal,
        "commune": commune,
        "code_insee": code_insee,
        "latitude": lat,
        "longitude": lon,
        "telephone": telephone,
        "courriels": split(courriels),
        "site_web": split(site_web),
        "horaires": horaires,
    }
    tail = {
        "services": split(services),
        "publics_specifiquement_adresses": split(publics),
        "prise_en_charge_specifique": split(prise_en_charge),
        "frais_a_charge": split(frais),
        "dispositif_programmes_nationaux": split(dispositifs),
        "modalites_acces": split(acces),
        "modalites_accompagnement": split(accompagnement),
        "itinerance": split(itinerance),
        "prise_rdv": prise_rdv,
        "date_maj": _iso(date_maj),
        "est_demo": bool(est_demo),
    }
    return head, tail


def _hours_of_row(row: tuple) -> tuple[str, str]:
    """(normalised hours, time zone) of a summary row: what its opening state depends on."""
    return (row[14] or "").strip(), hours.fuseau_pour_code_insee(row[8])


def _etat_of_row(row: tuple, minute: int) -> tuple[str, str, bool]:
    return hours.etat_bref_minute(*_hours_of_row(row), minute)


def present_summary(row: tuple, maintenant: datetime | int | None = None) -> dict:
    """The public form of a summary row: lists for multi-valued fields, opening state, ISO date.

    `maintenant` may be given as `hours.minute_of(…)` (what `search_lieux` does for a whole page)."""
    minute = maintenant if isinstance(maintenant, int) else hours.minute_of(maintenant or timezone.now())
    item, tail = _summary_parts(row)
    etat, libelle, valide = _etat_of_row(row, minute)
    item["horaires_etat"] = {"etat": etat, "libelle": libelle, "valide": valide}
    item.update(tail)
    return item


# --- JSON of a summary, cached per lieu -----------------------------------------------------------

try:  # orjson when installed (~7× faster than the standard library on a page of 20 results)
    import orjson

    json_dumps = orjson.dumps

except ImportError:  # pragma: no cover - depends on the environment
    import json

    def json_dumps(payload) -> bytes:
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class _SummaryEntry(NamedTuple):
    """The JSON of a lieu in a list of results, in the two parts around its opening state."""

    row_hash: int  # hash of the summary row it was built from
    head: bytes  # JSON up to the opening state
    tail: bytes  # JSON after it, up to the distance
    horaires: str  # what the opening state depends on: normalised hours and time zone
    fuseau: str
    stamp: tuple | None  # `_change_stamp()` when the row was last checked


# id → its entry. An entry serves a row with the same hash as the one it was built from (a 64-bit hash:
# a changed row keeps its old hash with a chance of 1 in 2⁶⁴), so any change to the lieu, whatever wrote
# it, builds it anew. An entry is also served without reading its row while the database has not changed
# since it was checked (same stamp). Bounded: the oldest entries go first. ~1.3 KB each, ~65 MB per
# worker at most: enough for the lieux that the searches of a whole region return.
_SUMMARY_JSON: dict[int, _SummaryEntry] = {}
SUMMARY_JSON_MAX = 50_000
_ETAT_JSON: dict[tuple[str, str, bool], bytes] = {}
_CONNECTION_TOKENS = itertools.count(1)


@receiver(connection_created)
def _mark_connection(sender, connection, **kwargs) -> None:
    """Give each new database connection a number of its own (see `_change_stamp`)."""
    connection.mednum_token = next(_CONNECTION_TOKENS)


_PG_STAMP_SQL = "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned() IS NULL"


def _change_stamp() -> tuple | None:
    """A value that differs as soon as the database may have changed since it was last taken, or None
    when there is none to rely on (rows are then always read).

    SQLite: `PRAGMA data_version` moves when another connection commits, `total_changes` when this one
    writes; both belong to one connection, hence its number (None for a connection opened before this
    module was loaded). PostgreSQL: the current snapshot (`xmax:…` and the transactions in progress)
    moves whenever a transaction that writes starts or ends anywhere on the server; None inside a
    transaction that has written itself (its own later writes would not move it)."""
    wrapper = connections[USING]
    raw = wrapper.connection
    if raw is None:
        return None
    if wrapper.vendor == "sqlite":
        token = getattr(wrapper, "mednum_token", None)
        if token is None:
            return None
        return (token, raw.execute("PRAGMA data_version").fetchone()[0], raw.total_changes)
    if wrapper.vendor != "postgresql":
        return None
    with raw_cursor(wrapper) as cursor:
        snapshot, nothing_written = cursor.execute(_PG_STAMP_SQL).fetchone()
    return ("pg", snapshot) if nothing_written else None


def _summary_entry(row: tuple, stamp: tuple | None) -> _SummaryEntry:
    """The cache entry of a summary row, built anew if the row changed, stamped `stamp`."""
    entry = _SUMMARY_JSON.get(row[0])
    row_hash = hash(row)
    if entry is None or entry.row_hash != row_hash:
        if entry is None and len(_SUMMARY_JSON) >= SUMMARY_JSON_MAX:
            _SUMMARY_JSON.pop(next(iter(_SUMMARY_JSON)), None)
        head, tail = _summary_parts(row)
        entry = _SummaryEntry(
            row_hash,
            json_dumps(head)[:-1] + b',"horaires_etat":',
            b"," + json_dumps(tail)[1:-1] + b',"distance_km":',
            *_hours_of_row(row),
            stamp,
        )
    elif entry.stamp != stamp:
        entry = entry._replace(stamp=stamp)
    else:
        return entry
    _SUMMARY_JSON[row[0]] = entry
    return entry


def cached_summaries(ids: list[int]) -> dict[int, _SummaryEntry]:
    """Cache entries of the lieux `ids` (missing: no such lieu). Reads only the rows of those not
    checked since the database last changed (all of them when there is no stamp)."""
    # Taken before reading: a change committed in between moves the stamp for the next search.
    stamp = _change_stamp()
    found: dict[int, _SummaryEntry] = {}
    todo = ids
    if stamp is not None:
        todo = []
        for id_ in ids:
            entry = _SUMMARY_JSON.get(id_)
            if entry is not None and entry.stamp == stamp:
                found[id_] = entry
            else:
                todo.append(id_)
    if todo:
        for row in fetch_lieux(todo).values():
            found[row[0]] = _summary_entry(row, stamp)
    return found


def _entry_json(entry: _SummaryEntry, minute: int, distance_km: float) -> bytes:
    """The JSON of `present_summary(row, minute)` with `distance_km` added (same keys, same order),
    from the row's cache entry."""
    etat = hours.etat_bref_minute(entry.horaires, entry.fuseau, minute)
    etat_json = _ETAT_JSON.get(etat)
    if etat_json is None:
        if len(_ETAT_JSON) > 10_000:
            _ETAT_JSON.clear()
        etat_json = _ETAT_JSON[etat] = json_dumps({"etat": etat[0], "libelle": etat[1], "valide": etat[2]})
    return entry.head + etat_json + entry.tail + json_dumps(distance_km) + b"}"


def present_detail(record: dict, maintenant: datetime | None = None) -> dict:
    """The public form of a full record (every field of the standard, lists split, opening state)."""
    etat = hours.state_at(record["horaires"], maintenant, fuseau=hours.fuseau_pour_code_insee(record["code_insee"]))
    item = {}
    for key in DETAIL_COLUMNS:
        if key in ("fusionne_dans_id", "modifie_le"):
            continue
        value = record[key]
        if key in LIST_FIELDS:
            value = _split_fast(value)
        elif key == "commune_nom":
            key = "commune"
        elif key == "date_maj":
            value = _iso(value)
        elif key == "est_demo":
            value = bool(value)
        item[key] = value
        if key == "horaires":
            item["horaires_etat"] = {"etat": etat.etat, "libelle": etat.libelle, "valide": etat.valide}
    return item


@dataclass
class Detail:
    lieu: dict | None = None
    redirection: int | None = None  # id of the lieu that absorbed this one (merged duplicate)


MAX_ID = 2**63 - 1  # largest primary key (BigAutoField)


def identifiant_possible(text: str) -> bool:
    """Whether `text` (digits 0-9 only) can be a lieu's primary key: at most 19 digits and MAX_ID
    (Python reads integers of at most 4,300 digits; a longer one raised ValueError)."""
    return text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_ID


def lieu_detail(ident: str | int, maintenant: datetime | None = None) -> Detail:
    """A lieu by numeric id or slug. A merged lieu gives `redirection` to its survivor instead."""
    with connections[USING].cursor() as cursor:
        text = str(ident)
        if "\x00" in text or len(text) > 300:  # no slug or id holds these (PostgreSQL refuses U+0000)
            return Detail()
        if text.isascii() and text.isdigit():
            if not identifiant_possible(text):  # beyond a 64-bit primary key: no such lieu
                return Detail()
            cursor.execute(f"{_DETAIL_SELECT} WHERE id = %s", [int(text)])
        else:
            # Slugs are not unique: prefer a published (not merged) lieu, then the oldest.
            cursor.execute(
                f"{_DETAIL_SELECT} WHERE slug = %s ORDER BY (fusionne_dans_id IS NOT NULL), id LIMIT 1", [text]
            )
        row = cursor.fetchone()
        if row is None:
            return Detail()
        record = dict(zip(DETAIL_COLUMNS, row))
        survivor = record["fusionne_dans_id"]
        if survivor is not None:
            seen = {record["id"]}
            while True:  # follow chains of merges, guarding against cycles
                cursor.execute("SELECT fusionne_dans_id FROM lieux_lieu WHERE id = %s", [survivor])
                nxt = cursor.fetchone()
                if nxt is None or nxt[0] is None or nxt[0] in seen:
                    break
                seen.add(survivor)
                survivor = nxt[0]
            return Detail(redirection=survivor)
        cursor.execute("SELECT id FROM lieux_lieu WHERE fusionne_dans_id = %s ORDER BY id", [record["id"]])
        fusionnes = [r[0] for r in cursor.fetchall()]
    maintenant = maintenant or timezone.now()
    item = present_detail(record, maintenant)
    item["modifie_le"] = _iso(record["modifie_le"])
    item["fusionnes"] = fusionnes
    fuseau = hours.fuseau_pour_code_insee(item["code_insee"])
    week = hours.semaine(item["horaires"], maintenant, fuseau=fuseau)
    item["semaine"] = [
        {"jour": j.nom, "date": j.date.isoformat(), "libelle": j.libelle, "intervalles": [list(i) for i in j.intervalles],
         "aujourd_hui": j.aujourd_hui}
        for j in week.jours
    ]
    return Detail(lieu=item)


# --- data version ----------------------------------------------------------------------------------

VERSION_TTL = 5  # seconds


def data_version() -> str:
    """Changes whenever lieux are added, removed, merged or saved (cached a few seconds per process).

    Built from count(*), max(id), max(modifie_le) (indexed) and the number of merged lieux. Writes that
    bypass `modifie_le` (QuerySet.update) are seen at the latest when another field of the version moves.
    """
    key = "mednum:lieux:data-version"
    version = cache.get(key)
    if version is None:
        with connections[USING].cursor() as cursor:
            # One scalar subquery each: together in one SELECT they would force a full table scan,
            # apart each is an index lookup or a scan of a small index.
            cursor.execute(
                "SELECT (SELECT count(*) FROM lieux_lieu), (SELECT max(id) FROM lieux_lieu), "
                "(SELECT max(modifie_le) FROM lieux_lieu), "
                "(SELECT count(*) FROM lieux_lieu WHERE fusionne_dans_id IS NOT NULL)"
            )
            row = cursor.fetchone()
        version = hashlib.sha1(repr(tuple(_iso(v) if not isinstance(v, int) else v for v in row)).encode()).hexdigest()[:16]
        cache.set(key, version, VERSION_TTL)
    return version


def forget_data_version() -> None:
    """Drop this process's cached version (call after writes when the next request must see them)."""
    cache.delete("mednum:lieux:data-version")


def forget_caches() -> None:
    """Drop every per-process cache of the search: data version, territories (e.g. after
    `load_territoires`, or between tests), the JSON of lieux and the density hints of the spatial search."""
    from mednum.geo import nearest as nearest_module

    forget_data_version()
    grid.forget_territories()
    _SUMMARY_JSON.clear()
    nearest_module._DENSITY_HINTS.clear()
    _RECENSEMENT.clear()
    _POSSIBLES.clear()


# --- map -------------------------------------------------------------------------------------------

ZOOM_REGIONS_MAX = 6  # z ≤ 6: counts per région
ZOOM_DEPARTEMENTS_MAX = 8  # 7 ≤ z ≤ 8: counts per département
ZOOM_POINTS_MIN = 13  # z ≥ 13: points (grid clusters when the box holds more than POINTS_MAX)
ZOOM_MAX = 22
POINTS_MAX = 1500
CELL_PX = 64  # grid cluster size on screen
BBOX_MAX_PX = 8192  # a box wider/taller than this at its zoom is refused


@dataclass
class CarteParams:
    bbox: BBox
    zoom: int
    filtres: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ouvert_maintenant: bool = False
    ouvert_week_end: bool = False
    maintenant: datetime | None = None

    def cache_key(self) -> str:
        parts = [
            f"{self.bbox.min_lon:.5f},{self.bbox.min_lat:.5f},{self.bbox.max_lon:.5f},{self.bbox.max_lat:.5f}",
            str(self.zoom),
            "|".join(f"{k}={','.join(sorted(v))}" for k, v in sorted(self.filtres.items())),
            "om" if self.ouvert_maintenant else "",
            "we" if self.ouvert_week_end else "",
        ]
        if self.ouvert_maintenant:
            moment = (self.maintenant or timezone.now()).replace(second=0, microsecond=0)
            parts.append(moment.isoformat())
        elif self.ouvert_week_end:
            parts.append((self.maintenant or timezone.now()).date().isoformat())
        return "\n".join(parts)


def parse_carte_params(query: Mapping) -> CarteParams:
    erreurs: list[ErreurParametre] = []
    raw_bbox = _get(query, "bbox")
    bbox = None
    if raw_bbox is None:
        erreurs.append(ErreurParametre("bbox", "« bbox » est obligatoire : minLon,minLat,maxLon,maxLat (par exemple 4.7,45.6,5.0,45.9)."))
    else:
        try:
            parts = [float(p) for p in raw_bbox.split(",")]
            if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
                raise ValueError
            min_lon, min_lat, max_lon, max_lat = parts
            if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
                raise ValueError
            bbox = BBox(min_lat, max_lat, min_lon, max_lon)
        except ValueError:
            erreurs.append(
                ErreurParametre(
                    "bbox",
                    f"« bbox » attend quatre nombres minLon,minLat,maxLon,maxLat, avec minLon < maxLon entre -180 et 180 "
                    f"et minLat < maxLat entre -90 et 90 (reçu : {_guillemets(raw_bbox)}).",
                )
            )
    raw_z = _get(query, "z")
    zoom = 0
    if raw_z is None:
        erreurs.append(ErreurParametre("z", "« z » (niveau de zoom, de 0 à 22) est obligatoire."))
    else:
        zoom = _int(query, "z", erreurs, 0, 0, ZOOM_MAX, "compris")
    if bbox is not None and not erreurs and zoom > ZOOM_DEPARTEMENTS_MAX:
        width, height = grid.bbox_pixels(bbox, zoom)
        if width > BBOX_MAX_PX or height > BBOX_MAX_PX:
            erreurs.append(
                ErreurParametre("bbox", f"« bbox » est trop grande pour le zoom {zoom} : elle ne doit pas dépasser {BBOX_MAX_PX} pixels de côté.")
            )
    filtres = parse_filters(query, erreurs)
    ouvert_maintenant = _bool(query, "ouvert_maintenant", erreurs)
    ouvert_week_end = _bool(query, "ouvert_week_end", erreurs)
    if erreurs:
        raise ParametresInvalides(erreurs)
    return CarteParams(bbox, zoom, filtres, ouvert_maintenant, ouvert_week_end)


def _r5(value: float) -> float:
    return round(value, 5)


def carte(params: CarteParams) -> dict:
    """Map data for a box at a zoom level: only what the map draws.

    * z ≤ 6: `territoires` = régions, 7 ≤ z ≤ 8: départements — `[code, nom, lat, lon, nombre]` for those
      whose centre lies in the box (counts cover the whole territory); those whose circles would overlap
      on the map come as one (`grid.merge_overlapping_territories`: « 75,92,93,94 »);
    * 9 ≤ z ≤ 12: `grappes` = grid clusters of CELL_PX pixels `[lat, lon, nombre]`, and a cell holding a
      single lieu comes as a point; clusters and points whose circles would overlap on the map are
      merged (`grid.merge_overlapping`);
    * z ≥ 13: `points` `[id, lat, lon, type]` (type = first typology code), or clusters when the box holds
      more than POINTS_MAX lieux.
    """
    where_sql, where_params = filter_sql(params.filtres)
    accept = _hours_accept(
        SearchParams(ouvert_maintenant=params.ouvert_maintenant, ouvert_week_end=params.ouvert_week_end, maintenant=params.maintenant)
    )
    # Few lieux can be open (at night, on a Sunday): read only those, through the hours index.
    possibles = horaires_possibles(accept) if accept is not None else None
    rows_in = None
    if possibles is not None:
        def rows_in(box: BBox) -> list[tuple]:
            return rows_par_horaires(possibles, [box], where_sql, where_params, ("l.typologie", *HOURS_COLUMNS))
    if params.zoom <= ZOOM_DEPARTEMENTS_MAX:
        niveau = "regions" if params.zoom <= ZOOM_REGIONS_MAX else "departements"
        territoires = _territory_counts_cached(params, niveau, where_sql, where_params, accept, possibles)
        pad_lat = (params.bbox.max_lat - params.bbox.min_lat) * 0.1
        pad_lon = (params.bbox.max_lon - params.bbox.min_lon) * 0.1
        visibles = [
            t for t in territoires
            if params.bbox.min_lat - pad_lat <= t[2] <= params.bbox.max_lat + pad_lat
            and params.bbox.min_lon - pad_lon <= t[3] <= params.bbox.max_lon + pad_lon
        ]
        visibles = grid.merge_overlapping_territories(visibles, params.zoom)
        return {
            "mode": niveau, "zoom": params.zoom, "nombre": sum(t[4] for t in visibles),
            "territoires": [[code, nom, _r5(lat), _r5(lon), n] for code, nom, lat, lon, n in visibles],
            "grappes": [], "points": [],
        }
    if params.zoom >= ZOOM_POINTS_MIN:
        columns = ("l.typologie",) + (HOURS_COLUMNS if accept else ())
        if rows_in is not None:
            rows = rows_in(params.bbox)
        else:
            rows = rows_in_boxes(
                [params.bbox], where_sql=where_sql, where_params=where_params, columns=columns,
                limit=None if accept else POINTS_MAX, using=USING,
            )
        if accept:
            rows = [r for r in rows if accept(r[4:])]
        if len(rows) <= POINTS_MAX:
            rows.sort(key=lambda r: r[0])
            return {
                "mode": "points", "zoom": params.zoom, "nombre": len(rows), "territoires": [], "grappes": [],
                "points": [[r[0], _r5(r[1]), _r5(r[2]), _type(r[3])] for r in rows],
            }
    grappes, points = grid.grid_clusters(
        params.bbox, params.zoom, CELL_PX, where_sql, where_params, accept, HOURS_COLUMNS, using=USING,
        rows_in=rows_in,
    )
    grappes, points = grid.merge_overlapping(grappes, points, params.zoom)
    return {
        "mode": "grappes", "zoom": params.zoom, "nombre": sum(g[2] for g in grappes) + len(points),
        "territoires": [],
        "grappes": [[_r5(lat), _r5(lon), n] for lat, lon, n in grappes],
        "points": [[i, _r5(lat), _r5(lon), _type(t)] for i, lat, lon, t in points],
    }


TERRITORY_COUNTS_TTL = 300


_FRANCE_ET_MONDE = BBox(-90.0, 90.0, -180.0, 180.0)


def _territory_counts_cached(params: CarteParams, niveau, where_sql, where_params, accept, possibles=None):
    """Counts per territory do not depend on the box: cache them per filters, level and data version.
    With `possibles` (HorairesPossibles), the lieux counted are those their hours index gives."""
    filters_key = params.cache_key().split("\n", 2)[2]
    raw = f"{niveau}\n{filters_key}\n{data_version()}"
    key = "mednum:carte:territoires:" + hashlib.sha1(raw.encode()).hexdigest()
    counts = cache.get(key)
    if counts is None:
        rows = None
        if possibles is not None:
            columns = ("l.commune_id", "l.code_insee", "1", *HOURS_COLUMNS)
            rows = [row[3:] for row in rows_par_horaires(possibles, [_FRANCE_ET_MONDE], where_sql, where_params, columns)]
        counts = grid.territory_counts(niveau, where_sql, where_params, accept, HOURS_COLUMNS, using=USING, rows=rows)
        cache.set(key, counts, TERRITORY_COUNTS_TTL)
    return counts


def _type(typologie: str | None) -> str:
    if not typologie:
        return ""
    return typologie.split(schema.SEPARATOR, 1)[0].strip()
