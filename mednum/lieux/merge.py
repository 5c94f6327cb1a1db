"""Merging source records into one public lieu, and undoing it.

A `Lieu` shows what its `SourceRecord`s say, merged field by field:

- each single-valued field comes from the most recently updated record that has a value for it
  (newest `date_maj` first; ties broken by source then source id, so the result never depends on
  database order); latitude and longitude are taken together from one record;
- `pivot`: a real SIRET/RNA is always preferred over a missing one or the placeholder
  `00000000000000`, whatever the dates;
- list fields are united: enumerated fields in the standard's order, free lists (typologie,
  courriels, site_web, autres_formations_labels) in first-seen order (newest record first);
- `source` names every distinct source, sorted, joined with ", " (the standard's `source` is one
  string); `date_maj` is the newest date.

Identifier of a merged lieu: the surviving lieu keeps its own `id_standard`. The national pipeline
builds a new id from the sorted source ids joined by `__`, which changes every time a source is
added or removed and breaks every link and every re-user's join; here the ids of absorbed lieux
stay valid as redirects (`fusionne_dans`) and the survivor's id never moves.

Nothing is deleted: `merge_cluster` moves the records to the survivor and turns the other lieux into
redirects; `separate` gives a record its own lieu again (reviving its former lieu when there is one).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from mednum.lieux.models import Lieu, PositionPrecision, SourceRecord
from mednum.standard import schema

from mednum.standard.normalise import PIVOT_UNKNOWN

# Standard field name → Lieu column, where they differ.
MODEL_FIELD = {"id": "id_standard", "commune": "commune_nom"}
STANDARD_FIELD = {column: name for name, column in MODEL_FIELD.items()}
COORDINATES = ("latitude", "longitude")
SOURCE_SEPARATOR = ", "
_CASE_INSENSITIVE_LISTS = {"courriels", "site_web"}


def model_field(name: str) -> str:
    return MODEL_FIELD.get(name, name)


def is_real_pivot(value: str | None) -> bool:
    value = (value or "").strip()
    return bool(value) and value != PIVOT_UNKNOWN and set(value) != {"0"}


def _text(value) -> str:
    if value is None:
        return ""
    return str(value).strip()


def _date_key(record) -> str:
    """Sort key of a record's update date (ISO string; '' when unknown, i.e. oldest)."""
    value = getattr(record, "date_maj", None)
    if value:
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return _text((record.normalised or {}).get("date_maj"))


def ordered_records(records: Iterable[SourceRecord]) -> list[SourceRecord]:
    """Newest `date_maj` first; equal dates in (source, source_id) order."""
    stable = sorted(records, key=lambda r: (r.source, r.source_id))
    return sorted(stable, key=_date_key, reverse=True)


def _union(field: str, lists: Iterable[list[str]]) -> str:
    seen: dict[str, str] = {}
    for values in lists:
        for value in values:
            key = value.lower() if field in _CASE_INSENSITIVE_LISTS else value
            seen.setdefault(key, value)
    if field in schema.enumerations():
        order = {value: position for position, value in enumerate(schema.enumerations()[field])}
        return schema.join(sorted(seen.values(), key=lambda v: (order.get(v, len(order)), v)))
    return schema.join(seen.values())


def list_fields() -> set[str]:
    return set(schema.enumerations()) | set(schema.LIST_FIELDS_FREE)


