"""Finding the lieux that several records describe, and merging them.

Steps of `run_dedup`:

1. Stream the public lieux (`fusionne_dans` empty) as `.values_list()` rows of the few fields needed,
   and turn each into compact `Features` (normalised name split into a kind of place — mairie,
   médiathèque, France Services… — and its proper part, normalised address with house number,
   position, commune keys, SIRET, phone, e-mails, sources).
2. Candidate pairs (never all pairs): lieux within `RADIUS_M` of each other, found through a grid of
   cells of about 330 m kept in memory; and, inside one commune (INSEE code, or postal code + name),
   lieux sharing a SIRET, a phone or an e-mail, and lieux whose position is unknown or only the
   commune's centre compared with the commune's other lieux when their names share a word.
3. A score in [0, 1] per pair (`score_pair`): weighted mean of name, address and distance
   similarities, moved up by a shared SIRET, phone or e-mail, down by different SIREN numbers or
   different communes, and capped when the names say two different kinds of place ("Mairie de X"
   and "Médiathèque de X" in the same building are two lieux).
4. Pairs scoring at least the automatic threshold are linked; pairs between the review threshold and
   the automatic one go to the review queue (`DedupPair` « à examiner »). Two lieux that share a
   source need a higher score (a source rarely lists one place twice).
5. Reviewers' decisions (`DedupDecision`) always win: "même lieu" links the two records' lieux
   whatever their score, "lieux différents" forbids any cluster holding both (records already merged
   are separated first). Decisions are keyed by (source, source_id), so they hold after re-imports.
6. Clusters = connected components of the links (union-find that refuses a union joining two lieux
   a reviewer said were different); each cluster is merged with `merge.merge_cluster`.

Standard library only: the scoring runs on a few candidate pairs per lieu, difflib is fast enough
(see bench/bench_dedup.py).
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.db import transaction

from mednum.standard.communes import commune_key as _commune_name_key
from mednum.standard.text import fold
from mednum.lieux.models import DedupDecision, DedupPair, Lieu, PositionPrecision, SourceRecord

THRESHOLD_AUTO = 0.80
THRESHOLD_REVIEW = 0.60
SAME_SOURCE_MARGIN = 0.10  # added to both thresholds when the two lieux share a source
RADIUS_M = 300.0
MAX_BLOCK = 60  # a SIRET/phone/e-mail shared by more lieux than this in one commune is not evidence
# No place is published by that many sources: a bigger cluster is a chain of look-alikes (generic names
# in a big city); the links that would make it go to the review queue instead.
MAX_CLUSTER = 8
CHUNK = 5000

# --- text normalisation -------------------------------------------------------------------------

# fold: lower case, no accents, every run of non-alphanumerics as one space.


STOP_WORDS = frozenset(
    "a au aux d de des du en et l la le les sur sous pour par chez the s".split()
)
# Words that say nothing about which place it is.
FILLER_WORDS = frozenset(
    "municipal municipale municipaux communal communale intercommunal intercommunale ville "
    "numerique numeriques".split()
)

# Kinds of place, recognised from phrases of the folded name (stop words removed).
KIND_PHRASES = {
    "mairie": ["mairie", "mairie annexe", "hotel ville", "hdv"],
    "bib": ["mediatheque", "bibliotheque", "bibliotheques", "mediatheques", "bm", "media ludotheque",
            "medialudotheque", "reseau mediatheques"],
    "france_services": ["france services", "france service", "maison france services",
                        "espace france services", "msap", "maison services public", "maison service public",
                        "mfs", "efs", "point france services", "maison services au public"],
    "ccas": ["ccas", "cias", "centre communal action sociale", "centre intercommunal action sociale"],
    "centre_social": ["centre social", "centre sociaux", "centres sociaux", "centre socioculturel",
                      "centre socio culturel", "espace vie sociale", "evs", "csc", "centre social culturel"],
    "epn": ["epn", "espace public numerique", "cyberbase", "cyber base", "cyber espace", "cyberespace",
            "espace numerique", "point numerique", "point information jeunesse numerique"],
    "tiers_lieu": ["tiers lieu", "tiers lieux", "tierslieu", "tiers lieu numerique"],
    "fablab": ["fablab", "fab lab", "makerspace"],
    "mjc": ["mjc", "maison jeunes culture", "maison jeunes et culture"],
    "france_travail": ["pole emploi", "france travail", "agence pole emploi", "agence france travail"],
    "caf": ["caf", "caisse allocations familiales"],
    "mission_locale": ["mission locale", "mission locale jeunes"],
    "maison_quartier": ["maison quartier", "maison habitants", "maison citoyennete"],
    "departement": ["conseil departemental", "maison departement", "mds",
                    "maison departementale solidarites", "maison solidarites", "pole solidarites"],
    "association": ["association", "asso"],
    "emmaus": ["emmaus connect", "emmaus"],
    "college": ["college", "lycee", "ecole"],
    "pij": ["pij", "point information jeunesse", "bij", "bureau information jeunesse"],
}
# Kinds that often name the same place from two angles (an EPN inside a médiathèque…): neither
# evidence of a match nor of a difference.
SOFT_KINDS = frozenset({"epn", "association", "tiers_lieu", "fablab"})
COMPATIBLE_KINDS = [
    {"centre_social", "maison_quartier"},
    {"france_services", "maison_quartier"},
    {"pij", "mjc"},
]


def _phrase_index():
    index = {}
    for kind, phrases in KIND_PHRASES.items():
        for phrase in phrases:
            tokens = tuple(t for t in phrase.split() if t not in STOP_WORDS)
            index[tokens] = kind
    return index, max(len(t) for t in index)


_PHRASES, _MAX_PHRASE = _phrase_index()


@dataclass(frozen=True, slots=True)
class NameKey:
    kinds: frozenset
    tokens: tuple  # the proper part of the name, stop and filler words removed, in order
    text: str  # the whole folded name (stop words removed)
    proper: frozenset = frozenset()  # first three letters of those tokens (typo-tolerant pre-filter)


NAME_WORDS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def name_key(nom: str) -> NameKey:
    words = [NAME_WORDS.get(w, w) for w in fold(nom).split() if w not in STOP_WORDS]
    kinds, rest, i = set(), [], 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            kind = _PHRASES.get(tuple(words[i:i + size]))
            if kind:
                kinds.add(kind)
                i += size
                break
        else:
            if words[i] not in FILLER_WORDS:
                rest.append(words[i])
            i += 1
    return NameKey(frozenset(kinds), tuple(rest), " ".join(words), frozenset(t[:3] for t in rest))


# Characters of a name or an address compared at most: SequenceMatcher is quadratic in the length, and
# 500-character values made one pair cost 10 ms instead of 0.05.
RATIO_CHARS = 160


def _ratio(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a[:RATIO_CHARS], b[:RATIO_CHARS], autojunk=False).ratio()


def _fuzzy_common(a: set, b: set) -> float:
    """Number of tokens of a found in b, counting near-identical spellings (typos, plurals)."""
    common = len(a & b)
    left, right = a - b, list(b - a)
    for token in left:
        for other in right:
            if len(token) >= 4 and len(other) >= 4 and _ratio(token, other) >= 0.8:
                common += 0.9
                right.remove(other)
                break
            if (len(token) == 1 or len(other) == 1) and token[0] == other[0]:
                common += 0.8  # initials: "J Moulin" / "Jean Moulin"
                right.remove(other)
                break
    return common


def tokens_similarity(a: tuple, b: tuple) -> float:
    if not a and not b:
        return 1.0
    if not a or not b:
        return 0.5  # a generic name ("Médiathèque") against a specific one ("Médiathèque Jean Vilar")
    sa, sb = set(a), set(b)
    common = _fuzzy_common(sa, sb)
    containment = common / min(len(sa), len(sb))
    jaccard = common / (len(sa) + len(sb) - common)
    sort_ratio = _ratio(" ".join(sorted(sa)), " ".join(sorted(sb)))
    return max(sort_ratio, 0.55 * containment + 0.45 * jaccard)


def kinds_relation(a: frozenset, b: frozenset) -> str:
    """'same', 'conflict' or 'unknown' for the kinds of place two names announce.

    Soft kinds (association, EPN, tiers-lieu, fablab) never decide: "Association X" and
    "Association Y" share nothing but the word.
    """
    hard_a, hard_b = a - SOFT_KINDS, b - SOFT_KINDS
    if hard_a & hard_b:
        return "same"
    if hard_a and hard_b:
        for group in COMPATIBLE_KINDS:
            if hard_a & group and hard_b & group:
                return "unknown"
        return "conflict"
    return "unknown"


def name_similarity(a: NameKey, b: NameKey, commune_tokens: frozenset = frozenset()) -> tuple[float, str]:
    """Similarity of two names in [0, 1] and the relation of the kinds of place they announce.

    `commune_tokens`: words of the (shared) commune's name, which say nothing when both lieux are in
    that commune ("Médiathèque de Pessac" / "Médiathèque" in Pessac).
    """
    if a.text == b.text:
        return 1.0, kinds_relation(a.kinds, b.kinds)
    relation = kinds_relation(a.kinds, b.kinds)
    ta = tuple(t for t in a.tokens if t not in commune_tokens)
    tb = tuple(t for t in b.tokens if t not in commune_tokens)
    proper = tokens_similarity(ta, tb)
    if relation == "same":
        if bool(ta) != bool(tb):
            proper = 0.75  # "Médiathèque de X" / "Médiathèque Jean Moulin": one name is the other's kind
        return min(1.0, max(proper, 0.7 * proper + 0.3 * _ratio(a.text, b.text))), relation
    if relation == "conflict":
        return 0.3 * proper, relation
    if ta and tb:
        similarity = 0.9 * proper
    elif ta or tb:
        similarity = 0.4  # a bare kind of place against a name that shares nothing with it
    else:
        similarity = 0.9 if a.kinds == b.kinds else 0.6
    if a.kinds != b.kinds:
        # A typo can hide the kind on one side ("Pole Emlpoi Blaye"): the whole names then compare.
        whole = _ratio(a.text, b.text)
        if whole >= 0.9:
            similarity = max(similarity, whole)
    return similarity, relation


# --- addresses ----------------------------------------------------------------------------------

ADDRESS_WORDS = {
    "av": "avenue", "ave": "avenue", "aven": "avenue", "bd": "boulevard", "bld": "boulevard",
    "blvd": "boulevard", "boul": "boulevard", "bvd": "boulevard", "r": "rue", "pl": "place",
    "ch": "chemin", "chem": "chemin", "che": "chemin", "rte": "route", "imp": "impasse", "all": "allee",
    "sq": "square", "crs": "cours", "fbg": "faubourg", "fg": "faubourg", "st": "saint", "ste": "sainte",
    "pte": "porte", "res": "residence", "resid": "residence", "qu": "quai", "qua": "quai",
    "dr": "docteur", "gal": "general", "gen": "general", "mal": "marechal", "pdt": "president",
    "pres": "president", "prom": "promenade", "lot": "lotissement", "ham": "hameau", "za": "zone",
    "zi": "zone", "zac": "zone", "espl": "esplanade", "mte": "montee", "sen": "sentier",
}
_SUFFIX = {"bis": "b", "ter": "t", "quater": "q", "b": "b", "t": "t", "a": "a", "c": "c"}
_POSTAL = re.compile(r"\b\d{5}\b.*$")
_BOX = re.compile(r"\b(bp|cs|tsa|cedex)\s*\d*\b")


@dataclass(frozen=True, slots=True)
class AddressKey:
    number: str  # house number with its suffix folded: "12b"; '' when none
    street: str  # street words, expanded and folded


def address_key(adresse: str, commune_nom: str = "") -> AddressKey:
    text = fold(adresse)
    text = _POSTAL.sub("", text)
    text = _BOX.sub(" ", text)
    words = text.split()
    commune_words = fold(commune_nom).split()
    if commune_words and words[-len(commune_words):] == commune_words and len(words) > len(commune_words):
        words = words[: -len(commune_words)]
    number = ""
    if words and re.fullmatch(r"\d+[a-z]?", words[0]):
        number = words.pop(0)
        if words and words[0] in _SUFFIX and len(words) > 1 and not number[-1].isalpha():
            number += _SUFFIX[words.pop(0)]
        elif number[-1].isalpha():
            number = number[:-1] + _SUFFIX.get(number[-1], number[-1])
        # "12 14 rue…" (12-14): keep the first number
        while words and words[0].isdigit() and len(words) > 1:
            words.pop(0)
    street = " ".join(ADDRESS_WORDS.get(w, w) for w in words if w not in STOP_WORDS)
    return AddressKey(number, street)


def address_similarity(a: AddressKey, b: AddressKey) -> float | None:
    if not a.street or not b.street:
        return None
    street = _ratio(a.street, b.street)
    if a.number and b.number:
        if a.number == b.number:
            return street
        if a.number.rstrip("abtqc") == b.number.rstrip("abtqc"):
            return 0.9 * street
        return 0.45 * street
    if a.number or b.number:
        return 0.9 * street
    return street


# --- distance -----------------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular approximation, exact to well under a metre at the distances used here."""
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return EARTH_RADIUS_M * math.hypot(x, y)


