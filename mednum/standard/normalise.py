"""Row-level normalisation to the national standard v1.0.2.

`Normaliser.normalise(record)` takes one record keyed by the standard's field names (values of any
type: str, int, float, None, date) and returns a `Normalised`: the 32 fields as the standard's CSV
writes them, the reasons the row must be rejected (`errors`) and the fixes that were applied
(`warnings`). It never queries the database: commune look-ups go through an in-memory `CommuneIndex`
built once per import. It is written for speed (an import reads tens of thousands of rows per
second): precompiled patterns, per-value caches for the fields whose values repeat (dates and
enumerated lists), no object created per row besides the result.

Rules, field by field (a rejected row is one with at least one error):

- `id`, `nom`, `commune`, `adresse`, `code_postal`, `date_maj` are required: missing → error.
- `pivot` (SIRET, SIREN or RNA number): spaces are removed; 14 digits, 9 digits or `W` + 9
  characters are kept. The placeholder `00000000000000` (`PIVOT_UNKNOWN`) or an empty pivot means
  "unknown": stored as '' with a warning (the exporter writes the placeholder back). An invalid pivot
  is not worth rejecting a lieu: it is dropped with a warning.
- `code_postal`: 5 digits; a 4-digit number gets its leading 0 back (lost by a spreadsheet). When
  missing it is taken from the address ("8 rue X - 33000 Bordeaux"), then from the commune index
  (the commune's postal code; the first one, with a warning, when the commune has several).
- `code_insee`: checked against the standard's pattern; when missing, deduced from the commune index
  (postal code + commune name, or the only commune of that postal code); unresolved → '' with a
  warning (only when an index was given: without one there is nothing to try).
- `telephone`: to the standard's international form (`+33557657539`). French overseas numbers are
  recognised by their national prefix (0590/0690 Guadeloupe, 0594 Guyane, 0596 Martinique,
  0262/0692 La Réunion, 0269/0639 Mayotte → +262, which is Mayotte's real country code since 2007,
  0508 Saint-Pierre-et-Miquelon); short numbers of New Caledonia (6 digits), Wallis-et-Futuna
  (6 digits) and French Polynesia (8 digits) by the postal code. Unreadable → dropped with a warning.
  Several numbers → the first one is kept, with a warning.
- `courriels`: split on `|`, `;`, `,` and spaces, lower-cased, checked; invalid ones are dropped
  with a warning.
- `site_web` (and the single URLs `fiche_acces_libre`, `prise_rdv`): `https://` is added when the
  scheme is missing, each URL is checked, invalid ones are dropped with a warning.
- `date_maj`: YYYY-MM-DD, DD/MM/YYYY (also with `-` or `.`), ISO date-times, date objects and
  spreadsheet serial numbers are read; an impossible date, a date before 1990 or in the future
  (Paris time) → error.
- `latitude`/`longitude`: decimal comma accepted; the point must lie in metropolitan France
  (Corsica included) or in one of the overseas territories, and in the territory of the postal
  code. Swapped coordinates are swapped back (warning). Anything else (outside France, 0,0, one of
  the two missing) → no coordinates, `needs_geocoding` (warning). More than 50 km away from the
  commune known to the index → warning only.
- enumerated lists: split on `|` (also `;` and `,`, which no allowed value contains), matched
  ignoring case, accents and punctuation, spelling variants accepted, deduplicated, written in the
  enumeration's order. An unknown value is an error naming it and the allowed values when
  `strict_enums` is true (files claiming to follow the standard), otherwise it is dropped with a
  warning (mapped sources, whose values come from rules).
- `typologie`: codes of the structure typology (a label is accepted for its code); unknown codes
  are dropped with a warning.
- `presentation_resume`: 280 characters at most; a longer one is cut at a word boundary with "…"
  (warning), the full text going to `presentation_detail` when that one is empty.
- every field: control and invisible formatting characters removed (`text.CONTROL_CHARS`; line breaks
  kept in the two presentations and in `horaires`, turned into spaces elsewhere); more than 10,000
  characters (20,000 for `presentation_detail`) → error "champ trop long". Fields whose database
  column is shorter are checked against it (error for required fields, cut or dropped with a warning
  otherwise).
- `horaires`: kept as given. With `hours_error` (a function giving why a string cannot be read, or
  None), an unreadable one is a warning: it stays, shown as given on the lieu's page, and the import's
  report tells the source what to fix.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from mednum.standard import schema
from mednum.standard.communes import CommuneIndex, CommuneInfo, distance_km, parent_code
from mednum.standard.text import CONTROL_CHARS, fold

PIVOT_UNKNOWN = "00000000000000"
MAX_REPORTED_VALUE = 200
MAX_FIELD_LENGTH = 10_000
MAX_DETAIL_LENGTH = 20_000
RESUME_MAX_LENGTH = 280
FAR_FROM_COMMUNE_KM = 50.0
OLDEST_DATE = dt.date(1990, 1, 1)

FIELD_NAMES: tuple[str, ...] = schema.field_names()
ENUM_FIELDS: tuple[str, ...] = tuple(name for name in FIELD_NAMES if name in schema.enumerations())
REQUIRED_FIELDS = ("id", "nom", "commune", "adresse", "code_postal", "date_maj")

# Column sizes of mednum.lieux.models.Lieu (checked by a test): a longer value cannot be stored.
DB_MAX_LENGTHS = {
    "id": 255,
    "nom": 500,
    "commune": 200,
    "adresse": 500,
    "complement_adresse": 500,
    "typologie": 500,
    "source": 200,
    "structure_parente": 500,
    "fiche_acces_libre": 500,
    "prise_rdv": 500,
}
MULTILINE_FIELDS = frozenset({"presentation_resume", "presentation_detail", "horaires"})
# Fields copied as text (after cleaning); the others have their own rule below.
PLAIN_TEXT_FIELDS = (
    "id",
    "nom",
    "commune",
    "adresse",
    "complement_adresse",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "structure_parente",
)

_CODE_POSTAL = re.compile(r"\d{5}", re.ASCII)
_CODE_POSTAL_IN_TEXT = re.compile(r"(?<!\d)(\d{5}|\d{2} \d{3})(?!\d)", re.ASCII)
_CODE_INSEE = re.compile(r"(?:[013-9]\d|2[AB1-9])\d{3}", re.ASCII)
_PIVOT_RNA = re.compile(r"W[0-9A-Z]{9}")
_PIVOT_JUNK = re.compile(r"[\s.\-]+")
_SPACES = re.compile(r"\s+")

_PHONE_OK = re.compile(r"\+(?:33\d{9}|(?:590|594|262|596|269|687|689|508|681)\d{6,9})", re.ASCII)
_PHONE_SEPARATORS = re.compile(r"\s*(?:[/;,|\n]|\bou\b|\bet\b)\s*", re.IGNORECASE)
_PHONE_NOT_DIGITS = re.compile(r"[^\d+]+", re.ASCII)
_PHONE_COUNTRY_CODES = ("33", "590", "594", "262", "596", "269", "687", "689", "508", "681")
# National prefix of a 10-digit number → the country code under which it is dialled from abroad.
_PHONE_OVERSEAS = {
    "0590": "+590", "0690": "+590", "0691": "+590",
    "0594": "+594", "0694": "+594",
    "0596": "+596", "0696": "+596", "0697": "+596",
    "0262": "+262", "0263": "+262", "0692": "+262", "0693": "+262",
    "0269": "+262", "0639": "+262",
}  # fmt: skip
# Postal-code prefix → (country code, length of a national number) for territories without trunk 0.
_PHONE_SHORT = {"988": ("+687", 6), "986": ("+681", 6), "987": ("+689", 8), "975": ("+508", 6)}

_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_EMAIL_SPLIT = re.compile(r"[|;,\s]+")

_URL = re.compile(
    r"https?://(?:(?:[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff_-]{0,61}[a-z0-9\u00a1-\uffff])?\.)+"
    r"[a-z\u00a1-\uffff]{2,63}\.?|\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?(?:[/?#]\S*)?",
    re.IGNORECASE,
)
_URL_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _url_ok(url: str) -> bool:
    """A web address of the pattern above that browsers and Python (`urlsplit`) also read: a non-ASCII
    host may hold characters whose NFKC form is a separator (« ／ », « ℁ »), which `urlsplit` refuses."""
    if not _URL.fullmatch(url):
        return False
    if url.isascii():
        return True
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True

_URL_SCHEME_TYPO = re.compile(r"(https?)(?::/{0,3}|/{1,3})(?=[^/])", re.IGNORECASE)
_URL_SPLIT = re.compile(r"[|;\s]+|,(?=\s*(?:https?:|www\.))", re.IGNORECASE)

_ENUM_SPLIT = re.compile(r"[|;,]")
_TYPOLOGIE_SPLIT = re.compile(r"[|;]")

_DATE_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ].*)?", re.ASCII)
_DATE_FR = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T].*)?", re.ASCII)
_EXCEL_EPOCH = dt.date(1899, 12, 30)

# Bounding boxes (lat min, lat max, lon min, lon max), slightly generous.
_BOX_METRO = (41.2, 51.2, -5.4, 9.8)
_BOXES = {
    "metro": _BOX_METRO,
    "971": (15.8, 18.2, -63.2, -60.9),  # Guadeloupe, Saint-Barthélemy, Saint-Martin
    "972": (14.3, 14.95, -61.3, -60.75),  # Martinique
    "973": (2.0, 5.9, -54.7, -51.5),  # Guyane
    "974": (-21.45, -20.8, 55.15, 55.9),  # La Réunion
    "975": (46.7, 47.2, -56.5, -56.05),  # Saint-Pierre-et-Miquelon
    "976": (-13.1, -12.55, 44.95, 45.35),  # Mayotte
    "986": (-14.45, -13.1, -178.25, -176.05),  # Wallis-et-Futuna
    "987": (-27.8, -7.7, -154.9, -134.3),  # Polynésie française
    "988": (-22.9, -17.9, 163.4, 168.3),  # Nouvelle-Calédonie
}
_TERRITORY_BY_POSTAL_PREFIX = {"971": "971", "972": "972", "973": "973", "974": "974", "975": "975",
                               "976": "976", "977": "971", "978": "971", "986": "986", "987": "987",
                               "988": "988"}  # fmt: skip
_TERRITORY_NAMES = {
    "metro": "la France métropolitaine",
    "971": "la Guadeloupe",
    "972": "la Martinique",
    "973": "la Guyane",
    "974": "La Réunion",
    "975": "Saint-Pierre-et-Miquelon",
    "976": "Mayotte",
    "986": "Wallis-et-Futuna",
    "987": "la Polynésie française",
    "988": "la Nouvelle-Calédonie",
}
_PARIS = ZoneInfo("Europe/Paris")
_CACHE_LIMIT = 20_000


@dataclass(slots=True)
class FieldError:
    """One reason a row is rejected (or, in `warnings`, one fix that was applied)."""

    field: str  # standard field name (or source column when mapping)
    value: str  # offending value, truncated to 200 characters
    reason: str  # French message

    def __str__(self) -> str:
        return f"{self.field} : {self.reason}" + (f" (« {self.value} »)" if self.value else "")


@dataclass(slots=True)
class Normalised:
    values: dict[str, str]
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[FieldError] = field(default_factory=list)
    needs_geocoding: bool = False
    # The commune the row was matched to in the index (None without index or when unresolved).
    commune: CommuneInfo | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def _issue(field_name: str, value: Any, reason: str) -> FieldError:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if len(text) > MAX_REPORTED_VALUE:
        text = text[: MAX_REPORTED_VALUE - 1] + "…"
    return FieldError(field_name, text, reason)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        if value != value:  # NaN, as spreadsheet readers give for empty cells
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (list, tuple)):
        return schema.SEPARATOR.join(_as_text(item) for item in value if _as_text(item))
    return str(value).strip()


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary so that it fits in `limit` characters, ending with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—\n\t") + "…"


def _in_box(box: tuple[float, float, float, float], lat: float, lon: float) -> bool:
    return box[0] <= lat <= box[1] and box[2] <= lon <= box[3]


def _territory_of_point(lat: float, lon: float) -> str | None:
    for name, box in _BOXES.items():
        if _in_box(box, lat, lon):
            return name
    return None


def in_france(lat: float, lon: float) -> bool:
    """Whether the point lies in metropolitan France or an overseas territory (the boxes above)."""
    return _territory_of_point(lat, lon) is not None


def _digits(text: str) -> bool:
    """Only the digits 0 to 9 (`str.isdigit` also accepts « ² », « ٥ », « ５ »…)."""
    return text.isascii() and text.isdigit()


def format_coordinate(value: float) -> str:
    """Up to 6 decimals, no trailing zeros (46.27947045 → "46.27947")."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _parse_number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer of hundreds of digits (JSON)
            return None
    else:
        text = str(value).strip().replace(",", ".").replace(" ", "").replace("\u00a0", "")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    if math.isnan(number) or math.isinf(number):
        return None
    return number


