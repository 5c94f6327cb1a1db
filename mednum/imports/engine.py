"""Importing a source file into `Lieu` / `SourceRecord`: `import_lieux(path, source, …) -> ImportReport`.

How an import runs
------------------
1. **The file is read once without writing anything** (`open_source` + one streaming pass): encoding
   checked over the whole file, CSV header checked, every record parsed. A file that cannot be read to
   its end — invalid bytes, truncated JSON, JSON syntax error, unterminated quote at the end of a CSV —
   is refused whole: *nothing is written, in any mode*, exit status 2. In all-or-nothing mode this first
   pass also normalises and validates every row, and any rejected row stops the import there.
2. **Rows are normalised** (v0.1 upgrade when the file's columns are v0.1 ones, else the mapping when
   one is given, then `Normaliser`). A row with errors is rejected — reported as
   (row, field, value, reason) — and the others go on.
3. **Rows are upserted by batches** (2,000 by default) in transactions that write both the lieux and
   their source records, so a process killed at any moment leaves no lieu without its source record;
   re-running the same import completes it. A transaction holds whole batches: it is committed once it
   has written TRANSACTION_ROWS rows (10,000 by default), before any call to the geocoder (no network
   call while the database is locked for writing), and at the end. Per batch: one query fetches the existing
   source records of the batch by (source, source_id); a row whose content hash is unchanged writes
   nothing at all; a changed row updates its source record and its lieu; a new row creates both.
   In all-or-nothing mode every batch runs inside one transaction for the whole file.

Writes use plain SQL built from the models' metadata (`executemany` on SQLite, `COPY` on PostgreSQL),
not model instances: per-row model overhead is what limits an ORM import at a million rows. On SQLite
the lieux a batch creates are added to the R*Tree in one statement at the end of the batch, the
per-row insert trigger being dropped and recreated inside the batch's transaction
(`mednum.geo.spatial_index.indexing_inserts_at_end`), and the JSON_VALID CHECK constraints are not
evaluated during the import (`_sqlite_import_settings`): the JSON written is the import's own.

What a row costs to re-import is one hash comparison: the content hash is the md5 of the row's
normalised values and raw record. A position found by geocoding is not part of the hash, so a
re-import does not geocode unchanged rows again.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import json
import logging
import re
import threading
import time
import unicodedata
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable
from contextlib import closing, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify
from orjson import dumps as _orjson_dumps

from mednum.geo.spatial_index import indexing_inserts_at_end
from mednum.imports import pipeline
from mednum.imports.readers import BadRow, ImportFileError, SourceFile, first_record_keys, open_source
from mednum.lieux import hours
from mednum.lieux.models import MASK_COLUMNS, Lieu, PositionPrecision, SourceRecord
from mednum.standard import schema
from mednum.standard.text import fold

logger = logging.getLogger(__name__)

# Rows per transaction; a killed import loses at most the batch in progress. 5,000 was measured no
# faster on a first import of 100k rows and 1M rows (within the machine's noise), and slower on an
# unchanged re-import (9,400–9,900 vs 10,400–12,100 rows/s), with more memory.
BATCH_SIZE = 2000
# Rows written per transaction (whole batches; committed earlier before a call to the geocoder). Each
# commit writes to the log every index page its rows touched: at a million lieux, where the rows of a
# batch land on different pages of the slug, name, map and R*Tree indexes, committing every 2,000 rows
# cost ~80 µs a row of COMMIT alone, every 10,000 rows ~36 (first import of 1M rows: 4,100–4,400 →
# 5,200–5,500 rows/s, bench/bench_import.py). The batch stays 2,000 rows: what the importing process
# holds in memory does not grow (batches of 10,000 rows gave the same gain with a 400 MB peak).
TRANSACTION_ROWS = 10_000
# Rejected-row entries kept in memory (the CSV report, when asked, receives all of them).
MAX_REJECTIONS_IN_MEMORY = 10_000
# Values the normaliser fixed or dropped in rows that were imported (an e-mail that is not one, an
# unknown service, a text cut…): the first ones are listed with their row, field and reason.
MAX_CORRECTIONS_LISTED = 1_000
# Longest value accepted in any column of a source record, in characters.
MAX_VALUE_CHARS = 100_000
# How often (rows) the progress callback is called.
PROGRESS_EVERY = 1000
PIVOT_UNKNOWN_DEFAULT = "00000000000000"
# Pipelined import (reading + normalisation in a child process, see `mednum.imports.pipeline`):
# used automatically for files of at least this size, on a machine with two cores or more.
PIPELINE_MIN_BYTES = 1_000_000
# SQLite, during an import: a WAL checkpoint every this many pages (see _sqlite_import_settings).
IMPORT_WAL_AUTOCHECKPOINT = 10_000
# Events (rows, rejections, progress ticks) per message from the reader process.
PIPELINE_CHUNK = 1000
# Rows the reader process may prepare ahead of the database: two batches.
PIPELINE_AHEAD_BATCHES = 2

# Tags of the events the reader process sends, in file order.
_EV_ROW, _EV_REJECTION, _EV_TICK, _EV_CORRECTION = 0, 1, 2, 3
# The normalised values the importing process still reads once the reader process has computed a
# row's Lieu columns (`_Importer._lieu_static`): what places the lieu (`_position`, the geocoder).
_PLACING_FIELDS = ("latitude", "longitude", "code_insee", "code_postal", "commune", "adresse")

ProgressCallback = Callable[[str, int, "int | None", float], None]


class ImportAborted(Exception):
    """Raised inside the all-or-nothing transaction to roll everything back."""


class _ReaderCounters:
    """The counters the reading loop keeps, in the reader process."""

    __slots__ = ("read", "normaliser_warnings")

    def __init__(self):
        self.read = 0
        self.normaliser_warnings = 0


@dataclass(slots=True)
class RejectedRow:
    row: int
    field: str
    value: str
    reason: str


# Characters a source record cannot keep, refused on every database alike: U+0000 (PostgreSQL's text
# and jsonb refuse it) and the halves of UTF-16 surrogate pairs, which a JSON file can write alone
# (« \ud800 ») but which are no character at all (they have no UTF-8 form).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_REASONS = {
    "nul": "caractère nul (U+0000), un caractère de contrôle qui ne peut pas être enregistré (il vient "
           "souvent d'une conversion de fichier ratée) ; supprimez-le du fichier",
    "demi": "caractère invalide : une moitié de paire de substitution UTF-16 seule ({code}), qui ne "
            "correspond à aucun caractère ; corrigez l'encodage de cette valeur dans le fichier",
}


def _visible(text: str) -> str:
    """`text` with the characters of _UNSTORABLE written as escapes (« \\u0000 »): storable, printable."""
    if not _UNSTORABLE.search(text):
        return text
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _unstorable_reason(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return _UNSTORABLE_REASONS["nul"]
    return _UNSTORABLE_REASONS["demi"].format(code=f"\\u{ord(char):04x}")


def _unstorable_characters(record: dict) -> list[tuple[str, Any, str]]:
    """The problems (column, value, reason) of a raw record holding characters no database stores,
    in a column's name or anywhere in its value (JSON values may be lists or objects)."""
    problems = []
    for key, value in record.items():
        if isinstance(key, str) and (reason := _unstorable_reason(key)):
            problems.append((key, "", f"{reason} (dans le nom de la colonne)"))
            continue
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if reason := _unstorable_reason(item):
                    problems.append((str(key), value, reason))
                    break
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    return problems


def _short(value: Any, limit: int = 200) -> str:
    """A rejected value as the report shows it: text, at most `limit` characters, every character storable."""
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value, ensure_ascii=False))
    text = _visible(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} caractères)"