def distance_similarity(d: float | None) -> float | None:
    if d is None:
        return None
    if d <= 40:
        return 1.0
    if d <= RADIUS_M:
        return 1.0 - 0.6 * (d - 40) / (RADIUS_M - 40)
    if d <= 1500:
        return 0.4 - 0.4 * (d - RADIUS_M) / (1500 - RADIUS_M)
    return 0.0


# --- features of one lieu -----------------------------------------------------------------------

def phone_key(telephone: str | None) -> str:
    digits = re.sub(r"\D", "", telephone or "")
    return digits[-9:] if len(digits) >= 9 else ""


def pivot_key(pivot: str | None) -> str:
    value = re.sub(r"\s", "", pivot or "")
    if not value or set(value) == {"0"}:
        return ""
    return value.upper()


def commune_key(commune_nom: str) -> str:
    """Comparison key of a commune name ("Bouscat (Le)" = "LE BOUSCAT", Cedex dropped)."""
    return _commune_name_key(commune_nom or "")


@dataclass(slots=True)
class Features:
    pk: object
    name: NameKey
    address: AddressKey
    lat: float | None
    lon: float | None
    code_insee: str
    code_postal: str
    commune: str
    pivot: str
    phone: str
    emails: frozenset
    sources: frozenset = field(default_factory=frozenset)

    def commune_keys(self) -> list:
        keys = []
        if self.code_insee:
            keys.append(("insee", self.code_insee))
        if self.code_postal and self.commune:
            keys.append(("cp", self.code_postal, self.commune))
        return keys


