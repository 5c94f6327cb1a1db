"""Background import of large uploaded files (django-tasks; the immediate backend runs it at once)."""

from __future__ import annotations

from django_tasks import task

from mednum.imports.progression import ProgressFile
from mednum.imports.services import run_import


@task()
def import_file_task(path: str, source: str, mapping: str | None, dry_run: bool, all_or_nothing: bool,
                     report_path: str, progress_path: str | None = None) -> dict:
    """Import an uploaded file; returns the report as a dict (`ImportReport.from_dict` reads it back).

    With `progress_path`, the import's progress is kept there while it runs (`progression`), for the
    follow-up page; the file is removed at the end, when the report replaces it."""
    progress = ProgressFile(progress_path, fichier=path) if progress_path else None
    try:
        return run_import(path, source, mapping=mapping, dry_run=dry_run, all_or_nothing=all_or_nothing,
                          report_path=report_path, progress=progress).as_dict()
    finally:
        if progress is not None:
            progress.remove()
