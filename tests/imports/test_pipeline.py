"""The pipelined import (reading + normalisation in a forked reader process, `mednum.imports.pipeline`)
gives the same results as the in-process import, and a reader process that dies or fails is reported."""

from __future__ import annotations

import csv
import os

import pytest

from mednum.imports import engine
from mednum.imports.engine import import_lieux
from mednum.lieux.models import Lieu, SourceRecord
from tests.imports.conftest import BAD, fail_create_at, row, write_csv, write_json

pytestmark = pytest.mark.django_db

COMPARED = ("read", "valid", "created", "updated", "unchanged", "rejected", "rejected_entries", "placed_at_commune",
            "without_position", "normaliser_warnings", "fatal", "warnings", "file_format", "encoding", "delimiter")


def summary(report) -> dict:
    data = {name: getattr(report, name) for name in COMPARED}
    data["rejections"] = [(r.row, r.field, r.value, r.reason) for r in report.rejections]
    data["corrections"] = [(r.row, r.field, r.value, r.reason) for r in report.corrections]
    data["exit_status"] = report.exit_status
    return data


def both_ways(path, **kwargs) -> tuple[dict, dict]:
    """The same file imported in process (source "a") and pipelined (source "b")."""
    here = import_lieux(path, "a", pipeline=False, **kwargs)
    piped = import_lieux(path, "b", pipeline=True, **kwargs)
    return summary(here), summary(piped)


def test_auto_mode_by_size(tmp_path, settings):
    small = write_csv(tmp_path / "petit.csv", [row(1)])
    importer = engine._Importer(small, "s", mapping=None, dry_run=False, all_or_nothing=False, progress=None,
                                geocoder=None, demo=False, report_path=None, encoding=None, batch_size=10,
                                communes=None, normaliser=None)
    assert not importer._use_pipeline()  # a small file stays in process
    settings.MEDNUM_IMPORT_PIPELINE = True
    assert importer._use_pipeline()
    importer.pipeline = False
    assert not importer._use_pipeline()


@pytest.mark.parametrize("all_or_nothing", [False, True])
@pytest.mark.parametrize("name", sorted(p.name for p in BAD.glob("*.csv")))
def test_bad_files_same_results(reims, name, all_or_nothing):
    here, piped = both_ways(BAD / name, all_or_nothing=all_or_nothing)
    assert piped == here


@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_truncated_json_same_results(reims, tmp_path, all_or_nothing):
    path = write_json(tmp_path / "lieux.json", [row(n) for n in range(1, 6)])
    path.write_text(path.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    here, piped = both_ways(path, all_or_nothing=all_or_nothing)
    assert piped == here
    assert "tronqué" in piped["fatal"]


def test_rejections_in_file_order_with_progress(reims, tmp_path):
    """Several messages from the reader (rows > PIPELINE_CHUNK), rejections scattered among them:
    same rejections in the same order, same progress ticks, same CSV report, same database rows."""
    rows = []
    for n in range(1, 2601):
        if n % 97 == 0:
            rows.append(row(n, services="Réparation de vélos"))  # unknown value: rejected
        elif n % 251 == 0:
            rows.append(row(n - 1))  # duplicate id
        elif n % 401 == 0:
            rows.append(row(n, nom="", latitude="abc"))  # two problems on one row
        else:
            rows.append(row(n))
    path = write_csv(tmp_path / "lieux.csv", rows)
    results = {}
    for mode in (False, True):
        ticks = []
        report = import_lieux(path, f"s{mode}", pipeline=mode, batch_size=700,
                              progress=lambda stage, n, total, _t: ticks.append((stage, n, total)),
                              report_path=tmp_path / f"rejets-{mode}.csv")
        with open(tmp_path / f"rejets-{mode}.csv", encoding="utf-8-sig") as handle:
            report_rows = list(csv.reader(handle))
        results[mode] = (summary(report), ticks, report_rows)
    assert results[True] == results[False]
    data, ticks, report_rows = results[True]
    lines = [r[0] for r in data["rejections"]]
    assert lines == sorted(lines) and len(set(lines)) == data["rejected"] > 20
    assert data["rejected_entries"] >= data["rejected"]
    assert ticks[-1] == ("import", 2600, None)
    assert len(report_rows) == data["rejected_entries"] + 1
    assert SourceRecord.objects.filter(source="sTrue").count() == SourceRecord.objects.filter(source="sFalse").count()
    assert Lieu.objects.count() == 2 * data["created"]


def test_reimport_and_dry_run_pipelined(reims, tmp_path):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 1500)])
    first = import_lieux(path, "s", pipeline=True, batch_size=400)
    assert (first.created, first.exit_status) == (1499, 0)
    again = import_lieux(path, "s", pipeline=True)
    assert (again.unchanged, again.created, again.updated) == (1499, 0, 0)
    changed = write_csv(tmp_path / "lieux2.csv", [row(n, nom=f"Autre {n}") for n in range(1, 1500)])
    dry = import_lieux(changed, "s", pipeline=True, dry_run=True)
    assert (dry.updated, dry.created) == (1499, 0)
    assert not Lieu.objects.filter(nom__startswith="Autre").exists()


