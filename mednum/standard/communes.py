"""In-memory commune lookup used while normalising rows (no database query per row).

An import builds one `CommuneIndex` (`CommuneIndex.from_db()` reads the ~35,000 communes of
`territoires.Commune` in one query) and passes it to the `Normaliser`, which uses it to find a missing
postal code or INSEE code and to check that coordinates fall near the commune.

Name comparison is tolerant: case, accents, hyphens and apostrophes are ignored, "St"/"Ste" are read
as "Saint"/"Sainte", a trailing "Cedex" (and its number) is dropped, and a trailing article in
parentheses is moved to the front ("Bouscat (Le)" = "Le Bouscat").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from orjson import loads as _json_loads

from mednum.standard.text import fold

# Municipal arrondissements of Paris, Lyon and Marseille → their commune.
_ARRONDISSEMENTS = (
    (range(75101, 75121), "75056"),
    (range(69381, 69390), "69123"),
    (range(13201, 13217), "13055"),
)
_DEPARTEMENT_SUFFIX = re.compile(r"\s*\((?:\d{2,3}|2[abAB])\)\s*$")
_CEDEX = re.compile(r"\s+cedex(?:\s+\d+)?$")
_ARTICLE_SUFFIX = re.compile(r"^(.*?)\s+(le|la|les|l)$")
_ARTICLE_PREFIX = re.compile(r"^(?:le|la|les|l)\s+(?=\S)")
_SAINT = re.compile(r"\b(st|ste)\b")
_ARRONDISSEMENT_NAME = re.compile(r"^(paris|lyon|marseille)\s+\d+\s*(?:e|er|eme|ieme)?(?:\s+arrondissement)?$")


NEAR_KM = 50.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in km (equirectangular approximation: precise enough below a few hundred km)."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6371.0 * math.hypot(x, y)


@dataclass(frozen=True, slots=True)
class CommuneInfo:
    code: str
    nom: str
    codes_postaux: tuple[str, ...]
    latitude: float | None = None
    longitude: float | None = None


def commune_key(name: str) -> str:
    """Comparison key of a commune name, without a leading article.

    "ST-DENIS-DE-PILE (33)", "Saint-Denis-de-Pile" → "saint denis de pile"; "Bouscat (Le)",
    "LE BOUSCAT" → "bouscat".
    """
    # A trailing department number in parentheses ("Pessac (33)") is noise.
    if name.endswith(")"):
        name = _DEPARTEMENT_SUFFIX.sub("", name)
    key = fold(name)
    if not key:
        return ""
    key = _CEDEX.sub("", key)
    if "(" in name:
        match = _ARTICLE_SUFFIX.match(key)
        if match:
            key = match.group(1)
    match = _ARTICLE_PREFIX.match(key)
    if match:
        key = key[match.end() :]
    if "st" in key:
        key = _SAINT.sub(lambda m: "saint" if m.group(1) == "st" else "sainte", key)
    match = _ARRONDISSEMENT_NAME.match(key)
    if match:
        key = match.group(1)
    return key


def _postal_codes(value) -> tuple[str, ...]:
    """A commune's postal codes as stored: JSON text (SQLite) or an already decoded list (PostgreSQL)."""
    if isinstance(value, (str, bytes)):
        value = _json_loads(value)
    return tuple(value or ())


def _compact(key: str) -> str:
    return key.replace(" ", "")


def parent_code(code: str) -> str:
    """The commune code of a municipal arrondissement's code (75115 → 75056); other codes unchanged."""
    if code[:2] in ("75", "69", "13") and code.isdigit():
        number = int(code)
        for codes, parent in _ARRONDISSEMENTS:
            if number in codes:
                return parent
    return code


def _departement_of(code_postal: str) -> str:
    if code_postal.startswith("97") or code_postal.startswith("98"):
        return code_postal[:3]
    if code_postal.startswith("20"):  # Corse: 2A/2B codes INSEE, 20xxx postal codes
        return "20"
    return code_postal[:2]


def _departement_of_insee(code: str) -> str:
    if code.startswith("97") or code.startswith("98"):
        return code[:3]
    if code.startswith("2A") or code.startswith("2B"):
        return "20"
    return code[:2]


