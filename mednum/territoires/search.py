"""Commune lookup by name, postal code or INSEE code, used by the API and the site's search box.

Matching ignores accents, case, hyphens and apostrophes ("L ISLE SUR LA SORGUE" finds
L'Isle-sur-la-Sorgue); "st"/"ste" before another word stand for "saint"/"sainte".
Results are ranked by relevance, then by population (largest first):

- a name query: exact name, then name prefix ("castanet" → Castanet-Tolosan), then a word inside the
  name ("etienne" → Saint-Étienne), then the same letters without spaces ("lisle" → L'Isle-…);
- a code query ("11800", "342", "2A004"): postal code (exact or prefix), then INSEE code;
- a name and a code ("Sète 34", "Sète (34200)"): the name matches, kept when the code starts
  their postal code or INSEE code;
- a postal code written in two parts ("34 200") is one code;
- when a name matches nothing, the names one typing slip away ("montpelier" → Montpellier).

Why an in-memory index rather than SQL: a word inside a name cannot use a B-tree index, and prefix
ranges on `nom_recherche` depend on the database collation (with a linguistic collation such as
PostgreSQL's fr_FR.UTF-8, spaces may be ignored when comparing, so "saint e…" and "sainte…"
interleave). The index holds only the search keys (about 13 MB for the 34,969 communes; a
lookup takes well under a millisecond, see bench/bench_communes.py), is built once per process on
first use (about half a second), and is rebuilt
when the territories change: at once in the process that saves or deletes a commune (signals, or
`invalidate_index()` for bulk loaders), and within `MEDNUM_COMMUNES_INDEX_TTL` seconds (default 30)
in the other processes, which compare a cheap fingerprint of the tables. A lookup is pure Python on
sorted lists (bisect) plus one primary-key query to fetch the communes to display. The API's JSON of
each commune is kept with the index once written (`communes_json`): a keystroke of the autocomplete
then reads no row and builds no object.
"""

from __future__ import annotations

import heapq
import re
from array import array
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

import orjson
from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.db.models.signals import post_delete, post_save

from mednum.territoires import arrondissements
from mednum.territoires.models import CodePostal, Commune, Departement, Region
from mednum.territoires.text import normalise

MIN_LENGTH = 2  # letters or digits, spaces not counted
MAX_LENGTH = 100  # characters typed; the longest commune name has 45
DEFAULT_LIMIT = 10
MAX_LIMIT = 50

# Common abbreviations, expanded when another word follows ("st etienne", "ste marie").
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}

# A postal code or INSEE code, whole or its beginning: "34", "342", "34200", "2a", "2a004".
_CODE_TOKEN = re.compile(r"^(?:\d{2,5}|2[ab]\d{0,3})$")
# A postal code written in two parts, as on envelopes: « 34 200 ».
_POSTAL_CODE_IN_TWO = re.compile(r"\b(\d{2}) (\d{3})\b")
# Greater than every character of a search key (keys only hold a-z, 0-9 and spaces).
_AFTER_ALL = "\uffff"


class RechercheInvalide(ValueError):
    """The query or the limit cannot be used. The message is in French, for the person searching."""


def clean_query(raw: str | None) -> str:
    """The search key of what was typed; raises `RechercheInvalide` when it is far too long.

    NUL bytes are dropped (PostgreSQL refuses them in text), undecodable bytes have already become
    U+FFFD when Django decoded the query string and `normalise` turns them into spaces.
    """
    if not raw:
        return ""
    text = raw.replace("\x00", "").strip()
    if len(text) > MAX_LENGTH:
        raise RechercheInvalide(
            f"La recherche est trop longue : {MAX_LENGTH} caractères au maximum. "
            "Saisissez le nom d’une commune ou un code postal."
        )
    return normalise(text)


def is_code(token: str) -> bool:
    """Whether a word of a query is a postal or INSEE code, whole or its beginning (« 34 », « 2A004 »)."""
    return bool(_CODE_TOKEN.match(token.lower()))


def is_searchable(key: str) -> bool:
    """True when the search key has enough letters or digits to give useful results."""
    return len(key.replace(" ", "")) >= MIN_LENGTH


def parse_limit(raw: str | None, default: int = DEFAULT_LIMIT) -> int:
    """The `limit` parameter as an integer between 1 and `MAX_LIMIT`, or `RechercheInvalide`."""
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise RechercheInvalide(f"Le paramètre « limit » doit être un nombre entier entre 1 et {MAX_LIMIT}.")
    return value


