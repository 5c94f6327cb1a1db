"""What the upload page and the background task share: running one import of a stored file."""

from __future__ import annotations

import logging
from pathlib import Path

from mednum.geo.geocoder import geocoder_from_settings
from mednum.imports.engine import ImportReport, import_lieux

logger = logging.getLogger(__name__)


def run_import(path, source: str, *, mapping=None, dry_run=False, all_or_nothing=False, report_path=None,
               delete_file=True, progress=None) -> ImportReport:
    """`import_lieux` with the configured geocoder, never raising: an unexpected error becomes the report's error.

    The uploaded copy at `path` is deleted afterwards unless `delete_file` is false. `progress` is the
    import's progress callback (`engine.ProgressCallback`), if any.
    """
    try:
        report = import_lieux(
            path, source, mapping=mapping, dry_run=dry_run, all_or_nothing=all_or_nothing,
            geocoder=geocoder_from_settings(), report_path=report_path, progress=progress,
        )
    except Exception as error:  # noqa: BLE001 - the page must show a message, never a server error
        logger.exception("Import de %s impossible", path)
        report = ImportReport(source=source, path=str(path), dry_run=dry_run, all_or_nothing=all_or_nothing)
        if dry_run:
            report.fatal = (
                f"La simulation s'est arrêtée sur une erreur inattendue ({type(error).__name__}) ; rien n'a été "
                "enregistré. L'erreur a été journalisée pour l'équipe technique."
            )
        else:
            report.fatal = (
                f"L'import s'est arrêté sur une erreur inattendue ({type(error).__name__}). L'erreur a été "
                "journalisée pour l'équipe technique. Les lignes déjà enregistrées le restent et ne seront pas "
                "dupliquées si vous relancez l'import."
            )
        if report_path:
            report.write_csv(report_path)
    finally:
        if delete_file:
            try:
                Path(path).unlink(missing_ok=True)
            except OSError:
                pass
    return report
