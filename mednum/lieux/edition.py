"""A lieu edited by hand (the administration), checked and written as an import would write it.

The search filters read bit masks computed from the lists, the lieu pages and the export read the
standard's forms of phones, e-mails and lists, and a lieu is linked to its commune by INSEE code. An
import takes care of all that through the normaliser (`mednum.standard.normalise`); an edit goes
through the same normaliser here, then through `merge.apply_values`, which sets the columns, the masks,
the slug and the commune link as an import does. So an edited lieu exports a row that imports back
unchanged.

What the normaliser would refuse is an error on its field. What it would change or drop with a warning
(an unreadable phone dropped, a postcode extracted from a longer text…) is an error too when the field
was edited: nothing typed by hand is silently changed away. A warning about a value kept as it is (« pivot
non renseigné » for an empty pivot), or about a field that was not edited, does not stop the edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mednum.lieux import merge
from mednum.lieux.models import PositionPrecision
from mednum.standard import schema
from mednum.standard.communes import CommuneIndex
from mednum.standard.normalise import Normaliser

COORDINATES = set(merge.COORDINATES)


@dataclass
class Edit:
    """The standard values of an edited lieu, or what is wrong with the edit."""

    values: dict[str, str]
    # Lieu column (form field) → French messages; "" for the record as a whole.
    errors: dict[str, list[str]] = field(default_factory=dict)


def standard_record(columns: Mapping[str, Any]) -> dict[str, Any]:
    """The standard record of a lieu's columns (`Lieu` field names, as a form cleans them)."""
    record: dict[str, Any] = {}
    for name in schema.field_names():
        value = columns.get(merge.model_field(name))
        if value is None:
            value = ""
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, float):
            value = repr(value)
        record[name] = value
    return record


def check(columns: Mapping[str, Any], edited: Iterable[str], *, communes: CommuneIndex | None = None) -> Edit:
    """Normalise the lieu's `columns`; `edited` names the columns changed by hand (form field names)."""
    edited = set(edited)
    if edited & COORDINATES:
        edited |= COORDINATES  # a position is one value: a warning on either coordinate concerns both
    if communes is None:
        communes = CommuneIndex.from_db()
    typed = standard_record(columns)
    result = Normaliser(communes=communes, strict_enums=True).normalise(typed)
    edit = Edit(values=result.values)
    for issue in result.errors:
        _add(edit, issue)
    for issue in result.warnings:
        name = issue.field
        if merge.model_field(name) in edited and not _same(name, typed.get(name), result.values.get(name)):
            _add(edit, issue)
    return edit


def _same(name: str, typed: Any, normalised: Any) -> bool:
    """Whether the normaliser kept what was typed in the field `name` (a warning about a value kept as
    typed, such as « pivot non renseigné » for an empty pivot, only informs)."""
    typed = "" if typed is None else str(typed).strip()
    normalised = "" if normalised is None else str(normalised).strip()
    if name == "pivot":
        return (typed if merge.is_real_pivot(typed) else "") == (normalised if merge.is_real_pivot(normalised) else "")
    if name in COORDINATES:
        try:
            return float(typed) == float(normalised)
        except ValueError:
            return typed == normalised
    return typed == normalised


def _add(edit: Edit, issue) -> None:
    column = merge.model_field(issue.field) if issue.field in schema.field_names() else ""
    message = issue.reason[:1].upper() + issue.reason[1:]
    if issue.value and issue.value not in message:
        message += f" (« {issue.value} »)"
    message += "."
    messages = edit.errors.setdefault(column, [])
    if message not in messages:
        messages.append(message)


def apply(lieu, values: Mapping[str, str], *, moved: bool = False) -> list[str]:
    """Write an edit's standard `values` into the lieu (not saved): columns, masks, slug, commune link.

    The position is the one already set on the lieu (the normaliser only checked it). `moved`: it was
    typed by hand, so it is now a position given for the lieu (precision « source ») unless none is left.
    Returns the columns that changed."""
    latitude, longitude = lieu.latitude, lieu.longitude
    values = dict(values)
    values["latitude"] = "" if latitude is None else repr(float(latitude))
    values["longitude"] = "" if longitude is None else repr(float(longitude))
    changed = merge.apply_values(lieu, values, keep_id=False)
    if latitude is None or longitude is None:
        lieu.latitude = lieu.longitude = None
        precision = PositionPrecision.AUCUNE
    else:
        precision = PositionPrecision.SOURCE if moved else lieu.position_precision
    if lieu.position_precision != precision:
        lieu.position_precision = precision
        changed.append("position_precision")
    return changed