def features(pk, nom, adresse, commune_nom, code_postal, code_insee, latitude, longitude, pivot,
             telephone, courriels, sources=frozenset(), position_precision=PositionPrecision.SOURCE) -> Features:
    lat = _float(latitude)
    lon = _float(longitude)
    if lat is None or lon is None or position_precision == PositionPrecision.COMMUNE:
        lat = lon = None
    return Features(
        pk=pk,
        name=name_key(nom),
        address=address_key(adresse, commune_nom),
        lat=lat,
        lon=lon,
        code_insee=(code_insee or "").strip(),
        code_postal=(code_postal or "").strip(),
        commune=commune_key(commune_nom),
        pivot=pivot_key(pivot),
        phone=phone_key(telephone),
        emails=frozenset(e.strip().lower() for e in (courriels or "").split("|") if e.strip()),
        sources=frozenset(sources),
    )


def features_from_values(values: dict, pk=None, sources=None) -> Features:
    """Features of a record given as standard values (dict with the standard's field names)."""
    return features(
        pk if pk is not None else values.get("id"), values.get("nom", ""), values.get("adresse", ""),
        values.get("commune", ""), values.get("code_postal", ""), values.get("code_insee", ""),
        values.get("latitude"), values.get("longitude"), values.get("pivot", ""),
        values.get("telephone", ""), values.get("courriels", ""),
        sources if sources is not None else ({values["source"]} if values.get("source") else set()),
    )


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- scoring ------------------------------------------------------------------------------------

