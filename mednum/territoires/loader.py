"""Load the territorial reference files (`data/`, built by `scripts/build_territoires.py`) into the database.

`load_territoires()` is idempotent and safe to run on a live database:

* every row of the files is inserted or updated (one upsert per table, only for the rows that
  differ from the database), so a second run with the same files writes nothing;
* postal codes (`CodePostal`) follow the `codes_postaux` column of each commune;
* rows that are no longer in the files are deleted only when nothing else references them (a lieu,
  a role, a historical record…); the others are kept and reported;
* everything happens in one transaction: a bad file changes nothing.

The management command `manage.py load_territoires` is a thin wrapper around it.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.text import slugify

from .models import CodePostal, Commune, CoordinatesSource, Departement, Epci, Region, Zone
from .text import normalise

DATA_DIR = Path(__file__).resolve().parent / "data"
BATCH_SIZE = 2000
ZONES = set(Zone.values)


class LoadError(Exception):
    """The files are inconsistent (unknown reference, missing column…): nothing was written."""


@dataclass
class TableResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    kept: list[str] = field(default_factory=list)  # no longer in the files but still referenced

    def changes(self) -> str:
        parts = [f"+{self.created}" if self.created else "", f"~{self.updated}" if self.updated else ""]
        parts += [f"-{self.deleted}" if self.deleted else "", f"{len(self.kept)} gardé(s)" if self.kept else ""]
        text = " ".join(p for p in parts if p)
        return f" ({text})" if text else ""


@dataclass
class LoadResult:
    regions: TableResult
    departements: TableResult
    epci: TableResult
    communes: TableResult
    codes_postaux: TableResult
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return any(t.created or t.updated or t.deleted for t in self.tables().values())

    def tables(self) -> dict[str, TableResult]:
        return {
            "régions": self.regions,
            "départements": self.departements,
            "EPCI": self.epci,
            "communes": self.communes,
            "codes postaux": self.codes_postaux,
        }

    def summary(self) -> str:
        counts = ", ".join(f"{t.total} {name}{t.changes()}" for name, t in self.tables().items())
        return f"Territoires chargés : {counts} en {self.seconds:.1f} s."


# --- Reading ---------------------------------------------------------------------------------------


def _read_csv(data_dir: Path, name: str, columns: list[str]) -> list[dict[str, str]]:
    """Rows of `name.csv.gz` (or `name.csv`) in `data_dir`, checking that `columns` are present."""
    for path in (data_dir / f"{name}.csv.gz", data_dir / f"{name}.csv"):
        if path.exists():
            break
    else:
        raise LoadError(f"{name}.csv(.gz) introuvable dans {data_dir}")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise LoadError(f"{path.name} : colonne(s) manquante(s) {', '.join(missing)}")
    rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    seen = set()
    for row in rows:
        if not row["code"]:
            raise LoadError(f"{path.name} : ligne sans code")
        if row["code"] in seen:
            raise LoadError(f"{path.name} : code {row['code']} en double")
        seen.add(row["code"])
    return rows


def _int_or_none(value: str) -> int | None:
    return int(value) if value else None


def _float_or_none(value: str) -> float | None:
    return float(value) if value else None


def _zone(value: str, where: str) -> str:
    if value not in ZONES:
        raise LoadError(f"{where} : zone inconnue {value!r}")
    return value


def _unique_slugs(rows: list[dict], base) -> dict[str, str]:
    """code -> slug from `base(row)`, suffixed with the code when two names give the same slug."""
    slugs = {row["code"]: slugify(base(row)) or row["code"].lower() for row in rows}
    counts: dict[str, int] = {}
    for slug in slugs.values():
        counts[slug] = counts.get(slug, 0) + 1
    return {code: (slug if counts[slug] == 1 else f"{slug}-{code.lower()}") for code, slug in slugs.items()}


def read_files(data_dir: Path) -> dict[str, dict[str, dict]]:
    """Model field values keyed by primary key, for each table, checked for consistency."""
    regions_rows = _read_csv(data_dir, "regions", ["code", "nom", "zone", "chef_lieu"])
    departements_rows = _read_csv(data_dir, "departements", ["code", "nom", "region", "zone", "chef_lieu"])
    epci_rows = _read_csv(data_dir, "epci", ["code", "nom", "type", "population"])
    communes_rows = _read_csv(
        data_dir,
        "communes",
        ["code", "nom", "codes_postaux", "population", "departement", "region", "epci", "zone",
         "latitude", "longitude", "coordonnees_source"],
    )

    region_slugs = _unique_slugs(regions_rows, lambda r: normalise(r["nom"]))
    regions = {
        r["code"]: {
            "nom": r["nom"],
            "slug": region_slugs[r["code"]],
            "zone": _zone(r["zone"], f"région {r['code']}"),
            "chef_lieu": r["chef_lieu"],
        }
        for r in regions_rows
    }
    departement_slugs = _unique_slugs(departements_rows, lambda r: normalise(r["nom"]))
    departements = {}
    for r in departements_rows:
        if r["region"] not in regions:
            raise LoadError(f"département {r['code']} : région inconnue {r['region']!r}")
        departements[r["code"]] = {
            "nom": r["nom"],
            "slug": departement_slugs[r["code"]],
            "region_id": r["region"],
            "zone": _zone(r["zone"], f"département {r['code']}"),
            "chef_lieu": r["chef_lieu"],
        }
    epcis = {}
    for r in epci_rows:
        try:
            epcis[r["code"]] = {"nom": r["nom"], "type": r["type"], "population": _int_or_none(r["population"])}
        except ValueError as exc:
            raise LoadError(f"EPCI {r['code']} : {exc}") from exc
    communes = {}
    valid_sources = set(CoordinatesSource.values)
    for r in communes_rows:
        code = r["code"]
        if r["departement"] not in departements:
            raise LoadError(f"commune {code} : département inconnu {r['departement']!r}")
        if r["region"] not in regions:
            raise LoadError(f"commune {code} : région inconnue {r['region']!r}")
        if r["epci"] and r["epci"] not in epcis:
            raise LoadError(f"commune {code} : EPCI inconnu {r['epci']!r}")
        try:
            latitude, longitude = _float_or_none(r["latitude"]), _float_or_none(r["longitude"])
            population = _int_or_none(r["population"]) or 0
        except ValueError as exc:
            raise LoadError(f"commune {code} : {exc}") from exc
        source = r["coordonnees_source"] if latitude is not None and longitude is not None else ""
        if source not in valid_sources:
            raise LoadError(f"commune {code} : source de coordonnées inconnue {source!r}")
        if latitude is not None and longitude is not None and not source:
            raise LoadError(f"commune {code} : coordonnées sans source (coordonnees_source)")
        nom_recherche = normalise(r["nom"])
        communes[code] = {
            "nom": r["nom"],
            "nom_recherche": nom_recherche[:100],
            "slug": f"{slugify(nom_recherche)[:100] or 'commune'}-{code.lower()}",
            "codes_postaux": sorted(set(r["codes_postaux"].split())),
            "population": population,
            "departement_id": r["departement"],
            "region_id": r["region"],
            "epci_id": r["epci"] or None,
            "zone": _zone(r["zone"], f"commune {code}"),
            "latitude": latitude if source else None,
            "longitude": longitude if source else None,
            "coordonnees_source": source,
        }
    return {"regions": regions, "departements": departements, "epci": epcis, "communes": communes}


# --- Writing ---------------------------------------------------------------------------------------


def _chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert(model: type[models.Model], rows: dict[str, dict]) -> TableResult:
    """Insert or update `rows` (pk -> field values), touching only the rows that differ."""
    fields = list(next(iter(rows.values()))) if rows else []
    existing = {pk: values for pk, *values in model.objects.values_list("pk", *fields).iterator(chunk_size=5000)}
    to_write = []
    created = updated = 0
    for pk, values in rows.items():
        current = existing.get(pk)
        if current is None:
            created += 1
        elif list(current) != [values[f] for f in fields]:
            updated += 1
        else:
            continue
        to_write.append(model(pk=pk, **values))
    if to_write:
        model.objects.bulk_create(
            to_write,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=[model._meta.pk.name],
            update_fields=[model._meta.get_field(f).name for f in fields],
        )
    return TableResult(total=len(rows), created=created, updated=updated)


def _referenced(model: type[models.Model], pks: list[str], ignore: tuple = ()) -> set[str]:
    """Those of `pks` that a row of another table (or of the same one) points to, through a foreign
    key, a many-to-many relation or a generic foreign key (e.g. a role given on one commune)."""
    found: set[str] = set()
    for relation in model._meta.related_objects:
        if relation.related_model in ignore:
            continue
        name = relation.field.name
        manager = relation.related_model._base_manager
        for chunk in _chunks(pks):
            found.update(manager.filter(**{f"{name}__in": chunk}).values_list(name, flat=True).distinct())
    content_type = None
    for other in apps.get_models():
        for generic in other._meta.private_fields:
            if not isinstance(generic, GenericForeignKey) or other in ignore:
                continue
            content_type = content_type or ContentType.objects.get_for_model(model)
            id_field = other._meta.get_field(generic.fk_field)
            ids = {}
            for pk in pks:
                try:
                    ids[id_field.to_python(pk)] = pk
                except ValidationError:  # e.g. "2A004" can't be an integer object id
                    continue
            for chunk in _chunks(list(ids)):
                rows = other._base_manager.filter(**{generic.ct_field: content_type, f"{generic.fk_field}__in": chunk})
                found.update(ids[value] for value in rows.values_list(generic.fk_field, flat=True).distinct())
    return {str(pk) for pk in found if pk is not None}


def _delete_stale(model: type[models.Model], keep: set[str], result: TableResult, ignore: tuple = ()) -> None:
    stale = sorted(set(model.objects.values_list("pk", flat=True)) - keep)
    if not stale:
        return
    referenced = _referenced(model, stale, ignore)
    deletable = [pk for pk in stale if pk not in referenced]
    for chunk in _chunks(deletable):
        model.objects.filter(pk__in=chunk).delete()
    result.deleted = len(deletable)
    result.kept = sorted(referenced)


def _sync_postal_codes(communes: dict[str, dict]) -> TableResult:
    wanted = {(cp, code) for code, values in communes.items() for cp in values["codes_postaux"]}
    existing = {}
    for pk, cp, commune_id in CodePostal.objects.values_list("pk", "code", "commune_id").iterator(chunk_size=5000):
        if commune_id in communes:  # postal codes of communes kept out of the files stay as they are
            existing[(cp, commune_id)] = pk
    to_create = [CodePostal(code=cp, commune_id=code) for cp, code in sorted(wanted - existing.keys())]
    to_delete = [pk for key, pk in existing.items() if key not in wanted]
    CodePostal.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    for chunk in _chunks(to_delete):
        CodePostal.objects.filter(pk__in=chunk).delete()
    return TableResult(total=len(wanted), created=len(to_create), deleted=len(to_delete))


def load_territoires(data_dir: Path | str | None = None) -> LoadResult:
    """Load régions, départements, EPCI, communes and postal codes from `data_dir` (default: `data/`)."""
    started = time.perf_counter()
    data = read_files(Path(data_dir) if data_dir else DATA_DIR)
    with transaction.atomic():
        regions = _upsert(Region, data["regions"])
        departements = _upsert(Departement, data["departements"])
        epci = _upsert(Epci, data["epci"])
        communes = _upsert(Commune, data["communes"])
        codes_postaux = _sync_postal_codes(data["communes"])
        _delete_stale(Commune, set(data["communes"]), communes, ignore=(CodePostal,))
        _delete_stale(Epci, set(data["epci"]), epci)
        _delete_stale(Departement, set(data["departements"]), departements)
        _delete_stale(Region, set(data["regions"]), regions)
        transaction.on_commit(_invalidate_search_index)
    return LoadResult(
        regions=regions,
        departements=departements,
        epci=epci,
        communes=communes,
        codes_postaux=codes_postaux,
        seconds=time.perf_counter() - started,
    )


def _invalidate_search_index() -> None:
    """Drop the in-process commune index of `territoires.search`, if that module provides one."""
    try:
        from . import search
    except ImportError:  # pragma: no cover - search is optional for the loader
        return
    invalidate = getattr(search, "invalidate_index", None)
    if invalidate is not None:
        invalidate()
