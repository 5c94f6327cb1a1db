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

from mednum.lieux import hours, merge
from mednum.lieux.models import PositionPrecision
from mednum.standard import schema
from mednum.standard.communes import CommuneIndex, CommuneInfo, commune_key
from mednum.standard.normalise import Normaliser, format_coordinate

COORDINATES = set(merge.COORDINATES)
# Lieu columns that place the lieu: editing one of them makes a position found from the old address (or
# the old commune's centre) wrong.
ADDRESS_COLUMNS = {"adresse", "code_postal", "commune_nom", "code_insee"}
# Edits of these need the communes (to find the commune, and to check a position against it).
NEEDS_COMMUNES = ADDRESS_COLUMNS | COORDINATES


@dataclass
class Edit:
    """The standard values of an edited lieu, or what is wrong with the edit."""

    values: dict[str, str]
    # Lieu column (form field) → French messages; "" for the record as a whole.
    errors: dict[str, list[str]] = field(default_factory=dict)
    # The commune the values name (None when unknown or not looked up).
    commune: CommuneInfo | None = None
    edited: set[str] = field(default_factory=set)
    # What to check about edited values that are kept as typed (« position à 215 km de la commune »):
    # said to the moderator once the lieu is saved, not an obstacle. Same keys as `errors`.
    notices: dict[str, list[str]] = field(default_factory=dict)


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
    if communes is None and edited & NEEDS_COMMUNES:
        communes = CommuneIndex.from_db()
    typed = standard_record(columns)
    record = dict(typed)
    # A new commune name or postcode with the old INSEE code: the commune is found again from what
    # was typed (the normaliser trusts an INSEE code it knows, and the lieu would stay in the old one).
    commune_retyped = bool(edited & {"commune_nom", "code_postal"}) and "code_insee" not in edited
    if commune_retyped:
        record["code_insee"] = ""
    result = Normaliser(communes=communes, strict_enums=True).normalise(record)
    edit = Edit(values=result.values, commune=result.commune, edited=edited)
    for issue in result.errors:
        _add(edit, issue)
    for issue in result.warnings:
        name = issue.field
        if merge.model_field(name) in edited:
            _add(edit, issue, notice=_same(name, typed.get(name), result.values.get(name)))
    if "horaires" in edited and typed.get("horaires"):
        reason = hours.erreur(str(typed["horaires"]))
        if reason:
            _add_message(edit, "horaires", f"{reason} Écrivez-les au format d'OpenStreetMap, par exemple "
                                           "« Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00 ».")
    if commune_retyped and communes is not None and not result.values.get("code_insee"):
        _add_message(edit, "commune_nom", "Commune introuvable avec ce nom et ce code postal : vérifiez-les, ou "
                                          "saisissez le code INSEE de la commune.")
    if "commune_nom" in edited and result.commune is not None and not _names_match(
            str(typed.get("commune") or ""), result.commune.nom):
        # The commune was found by its code or postcode alone: the name typed is shown for it. Said, not
        # refused: sources write the names of former communes (« Meythet - Annecy ») on purpose.
        _add_message(edit, "commune_nom", f"« {typed.get('commune')} » n'est pas le nom de la commune trouvée "
                                          f"par le code postal ou le code INSEE ({result.commune.nom}, "
                                          f"{result.commune.code}) : à vérifier.", notice=True)
    if edited & COORDINATES:
        latitude, longitude = (str(typed.get(name) or "").strip() for name in ("latitude", "longitude"))
        if bool(latitude) != bool(longitude):
            _add_message(edit, "latitude" if not latitude else "longitude",
                         "Saisissez la latitude et la longitude, ou aucune des deux.")
    return edit


def _names_match(typed: str, nom: str) -> bool:
    """« Sete », « SÈTE (34) », « Paris 15e Arrondissement », « Bordeaux Cedex » are the communes' names."""
    typed_key, key = commune_key(typed), commune_key(nom)
    return bool(typed_key) and (typed_key == key or typed_key.startswith(key + " ") or key.startswith(typed_key + " "))


def _same(name: str, typed: Any, normalised: Any) -> bool:
    """Whether the normaliser kept what was typed in the field `name` (a warning about a value kept as
    typed, such as « pivot non renseigné » for an empty pivot, only informs)."""
    typed = "" if typed is None else str(typed).strip()
    normalised = "" if normalised is None else str(normalised).strip()
    if name == "pivot":
        return (typed if merge.is_real_pivot(typed) else "") == (normalised if merge.is_real_pivot(normalised) else "")
    if name in COORDINATES:
        try:
            # Compared as stored: 6 decimals (about 10 cm).
            return format_coordinate(float(typed)) == format_coordinate(float(normalised))
        except ValueError:
            return typed == normalised
    return typed == normalised


def _add(edit: Edit, issue, *, notice: bool = False) -> None:
    column = merge.model_field(issue.field) if issue.field in schema.field_names() else ""
    message = issue.reason[:1].upper() + issue.reason[1:]
    if issue.value and issue.value not in message:
        message += f" (« {issue.value} »)"
    _add_message(edit, column, message + ".", notice=notice)


def _add_message(edit: Edit, column: str, message: str, *, notice: bool = False) -> None:
    messages = (edit.notices if notice else edit.errors).setdefault(column, [])
    if message not in messages:
        messages.append(message)


def apply(lieu, edit: Edit, *, precision_chosen: bool = False) -> list[str]:
    """Write a checked edit into the lieu (not saved): columns, masks, slug, commune link, position.
    Returns the columns that changed.

    Position: typed by hand, it is stored as the normaliser writes it (6 decimals) and becomes a position
    given for the lieu (precision « source »), unless the precision was chosen in the same edit. A
    position found from the old address or the old commune's centre does not stay when the address or
    the commune changes: the lieu goes to its new commune's centre (precision « commune »), or has no
    position when that is unknown, as an import without geocoder would do."""
    values = dict(edit.values)
    edited = edit.edited
    typed_position = bool(edited & COORDINATES)
    stale = (not typed_position and bool(edited & ADDRESS_COLUMNS)
             and lieu.position_precision in (PositionPrecision.ADRESSE, PositionPrecision.COMMUNE))
    if stale:
        commune = edit.commune
        if commune is not None and commune.latitude is not None and commune.longitude is not None:
            values["latitude"], values["longitude"] = format_coordinate(commune.latitude), format_coordinate(commune.longitude)
            precision = PositionPrecision.COMMUNE
        else:
            values["latitude"] = values["longitude"] = ""
            precision = PositionPrecision.AUCUNE
    elif not typed_position:
        values["latitude"] = "" if lieu.latitude is None else repr(float(lieu.latitude))
        values["longitude"] = "" if lieu.longitude is None else repr(float(lieu.longitude))
        precision = lieu.position_precision
    else:
        precision = lieu.position_precision if precision_chosen else PositionPrecision.SOURCE
    changed = merge.apply_values(lieu, values, keep_id=False)
    if not values["latitude"] or not values["longitude"]:
        if lieu.latitude is not None or lieu.longitude is not None:
            lieu.latitude = lieu.longitude = None
            changed += ["latitude", "longitude"]
        precision = PositionPrecision.AUCUNE
    if lieu.position_precision != precision:
        lieu.position_precision = precision
        changed.append("position_precision")
    return changed