def merged_values(records: Iterable[SourceRecord]) -> dict[str, str]:
    """The standard's 32 fields (as strings) of the lieu these records describe.

    `id` is the id of the first record in (source, source_id) order: callers that own a lieu keep the
    lieu's id instead (see the module's docstring).
    """
    records = ordered_records(records)
    names = schema.field_names()
    values = {name: "" for name in names}
    if not records:
        return values
    normalised = [{k: _text(v) for k, v in (r.normalised or {}).items()} for r in records]
    lists = list_fields()
    for name in names:
        if name in lists:
            values[name] = _union(name, (schema.split(n.get(name)) for n in normalised))
        elif name not in COORDINATES:
            values[name] = next((n[name] for n in normalised if n.get(name)), "")
    for n in normalised:  # one position, from one record
        if n.get("latitude") and n.get("longitude"):
            values["latitude"], values["longitude"] = n["latitude"], n["longitude"]
            break
    values["pivot"] = next((n["pivot"] for n in normalised if is_real_pivot(n.get("pivot"))), "")
    sources: dict[str, str] = {}
    for record, n in zip(records, normalised):
        for name in (n.get("source") or record.source or "",):
            if name:
                sources.setdefault(name.casefold(), name)
    values["source"] = SOURCE_SEPARATOR.join(sorted(sources.values(), key=str.casefold))
    values["date_maj"] = max((n.get("date_maj", "") for n in normalised), default="")
    values["id"] = min(records, key=lambda r: (r.source, r.source_id)).normalised.get("id", "") or ""
    return values


# --- Lieu ↔ standard values ------------------------------------------------------------------------

def lieu_values(lieu: Lieu) -> dict[str, str]:
    """A lieu's 32 standard fields as strings (pivot '' when unknown)."""
    result = {}
    for name in schema.field_names():
        value = getattr(lieu, model_field(name))
        if value is None:
            result[name] = ""
        elif isinstance(value, float):
            result[name] = repr(value)
        elif isinstance(value, dt.date):
            result[name] = value.isoformat()
        else:
            result[name] = str(value)
    return result


def _parse_float(value: str) -> float | None:
    try:
        return float(value.replace(",", ".")) if value else None
    except ValueError:
        return None


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def make_slug(nom: str, id_standard: str) -> str:
    """Same rule as the import engine: the name's slug and a short hash of the id."""
    return f"{slugify(nom or '')[:80].strip('-') or 'lieu'}-{hashlib.md5(id_standard.encode()).hexdigest()[:8]}"


def _slug_matches(slug: str, nom: str) -> bool:
    return bool(slug) and slug.rsplit("-", 1)[0] == (slugify(nom or "")[:80].strip("-") or "lieu")


def commune_code(code_insee: str, known: set | None = None) -> str | None:
    """The `territoires.Commune` key of a lieu (a municipal arrondissement gives its commune), as the
    import engine does: only from the INSEE code. `known`: the set of commune codes, when preloaded."""
    from mednum.standard.communes import parent_code
    from mednum.territoires.models import Commune

    if not code_insee:
        return None
    for code in dict.fromkeys((code_insee, parent_code(code_insee))):
        if code in known if known is not None else Commune.objects.filter(pk=code).exists():
            return code
    return None


def known_communes() -> set:
    from mednum.territoires.models import Commune

    return set(Commune.objects.values_list("code", flat=True))


def apply_values(lieu: Lieu, values: dict[str, str], *, keep_id: bool = True, communes: set | None = None) -> list[str]:
    """Set a lieu's columns from standard values; returns the names of the columns that changed."""
    changed = []

    def put(column, value):
        if getattr(lieu, column) != value:
            setattr(lieu, column, value)
            changed.append(column)

    for name in schema.field_names():
        if name == "id" and (keep_id and lieu.id_standard):
            continue
        value = values.get(name, "")
        if name in COORDINATES:
            continue
        if name == "date_maj":
            parsed = _parse_date(value)
            if parsed is not None or lieu.date_maj is None:
                put("date_maj", parsed or dt.date.today())
            continue
        if name == "pivot":
            value = value if is_real_pivot(value) else ""
        put(model_field(name), value)

    latitude, longitude = _parse_float(values.get("latitude", "")), _parse_float(values.get("longitude", ""))
    if latitude is not None and longitude is not None:
        put("latitude", latitude)
        put("longitude", longitude)
        moved = "latitude" in changed or "longitude" in changed
        if moved or lieu.position_precision == PositionPrecision.AUCUNE:
            put("position_precision", PositionPrecision.SOURCE)
    elif lieu.position_precision not in (PositionPrecision.ADRESSE, PositionPrecision.COMMUNE):
        # No record gives a position and none was geocoded: the lieu has no position.
        put("latitude", None)
        put("longitude", None)
        put("position_precision", PositionPrecision.AUCUNE)

    masks_before = {column: getattr(lieu, column) for column in _mask_columns()}
    lieu.set_masks()
    changed += [c for c, v in masks_before.items() if getattr(lieu, c) != v]
    if not _slug_matches(lieu.slug, lieu.nom):
        put("slug", make_slug(lieu.nom, lieu.id_standard or ""))
    code = commune_code(lieu.code_insee, communes)
    if code != lieu.commune_id:
        lieu.commune_id = code
        changed.append("commune")
    return changed