WEIGHTS = {"nom": 0.50, "adresse": 0.20, "distance": 0.30}


@dataclass
class Score:
    total: float
    details: dict
    distance: float | None


def same_commune(a: Features, b: Features) -> bool | None:
    if a.code_insee and b.code_insee:
        return a.code_insee == b.code_insee
    if a.commune and b.commune:
        return a.commune == b.commune
    return None


def score_pair(a: Features, b: Features) -> Score:
    d = distance_m(a.lat, a.lon, b.lat, b.lon) if a.lat is not None and b.lat is not None else None
    commune = same_commune(a, b)
    commune_tokens = frozenset(a.commune.split()) if commune else frozenset()
    name, relation = name_similarity(a.name, b.name, commune_tokens)
    parts = {"nom": name, "adresse": address_similarity(a.address, b.address), "distance": distance_similarity(d)}
    weight = sum(WEIGHTS[k] for k, v in parts.items() if v is not None)
    total = sum(WEIGHTS[k] * v for k, v in parts.items() if v is not None) / weight
    details = {k: round(v, 3) for k, v in parts.items() if v is not None}
    if a.pivot and b.pivot:
        if a.pivot == b.pivot:
            total += 0.10
            details["siret"] = "identique"
        elif len(a.pivot) == len(b.pivot) == 14 and a.pivot[:9] == b.pivot[:9]:
            total -= 0.05  # same legal entity, two establishments
            details["siret"] = "même SIREN"
        else:
            total -= 0.25
            details["siret"] = "différent"
    if a.phone and b.phone and a.phone == b.phone:
        total += 0.08
        details["telephone"] = "identique"
    if a.emails & b.emails:
        total += 0.08
        details["courriel"] = "identique"
    if commune is False:
        total -= 0.15
        details["commune"] = "différente"
    if d is None and (parts["adresse"] or 0) < 0.8 and not (
        details.get("siret") == "identique" or "telephone" in details or "courriel" in details
    ):
        # No position to compare: a name alone never merges, the address or an identifier must agree.
        total = min(total, THRESHOLD_AUTO - 0.05)
    if relation == "conflict":
        total = min(total, 0.5)
        details["type"] = "différent"
    if name < 0.5:
        total = min(total, THRESHOLD_REVIEW + 0.05)  # never merged automatically on position alone
    total = max(0.0, min(1.0, total))
    return Score(round(total, 4), details, d)


