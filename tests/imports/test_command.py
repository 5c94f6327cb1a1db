"""`manage.py import_lieux`: exit statuses, French summary, report file, progress display."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from mednum.imports.management.commands.import_lieux import ProgressBar, resolve_mapping
from mednum.lieux.models import Lieu
from tests.imports.conftest import BAD, MAPPINGS, row, write_csv

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import_lieux", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    except SystemExit as exit:
        return exit.code, out.getvalue()
    return 0, out.getvalue()


def test_status_0_all_rows_imported(tmp_path, reims):
    status, out = run(str(write_csv(tmp_path / "l.csv", [row(1), row(2)])), "--source", "test")
    assert status == 0
    assert "Import de la source « test »" in out and "Lieux créés : 2" in out and "Lignes rejetées : 0" in out
    # Re-import: unchanged, still 0.
    status, out = run(str(tmp_path / "l.csv"), "--source", "test")
    assert status == 0 and "Lieux inchangés : 2" in out


def test_status_1_some_rows_rejected(tmp_path, reims):
    path = write_csv(tmp_path / "l.csv", [row(1), row(2, services="Jonglage")])
    status, out = run(str(path), "--source", "test", "--report", str(tmp_path / "rejets.csv"))
    assert status == 1
    assert "Premières lignes rejetées" in out
    assert "ligne 3, services « Jonglage » : valeur inconnue" in out
    assert (tmp_path / "rejets.csv").read_text(encoding="utf-8-sig").startswith("ligne,champ,valeur,raison,suite")
    assert Lieu.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((str(BAD / "vide.csv"),), "Le fichier est vide."),
        ((str(BAD / "colonne-manquante.csv"),), "date_maj"),
        (("/nulle/part.csv",), "introuvable"),
        ((str(BAD / "bom.csv"), "--mapping", "/nulle/part.json"), "Fichier de correspondance introuvable"),
    ],
)
def test_status_2_nothing_imported(reims, args, message):
    status, out = run(*args, "--source", "test")
    assert status == 2 and message in out and "Rien n'a été importé." in out
    assert Lieu.objects.count() == 0


def test_status_2_bad_mapping_file(tmp_path, reims):
    bad = tmp_path / "mauvaise.json"
    bad.write_text('{"format": "mednum/correspondance-1", "champs": {"nom": {"colonne": "Lieu"}}}', encoding="utf-8")
    status, out = run(str(BAD / "bom.csv"), "--source", "test", "--mapping", str(bad))
    assert status == 2 and "Fichier de correspondance invalide" in out and "id" in out


def test_status_2_all_or_nothing(tmp_path, reims):
    path = write_csv(tmp_path / "l.csv", [row(1), row(2, services="Jonglage")])
    status, out = run(str(path), "--source", "test", "--all-or-nothing")
    assert status == 2 and "tout ou rien" in out and Lieu.objects.count() == 0


def test_dry_run(tmp_path, reims):
    status, out = run(str(write_csv(tmp_path / "l.csv", [row(1)])), "--source", "test", "--dry-run")
    assert status == 0 and "Lieux seraient créés : 1" in out and Lieu.objects.count() == 0


def test_demo_flag(tmp_path, reims):
    run(str(write_csv(tmp_path / "l.csv", [row(1)])), "--source", "demo", "--demo")
    assert Lieu.objects.get().est_demo


def test_mapping_by_name():
    assert resolve_mapping("gironde") == MAPPINGS / "gironde.json"
    assert resolve_mapping(None) is None


def test_progress_bar_in_place_on_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(stream, interactive=True, interval=0)
    bar("import", 1000, None, 0.5)
    bar("import", 2000, 4000, 1.0)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\r\033[K") and "\n" not in text[:-1]
    assert "Import : 1\u202f000 lignes, 2\u202f000 lignes/s" in text
    assert "50%" in text and "2\u202f000/4\u202f000 lignes" in text


def test_progress_bar_plain_lines_otherwise():
    stream = io.StringIO()
    bar = ProgressBar(stream, interactive=False, interval=10)
    bar("import", 1000, None, 0.5)
    bar("import", 2000, None, 1.0)  # too soon: not shown
    bar("lecture", 3000, 3000, 1.5)  # end of a stage: always shown
    assert stream.getvalue().count("\n") == 2 and "\r" not in stream.getvalue()
