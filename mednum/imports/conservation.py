"""How long the files of the import page are kept (`manage.py purge_imports` removes the older ones).

The page keeps, under MEDIA_ROOT/imports/: the report of each import (`rapports/`, the rejected rows
and the values changed, downloadable from the page), the uploaded copy of a file while it waits for a
background worker (`fichiers/`, removed by the import itself), and the progress of an import running
in the background (`progression/`, removed at its end). Reports hold values of the sources' rows (a
phone number, an e-mail address): they are kept MEDNUM_IMPORT_RETENTION_DAYS days (90 by default),
like an upload no worker ever took; a progress file left by a worker stopped midway goes after a day.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings

PROGRESSION_DAYS = 1

# The folders under MEDIA_ROOT/imports/.
RAPPORTS, FICHIERS, PROGRESSION = "rapports", "fichiers", "progression"


def dossier_imports() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def dossier(nom: str) -> Path:
    """One of the folders RAPPORTS, FICHIERS, PROGRESSION."""
    return dossier_imports() / nom


def chemin_rapport(token: str) -> Path:
    """The CSV report of the import `token`."""
    return dossier(RAPPORTS) / f"{token}.csv"


def chemin_progression(token: str) -> Path:
    """The progress file of the background import `token` (`progression.ProgressFile`)."""
    return dossier(PROGRESSION) / f"{token}.json"


def retention_days() -> int:
    return settings.MEDNUM_IMPORT_RETENTION_DAYS


def expires(jours: int | None = None, *, maintenant: float | None = None) -> dict[str, list[Path]]:
    """The files past their time, by folder (« rapports », « fichiers », « progression »)."""
    jours = retention_days() if jours is None else jours
    maintenant = time.time() if maintenant is None else maintenant
    limites = {RAPPORTS: jours, FICHIERS: jours, PROGRESSION: PROGRESSION_DAYS}
    found: dict[str, list[Path]] = {}
    for nom, limite in limites.items():
        avant = maintenant - limite * 86_400
        try:
            entries = sorted(dossier(nom).iterdir())
        except OSError:  # no such folder yet
            entries = []
        found[nom] = [path for path in entries if path.is_file() and path.stat().st_mtime < avant]
    return found


def purger(jours: int | None = None, *, maintenant: float | None = None) -> dict[str, int]:
    """Remove the files past their time; how many by folder."""
    removed = {}
    for nom, paths in expires(jours, maintenant=maintenant).items():
        count = 0
        for path in paths:
            try:
                path.unlink()
                count += 1
            except FileNotFoundError:
                pass
        removed[nom] = count
    return removed