def _mask_columns():
    from mednum.lieux.models import MASK_COLUMNS

    return MASK_COLUMNS.values()


def refresh_lieu(lieu: Lieu, records: list[SourceRecord] | None = None, *, save: bool = True) -> bool:
    """Recompute a lieu's fields from its source records; save (only what changed) if anything did."""
    if records is None:
        records = list(lieu.source_records.all())
    if not records:
        return False
    changed = apply_values(lieu, merged_values(records))
    if changed and save:
        if lieu.pk:
            lieu.save(update_fields=sorted(set(changed) | {"modifie_le"}))
        else:
            lieu.save()
    return bool(changed)


# --- merging and separating -----------------------------------------------------------------------

def own_ids(record: SourceRecord) -> list[str]:
    """The ids a record's lieu gets when the record stands alone, in order of preference: the
    import engine's rule (the record's id, else "<source>_<id>" when another lieu has it)."""
    base = record.source_id or _text((record.normalised or {}).get("id"))
    return [base, f"{slugify(record.source) or 'source'}_{base}"[:255]]


def _free_id(record: SourceRecord) -> str:
    candidates = own_ids(record)
    for candidate in candidates:
        if not Lieu.objects.filter(id_standard=candidate).exists():
            return candidate
    n = 2
    while Lieu.objects.filter(id_standard=f"{candidates[-1]}_{n}").exists():
        n += 1
    return f"{candidates[-1]}_{n}"


def new_lieu_for(record: SourceRecord, *, est_demo: bool = False, save_record: bool = True) -> Lieu:
    """A new lieu for a record (which may not be saved yet), with the record's own id when free."""
    lieu = Lieu(id_standard=_free_id(record), est_demo=est_demo)
    apply_values(lieu, merged_values([record]))
    lieu.save()
    record.lieu = lieu
    if save_record:
        record.save()
    return lieu


def choose_survivor(lieux: list[Lieu]) -> Lieu:
    """The lieu with the most source records; ties: the oldest (smallest primary key)."""
    counts = {}
    for lieu in lieux:
        counts[lieu.pk] = lieu.source_records.count()
    return min(lieux, key=lambda l: (-counts[l.pk], l.pk))


@transaction.atomic
def merge_cluster(lieux: Iterable[Lieu]) -> Lieu:
    """Attach every source record of these lieux to one survivor; the others become redirects."""
    lieux = list({lieu.pk: lieu for lieu in lieux if lieu is not None}.values())
    if not lieux:
        raise ValueError("merge_cluster: aucun lieu")
    lieux = [l if l.fusionne_dans_id is None else _final(l) for l in lieux]
    lieux = list({lieu.pk: lieu for lieu in lieux}.values())
    survivor = choose_survivor(lieux)
    others = [l for l in lieux if l.pk != survivor.pk]
    if not others:
        refresh_lieu(survivor)
        return survivor
    other_ids = [l.pk for l in others]
    SourceRecord.objects.filter(lieu_id__in=other_ids).update(lieu=survivor)
    Lieu.objects.filter(fusionne_dans_id__in=other_ids).update(fusionne_dans=survivor)
    Lieu.objects.filter(pk__in=other_ids).update(fusionne_dans=survivor)
    if survivor.latitude is None:  # keep a geocoded position when no record gives one
        for precision in (PositionPrecision.ADRESSE, PositionPrecision.COMMUNE):
            donor = next((l for l in others if l.position_precision == precision and l.latitude is not None), None)
            if donor:
                survivor.latitude, survivor.longitude = donor.latitude, donor.longitude
                survivor.position_precision = precision
                survivor.save(update_fields=["latitude", "longitude", "position_precision"])
                break
    if any(not l.est_demo for l in others) and survivor.est_demo:
        survivor.est_demo = False
        survivor.save(update_fields=["est_demo"])
    refresh_lieu(survivor)
    return survivor