def find_commune_codes(query: str | None, limit: int = DEFAULT_LIMIT) -> list[str]:
    """INSEE codes of the communes matching `query`, best first (see the module docstring)."""
    key = clean_query(query)
    if not is_searchable(key) or limit < 1:
        return []
    return get_index().lookup(key, min(limit, MAX_LIMIT))


def search_communes(query: str | None, limit: int = DEFAULT_LIMIT) -> list[Commune]:
    """The communes matching `query`, best first, with their département and EPCI loaded."""
    codes = find_commune_codes(query, limit)
    if not codes:
        return []
    found = Commune.objects.select_related("departement", "epci").in_bulk(codes)
    # A commune deleted since the index was built is simply left out.
    return [found[code] for code in codes if code in found]


def communes_json(query: str | None, limit: int = DEFAULT_LIMIT) -> bytes:
    """`search_communes` as the API's JSON array (see `territoires.api.CommuneOut`). Each commune's
    JSON is written once and kept with the index, so it follows the index's rebuilds.

    A municipal arrondissement that the text names (« Paris 15e », « lyon 3 », « 13016 », see
    `arrondissements.depuis_texte`) comes first, with its own postal codes and point, and
    `arrondissement_de` naming its commune (null for a commune): picked in the home page's
    suggestions, it starts the search in that arrondissement rather than at the city's town hall."""
    key = clean_query(query)
    if not is_searchable(key) or limit < 1:
        return b"[]"
    arrondissement = arrondissements.depuis_texte(key)
    room = min(limit, MAX_LIMIT) - (arrondissement is not None)
    codes = get_index().lookup(key, room) if room > 0 else []
    if arrondissement is not None:
        codes = [arrondissement.code, *codes]
    if not codes:
        return b"[]"
    cache = get_index().json_by_code
    missing = [code for code in codes if code not in cache]
    if missing:
        cache.update(_communes_json_by_code(missing))
    # A commune deleted since the index was built is simply left out.
    return b"[" + b",".join(cache[code] for code in codes if code in cache) + b"]"


def _communes_json_by_code(codes: list[str]) -> dict[str, bytes]:
    """The API's JSON of these communes or arrondissements (an arrondissement takes its département
    and EPCI from its commune)."""
    parts = {code: found for code in codes if (found := arrondissements.par_code(code)) is not None}
    wanted = {code for code in codes if code not in parts} | {a.commune for a in parts.values()}
    rows = Commune.objects.filter(pk__in=wanted).values_list(
        "code", "nom", "codes_postaux", "departement__code", "departement__nom", "epci__code", "epci__nom",
        "latitude", "longitude", "population",
    )
    items = {
        code: {
            "code": code,
            "nom": nom,
            "codes_postaux": [str(postal_code) for postal_code in codes_postaux or ()],
            "departement": {"code": departement_code, "nom": departement_nom},
            "epci": {"code": epci_code, "nom": epci_nom} if epci_code else None,
            "latitude": latitude,
            "longitude": longitude,
            "population": population,
            "arrondissement_de": None,
        }
        for code, nom, codes_postaux, departement_code, departement_nom, epci_code, epci_nom, latitude, longitude,
        population in rows
    }
    written = {code: orjson.dumps(item) for code, item in items.items() if code in codes}
    for code, arrondissement in parts.items():
        commune = items.get(arrondissement.commune)
        if commune is not None:
            written[code] = orjson.dumps({
                **commune,
                "code": code,
                "nom": arrondissement.nom,
                "codes_postaux": list(arrondissement.codes_postaux),
                "latitude": arrondissement.latitude,
                "longitude": arrondissement.longitude,
                "population": arrondissement.population,
                "arrondissement_de": {"code": commune["code"], "nom": commune["nom"]},
            })
    return written


# --- The index ------------------------------------------------------------------------------------