@dataclass
class ImportReport:
    source: str
    path: str = ""
    file_format: str = ""
    encoding: str = ""
    delimiter: str = ""
    dry_run: bool = False
    all_or_nothing: bool = False
    demo: bool = False
    read: int = 0
    valid: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows
    rejected_entries: int = 0  # (row, field) problems, a row may have several
    geocoded: int = 0
    placed_at_commune: int = 0
    without_position: int = 0
    normaliser_warnings: int = 0
    fatal: str = ""
    warnings: list[str] = field(default_factory=list)
    rejections: list[RejectedRow] = field(default_factory=list)
    # The first values fixed or dropped in imported rows (`normaliser_warnings` counts them all).
    corrections: list[RejectedRow] = field(default_factory=list)
    duration: float = 0.0
    committed: bool = False
    report_path: str = ""

    # --- derived ---
    @property
    def rows_per_s(self) -> float:
        return self.read / self.duration if self.duration > 0 else 0.0

    @property
    def written(self) -> int:
        return self.created + self.updated

    @property
    def exit_status(self) -> int:
        """0: every row imported or unchanged; 1: some rows rejected; 2: nothing imported."""
        if self.fatal:
            return 2
        if self.rejected and (self.all_or_nothing or self.valid == 0):
            return 2
        return 1 if self.rejected else 0

    @property
    def rejections_truncated(self) -> bool:
        return self.rejected_entries > len(self.rejections)

    def summary_lines(self) -> list[str]:
        """The report in French, one line per fact."""
        lines = []
        mode = []
        if self.dry_run:
            mode.append("simulation, rien n'est enregistré")
        if self.all_or_nothing:
            mode.append("tout ou rien")
        suffix = f" ({', '.join(mode)})" if mode else ""
        lines.append(f"Import de la source « {self.source} »{suffix}")
        if self.file_format:
            detail = f"Fichier {self.file_format.upper()}, encodage {self.encoding}"
            if self.delimiter:
                detail += f", séparateur « {self.delimiter if self.delimiter != chr(9) else 'tabulation'} »"
            lines.append(detail)
        lines.extend(self.warnings)
        if self.fatal:
            lines.append(f"Erreur : {self.fatal}")
        if self.read or self.written or not self.fatal:
            verb = "seraient " if self.dry_run else ""
            lines.append(f"Lignes lues : {self.read}")
            lines.append(f"Lieux {verb}créés : {self.created}")
            lines.append(f"Lieux {verb}mis à jour : {self.updated}")
            lines.append(f"Lieux inchangés : {self.unchanged}")
            lines.append(f"Lignes rejetées : {self.rejected}")
            if self.corrections:
                lines.append(f"Valeurs corrigées, écartées ou à vérifier dans les lignes importées : "
                             f"{self.normaliser_warnings}")
            if self.geocoded:
                lines.append(f"Positions trouvées par géocodage de l'adresse : {self.geocoded}")
            if self.placed_at_commune:
                lines.append(f"Lieux placés au centre de leur commune (position approximative) : {self.placed_at_commune}")
            if self.without_position:
                lines.append(f"Lieux sans position connue : {self.without_position}")
        duration = f"{self.duration:.1f}".replace(".", ",")
        lines.append(f"Durée : {duration} s ({_fmt(round(self.rows_per_s))} lignes/s)")
        if self.exit_status == 2 and not self.dry_run and not self.written:
            lines.append("Rien n'a été importé.")
        return lines

    def as_dict(self) -> dict:
        data = asdict(self)
        data["rejections"] = [asdict(r) for r in self.rejections]
        data["corrections"] = [asdict(r) for r in self.corrections]
        data["rows_per_s"] = self.rows_per_s
        data["exit_status"] = self.exit_status
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ImportReport:
        data = dict(data)
        data.pop("rows_per_s", None)
        data.pop("exit_status", None)
        rejections = [RejectedRow(**r) for r in data.pop("rejections", [])]
        corrections = [RejectedRow(**r) for r in data.pop("corrections", [])]
        return cls(**data, rejections=rejections, corrections=corrections)

    def write_csv(self, path) -> None:
        """The rejected rows and corrections kept in memory as CSV `REPORT_HEADER` (UTF-8 with BOM)."""
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(REPORT_HEADER)
            if self.fatal:
                writer.writerow(["", "fichier", "", self.fatal, ""])
            for r in self.rejections:
                writer.writerow([r.row, r.field, r.value, r.reason, SUITE_REJETEE])
            _write_corrections(writer, self)


# The CSV report: one line per rejected value (its row was not imported), then the values fixed or
# dropped in imported rows (the first MAX_CORRECTIONS_LISTED), told apart by `suite`.
REPORT_HEADER = ["ligne", "champ", "valeur", "raison", "suite"]
SUITE_REJETEE = "ligne rejetée"
SUITE_CORRIGEE = "ligne valide, valeur corrigée, écartée ou à vérifier"


def _write_corrections(writer, report) -> None:
    for r in report.corrections:
        writer.writerow([r.row, r.field, r.value, r.reason, SUITE_CORRIGEE])
    others = report.normaliser_warnings - len(report.corrections)
    if report.corrections and others > 0:
        writer.writerow(["", "", "", f"… et {_fmt(others)} autres valeurs corrigées, écartées ou à vérifier, non listées", SUITE_CORRIGEE])


