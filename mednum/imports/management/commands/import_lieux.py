"""`manage.py import_lieux FICHIER --source NOM`: import a CSV or JSON file of lieux.

Exit status: 0 every row imported (or unchanged), 1 some rows rejected (the valid ones are imported),
2 nothing imported (unreadable file, bad mapping, every row rejected, or a rejected row in
all-or-nothing mode).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from mednum.geo.geocoder import geocoder_from_settings
from mednum.imports.engine import BATCH_SIZE, import_lieux

MAPPINGS_DIR = Path(__file__).resolve().parents[2] / "mappings"
SHOWN_REJECTIONS = 20
STAGES = {"lecture": "Lecture", "validation": "Validation", "import": "Import"}


def resolve_mapping(value: str | None) -> Path | None:
    """A mapping file path, or the name of one of mednum/imports/mappings/*.json ("gironde")."""
    if not value:
        return None
    path = Path(value)
    if path.is_file():
        return path
    candidate = MAPPINGS_DIR / (value if value.endswith(".json") else f"{value}.json")
    if candidate.is_file():
        return candidate
    return path  # the import reports it missing (exit status 2)


def _n(number) -> str:
    """12345 → "12 345" (narrow no-break space, as French writes thousands)."""
    return f"{number:_.0f}".replace("_", "\u202f")


class ProgressBar:
    """Rows read and rows per second on stderr: in place (every 0.5 s) on a terminal, else a line every 10 s."""

    def __init__(self, stream, *, interactive: bool | None = None, interval: float | None = None):
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.interval = interval if interval is not None else (0.5 if self.interactive else 10.0)
        self.last = 0.0
        self.drawn = False

    def __call__(self, stage: str, rows: int, total: int | None, elapsed: float) -> None:
        now = time.monotonic()
        if now - self.last < self.interval and not (total is not None and rows == total):
            return
        self.last = now
        rate = rows / elapsed if elapsed > 0 else 0
        label = STAGES.get(stage, stage)
        if total:
            share = min(rows / total, 1.0)
            width = 30
            filled = int(share * width)
            bar = "█" * filled + "·" * (width - filled)
            text = f"{label} [{bar}] {share:4.0%} {_n(rows)}/{_n(total)} lignes, {_n(rate)} lignes/s"
        else:
            text = f"{label} : {_n(rows)} lignes, {_n(rate)} lignes/s"
        if self.interactive:
            self.stream.write("\r\033[K" + text)
            self.drawn = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Importe un fichier de lieux (CSV ou JSON, standard v1, v0.1 ou colonnes propres à la source)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="fichier CSV ou JSON à importer")
        parser.add_argument("--source", required=True, help="nom de la source (ex. « hinaura »)")
        parser.add_argument("--mapping", help="fichier de correspondance des colonnes (ou nom dans mednum/imports/mappings/)")
        parser.add_argument("--dry-run", action="store_true", help="simulation : tout vérifier, ne rien enregistrer")
        parser.add_argument("--all-or-nothing", action="store_true",
                            help="tout ou rien : la moindre ligne rejetée annule tout l'import")
        parser.add_argument("--report", help="écrire les lignes rejetées, puis les valeurs corrigées, dans ce fichier CSV (ligne,champ,valeur,raison,suite)")
        parser.add_argument("--demo", action="store_true", help="marquer les lieux comme données de démonstration")
        parser.add_argument("--encoding", help="encodage du fichier (par défaut : détecté)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"lignes par transaction ({BATCH_SIZE})")
        parser.add_argument("--no-geocoding", action="store_true", help="ne pas géocoder les adresses sans coordonnées")
        parser.add_argument("--no-progress", action="store_true", help="pas de barre de progression")

    def handle(self, *args, **options):
        mapping = resolve_mapping(options["mapping"])
        progress = None if options["no_progress"] else ProgressBar(sys.stderr)
        geocoder = None if options["no_geocoding"] else geocoder_from_settings()
        try:
            report = import_lieux(
                options["path"],
                options["source"],
                mapping=mapping,
                dry_run=options["dry_run"],
                all_or_nothing=options["all_or_nothing"],
                progress=progress,
                geocoder=geocoder,
                demo=options["demo"],
                report_path=options["report"],
                encoding=options["encoding"],
                batch_size=options["batch_size"],
            )
        finally:
            if progress is not None:
                progress.close()

        for line in report.summary_lines():
            self.stdout.write(line)
        if report.rejections:
            shown = self._write_rows("Premières lignes rejetées", report.rejections, f"{report.rejected_entries} problèmes")
            if not options["report"] and report.rejected_entries > shown:
                self.stdout.write("  … liste complète avec --report rejets.csv")
        if report.corrections:
            self._write_rows("Premières valeurs corrigées, écartées ou à vérifier dans les lignes importées", report.corrections,
                             str(report.normaliser_warnings))
        if options["report"]:
            self.stdout.write(f"Rapport CSV (lignes rejetées, puis valeurs corrigées) : {options['report']}")
        status = report.exit_status
        if status:
            sys.exit(status)

    def _write_rows(self, title: str, rows, total: str) -> int:
        """« title (N sur total) : » then one line per (row, field) problem; returns N."""
        shown = rows[:SHOWN_REJECTIONS]
        self.stdout.write("")
        self.stdout.write(f"{title} ({len(shown)} sur {total}) :")
        for r in shown:
            value = f" « {r.value} »" if r.value else ""
            self.stdout.write(f"  ligne {r.row}, {r.field or '(ligne)'}{value} : {r.reason}")
        return len(shown)