class _EnumField:
    """Matching of one enumerated field's values, with a cache of whole cell values."""

    __slots__ = ("name", "order", "lookup", "allowed_text", "cache")

    def __init__(self, name: str):
        self.name = name
        values = schema.enumerations()[name]
        self.order = {value: position for position, value in enumerate(values)}
        self.lookup = {fold(value): value for value in values}
        for variant, value in schema.spelling_variants(name).items():
            self.lookup.setdefault(fold(variant), value)
        self.allowed_text = ", ".join(values)
        self.cache: dict[str, tuple[str, tuple[str, ...]]] = {}

    def parse(self, raw: str) -> tuple[str, tuple[str, ...]]:
        """(joined valid values in the enumeration's order, unknown values)."""
        cached = self.cache.get(raw)
        if cached is not None:
            return cached
        found: set[str] = set()
        unknown: list[str] = []
        lookup = self.lookup
        for part in _ENUM_SPLIT.split(raw):
            part = part.strip()
            if not part:
                continue
            value = lookup.get(part) or lookup.get(fold(part))
            if value is None:
                if part not in unknown:
                    unknown.append(part)
            else:
                found.add(value)
        result = (schema.SEPARATOR.join(sorted(found, key=self.order.__getitem__)), tuple(unknown))
        if len(self.cache) > _CACHE_LIMIT:
            self.cache.clear()
        self.cache[raw] = result
        return result