def source_names() -> list[str]:
    """Every source name, in order. A skip scan of the (source, source_id) unique index, one probe per
    source: ~0.5 ms at 1M records, where SELECT DISTINCT reads the whole index (~100 ms)."""
    table = connection.ops.quote_name(SourceRecord._meta.db_table)
    sql = (
        f"WITH RECURSIVE s(nom) AS (SELECT MIN(source) FROM {table} UNION ALL "
        f"SELECT (SELECT MIN(source) FROM {table} WHERE source > s.nom) FROM s WHERE s.nom IS NOT NULL) "
        "SELECT nom FROM s WHERE nom IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


def near_source_name(source: str) -> str | None:
    """The name of an existing source that `source` would duplicate: equal once folded (case, accents,
    spaces, punctuation: « hinaura » or « Hinaura. » for « Hinaura »), different as written. None when
    `source` exists as written or is new. Reads the source names only for a name not seen before."""
    if SourceRecord.objects.filter(source=source).exists():
        return None
    key = fold(source)
    if not key:
        return None
    for name in source_names():
        if fold(name) == key:
            return name
    return None


def near_source_message(source: str) -> str:
    """Why `source` is refused when it would duplicate an existing source (`near_source_name`), else ""."""
    near = near_source_name(source)
    if near is None:
        return ""
    return (
        f"Aucune source ne s'appelle « {_visible(source)} », mais la source « {_visible(near)} » existe : "
        "réimportez sous son nom exact pour mettre à jour ses lieux. Un nom qui n'en diffère que par les "
        "majuscules, les accents, les espaces ou la ponctuation créerait un double de chacun de ses lieux."
    )


class _RejectionSink:
    """Collects rejected rows: the first ones in memory, all of them in the CSV report when asked."""

    def __init__(self, report: ImportReport, path):
        self.report = report
        self.handle = None
        self.writer = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(path, "w", encoding="utf-8-sig", newline="")
            self.writer = csv.writer(self.handle)
            self.writer.writerow(REPORT_HEADER)
            report.report_path = str(path)
        self._last_row = None

    def add(self, row: int, field_name: str, value: Any, reason: str) -> None:
        report = self.report
        if row != self._last_row:
            report.rejected += 1
            self._last_row = row
        report.rejected_entries += 1
        value = _short(value)
        field_name = _visible(field_name)
        if len(report.rejections) < MAX_REJECTIONS_IN_MEMORY:
            report.rejections.append(RejectedRow(row, field_name, value, reason))
        if self.writer:
            self.writer.writerow([row, field_name, value, reason, SUITE_REJETEE])

    def fatal(self, message: str) -> None:
        if self.writer:
            self.writer.writerow(["", "fichier", "", message, ""])

    def close(self) -> None:
        if self.handle:
            _write_corrections(self.writer, self.report)
            self.handle.close()
            self.handle = None


class _Prepared:
    """A valid row on its way to the database (lives for one batch)."""

    __slots__ = ("row", "source_id", "values", "raw_json", "norm_json", "hash", "latitude", "longitude",
                 "precision", "commune_code", "commune", "static")

    def __init__(self, row, source_id, values, raw_json, norm_json, content_hash, commune, static=None):
        self.row = row
        self.source_id = source_id
        self.values = values
        self.raw_json = raw_json
        self.norm_json = norm_json
        self.hash = content_hash
        self.latitude = None
        self.longitude = None
        self.precision = ""
        self.commune_code = None
        self.commune = commune  # CommuneInfo found by the normaliser, if any
        self.static = static  # _Importer._lieu_static(values), once computed


class _NoMappingError(Exception):
    pass


def _mapping_module():
    from mednum.standard import mapping as mapping_module

    return mapping_module


def _load_communes():
    try:
        from mednum.standard.communes import CommuneIndex
    except ImportError:  # pragma: no cover - the module ships with the project
        return None
    return CommuneIndex.from_db()


def _refresh_lieu_function():
    try:
        from mednum.lieux.merge import refresh_lieu
    except ImportError:
        return None
    return refresh_lieu


# Standard field → Lieu attribute, for the fields whose names differ.
FIELD_TO_ATTR = {"id": "id_standard", "commune": "commune_nom"}
# Lieu char columns whose length the database enforces (PostgreSQL refuses longer values).
_LIMITED = {
    f.name: f.max_length
    for f in Lieu._meta.concrete_fields
    if getattr(f, "max_length", None) and f.get_internal_type() == "CharField"
}
_FIELD_LIMITS = tuple(
    (name, _LIMITED[FIELD_TO_ATTR.get(name, name)])
    for name in schema.field_names()
    if FIELD_TO_ATTR.get(name, name) in _LIMITED and name != "id"
)
_JSON_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _finite(value):
    """`value` with NaN and infinities replaced by null, as orjson writes them (JSON has no NaN)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _DUMPS(value) -> str:
    """Compact JSON, non-ASCII characters kept: orjson, ~10 times faster than the json module and
    byte for byte the same output; the json module for what orjson refuses (integers over 64 bits,
    lone surrogates, non-string keys), always valid JSON (NaN written as null, like orjson)."""
    try:
        return _orjson_dumps(value).decode()
    except TypeError:
        try:
            return _JSON_ENCODE(value)
        except ValueError:
            return _JSON_ENCODE(_finite(value))


_SLUG_DROP = re.compile(r"[^\w\s-]")
_SLUG_DASHES = re.compile(r"[-\s]+")


class _HashKeys:
    """A set of content hashes (32 hex digits) kept as their first 64 bits in a sorted array: 8 MB
    for a million (a Python set of them would take ~70 MB, in both processes of an import).
    `content_hash in keys` is a binary search; a false hit (1 chance in 2⁶⁴ per row) costs nothing but
    a little speed, since the importing process decides from the stored hashes themselves."""

    __slots__ = ("keys",)
    RUN = 50_000

    def __init__(self, hashes):
        # Sorted in runs of RUN keys merged at the end: never a list of a million Python integers.
        runs: list[array] = []
        run: list[int] = []
        for content_hash in hashes:
            key = _hash_key(content_hash)
            if key is not None:
                run.append(key)
                if len(run) >= self.RUN:
                    runs.append(array("Q", sorted(run)))
                    run = []
        if run:
            runs.append(array("Q", sorted(run)))
        self.keys = runs[0] if len(runs) == 1 else array("Q", heapq.merge(*runs))

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, content_hash) -> bool:
        keys = self.keys
        if not keys:
            return False
        key = _hash_key(content_hash)
        if key is None:
            return False
        i = bisect_left(keys, key)
        return i < len(keys) and keys[i] == key


def _hash_key(content_hash) -> int | None:
    """The first 64 bits of a content hash (32 hex digits), None for anything else."""
    try:
        return int(content_hash[:16], 16)
    except (TypeError, ValueError):
        return None


def _slugify(value: str) -> str:
    """Django's `slugify` (same output), with its patterns compiled once and no Unicode
    decomposition for ASCII text: it runs once per lieu written."""
    if not value.isascii():
        value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return _SLUG_DASHES.sub("-", _SLUG_DROP.sub("", value.lower())).strip("-_")


def _fmt(n: int) -> str:
    """12345 → "12 345" (narrow no-break space, as French writes thousands)."""
    return f"{n:_}".replace("_", "\u202f")


def _count_position(counts, rows: list[_Prepared]) -> None:
    """Add the rows' positions to `counts` (the report, or a transaction's pending counts)."""
    for p in rows:
        if p.precision == PositionPrecision.ADRESSE:
            counts.geocoded += 1
        elif p.precision == PositionPrecision.COMMUNE:
            counts.placed_at_commune += 1
        elif not p.precision:
            counts.without_position += 1


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    geocoded: int = 0
    placed_at_commune: int = 0
    without_position: int = 0


class _TransactionGroup:
    """The open transaction of an import's batches: opened by the first batch that writes, committed
    once it holds `rows` written rows, before a call to the geocoder and at the end. The report counts
    the rows of a transaction once it is committed (`pending` until then), so that an import stopped
    midway reports only what stays in the database."""

    def __init__(self, report: ImportReport, rows: int):
        self.report = report
        self.rows = rows
        self.atomic = None
        self.count = 0
        self.pending = _Counts()

    def open(self) -> None:
        if self.atomic is None:
            atomic = transaction.atomic()
            atomic.__enter__()
            self.atomic = atomic

    def written(self, rows: int) -> None:
        self.count += rows
        if self.count >= self.rows:
            self.commit()

    def commit(self) -> None:
        atomic, self.atomic = self.atomic, None
        if atomic is not None:
            atomic.__exit__(None, None, None)  # a failed COMMIT rolls back and raises: nothing counted
        report = self.report
        for name, value in asdict(self.pending).items():
            setattr(report, name, getattr(report, name) + value)
        self.pending = _Counts()
        self.count = 0

    def roll_back(self, error: BaseException) -> None:
        atomic, self.atomic = self.atomic, None
        if atomic is not None:
            atomic.__exit__(type(error), error, error.__traceback__)
        self.pending = _Counts()
        self.count = 0


class _Importer:
    def __init__(self, path, source: str, *, mapping, dry_run, all_or_nothing, progress, geocoder, demo,
                 report_path, encoding, batch_size, communes, normaliser, pipeline=None,
                 transaction_rows=TRANSACTION_ROWS):
        self.path = Path(path)
        self.pipeline = pipeline
        self.source = source
        self.mapping_arg = mapping
        self.dry_run = dry_run
        self.all_or_nothing = all_or_nothing
        self.progress = progress
        self.geocoder = geocoder
        self.demo = demo
        self.encoding = encoding
        self.batch_size = max(1, int(batch_size))
        self.transaction_rows = max(1, int(transaction_rows))
        self.communes_arg = communes
        self.normaliser_arg = normaliser
        self.report = ImportReport(source=source, path=str(path), dry_run=dry_run,
                                   all_or_nothing=all_or_nothing, demo=demo)
        self.report_path = report_path
        self.sink = _RejectionSink(self.report, None)  # opened on the report file by `run`
        self.started = time.monotonic()

    # ------------------------------------------------------------------ setup
    def _setup(self) -> SourceFile:
        self.report.source = _visible(self.source)  # printable even when refused below
        source = self.source.strip()
        if not source:
            raise ImportFileError("Le nom de la source est obligatoire (--source).")
        if len(source) > SourceRecord._meta.get_field("source").max_length:
            raise ImportFileError("Le nom de la source est trop long (100 caractères au maximum).")
        if _UNSTORABLE.search(source):
            raise ImportFileError(
                f"Le nom de la source contient un caractère invalide (« {_visible(source)} ») : caractère nul, "
                "ou octet d'un autre encodage que l'UTF-8 du terminal. Donnez un nom en lettres simples."
            )
        message = near_source_message(source)
        if message:
            raise ImportFileError(message)
        if self.report_path:
            try:
                self.sink = _RejectionSink(self.report, self.report_path)
            except OSError as error:
                raise ImportFileError(
                    f"Impossible d'écrire le rapport des lignes rejetées dans « {self.report_path} » "
                    f"({error.strerror or error}). Rien n'a été importé."
                ) from None
        self.source = self.report.source = source
        self.source_slug = slugify(source) or "source"

        from mednum.standard import normalise as normalise_module
        from mednum.standard import upgrade as upgrade_module

        self.upgrade = upgrade_module.upgrade_v0_record
        self.pivot_unknown = getattr(normalise_module, "PIVOT_UNKNOWN", PIVOT_UNKNOWN_DEFAULT)

        mapping = self.mapping_arg
        self.mapping_error = _NoMappingError
        if mapping is not None:
            mapping_module = _mapping_module()
            self.mapping_error = mapping_module.MappingError
        if mapping is not None and not hasattr(mapping, "apply"):
            mapping_path = Path(mapping)
            if not mapping_path.is_file():
                raise ImportFileError(f"Fichier de correspondance introuvable : {mapping_path}.")
            try:
                mapping = mapping_module.Mapping.load(mapping_path)
            except mapping_module.MappingError as error:
                raise ImportFileError(f"Fichier de correspondance invalide ({mapping_path.name}) : {error}") from None
            except (OSError, ValueError) as error:
                raise ImportFileError(f"Fichier de correspondance illisible ({mapping_path.name}) : {error}") from None
        self.mapping = mapping

        self.communes = self.communes_arg if self.communes_arg is not None else _load_communes()
        self.normaliser_class = normalise_module.Normaliser

        source_file = open_source(self.path, encoding=self.encoding, normalise_keys=mapping is None)
        info = source_file.info
        self.report.file_format = info.format
        self.report.encoding = info.encoding_label
        self.report.delimiter = info.delimiter or ""
        self.report.warnings.extend(info.warnings)
        return source_file

    def _detect_v0(self, source_file: SourceFile, first_record) -> bool:
        from mednum.standard.upgrade import looks_like_v0

        if isinstance(first_record, dict):
            sample = first_record
        else:
            sample = dict.fromkeys(first_record_keys(source_file), "")
        try:
            return bool(looks_like_v0(sample))
        except Exception:  # noqa: BLE001 - detection must never stop an import
            logger.exception("Détection v0.1 impossible")
            return False

    def _check_header(self, source_file: SourceFile, first=None) -> None:
        """CSV header: the standard's required columns, or every column the mapping reads. JSON with a
        mapping: a warning for the columns absent from `first`, the file's first object (an object may
        leave out a key)."""
        if source_file.info.format == "json" and self.mapping is not None and not self.v0:
            missing = getattr(self.mapping, "missing_columns", None)
            if missing is not None and isinstance(first, dict) and (absent := missing(first.keys())):
                details = " ; ".join(f"« {column} » (pour {', '.join(fields)})" for column, fields in absent.items())
                self.report.warnings.append(
                    f"Colonnes lues par la correspondance mais absentes du premier enregistrement : {details}. "
                    "Vérifiez leur orthographe : ces champs resteront vides pour les enregistrements qui ne les ont pas."
                )
            return
        if source_file.info.format != "csv" or self.v0:
            return
        line = getattr(source_file.info, "lines_before_header", 0) + 1  # the header's line
        if self.mapping is not None:
            check = getattr(self.mapping, "check_columns", None)
            if check is not None:
                try:
                    check(source_file.columns)
                except self.mapping_error as error:
                    raise ImportFileError(f"En-tête (ligne {line}) : {error}.", line=line, row=line) from None
            return
        present = set(first_record_keys(source_file))
        missing = [f.name for f in schema.fields() if f.required and f.name not in present]
        if missing:
            plural = len(missing) > 1
            raise ImportFileError(
                f"Colonne{'s' if plural else ''} obligatoire{'s' if plural else ''} absente{'s' if plural else ''} "
                f"de l'en-tête (ligne {line}) : {', '.join(missing)}. Colonnes trouvées : "
                f"{', '.join(source_file.columns)}.",
                line=line, row=line,
            )

    # ------------------------------------------------------------------ passes
    def _tick(self, stage: str, count: int, total):
        if self.progress is not None:
            self.progress(stage, count, total, time.monotonic() - self.started)

    def _structure_pass(self, source_file: SourceFile) -> int:
        """Read every record once (no normalisation): a file that cannot be read to its end is refused here."""
        count = 0
        tick = self._tick
        for _record in source_file.records():
            count += 1
            if count % 10_000 == 0:
                tick("lecture", count, None)
        tick("lecture", count, count)
        return count

    def _rows(self, source_file: SourceFile, total, stage: str, *, collect: bool, writing: bool = True):
        """Normalised valid rows of the file, as _Prepared; rejections go to the sink when `collect`.

        Read and normalised in a child process when `_use_pipeline` says so (`_rows_from_reader`),
        else here; the rows, rejections, progress ticks and counters are the same either way.
        `writing=False` (a validation pass) tells the child that no row will be written (as does a dry run)."""
        if self._use_pipeline():
            return self._rows_from_reader(source_file, total, stage, collect=collect, writing=writing)
        return self._normalised_rows(source_file, total, stage, collect=collect, sink_add=self.sink.add,
                                     tick=self._tick, counters=self.report,
                                     correction_add=None if stage == "validation" else self._correction)

    def _correction(self, row: int, field_name: str, value: Any, reason: str) -> bool:
        """Keep one value fixed or dropped in an imported row; False once enough are kept."""
        corrections = self.report.corrections
        if len(corrections) >= MAX_CORRECTIONS_LISTED:
            return False
        corrections.append(RejectedRow(row, _visible(field_name), _short(value), reason))
        return True

    def _normalised_rows(self, source_file: SourceFile, total, stage: str, *, collect: bool, sink_add, tick,
                         counters, correction_add=None):
        """The reading + normalisation loop. `sink_add(row, field, value, reason)` receives the
        rejections, `tick(stage, rows, total)` the progress; `counters.normaliser_warnings` and
        `counters.read` are kept up to date (the report, or the reader process's own counters).
        `correction_add(row, field, value, reason)` receives the values fixed or dropped in valid rows
        until it returns False."""
        normalise = self.normaliser.normalise
        upgrade = self.upgrade if self.v0 else None
        mapping = self.mapping
        mapping_error = self.mapping_error
        dumps = _DUMPS
        orjson_dumps = _orjson_dumps
        md5 = hashlib.md5
        limits = _FIELD_LIMITS
        seen: set[int] = set()
        read = 0
        problems: list[tuple[str, Any, str]] = []

        for row, record in source_file.records():
            read += 1
            if read % PROGRESS_EVERY == 0:
                tick(stage, read, total)
            problems.clear()
            if type(record) is BadRow:
                problems.append((record.field, record.value, record.reason))
            else:
                try:
                    raw_json = orjson_dumps(record).decode()
                except TypeError:  # integers over 64 bits, lone surrogates, deep nesting…: the general path
                    try:
                        raw_json = dumps(record)
                    except RecursionError:
                        raw_json = ""
                        problems.append(("", "", "enregistrement trop imbriqué (des centaines de tableaux [ ] ou "
                                                 "d'objets { } les uns dans les autres)"))
                    problems.extend(_unstorable_characters(record))
                else:
                    # orjson writes U+0000 as « \u0000 » (typed text « \u0000 » is a rare false alarm). A
                    # backslash is rare in a record: looking for it first costs ~0.1 µs, the escape ~0.8.
                    if "\\" in raw_json and "\\u0000" in raw_json:
                        problems.extend(_unstorable_characters(record))
                if len(raw_json) > MAX_VALUE_CHARS:
                    for key, value in record.items():
                        size = len(value) if isinstance(value, str) else len(dumps(value))
                        if size > MAX_VALUE_CHARS:
                            problems.append((key, value, f"valeur trop longue : {_fmt(size)} caractères "
                                                         f"({_fmt(MAX_VALUE_CHARS)} au maximum)"))
                if not problems:
                    try:
                        if upgrade is not None:
                            standard_record = upgrade(record)
                        elif mapping is not None:
                            standard_record = mapping.apply(record)
                        else:
                            standard_record = record
                        result = normalise(standard_record)
                    except mapping_error as error:
                        problems.append(("", "", f"correspondance impossible : {error}"))
                    except Exception as error:  # noqa: BLE001 - one bad row must not stop the import
                        logger.exception("Ligne %s : erreur inattendue de normalisation", row)
                        problems.append(("", "", f"erreur inattendue lors de la normalisation : {error!r}"))
                    else:
                        if result.errors:
                            for error in result.errors:
                                problems.append((error.field, error.value, error.reason))
                        else:
                            values = result.values
                            for name, limit in limits:
                                value = values.get(name) or ""
                                if len(value) > limit:
                                    problems.append((name, value, f"valeur trop longue : {_fmt(len(value))} "
                                                                  f"caractères ({limit} au maximum)"))
                            source_id = values.get("id") or ""
                            if not source_id:
                                problems.append(("id", "", "identifiant manquant"))
                            elif len(source_id) > 255:
                                problems.append(("id", source_id, "identifiant trop long (255 caractères au maximum)"))
                            else:
                                key = hash(source_id)
                                if key in seen:
                                    problems.append(("id", source_id, "identifiant en double dans le fichier "
                                                                      "(une ligne précédente a le même id)"))
                                else:
                                    seen.add(key)
                            if result.warnings:
                                counters.normaliser_warnings += len(result.warnings)
                                if correction_add is not None and not problems:
                                    for warning in result.warnings:
                                        if not correction_add(row, warning.field, warning.value, warning.reason):
                                            correction_add = None
                                            break
            if problems:
                if collect:
                    for field_name, value, reason in problems:
                        sink_add(row, field_name, value, reason)
                else:
                    raise ImportAborted(f"ligne {row} : {problems[0][2]}")
                continue
            norm_json = dumps(values)
            content_hash = md5((norm_json + "\x1e" + raw_json).encode()).hexdigest()
            yield _Prepared(row, source_id, values, raw_json, norm_json, content_hash,
                            getattr(result, "commune", None))
        tick(stage, read, total)
        counters.read = read

    # ------------------------------------------------------------------ pipeline
    def _use_pipeline(self) -> bool:
        """Read in a child process? `pipeline=True/False` (argument, else the setting
        MEDNUM_IMPORT_PIPELINE) forces the choice; by default (None or "auto"): for files of at least
        PIPELINE_MIN_BYTES, with two cores or more, from a single-threaded process (forking a process
        whose other threads may hold locks is not safe)."""
        choice = self.pipeline
        if choice is None:
            choice = getattr(settings, "MEDNUM_IMPORT_PIPELINE", None)
        if not pipeline.fork_available():
            return False
        if choice is not None and choice != "auto":
            return bool(choice)
        try:
            size = self.path.stat().st_size
        except OSError:
            return False
        return size >= PIPELINE_MIN_BYTES and pipeline.usable_cpus() >= 2 and threading.active_count() == 1

    def _reader_main(self, sender: pipeline.ChunkSender, source_file: SourceFile, total, stage: str,
                     collect: bool, writing: bool, stored: _HashKeys) -> None:
        """In the reader process: run the reading loop and send its events in chunks, in file order.

        Messages: ("chunk", events, normaliser_warnings) where an event is a row
        (_EV_ROW, row, source_id, values, raw_json, norm_json, hash, commune, lieu static), a rejection
        (_EV_REJECTION, row, field, value, reason) or a progress tick (_EV_TICK, stage, rows, total);
        then ("end", rows read, normaliser_warnings), or ("error", kind, details) when reading stops."""
        counters = _ReaderCounters()
        events: list = []
        append = events.append

        def sink_add(row, field_name, value, reason):
            append((_EV_REJECTION, row, field_name, value, reason))

        def tick(tick_stage, count, tick_total):
            append((_EV_TICK, tick_stage, count, tick_total))

        corrections_sent = 0

        def correction_add(row, field_name, value, reason):
            nonlocal corrections_sent
            if corrections_sent >= MAX_CORRECTIONS_LISTED:
                return False
            corrections_sent += 1
            append((_EV_CORRECTION, row, field_name, value, reason))
            return True

        # A commune of the index is sent as its code (the parent has the same index, forked).
        index = getattr(self.normaliser, "communes", None)
        by_code = getattr(index, "by_code", None) or {}
        chunk = PIPELINE_CHUNK
        send = sender.send
        # The Lieu columns owed to the values alone are computed here, so that the two processes share
        # the work (the importing process then needs only the values that place the lieu), for the rows
        # that will be written: not on a validation pass, and not for a row whose content hash is
        # already stored for this source (`stored`: unchanged, skipped by the importing process, which
        # computes those columns itself in the rare case it writes such a row after all).
        lieu_static = self._lieu_static if writing else None
        placing = _PLACING_FIELDS
        try:
            for p in self._normalised_rows(source_file, total, stage, collect=collect, sink_add=sink_add,
                                           tick=tick, counters=counters,
                                           correction_add=None if stage == "validation" else correction_add):
                commune = p.commune
                if commune is not None and by_code.get(commune.code) is commune:
                    commune = commune.code
                values = p.values
                static = None
                if lieu_static is not None and p.hash not in stored:
                    static = lieu_static(values)
                    values = {name: values[name] for name in placing if values.get(name)}
                append((_EV_ROW, p.row, p.source_id, values, p.raw_json, p.norm_json, p.hash, commune, static))
                if len(events) >= chunk:
                    send(("chunk", events, counters.normaliser_warnings))
                    events.clear()
        except ImportFileError as error:
            send(("chunk", events, counters.normaliser_warnings))
            send(("error", "file", (error.message, error.line, error.offset, error.row)))
            return
        except ImportAborted as error:
            send(("chunk", events, counters.normaliser_warnings))
            send(("error", "aborted", str(error)))
            return
        except pipeline.ParentGone:
            raise
        except BaseException as error:  # noqa: BLE001 - reported to the importing process
            import traceback

            send(("error", "internal", f"{error!r}\n{traceback.format_exc()}"))
            return
        send(("chunk", events, counters.normaliser_warnings))
        send(("end", counters.read, counters.normaliser_warnings))

    def _rows_from_reader(self, source_file: SourceFile, total, stage: str, *, collect: bool, writing: bool):
        """`_rows` with the reading loop in a forked process: its events are replayed here in file
        order (rejections into the sink, ticks to the progress callback) as the rows are consumed."""
        report = self.report
        sink = self.sink
        if sink.handle is not None:
            sink.handle.flush()  # nothing buffered that the child could write again
        index = getattr(self.normaliser, "communes", None)
        by_code = getattr(index, "by_code", None) or {}
        ahead = max(2, -(-PIPELINE_AHEAD_BATCHES * self.batch_size // PIPELINE_CHUNK))
        writing = writing and not self.dry_run
        stored = self._stored_hashes() if writing else _HashKeys(())
        reader = pipeline.ReaderProcess(
            lambda sender: self._reader_main(sender, source_file, total, stage, collect, writing, stored),
            max_pending=ahead,
        )
        del stored  # the child has its copy
        tick = self._tick
        sink_add = sink.add
        warnings_before = report.normaliser_warnings  # the reader counts from 0, the report adds up passes
        try:
            for message in reader.messages():
                kind = message[0]
                if kind == "chunk":
                    for event in message[1]:
                        tag = event[0]
                        if tag == _EV_ROW:
                            commune = event[7]
                            if commune.__class__ is str:
                                commune = by_code[commune]
                            yield _Prepared(event[1], event[2], event[3], event[4], event[5], event[6], commune,
                                            event[8])
                        elif tag == _EV_REJECTION:
                            sink_add(event[1], event[2], event[3], event[4])
                        elif tag == _EV_CORRECTION:
                            self._correction(event[1], event[2], event[3], event[4])
                        else:
                            tick(event[1], event[2], event[3])
                    report.normaliser_warnings = warnings_before + message[2]
                elif kind == "end":
                    report.read = message[1]
                    report.normaliser_warnings = warnings_before + message[2]
                    return
                else:
                    what, details = message[1], message[2]
                    if what == "file":
                        text, line, offset, row = details
                        raise ImportFileError(text, line=line, offset=offset, row=row)
                    if what == "aborted":
                        raise ImportAborted(details)
                    logger.error("Processus de lecture de %s : %s", self.path, details)
                    raise pipeline.ReaderFailed(
                        f"erreur inattendue dans le processus de lecture du fichier : {details.splitlines()[0]}"
                    )
        finally:
            reader.close()

    # ------------------------------------------------------------------ run
    def run(self) -> ImportReport:
        report = self.report
        try:
            source_file = self._setup()
            first = None
            if source_file.info.format == "json":
                for _row, first in source_file.records():
                    break
            self.v0 = self._detect_v0(source_file, first)
            if self.v0:
                report.warnings.append("Fichier au format v0.1 du standard : converti en v1.")
            if self.normaliser_arg is not None:
                self.normaliser = self.normaliser_arg
            else:
                # A file that claims to follow the standard v1 must use its vocabulary (unknown value =
                # rejected row); values produced by a mapping's rules or by the v0.1 upgrade table are
                # dropped with a warning instead.
                strict = self.mapping is None and not self.v0
                # Unreadable opening hours are kept, with a warning in the report for the source.
                self.normaliser = self.normaliser_class(communes=self.communes, strict_enums=strict,
                                                        hours_error=hours.erreur)
            self._check_header(source_file, first)
            self._prepare_db()

            if self.all_or_nothing:
                # Pass 1: validate every row, write nothing.
                total = None
                valid = 0
                with closing(self._rows(source_file, None, "validation", collect=True, writing=False)) as rows:
                    for _prepared in rows:
                        valid += 1
                total = report.read
                report.valid = valid
                if not total:
                    raise ImportFileError("Le fichier ne contient aucune ligne de données.")
                if report.rejected:
                    return report
                report.valid = 0
                report.normaliser_warnings = 0  # counted again by the import pass
                with transaction.atomic() if not self.dry_run else nullcontext():
                    self._import_pass(source_file, total, outer=True)
            else:
                total = None
                if source_file.info.needs_structure_pass():
                    total = self._structure_pass(source_file)
                    if not total:
                        raise ImportFileError("Le fichier ne contient aucune ligne de données.")
                self._import_pass(source_file, total, outer=False)
                if not report.read:
                    raise ImportFileError("Le fichier ne contient aucune ligne de données.")
            report.committed = not self.dry_run and report.written > 0
        except ImportFileError as error:
            report.fatal = error.message
            if report.written:  # found midway (a CSV cut inside quotes that a stray quote hid): say what stays
                report.fatal += (
                    f" Les {_fmt(report.written)} lieux enregistrés avant cette erreur le restent ; les lignes "
                    "suivantes n'ont pas été importées. Corrigez le fichier puis relancez l'import : les lieux "
                    "déjà importés ne seront pas dupliqués."
                )
            self.sink.fatal(report.fatal)
        except ImportAborted as error:
            report.fatal = f"Import interrompu, rien n'a été enregistré : {error}"
            report.created = report.updated = 0
            self.sink.fatal(report.fatal)
        except pipeline.ReaderFailed as error:
            logger.error("Import de %s : %s", self.path, error)
            self._interrupted("Erreur interne", error, nothing_kept=self.all_or_nothing or not report.written)
        except DatabaseError as error:
            logger.exception("Import de %s : erreur de la base de données", self.path)
            self._interrupted("Erreur de la base de données", error, nothing_kept=self.all_or_nothing)
        finally:
            self.sink.close()
            report.duration = time.monotonic() - self.started
        return report

    def _interrupted(self, label: str, error: Exception, *, nothing_kept: bool) -> None:
        """Report an import stopped midway: the batch in progress is rolled back; the batches already
        committed stay (re-running the import completes it) unless everything was one transaction."""
        report = self.report
        if nothing_kept:
            report.created = report.updated = 0
            report.fatal = f"{label}, rien n'a été enregistré : {error}"
        else:
            report.fatal = (
                f"{label} : {error}. Les dernières lignes, pas encore enregistrées, ont été annulées ; les "
                "précédentes sont enregistrées ; relancez l'import pour le compléter."
            )
        self.sink.fatal(report.fatal)

    def _import_pass(self, source_file: SourceFile, total: int, *, outer: bool) -> None:
        with _sqlite_import_settings():
            self._batches(source_file, total, outer=outer)

    def _batches(self, source_file: SourceFile, total: int, *, outer: bool) -> None:
        batch: list[_Prepared] = []
        group = None if outer or self.dry_run else _TransactionGroup(self.report, self.transaction_rows)
        try:
            with closing(self._rows(source_file, total, "import", collect=not outer)) as rows:
                for prepared in rows:
                    batch.append(prepared)
                    if len(batch) >= self.batch_size:
                        self._process_batch(batch, outer, group)
                        batch = []
            if batch:
                self._process_batch(batch, outer, group)
        except BaseException as error:
            if group is not None:
                group.roll_back(error)
            raise
        if group is not None:
            group.commit()

    # ------------------------------------------------------------------ database
    def _prepare_db(self) -> None:
        ops = connection.ops
        qn = ops.quote_name
        self.now = timezone.now()
        self.now_db = ops.adapt_datetimefield_value(self.now)
        self.today = timezone.localdate()
        self.today_db = ops.adapt_datefield_value(self.today)
        self._dates: dict = {}
        self.sql_fetch_existing = (
            f"SELECT {qn('source_id')}, {qn('id')}, {qn('lieu_id')}, {qn('content_hash')} "
            f"FROM {qn(SourceRecord._meta.db_table)} WHERE {qn('source')} = %s AND {qn('source_id')} IN "
        )
        self.sql_lieu_ids = (
            f"SELECT {qn('id_standard')}, {qn('id')} FROM {qn(Lieu._meta.db_table)} WHERE {qn('id_standard')} IN "
        )
        self.sql_id_standards = (
            f"SELECT {qn('id')}, {qn('id_standard')} FROM {qn(Lieu._meta.db_table)} WHERE {qn('id')} IN "
        )
        self.json_placeholder = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        self.refresh_lieu = _refresh_lieu_function()
        from mednum.territoires.models import Commune

        with _cursor() as cursor:  # a plain query: ~4× faster than the ORM's 35,000 values
            cursor.execute(f"SELECT {qn('code')} FROM {qn(Commune._meta.db_table)}")
            self.commune_codes = {code for (code,) in cursor.fetchall()}

        # Lieu columns, in the order the import writes them: the standard's text fields copied as
        # normalised, then the derived ones, then id_standard and cree_le (insert only), then any
        # other column of the model with its default.
        fields = {f.attname: f for f in Lieu._meta.concrete_fields if not f.primary_key}
        self.std_names = [name for name, _attr in _STANDARD_ATTRS]
        self.std_getter = itemgetter(*self.std_names)
        std_attrs = [attr for _name, attr in _STANDARD_ATTRS]
        self.pivot_index = std_attrs.index("pivot")
        self.source_index = std_attrs.index("source")
        self.mask_plan = [(name, column, {}) for name, column in MASK_COLUMNS.items()]
        derived = ["latitude", "longitude", "date_maj", "slug", "commune_id", "position_precision",
                   *MASK_COLUMNS.values(), "est_demo", "modifie_le"]
        handled = set(std_attrs) | set(derived) | {"id_standard", "cree_le"}
        others = [a for a in fields if a not in handled]
        defaults = []
        for attname in others:
            f = fields[attname]
            default = f.get_default() if f.has_default() else None
            defaults.append(None if default is None else f.get_db_prep_save(default, connection))
        self.other_defaults = defaults
        table = qn(Lieu._meta.db_table)
        insert_attrs = [*std_attrs, *derived, "id_standard", "cree_le", *others]
        lieu_columns = ", ".join(qn(fields[a].column) for a in insert_attrs)
        self.sql_insert_lieu = f"INSERT INTO {table} ({lieu_columns}) VALUES ({', '.join(['%s'] * len(insert_attrs))})"
        self.sql_copy_lieu = f"COPY {table} ({lieu_columns}) FROM STDIN"
        # An update leaves the other columns (fusionne_dans set by deduplication…) alone.
        update_attrs = [*std_attrs, *derived]
        sets = ", ".join(f"{qn(fields[a].column)} = %s" for a in update_attrs)
        self.sql_update_lieu = f"UPDATE {table} SET {sets} WHERE {qn(Lieu._meta.pk.column)} = %s"

        sr = SourceRecord._meta
        sr_table = qn(sr.db_table)
        col = {f.name: qn(f.column) for f in sr.concrete_fields}
        jp = self.json_placeholder
        record_columns = (
            f"{col['source']}, {col['source_id']}, {col['lieu']}, {col['raw']}, {col['normalised']}, "
            f"{col['content_hash']}, {col['date_maj']}, {col['imported_at']}, {col['updated_at']}"
        )
        self.sql_insert_record = (
            f"INSERT INTO {sr_table} ({record_columns}) VALUES (%s, %s, %s, {jp}, {jp}, %s, %s, %s, %s)"
        )
        self.sql_copy_record = f"COPY {sr_table} ({record_columns}) FROM STDIN"
        # PostgreSQL: COPY is several times faster than row-by-row INSERT statements.
        self.use_copy = connection.vendor == "postgresql"
        self.sql_update_record = (
            f"UPDATE {sr_table} SET {col['raw']} = {jp}, {col['normalised']} = {jp}, {col['content_hash']} = %s, "
            f"{col['date_maj']} = %s, {col['updated_at']} = %s WHERE {col['id']} = %s"
        )

    def _stored_hashes(self) -> _HashKeys:
        """The content hashes stored for this source: a hint for the reader process (which rows are
        likely unchanged), never a decision."""
        hashes = SourceRecord.objects.filter(source=self.source).values_list("content_hash", flat=True)
        # Streamed (a server-side cursor on PostgreSQL): a million hashes never sit in memory as strings.
        return _HashKeys(hashes.iterator(chunk_size=10_000))

    def _fetch_existing(self, source_ids: list[str]) -> dict[str, tuple[int, int, str]]:
        """source_id → (record id, lieu id, content hash) for the records of this source already stored."""
        result = {}
        with _cursor() as cursor:
            for chunk in _chunks(source_ids):
                cursor.execute(self.sql_fetch_existing + f"({', '.join(['%s'] * len(chunk))})", [self.source, *chunk])
                for sid, rid, lid, content_hash in cursor.fetchall():
                    result[sid] = (rid, lid, content_hash)
        return result

    @staticmethod
    def _pairs_in(sql: str, keys: list) -> dict:
        """The (key, value) rows of `sql` ending in « … IN », asked for `keys` a chunk at a time."""
        result = {}
        with _cursor() as cursor:
            for chunk in _chunks(keys):
                cursor.execute(sql + f"({', '.join(['%s'] * len(chunk))})", chunk)
                result.update(cursor.fetchall())
        return result

    def _id_standards(self, lieu_ids: list[int]) -> dict[int, str]:
        """Lieu id → id_standard."""
        return self._pairs_in(self.sql_id_standards, lieu_ids)

    def _lieu_ids(self, id_standards: list[str]) -> dict[str, int]:
        """id_standard → Lieu id, for those that exist."""
        return self._pairs_in(self.sql_lieu_ids, id_standards)

    def _position(self, batch: list[_Prepared], *, geocode: bool, before_network: Callable[[], None] | None = None,
                  ) -> None:
        """Coordinates, precision and commune for the rows about to be written. `before_network` is
        called before the geocoder is."""
        communes = self.communes
        commune_codes = self.commune_codes
        needing = []
        for p in batch:
            values = p.values
            code_insee = values.get("code_insee") or ""
            info = p.commune
            if info is None and communes is not None and (code_insee or values.get("code_postal")):
                info = communes.resolve(code_insee=code_insee, code_postal=values.get("code_postal") or "",
                                        nom=values.get("commune") or "")
            p.commune_code = info.code if info is not None and code_insee and info.code in commune_codes else None
            lat, lon = values.get("latitude"), values.get("longitude")
            if lat and lon:
                try:
                    p.latitude, p.longitude = float(lat), float(lon)
                    p.precision = PositionPrecision.SOURCE.value
                    continue
                except ValueError:
                    pass
            p.latitude = p.longitude = None
            needing.append((p, info))
        if not needing:
            return
        results = [None] * len(needing)
        if geocode and self.geocoder is not None and not self.dry_run:
            from mednum.geo.geocoder import GeocodeQuery

            if before_network is not None:
                before_network()
            queries = [
                GeocodeQuery(
                    adresse=p.values.get("adresse") or "",
                    code_postal=p.values.get("code_postal") or "",
                    code_insee=(info.code if info is not None else p.values.get("code_insee") or ""),
                    commune=p.values.get("commune") or "",
                )
                for p, info in needing
            ]
            try:
                results = self.geocoder.geocode_many(queries)
            except Exception:  # noqa: BLE001 - a geocoder failure only costs precision
                logger.exception("Géocodage impossible pour ce lot")
                results = [None] * len(needing)
        for (p, info), result in zip(needing, results):
            if result is not None:
                p.latitude, p.longitude = result.latitude, result.longitude
                p.precision = PositionPrecision.ADRESSE.value
            elif info is not None and info.latitude is not None and info.longitude is not None:
                p.latitude, p.longitude = info.latitude, info.longitude
                p.precision = PositionPrecision.COMMUNE.value
            else:
                p.precision = PositionPrecision.AUCUNE.value

    def _lieu_static(self, values: dict) -> tuple:
        """What the Lieu row owes to the normalised values alone (no database, no position):
        (standard columns, bit masks, slug without its suffix, date_maj for the database, slug suffix of
        the row's own id). Computed once per row, when the row is first written."""
        try:
            head = list(self.std_getter(values))
        except KeyError:  # a normaliser that leaves fields out
            head = [values.get(name) or "" for name in self.std_names]
        pivot = head[self.pivot_index]
        if pivot == self.pivot_unknown or pivot == PIVOT_UNKNOWN_DEFAULT:
            head[self.pivot_index] = ""
        if not head[self.source_index]:
            head[self.source_index] = self.source
        masks = []
        for field_name, _column, cache in self.mask_plan:
            text = values.get(field_name)
            if not text:
                masks.append(0)
                continue
            mask = cache.get(text)
            if mask is None:
                if len(cache) > 20_000:
                    cache.clear()
                mask = cache[text] = schema.mask_of(field_name, schema.split(text))
            masks.append(mask)
        slug = _slugify(values.get("nom") or "")[:80].strip("-") or "lieu"
        return head, masks, slug, self._db_date(values.get("date_maj")), _short_id(values.get("id") or "")

    def _lieu_row(self, p: _Prepared, id_standard: str) -> list:
        """The Lieu columns this import sets, database-ready, in the order of `sql_insert_lieu`
        (standard fields, then derived ones)."""
        static = p.static
        if static is None:
            static = p.static = self._lieu_static(p.values)
        head, masks, slug, date_db, own_short_id = static
        short_id = own_short_id if id_standard == p.source_id else _short_id(id_standard)
        return [
            *head,
            p.latitude,
            p.longitude,
            date_db or self.today_db,
            f"{slug}-{short_id}",
            p.commune_code,
            p.precision,
            *masks,
            self.demo,
            self.now_db,
        ]

    def _db_date(self, text: str | None):
        """'YYYY-MM-DD' → the database's value for a date column (None when empty or invalid)."""
        if not text:
            return None
        cache = self._dates
        if text in cache:
            return cache[text]
        try:
            value = connection.ops.adapt_datefield_value(date.fromisoformat(text))
        except ValueError:
            value = None
        if len(cache) > 20_000:
            cache.clear()
        cache[text] = value
        return value

    def _process_batch(self, batch: list[_Prepared], outer: bool, group: _TransactionGroup | None = None) -> None:
        report = self.report
        report.valid += len(batch)
        ids = [p.source_id for p in batch]
        existing = self._fetch_existing(ids)
        todo = [p for p in batch if (e := existing.get(p.source_id)) is None or e[2] != p.hash]
        report.unchanged += len(batch) - len(todo)
        if not todo:
            return
        if self.dry_run:
            for p in todo:
                if p.source_id in existing:
                    report.updated += 1
                else:
                    report.created += 1
            self._position(todo, geocode=False)
            _count_position(report, todo)
            return
        # Network calls, outside any transaction: the rows already written are committed first.
        self._position(todo, geocode=True, before_network=group.commit if group is not None else None)
        if group is not None:
            group.open()
        with nullcontext() if outer or group is not None else transaction.atomic():
            if not outer:
                existing = self._fetch_existing([p.source_id for p in todo])
            new, changed = [], []
            for p in todo:
                e = existing.get(p.source_id)
                if e is None:
                    new.append(p)
                elif e[2] != p.hash:
                    changed.append((p, e))
                else:
                    report.unchanged += 1
            if new:
                self._create(new)
            if changed:
                self._update(changed)
        counts = group.pending if group is not None else report  # counted once committed
        counts.created += len(new)
        counts.updated += len(changed)
        _count_position(counts, new)
        _count_position(counts, [p for p, _e in changed])
        if group is not None:
            group.written(len(new) + len(changed))

    def _create(self, rows: list[_Prepared]) -> None:
        # id_standard: the record's id, unless another lieu already has it (another source): then
        # "<source>_<id>" as in national merged data, with a number if that is taken too.
        wanted = {p.source_id: p.source_id for p in rows}
        clashing = list(wanted)
        attempt = 1
        while clashing:
            taken = set(self._lieu_ids([wanted[s] for s in clashing]))
            counts = Counter(wanted.values())
            clashing = [s for s in clashing if wanted[s] in taken or (wanted[s] != s and counts[wanted[s]] > 1)]
            for sid in clashing:
                base = f"{self.source_slug}_{sid}"
                suffix = "" if attempt == 1 else f"_{attempt}"
                wanted[sid] = base[: 255 - len(suffix)] + suffix  # the number survives a long id
            attempt += 1
            if attempt > 100:  # pragma: no cover - absurd chain of collisions
                raise ImportFileError("Impossible d'attribuer un identifiant unique aux lieux.")

        tail = [self.now_db, *self.other_defaults]  # cree_le, then the other columns
        lieu_rows = []
        for p in rows:
            id_standard = wanted[p.source_id]
            row = self._lieu_row(p, id_standard)
            row.append(id_standard)
            row += tail
            lieu_rows.append(row)
        with indexing_inserts_at_end(connection):  # SQLite: one R*Tree insert per batch, not a trigger per row
            self._insert("lieu", lieu_rows)
        id_by_standard = self._lieu_ids(list(wanted.values()))
        now = self.now_db
        source = self.source
        db_date = self._db_date
        record_rows = [
            (source, p.source_id, id_by_standard[wanted[p.source_id]], p.raw_json, p.norm_json, p.hash,
             p.static[3] if p.static is not None else db_date(p.values.get("date_maj")), now, now)
            for p in rows
        ]
        self._insert("record", record_rows)

    def _insert(self, table: str, rows: list) -> None:
        if not rows:
            return
        with _cursor() as cursor:
            if self.use_copy:
                raw = getattr(cursor, "cursor", cursor)  # Django's wrapper when queries are captured
                with raw.copy(self.sql_copy_lieu if table == "lieu" else self.sql_copy_record) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql_insert_lieu if table == "lieu" else self.sql_insert_record, rows)

    def _update(self, changed: list[tuple[_Prepared, tuple[int, int, str]]]) -> None:
        now = self.now_db
        db_date = self._db_date
        record_rows = [
            (p.raw_json, p.norm_json, p.hash, p.static[3] if p.static is not None else db_date(p.values.get("date_maj")),
             now, record_id)
            for p, (record_id, _lieu_id, _hash) in changed
        ]
        with _cursor() as cursor:
            cursor.executemany(self.sql_update_record, record_rows)

        lieu_ids = [e[1] for _p, e in changed]
        merged = set(
            SourceRecord.objects.filter(lieu_id__in=lieu_ids)
            .values("lieu_id").annotate(n=Count("id")).filter(n__gt=1).values_list("lieu_id", flat=True)
        )
        refresh = self.refresh_lieu if merged else None
        id_standards = self._id_standards([lieu_id for _p, (_r, lieu_id, _h) in changed])
        lieu_rows = []
        for p, (_record_id, lieu_id, _hash) in changed:
            if lieu_id in merged and refresh is not None:
                continue
            row = self._lieu_row(p, id_standards.get(lieu_id, p.source_id))
            row.append(lieu_id)
            lieu_rows.append(row)
        if lieu_rows:
            with _cursor() as cursor:
                cursor.executemany(self.sql_update_lieu, lieu_rows)
        if merged and refresh is not None:
            for lieu in Lieu.objects.filter(pk__in=merged):
                refresh(lieu)


# Standard fields copied as text into the Lieu column of the same meaning.
_STANDARD_ATTRS = tuple(
    (name, FIELD_TO_ATTR.get(name, name))
    for name in schema.field_names()
    if name not in ("id", "latitude", "longitude", "date_maj")
)


@contextmanager
def _sqlite_import_settings():
    """SQLite, for the import's writes: no memory-mapped reads, no CHECK constraints, fewer WAL
    checkpoints. Restored afterwards.

    The site's settings map up to 256 MB of the database file for fast reads; an import reads each
    page once or twice, and mapped pages count in the process's resident memory.
    The only CHECK constraints of the tables written are the JSON fields' `JSON_VALID(raw)` and
    `JSON_VALID(normalised)`: the import writes JSON it has just serialised itself, and parsing it
    again costs several microseconds a row. A transaction writes thousands of pages to the
    write-ahead log, so with SQLite's default (a checkpoint once the log holds 1,000 pages) every
    commit copied the log into the database and synced it; IMPORT_WAL_AUTOCHECKPOINT pages (~80 MB
    in 8 KB pages) checkpoint every few transactions instead. Durability is unchanged (synchronous=NORMAL:
    commits are in the log), and the log file keeps that size afterwards. These pragmas belong to
    the connection, not the file.
    """
    if connection.vendor != "sqlite":
        yield
        return
    previous = checkpoint = None
    try:
        with _cursor() as cursor:
            cursor.execute("PRAGMA mmap_size")
            found = cursor.fetchone()  # nothing for an in-memory database
            previous = found[0] if found else None
            if previous:
                cursor.execute("PRAGMA mmap_size=0")
            cursor.execute("PRAGMA ignore_check_constraints=ON")
            cursor.execute("PRAGMA wal_autocheckpoint")
            found = cursor.fetchone()
            checkpoint = found[0] if found else None
            if checkpoint and checkpoint < IMPORT_WAL_AUTOCHECKPOINT:
                cursor.execute(f"PRAGMA wal_autocheckpoint={IMPORT_WAL_AUTOCHECKPOINT}")
    except DatabaseError:  # pragma: no cover - a pragma SQLite refuses changes nothing else
        previous = checkpoint = None
    try:
        yield
    finally:
        try:
            with _cursor() as cursor:
                cursor.execute("PRAGMA ignore_check_constraints=OFF")
                if checkpoint and checkpoint < IMPORT_WAL_AUTOCHECKPOINT:
                    cursor.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint)}")
                if previous:
                    cursor.execute(f"PRAGMA mmap_size={int(previous)}")
        except DatabaseError:  # pragma: no cover
            pass


