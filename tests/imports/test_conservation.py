"""How long the import page's files are kept: `manage.py purge_imports`."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mednum.imports import conservation

DAY = 86_400


@pytest.fixture
def dossiers(settings):
    base = Path(settings.MEDIA_ROOT) / "imports"
    now = time.time()

    def make(folder: str, name: str, age_days: float) -> Path:
        path = base / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
        os.utime(path, (now - age_days * DAY, now - age_days * DAY))
        return path

    return make


def run(*args) -> str:
    out = io.StringIO()
    call_command("purge_imports", *args, stdout=out)
    return out.getvalue()


def test_files_past_their_time_are_removed_and_the_others_kept(dossiers, settings):
    old_report = dossiers("rapports", "a.csv", 91)
    new_report = dossiers("rapports", "b.csv", 89)
    old_upload = dossiers("fichiers", "c-lieux.csv", 100)
    new_upload = dossiers("fichiers", "d-lieux.csv", 3)
    stale_progress = dossiers("progression", "e.json", 1.5)
    live_progress = dossiers("progression", "f.json", 0.01)
    elsewhere = dossiers("autre", "g.csv", 400)

    text = run("--dry-run")
    assert "rapports d'import seraient effacés : 1" in text and "jamais importés seraient effacés : 1" in text
    assert all(p.exists() for p in (old_report, old_upload, stale_progress))

    text = run()
    assert "rapports d'import effacés : 1" in text and "interrompus effacés : 1" in text
    assert "Conservation : 90 jours" in text
    assert not any(p.exists() for p in (old_report, old_upload, stale_progress))
    assert all(p.exists() for p in (new_report, new_upload, live_progress, elsewhere))

    settings.MEDNUM_IMPORT_RETENTION_DAYS = 30
    older_than_30 = dossiers("rapports", "h.csv", 31)
    run()
    assert not older_than_30.exists() and new_report.exists() is False  # 89 days > 30


def test_the_days_can_be_given_and_must_be_one_at_least(dossiers):
    report = dossiers("rapports", "a.csv", 8)
    run("--jours", "10")
    assert report.exists()
    run("--jours", "7")
    assert not report.exists()
    with pytest.raises(CommandError, match="au moins 1 jour"):
        run("--jours", "0")


def test_nothing_to_do_without_the_folders(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "vide"
    assert conservation.purger() == {"rapports": 0, "fichiers": 0, "progression": 0}
    assert "rapports d'import effacés : 0" in run()
