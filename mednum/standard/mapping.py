"""Column mappings: how a source's own columns become the fields of the standard.

A mapping is a JSON file (format described in docs/mapping.md, examples in
mednum/imports/mappings/). `Mapping.load(path)` reads and checks it (a `MappingError` with a French
message says what is wrong and where); `mapping.apply(raw)` turns one raw source record into a record
keyed by the standard's field names, which then goes through `Normaliser.normalise`.

Each standard field is filled from one of: a column, several columns joined, a template, a fixed
value, a hash of columns (for `id`); the text can then be transformed (regex extraction, regex
replacements, date format, list separator, value table, default), and enumerated values can be
derived from terms found in columns ("règles"). Values found by several means are merged with `|`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import Any

from mednum.standard import schema
from mednum.standard.text import composed, fold, fold_phrase

FORMAT = "mednum/correspondance-1"
# Fields whose value is a `|`-separated list: the only ones where rules and tables may add values.
LIST_FIELDS = frozenset(schema.enumerations()) | frozenset(schema.LIST_FIELDS_FREE)
SOURCE_KEYS = ("colonne", "colonnes", "modele", "valeur", "hachage")
TRANSFORM_KEYS = (
    "separateur",
    "extraire",
    "remplacer",
    "format_date",
    "separateur_source",
    "correspondances",
    "defaut",
    "prefixe",
)
FIELD_KEYS = frozenset(SOURCE_KEYS + TRANSFORM_KEYS + ("regles",))
RULE_KEYS = frozenset({"valeur", "colonnes", "contient", "egal", "sauf", "si"})
CONDITION_KEYS = frozenset({"colonnes", "contient", "egal", "sauf"})
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class MappingError(Exception):
    """A mapping file that cannot be used; the message (in French) says why."""


def _cell(raw: AbcMapping[str, Any], column: str) -> str:
    value = raw.get(column)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))
    return str(value).strip()


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class _Row:
    """Per-row cache of folded column texts, shared by the rules of all fields."""

    __slots__ = ("raw", "phrases", "words")

    def __init__(self, raw: AbcMapping[str, Any]):
        self.raw = raw
        self.phrases: dict[str, str] = {}
        self.words: dict[str, str] = {}

    def phrase(self, column: str) -> str:
        text = self.phrases.get(column)
        if text is None:
            text = self.phrases[column] = fold_phrase(_cell(self.raw, column))
        return text

    def word_key(self, column: str) -> str:
        text = self.words.get(column)
        if text is None:
            text = self.words[column] = fold(_cell(self.raw, column))
        return text


def _folded_terms(terms: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(folded for term in terms if (folded := fold_phrase(term))))


def _contains_any(text: str, terms: tuple[str, ...]) -> bool:
    """True when one of `terms` occurs in `text` at the start of a word (both folded)."""
    find = text.find
    for term in terms:
        index = find(term)
        while index != -1:
            if index == 0 or not text[index - 1].isalnum():
                return True
            index = find(term, index + 1)
    return False


class _Condition:
    __slots__ = ("columns", "contains", "equals", "unless")

    def __init__(self, spec: dict, where: str):
        unknown = set(spec) - CONDITION_KEYS - {"valeur", "si"}
        if unknown:
            raise MappingError(
                f"{where} : clé « {sorted(unknown)[0]} » inconnue (clés possibles : colonnes, contient, egal, sauf)"
            )
        columns = spec.get("colonnes")
        if isinstance(columns, str):
            columns = [columns]
        if not columns or not _is_text_list(columns):
            raise MappingError(f"{where} : « colonnes » doit être une liste de noms de colonnes")
        for key in ("contient", "egal", "sauf"):
            if key in spec and not _is_text_list(spec[key]):
                raise MappingError(f"{where} : « {key} » doit être une liste de textes")
        if not spec.get("contient") and not spec.get("egal"):
            raise MappingError(f"{where} : une règle doit avoir « contient » ou « egal »")
        self.columns: list[str] = columns
        self.contains = _folded_terms(spec.get("contient", []))
        self.equals = frozenset(fold(term) for term in spec.get("egal", []))
        self.unless = _folded_terms(spec.get("sauf", []))

    def matches(self, row: _Row) -> bool:
        if self.unless:
            for column in self.columns:
                if _contains_any(row.phrase(column), self.unless):
                    return False
        for column in self.columns:
            if self.equals and row.word_key(column) in self.equals:
                return True
            if self.contains:
                text = row.phrase(column)
                if text and _contains_any(text, self.contains):
                    return True
        return False


class _Rule:
    __slots__ = ("value", "conditions")

    def __init__(self, spec: Any, field: str, index: int):
        where = f"champ « {field} », règle n° {index}"
        if not isinstance(spec, dict):
            raise MappingError(f"{where} : une règle doit être un objet JSON")
        spec = {k: v for k, v in spec.items() if not k.startswith("_")}
        unknown = set(spec) - RULE_KEYS
        if unknown:
            raise MappingError(
                f"{where} : clé « {sorted(unknown)[0]} » inconnue (clés possibles : {', '.join(sorted(RULE_KEYS))})"
            )
        value = spec.get("valeur")
        if not isinstance(value, str) or not value.strip():
            raise MappingError(f"{where} : « valeur » (la valeur du standard à produire) manque")
        self.value = _check_value(field, value.strip(), where)
        if "si" in spec:
            if not isinstance(spec["si"], list) or not spec["si"]:
                raise MappingError(f"{where} : « si » doit être une liste de conditions")
            if set(spec) & CONDITION_KEYS:
                raise MappingError(f"{where} : utiliser soit « si », soit colonnes/contient/egal/sauf, pas les deux")
            self.conditions = [
                _Condition({k: v for k, v in item.items() if not k.startswith("_")}, f"{where}, condition n° {n}")
                if isinstance(item, dict)
                else _fail(f"{where}, condition n° {n} : une condition doit être un objet JSON")
                for n, item in enumerate(spec["si"], 1)
            ]
        else:
            self.conditions = [_Condition(spec, where)]

    def matches(self, row: _Row) -> bool:
        for condition in self.conditions:
            if condition.matches(row):
                return True
        return False


def _fail(message: str):
    raise MappingError(message)


def _check_value(field: str, value: str, where: str) -> str:
    """A target value checked against the field's vocabulary, in the spelling mednum writes."""
    if field in schema.enumerations():
        allowed = {fold(v): v for v in schema.enumerations()[field]}
        for variant, canonical in schema.spelling_variants(field).items():
            allowed.setdefault(fold(variant), canonical)
        canonical = allowed.get(fold(value))
        if canonical is None:
            raise MappingError(
                f"{where} : valeur « {value} » inconnue pour {field} "
                f"(valeurs possibles : {', '.join(schema.enumerations()[field])})"
            )
        return canonical
    if field == "typologie":
        codes = {fold(code): code for code in schema.typologies()}
        code = codes.get(fold(value))
        if code is None:
            raise MappingError(
                f"{where} : typologie « {value} » inconnue "
                "(codes de la typologie des structures attendus, ex. ASSO, BIB, CCAS)"
            )
        return code
    return value