@contextmanager
def _cursor():
    """A cursor of the backend without Django's query logging.

    With DEBUG on (a developer's machine, the benchmarks), Django keeps the text of the last 9,000
    queries with their parameters interpolated: at a million rows that is hundreds of megabytes and
    a quoting query per parameter. Errors are still turned into django.db exceptions. When queries
    are captured on purpose (`force_debug_cursor`, as `CaptureQueriesContext` does), they are logged.
    """
    if connection.force_debug_cursor:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = connection.create_cursor()
        try:
            yield cursor
        finally:
            cursor.close()


def _chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _short_id(id_standard: str) -> str:
    """The slug's suffix: a short hash of the lieu's id (the rule `mednum.lieux.merge.make_slug` follows too)."""
    return hashlib.md5(id_standard.encode()).hexdigest()[:8]


def import_lieux(
    path,
    source: str,
    *,
    mapping=None,
    dry_run: bool = False,
    all_or_nothing: bool = False,
    progress: ProgressCallback | None = None,
    geocoder=None,
    demo: bool = False,
    report_path=None,
    encoding: str | None = None,
    batch_size: int = BATCH_SIZE,
    communes=None,
    normaliser=None,
    pipeline: bool | None = None,
    transaction_rows: int = TRANSACTION_ROWS,
) -> ImportReport:
    """Import the lieux of one source file. See the module docstring for the guarantees.

    `mapping`: a `Mapping` or the path of a mapping file (raw column names → standard).
    `progress(stage, rows, total, elapsed)` is called every thousand rows or so.
    `geocoder`: an object with `geocode_many(queries)` (see `mednum.geo.geocoder`), or None.
    `report_path`: write every rejected row there as CSV (`REPORT_HEADER`), then the corrections listed.
    `encoding`: force the file's encoding (default: detected).
    `communes`, `normaliser`: for tests and benchmarks (default: built from the database).
    `pipeline`: read and normalise in a child process while this one writes (True), or here (False);
    None: the setting MEDNUM_IMPORT_PIPELINE if set, else automatic (files of 1 MB or more, 2+ cores).
    `batch_size`, `transaction_rows`: rows per batch and rows written per transaction (benchmarks, tests).
    """
    importer = _Importer(
        path, source, mapping=mapping, dry_run=dry_run, all_or_nothing=all_or_nothing, progress=progress,
        geocoder=geocoder, demo=demo, report_path=report_path, encoding=encoding, batch_size=batch_size,
        communes=communes, normaliser=normaliser, pipeline=pipeline, transaction_rows=transaction_rows,
    )
    return importer.run()