def _lieux_written() -> list[tuple]:
    """Every Lieu as written by an import, without what depends on the moment (ids, dates of writing)."""
    skipped = {"id", "cree_le", "modifie_le"}
    names = [f.attname for f in Lieu._meta.concrete_fields if f.attname not in skipped]
    return sorted(Lieu.objects.values_list(*names))


def _clear():
    SourceRecord.objects.all().delete()
    Lieu.objects.all().delete()


def test_pipelined_rows_written_as_in_process(reims, tmp_path, monkeypatch):
    """The reader process computes the lieu columns of the rows to write (`_lieu_static`) and sends only
    the values that place a lieu: the lieux written are the same, column for column, as in process,
    on a first import and on a re-import where some rows changed — also when the child's hint of the
    stored hashes wrongly says a changed row is unchanged (the importing process then computes the
    columns itself)."""
    first_rows = [row(n, services="Aide aux démarches administratives|Maîtrise des outils numériques du quotidien",
                      frais_a_charge="Gratuit", date_maj="2024-05-0%d" % (1 + n % 9))
                  for n in range(1, 1300)]
    first_rows[5] = row(6, latitude="", longitude="")  # placed at its commune
    first_rows[7] = row(8, nom="Épicerie « Le Lien » & Co", pivot="00000000000000")
    changed_rows = [dict(r, nom=r["nom"] + " (nouveau nom)") if n % 3 == 0 else r for n, r in enumerate(first_rows)]
    first = write_csv(tmp_path / "lieux.csv", first_rows)
    changed = write_csv(tmp_path / "lieux2.csv", changed_rows)

    snapshots = {}
    for mode in (False, True):
        _clear()
        assert import_lieux(first, "s", pipeline=mode, batch_size=500).created == 1299
        after_first = _lieux_written()
        assert import_lieux(changed, "s", pipeline=mode, batch_size=500).updated == 433
        snapshots[mode] = (after_first, _lieux_written())
    assert snapshots[True] == snapshots[False]
    assert any("(nouveau nom)" in str(values) for values in snapshots[True][1])

    # A hint that is wrong for every row of the changed file: the rows are still written in full.
    _clear()
    import_lieux(first, "s", pipeline=False, batch_size=500)
    hashes = {}
    real = engine._Importer._normalised_rows

    def noting(self, *args, **kwargs):
        for prepared in real(self, *args, **kwargs):
            hashes[prepared.source_id] = prepared.hash
            yield prepared

    monkeypatch.setattr(engine._Importer, "_normalised_rows", noting)
    import_lieux(changed, "dry", pipeline=False, dry_run=True)
    monkeypatch.setattr(engine._Importer, "_normalised_rows", real)
    monkeypatch.setattr(engine._Importer, "_stored_hashes", lambda self: engine._HashKeys(hashes.values()))
    assert import_lieux(changed, "s", pipeline=True, batch_size=500).updated == 433
    assert _lieux_written() == snapshots[False][1]


def test_all_or_nothing_pipelined_rejects_all(reims, tmp_path):
    rows = [row(n) for n in range(1, 1200)]
    rows[1100] = row(1101, services="Réparation de vélos")
    path = write_csv(tmp_path / "lieux.csv", rows)
    report = import_lieux(path, "s", pipeline=True, all_or_nothing=True, batch_size=300)
    assert report.exit_status == 2 and report.rejected == 1 and report.rejections[0].row == 1102
    assert Lieu.objects.count() == 0


def _dies_at(row_number: int, how):
    """A `_normalised_rows` that yields the real rows, then fails at `row_number` (in the reader process)."""
    real = engine._Importer._normalised_rows

    def failing(self, *args, **kwargs):
        for prepared in real(self, *args, **kwargs):
            if prepared.row >= row_number:
                how()
            yield prepared

    return failing


