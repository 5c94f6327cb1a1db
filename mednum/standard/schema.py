"""The national data standard for lieux de médiation numérique (v1.0.2), read from its data files.

Everything about the standard that code needs (field order, required fields, enumerations, the bit
assigned to each enumerated value for fast filtering) comes from `data/`, so the standard's next
version is a data change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
SCHEMA_PATH = DATA_DIR / "schema-v1.0.2.json"
SEPARATOR = "|"


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    type: str
    required: bool
    pattern: str | None
    max_length: int | None


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _enumerations_file() -> dict:
    return json.loads((DATA_DIR / "enumerations-v1.json").read_text(encoding="utf-8"))


@cache
def fields() -> tuple[Field, ...]:
    result = []
    for item in schema()["fields"]:
        constraints = item.get("constraints", {})
        result.append(
            Field(
                name=item["name"],
                title=item.get("title", item["name"]),
                type=item.get("type", "string"),
                required=bool(constraints.get("required")),
                pattern=constraints.get("pattern"),
                max_length=constraints.get("maxLength"),
            )
        )
    return tuple(result)


@cache
def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields())


def enumerations() -> dict[str, list[str]]:
    """Enumerated multi-valued fields → their allowed values, in the standard's order."""
    return _enumerations_file()["enumerations"]


def typologies() -> dict[str, str]:
    """Structure typology codes → labels."""
    return _enumerations_file()["typologies"]


def spelling_variants(field: str) -> dict[str, str]:
    """Accepted variant spellings of a field's values → the spelling mednum writes."""
    return _enumerations_file()["spelling_variants"].get(field, {})


# Multi-valued free-text fields (no enumeration) that also use the `|` separator.
LIST_FIELDS_FREE = ("typologie", "courriels", "site_web", "autres_formations_labels")


@cache
def bits(field: str) -> dict[str, int]:
    """Value → bit (1 << position) for an enumerated field; stable as long as values are only appended."""
    return {value: 1 << position for position, value in enumerate(enumerations()[field])}


def mask_of(field: str, values) -> int:
    table = bits(field)
    mask = 0
    for value in values:
        mask |= table.get(value, 0)
    return mask


def values_of(field: str, mask: int) -> list[str]:
    return [value for value, bit in bits(field).items() if mask & bit]


def split(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in str(value).split(SEPARATOR) if part.strip()]


def join(values) -> str:
    return SEPARATOR.join(values)