def _final(lieu: Lieu) -> Lieu:
    """Follow redirects to the public lieu."""
    seen = set()
    while lieu.fusionne_dans_id is not None and lieu.pk not in seen:
        seen.add(lieu.pk)
        lieu = Lieu.objects.get(pk=lieu.fusionne_dans_id)
    return lieu


@transaction.atomic
def attach(record: SourceRecord, lieu: Lieu) -> Lieu:
    """Move one source record to `lieu` (refreshing both); an emptied lieu becomes a redirect."""
    lieu = _final(lieu)
    old = record.lieu
    if old.pk == lieu.pk:
        return lieu
    record.lieu = lieu
    record.save(update_fields=["lieu"])
    if old.source_records.exists():
        refresh_lieu(old)
    else:
        old.fusionne_dans = lieu
        old.save(update_fields=["fusionne_dans", "modifie_le"])
        Lieu.objects.filter(fusionne_dans=old).update(fusionne_dans=lieu)
    refresh_lieu(lieu)
    return lieu


@transaction.atomic
def separate(record: SourceRecord) -> Lieu:
    """Give a record its own lieu again (a reviewer said "not the same place"). Returns that lieu.

    The record's former lieu, if it was absorbed into the current one, is revived so that its id and
    its address on the site work again; otherwise a new lieu is created.
    """
    record = SourceRecord.objects.select_related("lieu").get(pk=record.pk)
    current = record.lieu
    if current.source_records.count() <= 1:
        return current
    wanted = own_ids(record)
    former = Lieu.objects.filter(id_standard__in=wanted, fusionne_dans=current).order_by("pk").first()
    if former is not None:
        former.fusionne_dans = None
        former.save(update_fields=["fusionne_dans", "modifie_le"])
        record.lieu = former
        record.save(update_fields=["lieu"])
        target = former
    elif current.id_standard in wanted:
        # The record carries the survivor's own id: it keeps the lieu, the others move out together.
        separate_group([r for r in current.source_records.all() if r.pk != record.pk], current)
        refresh_lieu(current)
        return current
    else:
        target = new_lieu_for(record, est_demo=current.est_demo, save_record=False)
        record.save(update_fields=["lieu"])
    refresh_lieu(target)
    refresh_lieu(current)
    return target


def separate_group(records: list[SourceRecord], current: Lieu) -> Lieu | None:
    """Move a group of records out of `current` into one lieu (revived or new)."""
    if not records:
        return None
    records = sorted(records, key=lambda r: (r.source, r.source_id))
    ids = [i for r in records for i in own_ids(r)]
    target = Lieu.objects.filter(id_standard__in=ids, fusionne_dans=current).order_by("pk").first()
    if target is not None:
        target.fusionne_dans = None
        target.save(update_fields=["fusionne_dans", "modifie_le"])
    else:
        target = new_lieu_for(records[0], est_demo=current.est_demo, save_record=False)
    SourceRecord.objects.filter(pk__in=[r.pk for r in records]).update(lieu=target)
    Lieu.objects.filter(fusionne_dans=current, id_standard__in=ids).exclude(pk=target.pk).update(
        fusionne_dans=target
    )
    refresh_lieu(target)
    return target


