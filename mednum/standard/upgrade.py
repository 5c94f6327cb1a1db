"""Upgrade of records written in the legacy standard v0.1 to the field names and vocabulary of v1.

The correspondence itself is data: `data/upgrade-v0.1-to-v1.json` (old value → new values, each in
its v1 field). `upgrade_v0_record` only renames fields, turns the `;` separator into `|` and looks
old values up; the result then goes through `Normaliser.normalise` like any v1 record. An old value
missing from the table is passed on unchanged to its default v1 field, so that the normaliser
reports it (or keeps it, for free-text fields).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from mednum.standard.schema import DATA_DIR, SEPARATOR
from mednum.standard.text import fold

UPGRADE_TABLE_PATH = DATA_DIR / "upgrade-v0.1-to-v1.json"

# Fields that exist only in v0.1, and only in v1: a file with the former and none of the latter is v0.1.
V0_ONLY_FIELDS = frozenset(
    {
        "publics_accueillis",
        "conditions_acces",
        "labels_nationaux",
        "labels_autres",
        "courriel",
        "cle_ban",
        "accessibilite",
    }
)
V1_ONLY_FIELDS = frozenset(
    {
        "publics_specifiquement_adresses",
        "prise_en_charge_specifique",
        "frais_a_charge",
        "dispositif_programmes_nationaux",
        "formations_labels",
        "autres_formations_labels",
        "modalites_acces",
        "courriels",
        "itinerance",
        "fiche_acces_libre",
    }
)
_ACCESLIBRE = re.compile(r"^(?:https?://)?(?:www\.)?acceslibre\.beta\.gouv\.fr/\S*$", re.IGNORECASE)


def looks_like_v0(fieldnames: Iterable[str]) -> bool:
    """True when these column names are those of a v0.1 file (a v0-only column and no v1-only one)."""
    names = {name.strip() for name in fieldnames if name}
    return bool(names & V0_ONLY_FIELDS) and not names & V1_ONLY_FIELDS


class _Table:
    def __init__(self, data: dict):
        self.separator = re.compile(r"\s*[" + re.escape(data.get("separateur_v0", ";")) + r"|]\s*")
        self.renamed: dict[str, str] = data.get("champs_renommes", {})
        self.dropped = frozenset(data.get("champs_supprimes", ()))
        self.free_lists = {
            name: re.compile(r"\s*(?:" + pattern + r"|\|)\s*")
            for name, pattern in data.get("listes_libres", {}).items()
            if not name.startswith("_")
        }
        self.defaults: dict[str, str] = {}
        self.values: dict[str, dict[str, dict[str, list[str]]]] = {}
        for old_field, table in data["valeurs"].items():
            self.defaults[old_field] = table.get("_cible_par_defaut", old_field)
            lookup: dict[str, dict[str, list[str]]] = {}
            for old_value, targets in table.items():
                if old_value.startswith("_"):
                    continue
                targets = {name: list(vals) for name, vals in targets.items()}
                lookup[fold(old_value)] = targets
                if " : " in old_value:
                    lookup.setdefault(fold(old_value.split(" : ", 1)[0]), targets)
            self.values[old_field] = lookup
        self.cache: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def convert(self, old_field: str, raw: str) -> list[tuple[str, str]]:
        """(v1 field, v1 value) pairs for one v0 cell."""
        cached = self.cache.get((old_field, raw))
        if cached is not None:
            return cached
        lookup = self.values[old_field]
        result: list[tuple[str, str]] = []
        for part in self.separator.split(raw.strip()):
            if not part:
                continue
            targets = lookup.get(fold(part))
            if targets is None and " : " in part:
                targets = lookup.get(fold(part.split(" : ", 1)[0]))
            if targets is None:
                result.append((self.defaults[old_field], part))
            else:
                result.extend((name, value) for name, values in targets.items() for value in values)
        if len(self.cache) > 20_000:
            self.cache.clear()
        self.cache[(old_field, raw)] = result
        return result


@cache
def _table() -> _Table:
    return _Table(json.loads(UPGRADE_TABLE_PATH.read_text(encoding="utf-8")))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()


def upgrade_v0_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A v0.1 record (field names and vocabulary of schema v0.1.1) → a record keyed by v1 field names.

    Values not concerned by the upgrade (coordinates, dates, names…) are passed on untouched.
    `cle_ban` is dropped (it stays in the raw record kept by the import); `accessibilite` becomes
    `fiche_acces_libre` when it is an acceslibre address and is dropped otherwise.
    """
    table = _table()
    result: dict[str, Any] = {}
    added: dict[str, list[str]] = {}
    for key, value in record.items():
        if key in table.dropped:
            continue
        if key in table.values:
            text = _text(value)
            if text:
                for name, new_value in table.convert(key, text):
                    added.setdefault(name, []).append(new_value)
            continue
        if key == "accessibilite":
            text = _text(value)
            if text and _ACCESLIBRE.match(text) and not _text(record.get("fiche_acces_libre")):
                result["fiche_acces_libre"] = text
            continue
        name = table.renamed.get(key, key)
        splitter = table.free_lists.get(name)
        if splitter is not None and isinstance(value, str) and value:
            value = SEPARATOR.join(part for part in splitter.split(value.strip()) if part)
        if name in result and _text(result[name]) and name != key:
            continue  # a v1 column of the same name already filled wins over the renamed v0 one
        result[name] = value
    for name, values in added.items():
        existing = [part.strip() for part in _text(result.get(name)).split(SEPARATOR) if part.strip()]
        merged = list(dict.fromkeys(existing + values))
        result[name] = SEPARATOR.join(merged)
    return result