def test_reader_killed_reports_clear_error(reims, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 3000)])
    monkeypatch.setattr(engine._Importer, "_normalised_rows", _dies_at(2500, lambda: os._exit(3)))
    report = import_lieux(path, "s", pipeline=True, batch_size=1000)
    assert report.exit_status == 2
    assert "processus de lecture" in report.fatal and "code de sortie 3" in report.fatal
    # The whole batches received before stay written (messages still queued in the reader are lost:
    # on a busy machine the reader may die before the first batch reached the database).
    assert report.created == Lieu.objects.count() and report.created % 1000 == 0 and report.created < 2999
    if report.created:
        assert "relancez l'import" in report.fatal
    else:
        assert "rien n'a été enregistré" in report.fatal


def test_reader_exception_reports_clear_error(reims, tmp_path, monkeypatch):
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 3000)])

    def boom():
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(engine._Importer, "_normalised_rows", _dies_at(10, boom))
    report = import_lieux(path, "s", pipeline=True, all_or_nothing=True)
    assert report.exit_status == 2
    assert "erreur inattendue dans le processus de lecture" in report.fatal and "panne simulée" in report.fatal
    assert "rien n'a été enregistré" in report.fatal
    assert Lieu.objects.count() == 0


def test_database_error_midway_ends_reader(reims, tmp_path, monkeypatch):
    """The importing process stops reading (database error): the reader process is ended, no hang."""
    from django.db import DatabaseError

    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 6000)])
    fail_create_at(monkeypatch, 3, DatabaseError("disque plein (simulé)"))
    report = import_lieux(path, "s", pipeline=True, batch_size=500, transaction_rows=1000)
    assert report.exit_status == 2 and "disque plein" in report.fatal
    # The first transaction (two batches) stays; the third batch's transaction is rolled back.
    assert Lieu.objects.count() == 1000 and report.created == 1000
    import multiprocessing

    assert not [p for p in multiprocessing.active_children() if p.name == "mednum-import-reader"]


def test_reader_prepares_lieu_columns_only_for_rows_to_write(reims, tmp_path, monkeypatch):
    """First import: every row arrives with its lieu columns computed by the reader process; unchanged
    re-import: none does (their hashes are stored); dry run: none; partly changed file: only the changed
    rows."""
    path = write_csv(tmp_path / "lieux.csv", [row(n) for n in range(1, 1200)])
    changed = write_csv(tmp_path / "lieux2.csv", [row(n, nom=f"Autre {n}") if n <= 100 else row(n)
                                                  for n in range(1, 1200)])
    seen = []
    real = engine._Importer._process_batch

    def noting(self, batch, *args):
        seen.extend(p.static is not None for p in batch)
        return real(self, batch, *args)

    monkeypatch.setattr(engine._Importer, "_process_batch", noting)
    import_lieux(path, "s", pipeline=True)
    assert len(seen) == 1199 and all(seen)
    seen.clear()
    assert import_lieux(path, "s", pipeline=True).unchanged == 1199
    assert len(seen) == 1199 and not any(seen)
    seen.clear()
    assert import_lieux(changed, "s", pipeline=True, dry_run=True).updated == 100
    assert len(seen) == 1199 and not any(seen)  # a dry run writes nothing
    seen.clear()
    assert import_lieux(changed, "s", pipeline=True).updated == 100
    assert seen == [True] * 100 + [False] * 1099


def test_hash_keys_membership():
    """The reader's hint of the stored content hashes: a sorted array of their first 64 bits."""
    import hashlib

    stored = [hashlib.md5(str(n).encode()).hexdigest() for n in range(0, 3000, 3)]
    keys = engine._HashKeys(iter(stored))
    assert len(keys) == 1000
    assert all(h in keys for h in stored)
    others = [hashlib.md5(str(n).encode()).hexdigest() for n in range(1, 3000, 3)]
    assert not any(h in keys for h in others)
    assert "" not in keys and None not in keys and "pas un hash" not in keys
    empty = engine._HashKeys(())
    assert len(empty) == 0 and stored[0] not in empty
    # Several sorted runs merged (a source of more than `RUN` records).
    small_runs = type("SmallRuns", (engine._HashKeys,), {"RUN": 7})
    merged = small_runs(reversed(stored))
    assert list(merged.keys) == sorted(merged.keys) == list(keys.keys)
    assert all(h in merged for h in stored) and not any(h in merged for h in others)
    # Hashes that are not 32 hex digits are left out of the hint, not an error.
    assert len(engine._HashKeys(["zz", None, stored[1]])) == 1