def merge_clusters(groups: list[list[int]], counts: dict | None = None) -> list[int]:
    """`merge_cluster` for many clusters of public lieux (given by primary key) at once.

    Same rules, in a few statements per thousand clusters instead of a dozen queries per cluster:
    this is what deduplication calls. `counts`: lieu pk → number of source records, when known.
    Returns the survivors' primary keys.
    """
    from django.db import connection

    groups = [sorted(set(g)) for g in groups if len(set(g)) > 1]
    if not groups:
        return []
    if counts is None:
        from django.db.models import Count

        wanted = [pk for g in groups for pk in g]
        counts = {}
        for start in range(0, len(wanted), 900):
            counts.update(SourceRecord.objects.filter(lieu_id__in=wanted[start:start + 900]).values_list("lieu_id")
                          .annotate(n=Count("id")).order_by())
    survivor_of = {}
    survivors = []
    for group in groups:
        survivor = min(group, key=lambda pk: (-counts.get(pk, 0), pk))
        survivors.append(survivor)
        for pk in group:
            if pk != survivor:
                survivor_of[pk] = survivor
    qn = connection.ops.quote_name
    lieu_table, record_table = qn(Lieu._meta.db_table), qn(SourceRecord._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    moves = [(survivor, other) for other, survivor in survivor_of.items()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {record_table} SET {qn('lieu_id')} = %s WHERE {qn('lieu_id')} = %s", moves)
        cursor.executemany(
            f"UPDATE {lieu_table} SET {qn('fusionne_dans_id')} = %s WHERE {qn('fusionne_dans_id')} = %s", moves
        )
        cursor.executemany(
            f"UPDATE {lieu_table} SET {qn('fusionne_dans_id')} = %s, {qn('modifie_le')} = %s WHERE {qn('id')} = %s",
            [(survivor, now, other) for survivor, other in moves],
        )
        _refresh_many(survivors, survivor_of)
    return survivors


_REFRESH_CHUNK = 500


def _refresh_many(survivors: list[int], survivor_of: dict) -> None:
    """Refresh the survivors of `merge_clusters` from their records, in chunks, with bulk updates."""
    communes = known_communes()
    absorbed: dict[int, list[int]] = {}
    for other, survivor in survivor_of.items():
        absorbed.setdefault(survivor, []).append(other)
    for start in range(0, len(survivors), _REFRESH_CHUNK):
        chunk = survivors[start:start + _REFRESH_CHUNK]
        lieux = Lieu.objects.in_bulk(chunk)
        others = Lieu.objects.in_bulk([o for pk in chunk for o in absorbed.get(pk, ())])
        records: dict[int, list[SourceRecord]] = {}
        for record in SourceRecord.objects.filter(lieu_id__in=chunk):
            records.setdefault(record.lieu_id, []).append(record)
        changed_fields: set[str] = set()
        changed_lieux = []
        for pk in chunk:
            lieu = lieux[pk]
            changed = []
            donors = [others[o] for o in absorbed.get(pk, ()) if o in others]
            if lieu.latitude is None:  # keep a geocoded position when no record gives one
                for precision in (PositionPrecision.ADRESSE, PositionPrecision.COMMUNE):
                    donor = next((d for d in donors if d.position_precision == precision and d.latitude is not None), None)
                    if donor:
                        lieu.latitude, lieu.longitude, lieu.position_precision = donor.latitude, donor.longitude, precision
                        changed += ["latitude", "longitude", "position_precision"]
                        break
            if lieu.est_demo and any(not d.est_demo for d in donors):
                lieu.est_demo = False
                changed.append("est_demo")
            if records.get(pk):
                changed += apply_values(lieu, merged_values(records[pk]), communes=communes)
            if changed:
                changed_fields.update("commune_id" if c == "commune" else c for c in changed)
                changed_lieux.append(lieu)
        if changed_lieux:
            _update_rows(changed_lieux, {"commune" if f == "commune_id" else f for f in changed_fields} | {"modifie_le"})


def _update_rows(lieux: list[Lieu], names: set[str]) -> None:
    """UPDATE these columns of these lieux with one executemany (bulk_update's CASE expressions are
    far slower at a few hundred rows and forty columns)."""
    from django.db import connection

    now = timezone.now()
    fields = [Lieu._meta.get_field(name) for name in sorted(names)]
    qn = connection.ops.quote_name
    sql = (f"UPDATE {qn(Lieu._meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
           f"WHERE {qn('id')} = %s")
    rows = []
    for lieu in lieux:
        lieu.modifie_le = now
        rows.append([f.get_db_prep_save(getattr(lieu, f.attname), connection) for f in fields] + [lieu.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
