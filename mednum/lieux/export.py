"""Exporting the public lieux in the national standard v1.0.2: CSV, JSON and GeoJSON, streamed.

Rows are read with `.values_list()` and `iterator(chunk_size=2000)` in `id` order, so a million
lieux never sit in memory and two exports of the same data are byte-identical.

CSV: UTF-8, comma, the standard's 32 columns in its order, lists joined with `|`, an unknown SIRET
written `00000000000000` (the schema requires `pivot`), latitude/longitude written as stored
(shortest representation that reads back to the same number), dates ISO 8601. JSON: an array of
objects with the same values, latitude/longitude as numbers and empty values as null. GeoJSON: a
FeatureCollection of Points [longitude, latitude] whose properties are the other fields; lieux
without a position are left out of the GeoJSON only.

Demonstration lieux (`est_demo`) are never exported unless asked for.

`corrected_schema()` fixes the one known defect of the published schema (see
mednum/standard/data/PROVENANCE.md): its `formations_labels` pattern spells
"Étapes numériques(La Poste)" without the space that the standard's own vocabulary has.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator

from django.db.models import Q

from mednum.lieux.merge import PIVOT_UNKNOWN, model_field
from mednum.lieux.models import Lieu
from mednum.standard import schema

FORMATS = ("csv", "json", "geojson")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "geojson": "application/geo+json; charset=utf-8",
}
CHUNK_SIZE = 2000
ROWS_PER_WRITE = 500
LICENCE = "Licence Ouverte / Open Licence version 2.0 (etalab-2.0)"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence"

CORRECTED_SCHEMA_PATH = schema.DATA_DIR / "schema-v1.0.2-corrige.json"
_SCHEMA_DEFECT = "Étapes numériques\\(La Poste\\)"
_SCHEMA_FIX = "Étapes numériques \\(La Poste\\)"


class TerritoryError(ValueError):
    """An unknown territory code; the message is for the user, in French."""


# --- which lieux --------------------------------------------------------------------------------

TERRITORY_KINDS = ("region", "departement", "epci", "commune")
_CODE_PATTERNS = {
    "region": re.compile(r"^\d{2,3}$"),
    "departement": re.compile(r"^(\d{2,3}|2[AB])$", re.I),
    "epci": re.compile(r"^\d{9}$"),  # its SIREN number
    "commune": re.compile(r"^(\d{5}|2[AB]\d{3})$", re.I),
}
# How the messages name each kind: « Le code <de la région> … », « <Aucune région> ne porte … », and
# what a valid code is when it is not obvious.
_KIND_WORDS = {
    "region": ("de la région", "Aucune région", ""),
    "departement": ("du département", "Aucun département", ""),
    "epci": ("de l'EPCI", "Aucun EPCI", " (son numéro SIREN, 9 chiffres)"),
    "commune": ("de la commune", "Aucune commune", ""),
}


def territory(kind: str, code: str):
    """The territory object for a code, or TerritoryError with a French message."""
    from mednum.territoires.models import Commune, Departement, Epci, Region

    code = (code or "").strip().upper()
    model = {"region": Region, "departement": Departement, "epci": Epci, "commune": Commune}[kind]
    of_kind, no_such, expected = _KIND_WORDS[kind]
    if not _CODE_PATTERNS[kind].match(code):
        raise TerritoryError(f"Le code {of_kind} « {code} » n'est pas valide{expected}.")
    obj = model.objects.filter(pk=code).first()
    if obj is None:
        raise TerritoryError(f"{no_such} ne porte le code « {code} ».")
    return obj


# « La commune 69123 (Lyon) n'est pas dans le département 13 (Bouches-du-Rhône) ».
_KIND_NAMES = {
    "region": ("la région", "dans la région"),
    "departement": ("le département", "dans le département"),
    "epci": ("l'EPCI", "dans l'EPCI"),
    "commune": ("la commune", "dans la commune"),
}


def check_nested(given: dict) -> None:
    """Several territories must hold one another (a commune of the département asked, …); otherwise
    the download would be an empty file that looks like an answer: TerritoryError says which two differ."""
    from mednum.territoires.models import Commune

    commune, departement, region, epci = (given.get(k) for k in ("commune", "departement", "region", "epci"))
    pairs = []
    if commune is not None:
        pairs += [
            ("commune", "departement", departement is not None and commune.departement_id != departement.pk),
            ("commune", "region", region is not None and commune.region_id != region.pk),
            ("commune", "epci", epci is not None and commune.epci_id != epci.pk),
        ]
    if departement is not None and region is not None:
        pairs.append(("departement", "region", departement.region_id != region.pk))
    if epci is not None:  # an EPCI may straddle départements: at least one of its communes must be there
        for kind, obj in (("departement", departement), ("region", region)):
            if obj is not None:
                inside = Commune.objects.filter(epci_id=epci.pk, **{f"{kind}_id": obj.pk}).exists()
                pairs.append(("epci", kind, not inside))
    for inner, outer, apart in pairs:
        if apart:
            a, b = given[inner], given[outer]
            the = _KIND_NAMES[inner][0]
            raise TerritoryError(
                f"{the[0].upper()}{the[1:]} {a.pk} ({a.nom}) n'est pas {_KIND_NAMES[outer][1]} {b.pk} ({b.nom}) : "
                "indiquez un seul territoire, ou des territoires qui se contiennent."
            )


def public_lieux(*, region: str = "", departement: str = "", epci: str = "", commune: str = "", demo: bool = False):
    """The exported lieux: not merged into another, without demonstration data unless asked."""
    queryset = Lieu.objects.filter(fusionne_dans__isnull=True)
    if not demo:
        queryset = queryset.filter(est_demo=False)
    given = {
        kind: territory(kind, code)
        for kind, code in (("region", region), ("departement", departement), ("epci", epci), ("commune", commune))
        if code
    }
    check_nested(given)
    if region:
        queryset = queryset.filter(commune__region_id=given["region"].pk)
    if departement:
        queryset = queryset.filter(commune__departement_id=given["departement"].pk)
    if epci:
        queryset = queryset.filter(commune__epci_id=given["epci"].pk)
    if commune:
        code = given["commune"].pk
        # As on the commune's page: its lieux, then those of its INSEE code linked to no commune.
        queryset = queryset.filter(Q(commune_id=code) | Q(commune__isnull=True, code_insee=code))
    return queryset.order_by("id_standard")


COLUMNS = tuple(model_field(name) for name in schema.field_names())


def _rows(queryset) -> Iterator[tuple]:
    return queryset.values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE)


def format_number(value) -> str:
    return "" if value is None else repr(float(value))


def _converters():
    result = []
    for name in schema.field_names():
        if name in ("latitude", "longitude"):
            result.append(format_number)
        elif name == "date_maj":
            result.append(lambda v: v.isoformat() if isinstance(v, dt.date) else (v or ""))
        elif name == "pivot":
            result.append(lambda v: v or PIVOT_UNKNOWN)
        else:
            result.append(lambda v: "" if v is None else str(v))
    return result


def standard_rows(queryset) -> Iterator[list[str]]:
    """Each lieu as the 32 standard values, as the CSV writes them."""
    converters = _converters()
    for row in _rows(queryset):
        yield [convert(value) for convert, value in zip(converters, row)]


# --- writers ------------------------------------------------------------------------------------

def iter_csv(queryset) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(schema.field_names())
    count = 0
    for row in standard_rows(queryset):
        writer.writerow(row)
        count += 1
        if count % ROWS_PER_WRITE == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_object(names, row) -> dict:
    result = {}
    for name, value in zip(names, row):
        if name in ("latitude", "longitude"):
            result[name] = float(value) if value != "" else None
        else:
            result[name] = value if value != "" else None
    return result


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def iter_json(queryset) -> Iterator[str]:
    names = schema.field_names()
    parts, first = ["["], True
    for row in standard_rows(queryset):
        parts.append(("\n" if first else ",\n") + _dumps(_json_object(names, row)))
        first = False
        if len(parts) >= ROWS_PER_WRITE:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


def iter_geojson(queryset) -> Iterator[str]:
    names = schema.field_names()
    property_names = [n for n in names if n not in ("latitude", "longitude")]
    parts, first = ['{"type":"FeatureCollection","features":['], True
    for row in standard_rows(queryset.filter(latitude__isnull=False, longitude__isnull=False)):
        values = _json_object(names, row)
        latitude, longitude = values.pop("latitude"), values.pop("longitude")
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
            "properties": {n: values[n] for n in property_names},
        }
        parts.append(("\n" if first else ",\n") + _dumps(feature))
        first = False
        if len(parts) >= ROWS_PER_WRITE:
            yield "".join(parts)
            parts = []
    parts.append("\n]}\n")
    yield "".join(parts)


WRITERS = {"csv": iter_csv, "json": iter_json, "geojson": iter_geojson}


def iter_export(fmt: str, queryset) -> Iterator[str]:
    if fmt not in WRITERS:
        raise ValueError(f"Format inconnu : {fmt} (formats possibles : {', '.join(FORMATS)})")
    return WRITERS[fmt](queryset)


def write_export(fmt: str, path, queryset) -> int:
    """Write an export to a file; returns the number of bytes written."""
    size = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for chunk in iter_export(fmt, queryset):
            handle.write(chunk)
            size += len(chunk.encode("utf-8"))
    return size


def file_name(fmt: str, *, region: str = "", departement: str = "", epci: str = "", commune: str = "",
              day=None) -> str:
    day = day or dt.date.today()
    scope = ""
    for kind, code in (("region", region), ("departement", departement), ("epci", epci), ("commune", commune)):
        if code:
            scope += f"-{kind}-{code.upper()}"
    return f"lieux-mediation-numerique{scope}-{day.isoformat()}.{fmt}"


# --- the schema, corrected ------------------------------------------------------------------------

def corrected_schema() -> dict:
    """The published schema v1.0.2 with the `formations_labels` pattern fixed (one space)."""
    data = json.loads(schema.SCHEMA_PATH.read_text(encoding="utf-8"))
    for item in data["fields"]:
        if item["name"] == "formations_labels":
            pattern = item["constraints"]["pattern"]
            if _SCHEMA_DEFECT in pattern:
                item["constraints"]["pattern"] = pattern.replace(_SCHEMA_DEFECT, _SCHEMA_FIX)
    return data


def corrected_schema_text() -> str:
    return json.dumps(corrected_schema(), ensure_ascii=False, indent=2) + "\n"


def write_corrected_schema(path=CORRECTED_SCHEMA_PATH) -> None:
    path.write_text(corrected_schema_text(), encoding="utf-8")


def validate_csv(path, schema_path=CORRECTED_SCHEMA_PATH) -> list[str]:
    """Frictionless validation of a CSV export against the (corrected) schema: the error messages.

    frictionless is a test dependency (`pip install -e '.[test]'`), imported only here.
    """
    from pathlib import Path

    import frictionless

    path = Path(path).resolve()
    descriptor = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    report = frictionless.validate(
        path.name, schema=frictionless.Schema.from_descriptor(descriptor), basepath=str(path.parent)
    )
    return [f"ligne {getattr(e, 'row_number', '?')}, {getattr(e, 'field_name', '')}: {e.message}"
            for task in report.tasks for e in task.errors]