# A name with a typing slip is looked for only when it is this long (shorter ones have too many
# neighbours: « lyo » is one slip from « lyon », « lys », « lay »…), and as the beginning of a longer
# name only from TYPO_PREFIX_MIN_LENGTH letters.
TYPO_MIN_LENGTH = 5
TYPO_PREFIX_MIN_LENGTH = 7
TYPO_MAX_LENGTH = 50  # the longest commune name has 45 characters
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _one_slip_away(word: str) -> set[str]:
    """Every string one edit from `word` (a letter deleted, inserted, replaced, or two neighbours
    swapped): ~55 × len(word) strings, each then looked up by bisection."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    variants = {left + right[1:] for left, right in splits if right}
    variants |= {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    variants |= {left + c + right[1:] for left, right in splits if right for c in _LETTERS}
    variants |= {left + c + right for left, right in splits for c in _LETTERS}
    variants.discard(word)
    return variants



class _SortedKeys:
    """Search keys sorted, each with the commune's position in the population order."""

    __slots__ = ("keys", "positions")

    def __init__(self, pairs: Iterable[tuple[str, int]]):
        ordered = sorted(set(pairs))
        # A tuple of strings, unlike a list, is left out by the garbage collector's full passes.
        self.keys = tuple(key for key, _ in ordered)
        self.positions = array("I", (position for _, position in ordered))  # 4 bytes each

    def exact(self, key: str) -> array:
        return self.positions[bisect_left(self.keys, key) : bisect_right(self.keys, key)]

    def prefix(self, key: str) -> array:
        return self.positions[bisect_left(self.keys, key) : bisect_left(self.keys, key + _AFTER_ALL)]


class CommuneIndex:
    """Every commune's search keys. Communes are numbered by population (0 = most populated), so
    the smallest numbers of a match are the best-ranked communes within one level of relevance."""

    def __init__(
        self,
        communes: Iterable[tuple[str, str, int]],
        postal_codes: Iterable[tuple[str, str]],
        fingerprint: tuple | None = None,
    ):
        """`communes`: (INSEE code, search key, population); `postal_codes`: (postal code, INSEE code)."""
        self.fingerprint = fingerprint
        self.json_by_code: dict[str, bytes] = {}  # filled by `communes_json` as communes are asked for
        rows = sorted(communes, key=lambda row: (-(row[2] or 0), row[1], row[0]))
        self.codes = tuple(code for code, _, _ in rows)
        position = {code: i for i, code in enumerate(self.codes)}

        names, words, compact = [], [], []
        for i, (_, key, _) in enumerate(rows):
            names.append((key, i))
            compact.append((key.replace(" ", ""), i))
            parts = key.split(" ")
            # Every ending that starts a word: "saint etienne de tinee" → "etienne de tinee", …
            words.extend((" ".join(parts[j:]), i) for j in range(1, len(parts)))
        self.names = _SortedKeys(names)
        self.words = _SortedKeys(words)
        self.compact = _SortedKeys(compact)
        self.insee = _SortedKeys((code.lower(), i) for i, code in enumerate(self.codes))
        self.postal = _SortedKeys(
            (postal_code, position[code]) for postal_code, code in postal_codes if code in position
        )

    def __len__(self) -> int:
        return len(self.codes)

    def lookup(self, key: str, limit: int) -> list[str]:
        tokens = _POSTAL_CODE_IN_TWO.sub(r"\1\2", key).split()
        codes = [token for token in tokens if _CODE_TOKEN.match(token)]
        words = [token for token in tokens if not _CODE_TOKEN.match(token)]
        if not words:
            if not codes:
                return []
            levels = self._code_levels(codes[0])
            return self._collect(levels, limit)
        name = " ".join(words)
        if not is_searchable(name):
            return []
        allowed = None
        if codes:
            allowed = set()
            for level in self._code_levels(codes[0]):
                allowed.update(level)
        found = self._collect(self._name_levels(name), limit, allowed)
        return found or self._collect(self._typo_levels(name), limit, allowed)

    def _code_levels(self, code: str) -> list[array]:
        # A whole postal code is both its exact match and its only prefix.
        return [self.postal.prefix(code), self.insee.prefix(code)]

    def _name_levels(self, name: str) -> list[array]:
        variants = [name]
        parts = name.split(" ")
        expanded = " ".join(
            ABBREVIATIONS.get(part, part) if i < len(parts) - 1 else part for i, part in enumerate(parts)
        )
        if expanded != name:
            variants.insert(0, expanded)
        levels = [array("I"), array("I"), array("I"), array("I")]
        for variant in variants:
            levels[0] += self.names.exact(variant)
            levels[1] += self.names.prefix(variant)
            levels[2] += self.words.prefix(variant)
            levels[3] += self.compact.prefix(variant.replace(" ", ""))
        return levels

    def _typo_levels(self, name: str) -> list[array]:
        """Names one typing slip away from `name` (a letter missing, doubled, wrong or two swapped:
        « montpelier », « marseile », « toulousse »), when nothing else matches: the same letters
        without spaces, exactly, then, for longer names, as the beginning of a name."""
        compact = name.replace(" ", "")
        if not TYPO_MIN_LENGTH <= len(compact) <= TYPO_MAX_LENGTH:
            return []
        variants = _one_slip_away(compact)
        exact, prefix = array("I"), array("I")
        for variant in variants:
            exact += self.compact.exact(variant)
            if len(compact) >= TYPO_PREFIX_MIN_LENGTH:
                prefix += self.compact.prefix(variant)
        return [exact, prefix]

    def _collect(self, levels: list[array], limit: int, allowed: set[int] | None = None) -> list[str]:
        chosen: list[int] = []
        seen: set[int] = set()
        for level in levels:
            wanted = limit - len(chosen)
            if wanted <= 0:
                break
            pool = set(level)
            pool -= seen
            if allowed is not None:
                pool &= allowed
            best = heapq.nsmallest(wanted, pool)
            chosen.extend(best)
            seen.update(best)
        return [self.codes[i] for i in chosen]