def thresholds_for(a: Features, b: Features, auto: float, review: float) -> tuple[float, float]:
    if a.sources & b.sources:
        return auto + SAME_SOURCE_MARGIN, review + SAME_SOURCE_MARGIN
    return auto, review


# --- candidate pairs ----------------------------------------------------------------------------

CELL_LAT = 0.003  # ≈ 333 m
CELL_LON = 0.0048  # ≈ 333 m at 51° N, more further south: every pair within RADIUS_M is in adjacent cells


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / CELL_LAT), math.floor(lon / CELL_LON))


def _worth_scoring(a: Features, b: Features) -> bool:
    """Cheap test on two neighbours before scoring them: their names share the start of a proper
    word (typos tolerated: "Caquetoire" / "Caqueotire"), or one
    name is only a kind of place ("Médiathèque municipale"), or they have the same address. Pairs
    failing it cannot reach the automatic threshold (their name similarity is too low); in dense
    towns this leaves out most pairs of neighbours (a million lieux put thousands in a city)."""
    ta, tb = a.name.proper, b.name.proper
    if not ta or not tb or not ta.isdisjoint(tb):
        return True
    return bool(a.address.street) and a.address == b.address


def candidate_pairs(items: list[Features]) -> set[tuple[int, int]]:
    """Index pairs (i < j) worth scoring."""
    pairs: set[tuple[int, int]] = set()
    grid: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, f in enumerate(items):
        if f.lat is not None:
            grid[_cell(f.lat, f.lon)].append(i)
    # A point shared by more than MAX_BLOCK lieux (a commune's centre, where lieux without an address
    # that could be found are placed) says nothing about who is who: pairing them all by position made
    # n²/2 pairs (500 lieux: 124,750) and filled the review queue. They still pair by SIRET, phone,
    # e-mail, and with lieux placed elsewhere nearby.
    crowded = {point for point, n in Counter((f.lat, f.lon) for f in items if f.lat is not None).items()
               if n > MAX_BLOCK}
    forward = ((0, 1), (1, -1), (1, 0), (1, 1))
    for (cy, cx), members in grid.items():
        neighbours = [grid.get((cy + dy, cx + dx), ()) for dy, dx in forward]
        for position, i in enumerate(members):
            fi = items[i]
            for others in (members[position + 1:], *neighbours):
                for j in others:
                    fj = items[j]
                    if crowded and fi.lat == fj.lat and fi.lon == fj.lon and (fi.lat, fi.lon) in crowded:
                        continue
                    if distance_m(fi.lat, fi.lon, fj.lat, fj.lon) <= RADIUS_M and _worth_scoring(fi, fj):
                        pairs.add((i, j) if i < j else (j, i))

    by_commune: dict[tuple, list[int]] = defaultdict(list)
    for i, f in enumerate(items):
        for key in f.commune_keys():
            by_commune[key].append(i)
    for key, members in by_commune.items():
        if len(members) < 2:
            continue
        blocks: dict[tuple, list[int]] = defaultdict(list)
        for i in members:
            f = items[i]
            if f.pivot:
                blocks[("pivot", f.pivot)].append(i)
            if f.phone:
                blocks[("phone", f.phone)].append(i)
            for email in f.emails:
                blocks[("email", email)].append(i)
        for block in blocks.values():
            if 2 <= len(block) <= MAX_BLOCK:
                for x in range(len(block)):
                    for y in range(x + 1, len(block)):
                        i, j = block[x], block[y]
                        if i != j:
                            pairs.add((i, j) if i < j else (j, i))
        unplaced = [i for i in members if items[i].lat is None]
        if 0 < len(unplaced) <= MAX_BLOCK:  # more: as with a crowded point, no evidence to pair them all
            for i in unplaced:
                fi = items[i]
                for j in members:
                    if i != j and _worth_scoring(fi, items[j]):
                        pairs.add((i, j) if i < j else (j, i))
    return pairs