class _FieldSpec:
    def __init__(self, field: str, spec: Any):
        where = f"champ « {field} »"
        if isinstance(spec, str):
            spec = {"colonne": spec}
        if not isinstance(spec, dict):
            raise MappingError(f'{where} : objet JSON attendu (par exemple {{"colonne": "Nom"}})')
        spec = {k: v for k, v in spec.items() if not k.startswith("_")}
        unknown = set(spec) - FIELD_KEYS
        if unknown:
            raise MappingError(
                f"{where} : clé « {sorted(unknown)[0]} » inconnue (clés possibles : {', '.join(sorted(FIELD_KEYS))})"
            )
        sources = [key for key in SOURCE_KEYS if key in spec]
        if len(sources) > 1:
            raise MappingError(
                f"{where} : une seule source parmi {', '.join(SOURCE_KEYS)} (trouvé : {', '.join(sources)})"
            )
        if not sources and "regles" not in spec:
            raise MappingError(
                f"{where} : indiquer une colonne (« colonne »), une valeur fixe (« valeur »), un modèle, "
                "des colonnes ou des règles"
            )
        self.field = field
        self.kind = sources[0] if sources else None
        self.columns: list[str] = []
        self.constant = ""
        self.template = ""
        self.separator = spec.get("separateur", " ")
        if not isinstance(self.separator, str):
            raise MappingError(f"{where} : « separateur » doit être un texte")
        if self.kind == "colonne":
            if not isinstance(spec["colonne"], str) or not spec["colonne"].strip():
                raise MappingError(f"{where} : « colonne » doit être le nom d'une colonne du fichier source")
            self.columns = [spec["colonne"]]
        elif self.kind in ("colonnes", "hachage"):
            if not spec[self.kind] or not _is_text_list(spec[self.kind]):
                raise MappingError(f"{where} : « {self.kind} » doit être une liste de noms de colonnes")
            if self.kind == "hachage" and field != "id":
                raise MappingError(f"{where} : « hachage » n'est possible que pour le champ id")
            self.columns = list(spec[self.kind])
        elif self.kind == "modele":
            if not isinstance(spec["modele"], str):
                raise MappingError(f'{where} : « modele » doit être un texte, ex. "{{Rue}}, {{Ville}}"')
            self.template = spec["modele"]
            self.columns = _PLACEHOLDER.findall(self.template)
            if not self.columns:
                raise MappingError(f'{where} : le modèle ne cite aucune colonne entre accolades, ex. "{{Rue}}"')
        elif self.kind == "valeur":
            if not isinstance(spec["valeur"], (str, int, float)):
                raise MappingError(f"{where} : « valeur » doit être un texte")
            self.constant = str(spec["valeur"])
            if field in schema.enumerations() or field == "typologie":
                self.constant = schema.join(_check_value(field, v, where) for v in schema.split(self.constant))

        self.extract = None
        if "extraire" in spec:
            self.extract = _compile(spec["extraire"], f"{where}, « extraire »")
        self.replacements: list[tuple[re.Pattern, str]] = []
        if "remplacer" in spec:
            items = spec["remplacer"]
            if isinstance(items, dict):
                items = [items]
            if not isinstance(items, list):
                raise MappingError(f'{where} : « remplacer » doit être une liste de {{"motif": …, "par": …}}')
            for n, item in enumerate(items, 1):
                if isinstance(item, list) and len(item) == 2 and _is_text_list(item):
                    pattern, replacement = item
                elif (
                    isinstance(item, dict)
                    and isinstance(item.get("motif"), str)
                    and isinstance(item.get("par", ""), str)
                ):
                    pattern, replacement = item["motif"], item.get("par", "")
                else:
                    raise MappingError(f'{where}, « remplacer » n° {n} : {{"motif": "…", "par": "…"}} attendu')
                compiled = _compile(pattern, f"{where}, « remplacer » n° {n}")
                try:  # the replacement's « \1 », « \g<nom> »… are checked now, not on the first matching row
                    compiled.sub(replacement, "")
                except (re.error, IndexError) as exc:
                    raise MappingError(f"{where}, « remplacer » n° {n} : « par » invalide ({exc})") from None
                self.replacements.append((compiled, replacement))
        self.date_cache: dict[str, str] = {}
        self.date_format = spec.get("format_date")
        if self.date_format is not None:
            _check_date_format(self.date_format, where)
        self.source_separator = None
        if "separateur_source" in spec:
            value = spec["separateur_source"]
            if not isinstance(value, str) or not value:
                raise MappingError(f'{where} : « separateur_source » doit être un texte non vide, ex. ";"')
            if field not in LIST_FIELDS:
                raise MappingError(f"{where} : « separateur_source » n'a de sens que pour un champ à valeurs multiples")
            self.source_separator = value
        self.table: dict[str, list[str]] | None = None
        if "correspondances" in spec:
            table = spec["correspondances"]
            if not isinstance(table, dict):
                raise MappingError(
                    f'{where} : « correspondances » doit être un objet {{"valeur source": "valeur du standard"}}'
                )
            self.table = {}
            for source_value, target in table.items():
                if source_value.startswith("_"):
                    continue
                if target is None or target == "":
                    targets = []
                elif isinstance(target, str):
                    targets = [target]
                elif _is_text_list(target):
                    targets = target
                else:
                    raise MappingError(
                        f"{where} : correspondance de « {source_value} » : texte, liste de textes ou null attendu"
                    )
                self.table[fold(source_value)] = [
                    _check_value(field, t, f"{where}, correspondance de « {source_value} »") for t in targets
                ]
        self.default = spec.get("defaut", "")
        if not isinstance(self.default, str):
            raise MappingError(f"{where} : « defaut » doit être un texte")
        self.prefix = spec.get("prefixe", "")
        if not isinstance(self.prefix, str):
            raise MappingError(f"{where} : « prefixe » doit être un texte")
        self.rules: list[_Rule] = []
        if "regles" in spec:
            if field not in LIST_FIELDS and field != "itinerance":
                raise MappingError(f"{where} : les règles ne s'appliquent qu'aux champs à valeurs multiples")
            if not isinstance(spec["regles"], list):
                raise MappingError(f"{where} : « regles » doit être une liste")
            self.rules = [_Rule(rule, field, n) for n, rule in enumerate(spec["regles"], 1)]
            for rule in self.rules:
                for condition in rule.conditions:
                    self.columns.extend(c for c in condition.columns if c not in self.columns)
        self.passthrough = (
            self.kind == "colonne"
            and self.extract is None
            and not self.replacements
            and self.date_format is None
            and self.source_separator is None
            and self.table is None
            and not self.default
            and not self.prefix
            and not self.rules
        )

    def value(self, row: _Row) -> Any:
        raw = row.raw
        if self.passthrough:
            return raw.get(self.columns[0])
        kind = self.kind
        if kind == "colonne":
            text = _cell(raw, self.columns[0])
        elif kind == "colonnes":
            text = self.separator.join(part for column in self.columns if (part := _cell(raw, column)))
        elif kind == "modele":
            text = _PLACEHOLDER.sub(lambda m: _cell(raw, m.group(1)), self.template).strip()
        elif kind == "valeur":
            text = self.constant
        elif kind == "hachage":
            parts = [fold_phrase(_cell(raw, column)) for column in self.columns]
            text = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16] if any(parts) else ""
        else:
            text = ""
        if text and self.extract is not None:
            match = self.extract.search(text)
            found = (match.group(1) if match.groups() else match.group(0)) if match else None
            text = found.strip() if found else ""  # a group outside the alternative that matched is None
        for pattern, replacement in self.replacements:
            if text:
                text = pattern.sub(replacement, text).strip()
        if text and self.date_format is not None:
            parsed = self.date_cache.get(text)
            if parsed is None:
                try:
                    parsed = dt.datetime.strptime(text, self.date_format).date().isoformat()
                except ValueError:
                    parsed = text  # left as is: the normaliser reports it with a clear message
                if len(self.date_cache) > 10_000:
                    self.date_cache.clear()
                self.date_cache[text] = parsed
            text = parsed
        values: list[str] = []
        if text:
            if self.source_separator is not None:
                parts = [part.strip() for part in text.split(self.source_separator)]
            elif self.table is not None and self.field in LIST_FIELDS:
                parts = [part.strip() for part in text.split(schema.SEPARATOR)]
            else:
                parts = [text]
            for part in parts:
                if not part:
                    continue
                if self.table is not None:
                    targets = self.table.get(fold(part))
                    if targets is None:
                        values.append(part)  # unknown: kept, the normaliser reports or drops it
                    else:
                        values.extend(targets)
                else:
                    values.append(part)
        for rule in self.rules:
            if rule.matches(row):
                values.append(rule.value)
        if len(values) > 1:
            values = list(dict.fromkeys(values))
        text = (
            schema.SEPARATOR.join(values)
            if self.field in LIST_FIELDS
            else (values[0] if len(values) == 1 else " ".join(values))
        )
        if not text:
            text = self.default
        if text and self.prefix:
            text = self.prefix + text
        return text