class CommuneIndex:
    """Communes by INSEE code, by postal code and by name key."""

    def __init__(self, communes: Iterable[CommuneInfo]):
        self.by_code: dict[str, CommuneInfo] = {}
        self.by_postal_code: dict[str, list[CommuneInfo]] = {}
        self._by_name: dict[str, list[CommuneInfo]] | None = None  # built on first use: see by_name
        self._key_cache: dict[str, str] = {}
        self._cache: dict[tuple[str, str, str], CommuneInfo | list[CommuneInfo] | bool] = {}
        for commune in communes:
            self.by_code[commune.code] = commune
            for code_postal in commune.codes_postaux:
                self.by_postal_code.setdefault(code_postal, []).append(commune)

    @property
    def by_name(self) -> dict[str, list[CommuneInfo]]:
        """Communes by compact name key. Built when a row first needs a name (rows with a known INSEE
        code never do): the keys of ~35,000 names cost ~0.3 s, a large part of a small import."""
        if self._by_name is None:
            by_name: dict[str, list[CommuneInfo]] = {}
            for commune in self.by_code.values():
                by_name.setdefault(_compact(self._key(commune.nom)), []).append(commune)
            self._by_name = by_name
        return self._by_name

    def __len__(self) -> int:
        return len(self.by_code)

    @classmethod
    def from_db(cls) -> CommuneIndex:
        """All communes of `territoires.Commune`, read with one plain query (no model converters: the
        ORM's JSON decoding of 35,000 postal code lists took longer than the query itself)."""
        from django.db import connection

        from mednum.territoires.models import Commune

        table = connection.ops.quote_name(Commune._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT code, nom, codes_postaux, latitude, longitude FROM {table}")
            rows = cursor.fetchall()
        return cls(
            CommuneInfo(code, nom, _postal_codes(codes_postaux), latitude, longitude)
            for code, nom, codes_postaux, latitude, longitude in rows
        )

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> CommuneIndex:
        """From dicts with keys code, nom, codes_postaux and optionally latitude, longitude (tests, fixtures)."""
        return cls(
            CommuneInfo(
                str(r["code"]),
                r["nom"],
                tuple(r.get("codes_postaux") or ()),
                r.get("latitude"),
                r.get("longitude"),
            )
            for r in records
        )

    def _key(self, nom: str) -> str:
        key = self._key_cache.get(nom)
        if key is None:
            if len(self._key_cache) > 100_000:
                self._key_cache.clear()
            key = self._key_cache[nom] = commune_key(nom)
        return key

    def get(self, code_insee: str) -> CommuneInfo | None:
        """The commune of this INSEE code (a municipal arrondissement gives its commune)."""
        return self.by_code.get(code_insee) or self.by_code.get(parent_code(code_insee))

    def resolve(
        self,
        *,
        code_insee: str = "",
        code_postal: str = "",
        nom: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> CommuneInfo | None:
        """The commune described by these hints, or None when unknown or ambiguous.

        Order: a known INSEE code wins; then, among the communes of the postal code, the one whose
        name matches (ignoring case, accents, punctuation and a leading article), else the only one
        whose name starts with the name given or the reverse ("Saint Gervais" = "Saint-Gervais-les-
        Bains"), else the only commune of that postal code; then the communes of that name anywhere
        (narrowed to the postal code's department when there are homonyms, or else to the only one
        within 50 km of the given position). Results are cached: rows of one import repeat the same
        communes.
        """
        cache_key = (code_insee, code_postal, nom)
        cached = self._cache.get(cache_key)
        if cached is None:
            cached = self._resolve(code_insee, code_postal, nom)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[cache_key] = cached
        if cached.__class__ is list:  # homonyms that only a position can tell apart
            if latitude is None or longitude is None:
                return None
            near = [
                c
                for c in cached
                if c.latitude is not None
                and c.longitude is not None
                and distance_km(latitude, longitude, c.latitude, c.longitude) <= NEAR_KM
            ]
            return near[0] if len(near) == 1 else None
        return cached or None

    def _resolve(self, code_insee: str, code_postal: str, nom: str) -> CommuneInfo | list[CommuneInfo] | bool:
        """The commune, or the homonyms among which to choose by position, or False."""
        if code_insee:
            commune = self.get(code_insee)
            if commune is not None:
                return commune
        key = self._key(nom) if nom else ""
        compact = _compact(key)
        if code_postal:
            candidates = self.by_postal_code.get(code_postal)
            if candidates:
                if key:
                    for commune in candidates:
                        if _compact(self._key(commune.nom)) == compact:
                            return commune
                    prefixed = [
                        commune
                        for commune in candidates
                        if (other := self._key(commune.nom)).startswith(key + " ") or key.startswith(other + " ")
                    ]
                    if len(prefixed) == 1:
                        return prefixed[0]
                if len(candidates) == 1:
                    return candidates[0]
        if compact:
            homonyms = self.by_name.get(compact)
            if homonyms:
                if len(homonyms) == 1:
                    return homonyms[0]
                if code_postal:
                    departement = _departement_of(code_postal)
                    same = [c for c in homonyms if _departement_of_insee(c.code) == departement]
                    if len(same) == 1:
                        return same[0]
                    if same:
                        homonyms = same
                return list(homonyms)
        return False
