"""Progress of an import that runs in the background, for the staff's follow-up page.

The import runs in another process (`manage.py db_worker`) than the pages that follow it (the web
server's workers). The import's progress callback (`ProgressFile`, see `engine.ProgressCallback`) keeps
its latest state in a small JSON file beside the import's report; the follow-up page reads it
(`lire`). The file is replaced whole (written aside, then renamed), so a reader sees either the old
state or the new one, never half of one; it is rewritten at most once a second, and at the end of each
stage. An unreadable or missing file means « no progress known yet », never an error.

A CSV file is read once only, so its number of rows is not known while it is imported: the progress
then counts on its number of lines (a value spanning several lines makes it an overestimate), and the
page says « environ ».
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mednum.imports.readers import count_byte

# What each stage of an import (`engine` ticks) is called on the follow-up page.
ETAPES = {
    "lecture": "Lecture du fichier",
    "validation": "Vérification de toutes les lignes (rien n'est enregistré si une ligne est rejetée)",
    "import": "Import des lignes",
}

# Without a new state for this long, the page says the import may have stopped (its worker killed).
IMMOBILE_APRES_S = 120


def _nombre(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


@dataclass(frozen=True)
class Progression:
    etape: str  # a key of ETAPES
    lignes: int  # rows read so far in this stage
    total: int | None  # rows of the file, once known
    maj: float  # when this state was written (seconds since the epoch)
    estime: bool = False  # `total` counted from the file's lines, not its rows


    @property
    def libelle(self) -> str:
        return ETAPES.get(self.etape, self.etape)

    @property
    def pourcentage(self) -> int | None:
        if not self.total:
            return None
        return min(99 if self.estime else 100, self.lignes * 100 // self.total)

    @property
    def texte(self) -> str:
        """« Import des lignes : 34 000 lignes sur 100 000 (34 %) »."""
        if self.pourcentage is None:
            return f"{self.libelle} : {_nombre(self.lignes)} lignes lues"
        environ = "environ " if self.estime else ""
        return (f"{self.libelle} : {_nombre(self.lignes)} lignes sur {environ}{_nombre(self.total)} "
                f"({self.pourcentage} %)")

    def immobile(self, maintenant: float | None = None) -> bool:
        """Whether no new state came for IMMOBILE_APRES_S seconds."""
        return (time.time() if maintenant is None else maintenant) - self.maj > IMMOBILE_APRES_S

    def as_dict(self) -> dict:
        return {"etape": self.etape, "lignes": self.lignes, "total": self.total, "maj": self.maj,
                "estime": self.estime}


def _suivi(etape: str, texte: str, pourcentage: int | None = None, alerte: str | None = None,
           termine: bool = False) -> dict:
    return {"termine": termine, "etape": etape, "texte": texte, "pourcentage": pourcentage, "alerte": alerte}


def suivi(etat: Progression | None, maintenant: datetime, *, en_file_depuis: datetime | None = None) -> dict:
    """What the follow-up page says of an import not finished: `etape` (« attente » while no worker has
    taken it, given `en_file_depuis`; « debut » before its first state; else the import's stage),
    `texte`, `pourcentage` (None when unknown), `alerte` (when nothing moved for IMMOBILE_APRES_S seconds:
    no worker takes the import, or the one running it may have been stopped; else None), `termine`."""
    if en_file_depuis is not None:
        attente_s = (maintenant - en_file_depuis).total_seconds()
        if attente_s <= IMMOBILE_APRES_S:
            return _suivi("attente", "L'import attend son tour : il commencera dès que le traitement en "
                                     "arrière-plan sera libre.")
        return _suivi("attente", f"L'import attend depuis {int(attente_s // 60)} minutes sans avoir commencé.",
                      alerte="Le traitement en arrière-plan semble arrêté : prévenez l'équipe technique.")
    if etat is None:
        return _suivi("debut", "L'import a commencé.")
    alerte = None
    if etat.immobile(maintenant.timestamp()):
        alerte = (f"L'import n'avance plus depuis {int((maintenant.timestamp() - etat.maj) // 60)} minutes : il a "
                  "peut-être été interrompu. S'il ne reprend pas, relancez-le : les lieux déjà enregistrés ne "
                  "seront pas dupliqués.")
    return _suivi(etat.etape, etat.texte, etat.pourcentage, alerte)


def suivi_termine() -> dict:
    """`suivi` of a finished import (its page then shows the report)."""
    return _suivi("fin", "L'import est terminé.", 100, termine=True)


def lire(path) -> Progression | None:
    """The state last written at `path`, or None (no file yet, or not one of ours)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        progression = Progression(
            etape=str(data["etape"]), lignes=int(data["lignes"]),
            total=None if data["total"] is None else int(data["total"]), maj=float(data["maj"]),
            estime=data.get("estime") is True,
        )
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if progression.lignes < 0 or (progression.total is not None and progression.total < 0):
        return None
    return progression


class ProgressFile:
    """An import's progress callback `(stage, rows, total, elapsed)` keeping the latest state at `path`.

    `fichier`: the file imported; when a stage past the first reading does not know the number of rows
    (a CSV file), its lines (but the header) stand for them."""

    def __init__(self, path, *, fichier=None, interval: float = 1.0, clock=time.time):
        self.path = Path(path)
        self.fichier = Path(fichier) if fichier else None
        self.interval = interval
        self.clock = clock
        self.last = None  # (stage, when written)
        self._lignes_du_fichier: int | None = None

    def _estimation(self) -> int | None:
        if self._lignes_du_fichier is None and self.fichier is not None:
            try:
                size = self.fichier.stat().st_size
                with open(self.fichier, "rb") as handle:
                    handle.seek(max(0, size - 1))
                    ends_with_newline = handle.read(1) == b"\n"
                lines = count_byte(self.fichier, b"\n") + (0 if ends_with_newline or not size else 1)
            except OSError:
                lines = 0
            self._lignes_du_fichier = max(0, lines - 1)
        return self._lignes_du_fichier or None

    def __call__(self, stage: str, rows: int, total: int | None, elapsed: float) -> None:
        now = self.clock()
        stage_end = total is not None and rows >= total
        if self.last is not None and self.last[0] == stage and now - self.last[1] < self.interval and not stage_end:
            return
        self.last = (stage, now)
        estime = False
        if total is None and stage != "lecture" and (estimation := self._estimation()):
            total, estime = estimation, True
        state = Progression(etape=stage, lignes=rows, total=total, maj=now, estime=estime)
        aside = self.path.with_name(self.path.name + ".tmp")
        try:
            aside.write_text(json.dumps(state.as_dict()), encoding="utf-8")
            os.replace(aside, self.path)
        except OSError:  # the page then shows less; the import itself goes on
            pass

    def remove(self) -> None:
        for path in (self.path, self.path.with_name(self.path.name + ".tmp")):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
