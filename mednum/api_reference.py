"""The public API described for people, from its own OpenAPI document (`mednum.api`).

`operations()` gives what the open-data page (`/donnees/`) shows: each operation with its summary, an
example address and its parameters in plain French (type, bounds, default, accepted values). The page
is plain HTML, readable with a screen reader and without JavaScript; Swagger UI (`/api/v1/docs`)
remains for trying the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlencode

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

API_PREFIX = "/api/v1/"

# Example query of each operation (shown as a link); none for those that need a real identifier.
EXAMPLES = {
    "/api/v1/communes": {"q": "Bordeaux"},
    "/api/v1/lieux": {"commune": "33063", "services": "Aide aux démarches administratives"},
    "/api/v1/lieux.geojson": {"lat": "44.8378", "lon": "-0.5792", "rayon_km": "5"},
    "/api/v1/carte": {"bbox": "-0.70,44.78,-0.48,44.91", "z": "12"},
    "/api/v1/sante": {},
}

TYPES = {"string": "texte", "integer": "entier", "number": "nombre", "boolean": "booléen (true ou false)"}
PLACES = {"query": "adresse (après « ? »)", "path": "chemin"}
# Regular expressions of the API's parameters, said in words.
PATTERNS = {"^[0-9AB]{5}$": "code de 5 caractères"}


@dataclass
class Parameter:
    name: str
    place: str
    required: bool
    description: str
    kind: str  # the value's type and bounds, in French
    values: list[str] = field(default_factory=list)  # accepted values, when they are a list
    repeatable: bool = False


@dataclass
class Example:
    url: str  # encoded, for the link
    text: str  # as people read it


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: SafeString
    example: Example | None
    parameters: list[Parameter]


def code_spans(text: str) -> SafeString:
    """`text` as HTML, its `backquoted` parts in <code>."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text)))


def _number(value) -> str:
    return str(value).replace(".", ",")


def describe_schema(schema: dict) -> tuple[str, list[str], bool]:
    """(type and bounds in French, accepted values, repeatable) of a parameter's JSON Schema."""
    repeatable = schema.get("type") == "array"
    if repeatable:
        schema = schema.get("items", {})
    kind = TYPES.get(schema.get("type", ""), "texte")
    values = [str(value) for value in schema.get("enum", [])]
    if repeatable:
        return f"liste de valeurs ({kind}), paramètre répétable", values, True
    bounds = []
    if "minimum" in schema and "maximum" in schema:
        bounds.append(f"de {_number(schema['minimum'])} à {_number(schema['maximum'])}")
    elif "exclusiveMinimum" in schema and "maximum" in schema:
        bounds.append(f"plus de {_number(schema['exclusiveMinimum'])}, {_number(schema['maximum'])} au plus")
    elif "minimum" in schema:
        bounds.append(f"{_number(schema['minimum'])} au moins")
    elif "maximum" in schema:
        bounds.append(f"{_number(schema['maximum'])} au plus")
    if "maxLength" in schema:
        bounds.append(f"{schema['maxLength']} caractères au plus")
    if schema.get("pattern") in PATTERNS:
        bounds.append(PATTERNS[schema["pattern"]])
    default = schema.get("default")
    if default is not None and default is not False:
        bounds.append(f"{_number(default)} par défaut")
    return kind + (", " + ", ".join(bounds) if bounds else ""), values, False


def _example(path: str) -> Example | None:
    query = EXAMPLES.get(path)
    if query is None:
        return None
    if not query:
        return Example(path, path)
    return Example(f"{path}?{urlencode(query)}", path + "?" + "&".join(f"{k}={v}" for k, v in query.items()))


@lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    """Every operation of the API, in the order of its OpenAPI document."""
    from mednum.api import api

    document = api.get_openapi_schema(path_prefix=API_PREFIX)
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            parameters = []
            for parameter in operation.get("parameters", []):
                kind, values, repeatable = describe_schema(parameter.get("schema", {}))
                description = parameter.get("description") or ""
                if parameter["in"] == "path" and not description:
                    description = "Identifiant numérique du lieu, ou l'adresse de sa fiche (slug)."
                parameters.append(Parameter(
                    name=parameter["name"], place=PLACES.get(parameter["in"], parameter["in"]),
                    required=bool(parameter.get("required")), description=description, kind=kind,
                    values=values, repeatable=repeatable,
                ))
            found.append(Operation(
                method=method.upper(), path=path, summary=operation.get("summary") or "",
                description=code_spans(operation.get("description") or ""), example=_example(path),
                parameters=parameters,
            ))
    return tuple(found)