def is_candidate(a: Features, b: Features) -> bool:
    """Would `candidate_pairs` propose this pair? (for evaluating the scoring on labelled pairs)"""
    return bool(candidate_pairs([a, b]))


def predict_same(a: Features, b: Features, auto: float = THRESHOLD_AUTO) -> bool:
    if not is_candidate(a, b):
        return False
    threshold, _ = thresholds_for(a, b, auto, THRESHOLD_REVIEW)
    return score_pair(a, b).total >= threshold


# --- union-find with "cannot link" --------------------------------------------------------------

class Clusters:
    def __init__(self):
        self.parent: dict = {}
        self.size: dict = {}
        self.forbidden: dict = defaultdict(set)

    def find(self, x):
        parent = self.parent
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def forbid(self, a, b) -> None:
        self.forbidden[self.find(a)].add(b)
        self.forbidden[self.find(b)].add(a)

    def can_union(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        return not (
            any(self.find(x) == rb for x in self.forbidden.get(ra, ()))
            or any(self.find(x) == ra for x in self.forbidden.get(rb, ()))
        )

    def union(self, a, b, max_size: int | None = None) -> bool:
        if not self.can_union(a, b):
            return False
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        size = self.size.get(ra, 1) + self.size.get(rb, 1)
        if max_size is not None and size > max_size:
            return False
        self.parent[rb] = ra
        self.size[ra] = size
        if rb in self.forbidden:
            self.forbidden[ra] |= self.forbidden.pop(rb)
        return True

    def groups(self) -> list[list]:
        result = defaultdict(set)
        for x in list(self.parent):
            root = self.find(x)
            result[root].add(x)
            result[root].add(root)
        return [sorted(members) for members in result.values() if len(members) > 1]


# --- the run ------------------------------------------------------------------------------------

FIELDS = ("pk", "nom", "adresse", "commune_nom", "code_postal", "code_insee", "latitude", "longitude",
          "pivot", "telephone", "courriels", "position_precision")


@dataclass
class DedupResult:
    lieux: int = 0
    candidates: int = 0
    auto_pairs: int = 0
    review_pairs: int = 0
    decisions_applied: int = 0
    separated: int = 0
    clusters: int = 0
    merged_lieux: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    pairs: list = field(default_factory=list, repr=False)

    def summary(self) -> str:
        mode = " (simulation, rien n'est enregistré)" if self.dry_run else ""
        return (
            f"{self.lieux} lieux examinés, {self.candidates} paires candidates, {self.auto_pairs} paires "
            f"fusionnées automatiquement, {self.review_pairs} paires à examiner, {self.clusters} groupes "
            f"de doublons ({self.merged_lieux} lieux fusionnés), {self.separated} séparations imposées "
            f"par une décision, en {self.seconds:.1f} s{mode}."
        )


def _record_index():
    """For the public lieux: lieu id → sources, main record pk (first by (source, source_id)), count."""
    sources: dict = {}
    main: dict = {}
    counts: dict = defaultdict(int)
    qs = SourceRecord.objects.filter(lieu__fusionne_dans__isnull=True).order_by()
    for pk, lieu_id, source, source_id in qs.values_list("pk", "lieu_id", "source", "source_id").iterator(
        chunk_size=CHUNK
    ):
        counts[lieu_id] += 1
        current = sources.get(lieu_id)
        if current is None:
            sources[lieu_id] = frozenset((source,))
        elif source not in current:
            sources[lieu_id] = current | {source}
        best = main.get(lieu_id)
        if best is None or (source, source_id) < best[1]:
            main[lieu_id] = (pk, (source, source_id))
    return sources, {lieu_id: value[0] for lieu_id, value in main.items()}, counts


def _decision_records(decisions) -> dict:
    keys = set()
    for d in decisions:
        keys.add((d.source_a, d.source_id_a))
        keys.add((d.source_b, d.source_id_b))
    found = {}
    by_source = defaultdict(list)
    for source, source_id in keys:
        by_source[source].append(source_id)
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            for record in SourceRecord.objects.filter(source=source, source_id__in=ids[start:start + 500]).only(
                "pk", "source", "source_id", "lieu_id"
            ):
                found[(record.source, record.source_id)] = record
    return found


def load_features(queryset=None) -> list[Features]:
    sources, _, _ = _record_index()
    return _load_features(queryset, sources)


def _load_features(queryset, sources) -> list[Features]:
    if queryset is None:
        queryset = Lieu.objects.filter(fusionne_dans__isnull=True)
    items = []
    for row in queryset.order_by().values_list(*FIELDS).iterator(chunk_size=CHUNK):
        items.append(features(*row[:11], sources=sources.get(row[0], frozenset()), position_precision=row[11]))
    return items


def run_dedup(*, threshold_auto: float = THRESHOLD_AUTO, threshold_review: float = THRESHOLD_REVIEW,
              dry_run: bool = False, queryset=None, log=None) -> DedupResult:
    from mednum.lieux.merge import merge_clusters, separate

    started = time.perf_counter()
    result = DedupResult(dry_run=dry_run)
    decisions = list(DedupDecision.objects.all())
    records = _decision_records(decisions)

    # 1. "lieux différents" decisions between records that sit in one lieu: separate them first.
    if not dry_run:
        for d in decisions:
            if d.decision != DedupDecision.Decision.DIFFERENTS:
                continue
            ra, rb = records.get((d.source_a, d.source_id_a)), records.get((d.source_b, d.source_id_b))
            if ra and rb and ra.lieu_id == rb.lieu_id:
                separate(rb)
                result.separated += 1
        if result.separated:
            records = _decision_records(decisions)

    sources, main_record, counts = _record_index()
    items = _load_features(queryset, sources)
    result.lieux = len(items)
    index_of = {f.pk: i for i, f in enumerate(items)}
    if log:
        log(f"{len(items)} lieux chargés en {time.perf_counter() - started:.1f} s")

    clusters = Clusters()
    decided_pairs = set()
    for d in decisions:
        ra, rb = records.get((d.source_a, d.source_id_a)), records.get((d.source_b, d.source_id_b))
        if not ra or not rb:
            continue
        la, lb = ra.lieu_id, rb.lieu_id
        decided_pairs.add((min(la, lb), max(la, lb)))
        if d.decision == DedupDecision.Decision.DIFFERENTS and la != lb:
            clusters.forbid(la, lb)
    for d in decisions:
        if d.decision != DedupDecision.Decision.MEME_LIEU:
            continue
        ra, rb = records.get((d.source_a, d.source_id_a)), records.get((d.source_b, d.source_id_b))
        if ra and rb and ra.lieu_id != rb.lieu_id and ra.lieu_id in index_of and rb.lieu_id in index_of:
            if clusters.union(ra.lieu_id, rb.lieu_id):
                result.decisions_applied += 1

    pairs = candidate_pairs(items)
    result.candidates = len(pairs)
    auto_links, review = [], []
    for i, j in pairs:
        a, b = items[i], items[j]
        key = (min(a.pk, b.pk), max(a.pk, b.pk))
        if key in decided_pairs:
            continue
        auto, rev = thresholds_for(a, b, threshold_auto, threshold_review)
        score = score_pair(a, b)
        if score.total >= auto:
            auto_links.append((score, a.pk, b.pk))
        elif score.total >= rev:
            review.append((score, a.pk, b.pk))
    auto_links.sort(key=lambda t: (-t[0].total, t[1], t[2]))
    applied = []
    for score, pa, pb in auto_links:
        if clusters.find(pa) == clusters.find(pb):
            continue
        if clusters.union(pa, pb, MAX_CLUSTER):
            applied.append((score, pa, pb))
        elif clusters.can_union(pa, pb):
            review.append((score, pa, pb))  # too big a cluster: a person decides
    result.auto_pairs = len(applied)
    groups = clusters.groups()
    result.clusters = len(groups)
    result.merged_lieux = sum(len(g) - 1 for g in groups)
    # A pair under review whose lieux end up in one cluster needs no review; one that a reviewer's
    # "lieux différents" forbids (through the clusters) cannot be merged anyway.
    review = [(s, pa, pb) for s, pa, pb in review
              if clusters.find(pa) != clusters.find(pb) and clusters.can_union(pa, pb)]
    result.review_pairs = len(review)
    result.pairs = [(s.total, pa, pb, "auto") for s, pa, pb in applied] + [
        (s.total, pa, pb, "review") for s, pa, pb in review
    ]
    if log:
        log(f"{len(pairs)} paires candidates notées en {time.perf_counter() - started:.1f} s")

    if not dry_run:
        _save_pairs(applied, review, main_record)
        merge_clusters(groups, counts)
    result.seconds = time.perf_counter() - started
    return result


def _save_pairs(applied, review, main_record) -> None:
    def row(score, pa, pb, status):
        ra, rb = main_record.get(pa), main_record.get(pb)
        if not ra or not rb or ra == rb:
            return None
        ra, rb = min(ra, rb), max(ra, rb)
        return DedupPair(record_a_id=ra, record_b_id=rb, score=score.total, details=score.details,
                         distance_m=round(score.distance, 1) if score.distance is not None else None,
                         status=status)

    with transaction.atomic():
        DedupPair.objects.filter(status=DedupPair.Status.A_EXAMINER).delete()
        rows = [row(s, pa, pb, DedupPair.Status.FUSION_AUTO) for s, pa, pb in applied]
        rows += [row(s, pa, pb, DedupPair.Status.A_EXAMINER) for s, pa, pb in review]
        DedupPair.objects.bulk_create([r for r in rows if r is not None], batch_size=1000, ignore_conflicts=True)


# --- reviewers' actions -------------------------------------------------------------------------

def _record_decision(pair: DedupPair, decision, status, user) -> tuple[SourceRecord, SourceRecord]:
    """Keep a reviewer's decision (it outlives re-imports) and close the pair; its two records, fresh."""
    ra, rb = pair.record_a, pair.record_b
    DedupDecision.record((ra.source, ra.source_id), (rb.source, rb.source_id), decision, user)
    pair.status = status
    pair.save(update_fields=["status", "modifie_le"])
    ra.refresh_from_db()
    rb.refresh_from_db()
    return ra, rb


@transaction.atomic
def confirm_same(pair: DedupPair, user=None) -> Lieu:
    """A reviewer says the pair's two records describe one place: record it, merge their lieux."""
    from mednum.lieux.merge import merge_cluster

    ra, rb = _record_decision(pair, DedupDecision.Decision.MEME_LIEU, DedupPair.Status.MEME_LIEU, user)
    return merge_cluster([ra.lieu, rb.lieu])


@transaction.atomic
def confirm_different(pair: DedupPair, user=None) -> None:
    """A reviewer says the two records are two places: record it, separate them if merged."""
    from mednum.lieux.merge import separate

    ra, rb = _record_decision(pair, DedupDecision.Decision.DIFFERENTS, DedupPair.Status.DIFFERENTS, user)
    if ra.lieu_id == rb.lieu_id:
        separate(rb)