def _compile(pattern: Any, where: str) -> re.Pattern:
    if not isinstance(pattern, str) or not pattern:
        raise MappingError(f"{where} : expression régulière attendue")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise MappingError(f"{where} : expression régulière invalide ({exc})") from None
    except (OverflowError, RecursionError):  # « a{99999999999999999999} », thousands of nested groups
        raise MappingError(f"{where} : expression régulière trop grande ou trop imbriquée") from None


def _composed_json(data: Any) -> Any:
    """`data` with every text (keys and values) `composed`: « é » typed on a Mac may come as « e » +
    combining accent, which would not match the same column name in a file."""
    if isinstance(data, str):
        return composed(data)
    if isinstance(data, dict):
        return {_composed_json(key): _composed_json(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_composed_json(item) for item in data]
    return data


def _json_of(text: str, path: Path) -> Any:
    """The JSON of a mapping file, or a MappingError saying where it cannot be read."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingError(
            f"fichier de correspondance {path.name} : JSON invalide "
            f"ligne {exc.lineno}, colonne {exc.colno} ({exc.msg})"
        ) from None
    except (RecursionError, ValueError):  # nested thousands of levels deep, an integer of 4,300+ digits
        raise MappingError(
            f"fichier de correspondance {path.name} : JSON illisible (imbriqué sur des milliers de niveaux, "
            "ou nombre de plus de 4 300 chiffres)"
        ) from None


def _check_date_format(fmt: Any, where: str) -> None:
    if not isinstance(fmt, str) or "%" not in fmt:
        raise MappingError(f'{where} : « format_date » doit être un format comme "%d/%m/%Y"')
    sample = dt.datetime(2021, 12, 7, 13, 45, 30)
    try:
        parsed = dt.datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        raise MappingError(f"{where} : « format_date » invalide : {fmt!r} ({exc})") from None
    if parsed.date() != sample.date():
        raise MappingError(f"{where} : « format_date » {fmt!r} doit contenir le jour, le mois et l'année (%d, %m, %Y)")


class Mapping:
    """A source's column mapping, loaded from a JSON file (see docs/mapping.md)."""

    def __init__(self, data: Any, *, name: str = ""):
        self.name = name
        data = _composed_json(data)  # column names compare as the readers give them (composed accents)
        if not isinstance(data, dict):
            raise MappingError("fichier de correspondance : un objet JSON est attendu à la racine")
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise MappingError(f"format « {fmt} » inconnu (attendu : « {FORMAT} »)")
        unknown = {k for k in data if not k.startswith("_")} - {"format", "nom", "champs"}
        if unknown:
            raise MappingError(
                f"clé « {sorted(unknown)[0]} » inconnue à la racine (clés possibles : format, nom, champs)"
            )
        fields = data.get("champs")
        if not isinstance(fields, dict) or not fields:
            raise MappingError("la clé « champs » (standard → comment le remplir) manque ou est vide")
        known = set(schema.field_names())
        self.fields: list[_FieldSpec] = []
        for field, spec in fields.items():
            if field.startswith("_"):
                continue
            if field not in known:
                raise MappingError(
                    f"champ « {field} » inconnu du standard (champs possibles : {', '.join(schema.field_names())})"
                )
            self.fields.append(_FieldSpec(field, spec))
        self.title = data.get("nom", "")
        if "id" not in {f.field for f in self.fields}:
            raise MappingError("le champ « id » doit être défini (« colonne » ou « hachage » de colonnes)")

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise MappingError(f"fichier de correspondance introuvable : {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"fichier de correspondance illisible ({path.name}) : {exc}") from None
        data = _json_of(text, path)
        try:
            return cls(data, name=path.stem)
        except MappingError as exc:
            raise MappingError(f"fichier de correspondance {path.name} : {exc}") from None

    @property
    def columns(self) -> list[str]:
        """Every source column the mapping reads, in order of first use."""
        result: list[str] = []
        for spec in self.fields:
            result.extend(c for c in spec.columns if c not in result)
        return result

    def missing_columns(self, columns: Iterable[str]) -> dict[str, list[str]]:
        """Columns read by the mapping but absent from `columns` → the fields that use them."""
        present = set(columns)
        missing: dict[str, list[str]] = {}
        for spec in self.fields:
            for column in spec.columns:
                if column not in present:
                    missing.setdefault(column, []).append(spec.field)
        return missing

    def check_columns(self, columns: Iterable[str]) -> None:
        """Raise MappingError when the file's columns lack some that the mapping reads."""
        missing = self.missing_columns(columns)
        if missing:
            details = " ; ".join(f"« {column} » (pour {', '.join(fields)})" for column, fields in missing.items())
            plural = "s" if len(missing) > 1 else ""
            raise MappingError(f"colonne{plural} absente{plural} du fichier source : {details}")

    def apply(self, raw: AbcMapping[str, Any]) -> dict[str, Any]:
        """One raw source record → a record keyed by the standard's field names."""
        row = _Row(raw)
        return {spec.field: spec.value(row) for spec in self.fields}

    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_national_format(cls, path: str | Path, *, source: str = "") -> Mapping:
        """Convert a column-mapping config in the national pipeline's format (as found next to the
        source files it converts: field → {"colonne": …}, or a list of {colonnes, termes, sauf,
        cible} rules, or {"osm": column}) into a mednum mapping.

        The national format has no `id`: one is made from a hash of the name, commune and address
        columns. Forms this converter does not know raise a MappingError.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise MappingError(f"fichier de correspondance introuvable : {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"fichier de correspondance illisible ({path.name}) : {exc}") from None
        data = _json_of(text, path)
        if not isinstance(data, dict):
            raise MappingError(f"fichier de correspondance {path.name} : un objet JSON est attendu à la racine")
        fields: dict[str, Any] = {}
        for field, spec in data.items():
            if isinstance(spec, dict) and set(spec) == {"colonne"}:
                if spec["colonne"]:
                    fields[field] = {"colonne": spec["colonne"]}
            elif isinstance(spec, dict) and set(spec) == {"osm"}:
                fields[field] = {"colonne": spec["osm"]}
            elif isinstance(spec, list):
                rules = []
                for item in spec:
                    if not isinstance(item, dict) or not {"colonnes", "termes", "cible"} <= set(item):
                        raise MappingError(f"{path.name}, champ « {field} » : règle non prise en charge : {item!r}")
                    rule = {"valeur": item["cible"], "colonnes": item["colonnes"], "contient": item["termes"]}
                    if item.get("sauf"):
                        rule["sauf"] = item["sauf"]
                    rules.append(rule)
                fields[field] = {"regles": rules}
            else:
                raise MappingError(f"{path.name}, champ « {field} » : forme non prise en charge : {spec!r}")
        if "id" not in fields:
            columns = [fields[f]["colonne"] for f in ("nom", "commune", "adresse") if "colonne" in fields.get(f, {})]
            if not columns:
                raise MappingError(f"{path.name} : impossible de construire un id (ni nom, ni commune, ni adresse)")
            fields["id"] = {"hachage": columns}
        if source and "source" not in fields:
            fields["source"] = {"valeur": source}
        try:
            return cls({"format": FORMAT, "champs": fields}, name=path.stem)
        except MappingError as exc:
            raise MappingError(f"fichier de correspondance {path.name} : {exc}") from None