class Normaliser:
    """Normalises records keyed by the standard's field names; one instance per import."""

    def __init__(self, *, communes: CommuneIndex | None = None, strict_enums: bool = True,
                 hours_error: Callable[[str], str | None] | None = None):
        self.communes = communes
        self.strict_enums = strict_enums
        self.hours_error = hours_error
        self.today = dt.datetime.now(_PARIS).date()
        self._enums = {name: _EnumField(name) for name in ENUM_FIELDS}
        self._date_cache: dict[str, tuple[str, str]] = {}
        typologies = schema.typologies()
        self._typologies = {fold(code): code for code in typologies}
        for code, label in typologies.items():
            self._typologies.setdefault(fold(label), code)
        self._typologie_cache: dict[str, tuple[str, tuple[str, ...]]] = {}

    # ------------------------------------------------------------------ row
    def normalise(self, record: Mapping[str, Any]) -> Normalised:
        get = record.get
        values = dict.fromkeys(FIELD_NAMES, "")
        errors: list[FieldError] = []
        warnings: list[FieldError] = []

        for name in PLAIN_TEXT_FIELDS:
            raw = get(name)
            if raw is None or raw == "":
                continue
            text = raw.strip() if raw.__class__ is str else _as_text(raw)
            if text and not text.isprintable():
                text = self._clean(name, text)
            limit = MAX_DETAIL_LENGTH if name == "presentation_detail" else MAX_FIELD_LENGTH
            if len(text) > limit:
                errors.append(_issue(name, text, f"champ trop long : {len(text)} caractères, {limit} au maximum"))
                continue
            db_limit = DB_MAX_LENGTHS.get(name)
            if db_limit is not None and len(text) > db_limit:
                if name in REQUIRED_FIELDS:
                    errors.append(
                        _issue(name, text, f"champ trop long : {len(text)} caractères, {db_limit} au maximum")
                    )
                    continue
                warnings.append(_issue(name, text, f"texte coupé à {db_limit} caractères"))
                text = shorten(text, db_limit)
            values[name] = text

        for name in ("id", "nom", "commune", "adresse"):
            if not values[name] and not any(error.field == name for error in errors):
                errors.append(_issue(name, get(name), "champ obligatoire manquant"))

        self._pivot(get("pivot"), values, warnings)

        raw_lat = get("latitude")
        raw_lon = get("longitude")
        lat = raw_lat if raw_lat.__class__ is float else _parse_number(raw_lat)
        lon = raw_lon if raw_lon.__class__ is float else _parse_number(raw_lon)

        # --- commune: postal code, INSEE code, index ---
        code_postal = self._code_postal(get("code_postal"), values, errors, warnings)
        code_postal_invalid = code_postal is None
        if code_postal_invalid:
            code_postal = ""
        code_insee = self._code_insee(get("code_insee"), warnings)
        info = None
        communes = self.communes
        if communes is not None:
            info = communes.resolve(
                code_insee=code_insee, code_postal=code_postal, nom=values["commune"], latitude=lat, longitude=lon
            )
            if info is None:
                if code_insee:
                    warnings.append(_issue("code_insee", code_insee, "code INSEE inconnu du référentiel des communes"))
            elif code_insee and info.code != code_insee and info.code != parent_code(code_insee):
                # The code given is unknown to the index; the commune was found from its postal code and name.
                warnings.append(
                    _issue("code_insee", code_insee, f"code INSEE inconnu, remplacé par {info.code} ({info.nom})")
                )
                code_insee = info.code
            if info is not None:
                if not code_insee:
                    code_insee = info.code
                if not code_postal and not code_postal_invalid and info.codes_postaux:
                    code_postal = info.codes_postaux[0]
                    if len(info.codes_postaux) == 1:
                        reason = f"code postal déduit de la commune {info.nom}"
                    else:
                        others = ", ".join(info.codes_postaux[:6]) + ("…" if len(info.codes_postaux) > 6 else "")
                        reason = (
                            f"code postal déduit de la commune {info.nom} (plusieurs possibles : {others}) : "
                            f"{code_postal} retenu"
                        )
                    warnings.append(_issue("code_postal", "", reason))
            elif not code_insee:
                warnings.append(
                    _issue(
                        "code_insee", values["commune"], "code INSEE introuvable pour cette commune et ce code postal"
                    )
                )
        if not code_postal and not code_postal_invalid:
            errors.append(
                _issue(
                    "code_postal",
                    get("code_postal"),
                    "code postal manquant (ni dans le champ, ni dans l'adresse, ni déduit de la commune)",
                )
            )
        values["code_postal"] = code_postal
        values["code_insee"] = code_insee

        # --- dates ---
        self._date(get("date_maj"), values, errors)

        # --- coordinates ---
        needs_geocoding = self._coordinates(lat, lon, raw_lat, raw_lon, code_postal, info, values, warnings)

        # --- contact ---
        raw = get("telephone")
        if raw is not None and raw != "":
            values["telephone"] = self._telephone(raw, code_postal, warnings)
        raw = get("courriels")
        if raw is not None and raw != "":
            values["courriels"] = self._courriels(raw, warnings)
        raw = get("site_web")
        if raw is not None and raw != "":
            values["site_web"] = self._urls("site_web", raw, warnings, multiple=True)
        for name in ("fiche_acces_libre", "prise_rdv"):
            raw = get(name)
            if raw is not None and raw != "":
                values[name] = self._urls(name, raw, warnings, multiple=False)

        # --- lists ---
        strict = self.strict_enums
        for name, enum in self._enums.items():
            raw = get(name)
            if raw is None or raw == "":
                continue
            text = raw if raw.__class__ is str else _as_text(raw)
            joined, unknown = enum.parse(text)
            values[name] = joined
            for value in unknown:
                if strict:
                    errors.append(
                        _issue(name, value, f"valeur inconnue « {value} » ; valeurs possibles : {enum.allowed_text}")
                    )
                else:
                    warnings.append(_issue(name, value, f"valeur inconnue « {value} » ignorée"))
        raw = get("typologie")
        if raw is not None and raw != "":
            values["typologie"] = self._typologie(raw, warnings)
        raw = get("autres_formations_labels")
        if raw is not None and raw != "":
            values["autres_formations_labels"] = self._free_list("autres_formations_labels", raw, errors)

        # --- presentation ---
        resume = values["presentation_resume"]
        if len(resume) > RESUME_MAX_LENGTH:
            if not values["presentation_detail"]:
                values["presentation_detail"] = resume
                reason = (
                    f"résumé de {len(resume)} caractères coupé à {RESUME_MAX_LENGTH} "
                    "(texte complet placé dans la présentation détaillée)"
                )
            else:
                reason = f"résumé de {len(resume)} caractères coupé à {RESUME_MAX_LENGTH}"
            values["presentation_resume"] = shorten(resume, RESUME_MAX_LENGTH)
            warnings.append(_issue("presentation_resume", resume, reason))

        if self.hours_error is not None and values["horaires"]:
            reason = self.hours_error(values["horaires"])
            if reason:
                warnings.append(_issue("horaires", values["horaires"], "horaires illisibles, gardés tels quels (montrés "
                                       f"tels quels sur la fiche, ignorés par « ouvert maintenant ») : {reason}"))

        return Normalised(values, errors, warnings, needs_geocoding, info)

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _clean(name: str, text: str) -> str:
        if name in MULTILINE_FIELDS:
            text = CONTROL_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))  # a lone CR (old Mac) too
        else:
            text = _SPACES.sub(" ", CONTROL_CHARS.sub("", text))
        return text.strip()

    def _pivot(self, raw: Any, values: dict[str, str], warnings: list[FieldError]) -> None:
        if raw is None or raw == "":
            warnings.append(_issue("pivot", "", "pivot (SIRET ou RNA) non renseigné"))
            return
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        text = raw if raw.__class__ is str else str(raw)
        if text == PIVOT_UNKNOWN:
            warnings.append(_issue("pivot", text, "pivot inconnu (00000000000000) : non renseigné"))
            return
        text = _PIVOT_JUNK.sub("", text).upper()
        if not text or text.strip("0") == "":
            warnings.append(_issue("pivot", raw, "pivot inconnu (00000000000000) : non renseigné"))
            return
        if _digits(text):
            if len(text) == 13 and isinstance(raw, int):  # a number that lost its leading 0
                text = "0" + text
            if len(text) in (9, 14):
                values["pivot"] = text
                return
        elif _PIVOT_RNA.fullmatch(text):
            values["pivot"] = text
            return
        warnings.append(
            _issue(
                "pivot",
                raw,
                "pivot invalide (SIRET à 14 chiffres, SIREN à 9 chiffres ou RNA W + 9 caractères attendu) : ignoré",
            )
        )

    def _code_postal(
        self, raw: Any, values: dict[str, str], errors: list[FieldError], warnings: list[FieldError]
    ) -> str | None:
        """The postal code, '' when missing, None when invalid (the error is recorded)."""
        if raw is not None and raw != "":
            if raw.__class__ is str:
                text = raw.strip()
                if len(text) == 5 and _CODE_POSTAL.fullmatch(text):
                    return text
            else:
                text = _as_text(raw)
            compact = text.replace(" ", "").replace("\u00a0", "")
            if _digits(compact):
                if len(compact) == 5:
                    return compact
                if len(compact) == 4:
                    padded = "0" + compact
                    warnings.append(_issue("code_postal", text, f"zéro initial rétabli : {padded}"))
                    return padded
            match = _CODE_POSTAL_IN_TEXT.search(text)
            if match:
                found = match.group(1).replace(" ", "")
                warnings.append(_issue("code_postal", text, f"code postal extrait : {found}"))
                return found
            errors.append(_issue("code_postal", text, "code postal invalide : 5 chiffres attendus"))
            return None
        adresse = values["adresse"]
        if adresse:
            matches = _CODE_POSTAL_IN_TEXT.findall(adresse)
            if matches:
                found = matches[-1].replace(" ", "")
                warnings.append(_issue("code_postal", adresse, f"code postal tiré de l'adresse : {found}"))
                return found
        return ""

    @staticmethod
    def _code_insee(raw: Any, warnings: list[FieldError]) -> str:
        if raw is None or raw == "":
            return ""
        text = _as_text(raw).upper().replace(" ", "")
        if len(text) == 4 and _digits(text):
            text = "0" + text
        if _CODE_INSEE.fullmatch(text):
            return text
        warnings.append(_issue("code_insee", raw, "code INSEE invalide (5 caractères, ex. 33063 ou 2A004) : ignoré"))
        return ""

    def _date(self, raw: Any, values: dict[str, str], errors: list[FieldError]) -> None:
        if raw is None or raw == "":
            errors.append(_issue("date_maj", "", "champ obligatoire manquant"))
            return
        if isinstance(raw, dt.datetime):
            raw = raw.date()
        if isinstance(raw, dt.date):
            iso, reason = self._check_date(raw)
        else:
            key = raw if raw.__class__ is str else _as_text(raw)
            cached = self._date_cache.get(key)
            if cached is None:
                cached = self._parse_date(key)
                if len(self._date_cache) > _CACHE_LIMIT:
                    self._date_cache.clear()
                self._date_cache[key] = cached
            iso, reason = cached
        if reason:
            errors.append(_issue("date_maj", raw, reason))
        else:
            values["date_maj"] = iso

    def _check_date(self, date: dt.date) -> tuple[str, str]:
        if date > self.today:
            return "", f"date dans le futur ({date.strftime('%d/%m/%Y')})"
        if date < OLDEST_DATE:
            return "", "date improbable (antérieure à 1990)"
        return date.isoformat(), ""

    def _parse_date(self, text: str) -> tuple[str, str]:
        text = text.strip()
        if not text:
            return "", "champ obligatoire manquant"
        match = _DATE_ISO.fullmatch(text)
        if match:
            year, month, day = match.groups()
        else:
            match = _DATE_FR.fullmatch(text)
            if match:
                day, month, year = match.groups()
                if len(year) == 2:
                    year = "20" + year
            elif len(text) == 5 and _digits(text) and 20_000 <= int(text) <= 80_000:
                return self._check_date(_EXCEL_EPOCH + dt.timedelta(days=int(text)))
            else:
                return "", "date illisible : AAAA-MM-JJ ou JJ/MM/AAAA attendu"
        try:
            date = dt.date(int(year), int(month), int(day))
        except ValueError:
            return "", "date impossible"
        return self._check_date(date)

    @staticmethod
    def _coordinates(
        lat: float | None,
        lon: float | None,
        raw_lat: Any,
        raw_lon: Any,
        code_postal: str,
        info: CommuneInfo | None,
        values: dict[str, str],
        warnings: list[FieldError],
    ) -> bool:
        """Fill latitude/longitude; returns True when the row has no usable coordinates."""
        if lat is None or lon is None:
            if (lat is None) != (lon is None):
                warnings.append(
                    _issue(
                        "latitude" if lat is None else "longitude",
                        raw_lat if lat is None else raw_lon,
                        "coordonnées incomplètes ou illisibles : ignorées, lieu à géocoder",
                    )
                )
            elif (raw_lat not in (None, "")) or (raw_lon not in (None, "")):
                warnings.append(
                    _issue("latitude", f"{raw_lat}, {raw_lon}", "coordonnées illisibles : ignorées, lieu à géocoder")
                )
            return True
        if lat == 0 and lon == 0:
            warnings.append(_issue("latitude", "0, 0", "coordonnées nulles (0, 0) : ignorées, lieu à géocoder"))
            return True
        expected = _TERRITORY_BY_POSTAL_PREFIX.get(code_postal[:3], "metro") if code_postal else None
        if expected is not None:
            box = _BOXES[expected]
            if not _in_box(box, lat, lon):
                if _in_box(box, lon, lat):
                    warnings.append(
                        _issue("latitude", f"{raw_lat}, {raw_lon}", "latitude et longitude inversées : corrigées")
                    )
                    lat, lon = lon, lat
                else:
                    where = _territory_of_point(lat, lon) or _territory_of_point(lon, lat)
                    if where is None:
                        reason = "coordonnées hors de France : ignorées, lieu à géocoder"
                    else:
                        reason = (
                            f"coordonnées situées dans {_TERRITORY_NAMES[where]}, incohérentes avec le code postal "
                            f"{code_postal} : ignorées, lieu à géocoder"
                        )
                    warnings.append(_issue("latitude", f"{raw_lat}, {raw_lon}", reason))
                    return True
        else:
            if _territory_of_point(lat, lon) is None:
                if _territory_of_point(lon, lat) is not None:
                    warnings.append(
                        _issue("latitude", f"{raw_lat}, {raw_lon}", "latitude et longitude inversées : corrigées")
                    )
                    lat, lon = lon, lat
                else:
                    warnings.append(
                        _issue(
                            "latitude",
                            f"{raw_lat}, {raw_lon}",
                            "coordonnées hors de France : ignorées, lieu à géocoder",
                        )
                    )
                    return True
        if info is not None and info.latitude is not None and info.longitude is not None:
            distance = distance_km(lat, lon, info.latitude, info.longitude)
            if distance > FAR_FROM_COMMUNE_KM:
                warnings.append(
                    _issue(
                        "latitude",
                        f"{format_coordinate(lat)}, {format_coordinate(lon)}",
                        f"position à {distance:.0f} km de la commune {info.nom} : à vérifier",
                    )
                )
        values["latitude"] = format_coordinate(lat)
        values["longitude"] = format_coordinate(lon)
        return False

    def _telephone(self, raw: Any, code_postal: str, warnings: list[FieldError]) -> str:
        if raw.__class__ is str:
            text = raw.strip()
            if _PHONE_OK.fullmatch(text):
                return text
        elif isinstance(raw, float) and raw.is_integer():
            text = str(int(raw))
        else:
            text = _as_text(raw)
        if not text:
            return ""
        number = self._phone_number(text, code_postal)
        if number:
            return number
        parts = [part for part in _PHONE_SEPARATORS.split(text) if part and any(ch.isdigit() for ch in part)]
        if len(parts) > 1:
            for part in parts:
                number = self._phone_number(part, code_postal)
                if number:
                    warnings.append(_issue("telephone", text, f"plusieurs numéros : seul {number} est conservé"))
                    return number
        digits = _PHONE_NOT_DIGITS.sub("", text)
        if len(digits) == 4 and _digits(digits) and digits[0] in "123":
            warnings.append(_issue("telephone", text, "numéro court (non accepté par le standard) : ignoré"))
        elif (digits.startswith("+") or digits.startswith("00")) and not digits.lstrip("+0").startswith(
            _PHONE_COUNTRY_CODES
        ):
            warnings.append(
                _issue(
                    "telephone",
                    text,
                    "indicatif étranger (le standard n'accepte que la France et l'outre-mer) : ignoré",
                )
            )
        else:
            warnings.append(_issue("telephone", text, "numéro de téléphone illisible : ignoré"))
        return ""

    @staticmethod
    def _phone_number(text: str, code_postal: str) -> str:
        text = text.replace("(0)", "")
        digits = _PHONE_NOT_DIGITS.sub("", text)
        if not digits or "+" in digits[1:]:
            return ""
        if digits.startswith("+") or digits.startswith("00"):
            body = digits[1:] if digits[0] == "+" else digits[2:]
            for country in _PHONE_COUNTRY_CODES:
                if body.startswith(country):
                    rest = body[len(country) :]
                    if rest.startswith("0") and len(rest) == 10:
                        rest = rest[1:]
                    number = f"+{country}{rest}"
                    return number if _PHONE_OK.fullmatch(number) else ""
            return ""
        if len(digits) == 11 and digits.startswith("33"):
            number = "+" + digits
            return number if _PHONE_OK.fullmatch(number) else ""
        short = _PHONE_SHORT.get(code_postal[:3]) if code_postal else None
        if short is not None and len(digits) == short[1]:
            return short[0] + digits
        if len(digits) == 9 and digits[0] != "0":
            digits = "0" + digits  # lost by a spreadsheet
        if len(digits) == 10 and digits[0] == "0" and digits[1] != "0":
            if digits.startswith("0508"):
                return "+508" + digits[4:]
            country = _PHONE_OVERSEAS.get(digits[:4], "+33")
            return country + digits[1:]
        return ""

    def _courriels(self, raw: Any, warnings: list[FieldError]) -> str:
        text = raw if raw.__class__ is str else _as_text(raw)
        text = text.strip().lower()
        if _EMAIL.fullmatch(text):
            return text
        kept: list[str] = []
        for part in _EMAIL_SPLIT.split(text):
            part = part.strip().strip("<>()[]\"'.")
            if part.startswith("mailto:"):
                part = part[7:]
            if not part:
                continue
            if _EMAIL.fullmatch(part):
                if part not in kept:
                    kept.append(part)
            else:
                warnings.append(_issue("courriels", part, "adresse électronique invalide : ignorée"))
        return schema.SEPARATOR.join(kept)

    def _urls(self, name: str, raw: Any, warnings: list[FieldError], *, multiple: bool) -> str:
        text = raw if raw.__class__ is str else _as_text(raw)
        text = text.strip()
        if _url_ok(text):
            return text
        parts = _URL_SPLIT.split(text) if multiple else [text]
        kept: list[str] = []
        rejected: list[str] = []
        for part in parts:
            part = part.strip().strip("<>\"'")
            if not part:
                continue
            url = part
            match = _URL_SCHEME_TYPO.match(url)
            if match:
                url = match.group(1).lower() + "://" + url[match.end() :]
            elif not _URL_SCHEME.match(url):
                url = "https://" + url
            if len(url) <= DB_MAX_LENGTHS.get(name, MAX_FIELD_LENGTH) and _url_ok(url):
                if url not in kept:
                    kept.append(url)
            else:
                rejected.append(part)
        if rejected:
            if len(rejected) == 1:
                warnings.append(_issue(name, rejected[0], "adresse web invalide : ignorée"))
            else:
                warnings.append(_issue(name, " ".join(rejected), "texte qui n'est pas une adresse web : ignoré"))
        if not multiple:
            return kept[0] if kept else ""
        return schema.SEPARATOR.join(kept)

    def _typologie(self, raw: Any, warnings: list[FieldError]) -> str:
        text = raw if raw.__class__ is str else _as_text(raw)
        cached = self._typologie_cache.get(text)
        if cached is None:
            found: list[str] = []
            unknown: list[str] = []
            lookup = self._typologies
            for part in _TYPOLOGIE_SPLIT.split(text):
                part = part.strip()
                if not part:
                    continue
                # A comma may separate codes ("ASSO, CCAS"), but some labels contain one: whole part first.
                pieces = [part] if fold(part) in lookup or "," not in part else part.split(",")
                for piece in pieces:
                    piece = piece.strip()
                    code = lookup.get(fold(piece))
                    if code is None:
                        if piece:
                            unknown.append(piece)
                    elif code not in found:
                        found.append(code)
            cached = (schema.SEPARATOR.join(found), tuple(unknown))
            if len(self._typologie_cache) > _CACHE_LIMIT:
                self._typologie_cache.clear()
            self._typologie_cache[text] = cached
        for part in cached[1]:
            warnings.append(_issue("typologie", part, "typologie inconnue : ignorée"))
        return cached[0]

    @staticmethod
    def _free_list(name: str, raw: Any, errors: list[FieldError]) -> str:
        text = raw if raw.__class__ is str else _as_text(raw)
        if len(text) > MAX_FIELD_LENGTH:
            errors.append(
                _issue(name, text, f"champ trop long : {len(text)} caractères, {MAX_FIELD_LENGTH} au maximum")
            )
            return ""
        if not text.isprintable():
            text = _SPACES.sub(" ", CONTROL_CHARS.sub("", text))
        kept: list[str] = []
        for part in text.split(schema.SEPARATOR):
            part = part.strip()
            if part and part not in kept:
                kept.append(part)
        return schema.SEPARATOR.join(kept)