def build_index() -> CommuneIndex:
    """Read the communes and their postal codes from the database."""
    fingerprint = _fingerprint()
    communes = []
    postal_codes: set[tuple[str, str]] = set()
    for code, nom, key, population, codes_postaux in Commune.objects.values_list(
        "code", "nom", "nom_recherche", "population", "codes_postaux"
    ).iterator(chunk_size=5000):
        communes.append((code, key or normalise(nom), population or 0))
        for postal_code in codes_postaux or ():
            postal_codes.add((str(postal_code), code))
    postal_codes.update(CodePostal.objects.values_list("code", "commune_id").iterator(chunk_size=5000))
    return CommuneIndex(communes, postal_codes, fingerprint=fingerprint)


def _fingerprint() -> tuple:
    """Changes when communes or postal codes are added, removed or (for populations) updated."""
    communes = Commune.objects.aggregate(
        count=Count("pk"), population=Sum("population"), first=Min("pk"), last=Max("pk")
    )
    return (
        communes["count"],
        communes["population"],
        communes["first"],
        communes["last"],
        CodePostal.objects.count(),
    )


_index: CommuneIndex | None = None
_checked_at = 0.0
_lock = threading.Lock()


def get_index() -> CommuneIndex:
    """The process's index, built on first use and rebuilt when the territories have changed."""
    global _index, _checked_at
    ttl = getattr(settings, "MEDNUM_COMMUNES_INDEX_TTL", 30)
    index = _index
    if index is not None and time.monotonic() - _checked_at < ttl:
        return index
    with _lock:
        if _index is not None and time.monotonic() - _checked_at < ttl:
            return _index
        if _index is None or _index.fingerprint != _fingerprint():
            _index = build_index()
        _checked_at = time.monotonic()
        return _index


def invalidate_index(**kwargs) -> None:
    """Forget the index: the next lookup rebuilds it. Bulk loaders call this when they are done."""
    global _index
    _index = None


for _model in (Commune, CodePostal):
    post_save.connect(invalidate_index, sender=_model, dispatch_uid=f"communes-index-save-{_model.__name__}")
    post_delete.connect(invalidate_index, sender=_model, dispatch_uid=f"communes-index-delete-{_model.__name__}")


# --- Départements and régions named ----------------------------------------------------------------

_TERRITOIRE = re.compile(
    r"^(?:(?:le |la )?(?P<genre>departement|region)(?: (?:de la|de l|du|des|de|d))? )?(?P<nom>.+)$"
)
_ARTICLES = ("la ", "le ", "les ", "l ")


def territoires_nommes(texte: str) -> list[Departement | Region]:
    """The départements, then régions, that a search text names: « Hérault », « département de
    l'Hérault », « La Réunion » (the département and the région), « région Occitanie », or a
    département's code (« 34 », « 2A », « 974 »). Names compare as search keys (no accents, no case)."""
    key = normalise(texte) if texte else ""  # NUL and other non-letters become spaces
    match = _TERRITOIRE.match(key) if key else None
    if match is None:
        return []
    nom, genre = match.group("nom"), match.group("genre")
    noms = {nom, next((nom[len(a):] for a in _ARTICLES if nom.startswith(a)), nom)}
    found: list[Departement | Region] = []
    if genre != "region":
        found += [d for d in Departement.objects.order_by("code")
                  if normalise(d.nom) in noms or (genre is None and d.code.lower() == key)]
    if genre != "departement":
        found += [r for r in Region.objects.order_by("code") if normalise(r.nom) in noms]
    return found
