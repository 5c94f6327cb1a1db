"""Staff pages: upload a file of lieux, follow a large one imported in the background, see the import
report, download the rejected rows as CSV."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from mednum.imports import conservation, progression
from mednum.imports.engine import ImportReport
from mednum.imports.forms import SYNC_MAX_BYTES, ImportForm, mapping_path
from mednum.imports.services import run_import

logger = logging.getLogger(__name__)

SHOWN_REJECTIONS = 200
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def can_import(user) -> bool:
    try:
        from mednum.accounts.permissions import can
    except ImportError:  # pragma: no cover - the accounts app ships it
        return bool(user.is_active and user.is_staff)
    return can(user, "lieu.import")


def _check(request) -> None:
    if not can_import(request.user):
        raise PermissionDenied("Vous n'avez pas le droit d'importer des lieux.")


def _titre(titre: str, limite: int, gardes: int, total: int, premiers: str) -> str:
    """« Lignes rejetées (200 premiers problèmes sur 259) » when the table does not show them all."""
    montres = min(gardes, limite)
    return f"{titre} ({montres} {premiers} sur {total})" if total > montres else titre


def _render_report(request, form, report: ImportReport, token: str):
    context = {
        "form": form,
        "report": report,
        "summary": report.summary_lines(),
        "rejections": report.rejections[:SHOWN_REJECTIONS],
        "corrections": report.corrections[:SHOWN_REJECTIONS],
        "titre_rejets": _titre("Lignes rejetées", SHOWN_REJECTIONS, len(report.rejections), report.rejected_entries,
                               "premiers problèmes"),
        "titre_corrections": _titre("Valeurs corrigées, écartées ou à vérifier dans les lignes importées", SHOWN_REJECTIONS,
                                    len(report.corrections), report.normaliser_warnings, "premières"),
        "token": token if conservation.chemin_rapport(token).is_file() else "",
        "status": report.exit_status,
    }
    return render(request, "imports/import.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def import_view(request):
    _check(request)
    if request.method != "POST":
        return render(request, "imports/import.html", {"form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "imports/import.html", {"form": form}, status=400)

    upload = form.cleaned_data["fichier"]
    token = uuid.uuid4().hex
    folder = conservation.dossier(conservation.FICHIERS)
    folder.mkdir(parents=True, exist_ok=True)
    name = _SAFE_NAME.sub("_", Path(upload.name).name)[-80:] or "fichier"
    stored = folder / f"{token}-{name}"
    with open(stored, "wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    report_path = conservation.chemin_rapport(token)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    progress_path = conservation.chemin_progression(token)
    progress_path.parent.mkdir(parents=True, exist_ok=True)
    mapping = mapping_path(form.cleaned_data["mapping"])
    arguments = {
        "source": form.cleaned_data["source"],
        "dry_run": form.cleaned_data["simulation"],
        "all_or_nothing": form.cleaned_data["tout_ou_rien"],
        "report_path": str(report_path),
    }

    if upload.size <= SYNC_MAX_BYTES:
        report = run_import(str(stored), mapping=mapping, **arguments)
        return _render_report(request, form, report, token)

    from mednum.imports.tasks import import_file_task

    try:
        result = import_file_task.enqueue(str(stored), mapping=str(mapping) if mapping else None,
                                          progress_path=str(progress_path), **arguments)
    except Exception:  # noqa: BLE001 - never a server error for an upload
        logger.exception("Mise en file de l'import impossible")
        stored.unlink(missing_ok=True)
        form.add_error(None, "L'import n'a pas pu être lancé en arrière-plan. Réessayez plus tard.")
        return render(request, "imports/import.html", {"form": form}, status=503)
    if result.is_finished:
        report = _task_report(result, arguments["source"])
        return _render_report(request, form, report, token)
    return redirect(reverse("imports:suivi", args=[result.id, token]))


def _task_report(result, source: str) -> ImportReport:
    from django_tasks import TaskResultStatus

    value = result.return_value if result.status == TaskResultStatus.SUCCESSFUL else None
    if isinstance(value, dict):
        return ImportReport.from_dict(value)
    report = ImportReport(source=source)
    report.fatal = "L'import en arrière-plan a échoué. L'erreur a été journalisée ; réessayez ou prévenez l'équipe technique."
    return report


def _task_result(result_id: str):
    from mednum.imports.tasks import import_file_task

    try:
        return import_file_task.get_result(result_id)
    except Exception:  # noqa: BLE001 - unknown id, or a backend that cannot tell
        raise Http404 from None


def _suivi(result, token: str) -> dict:
    """Where a background import stands (`progression.suivi`), for its page and for the page's script."""
    from django_tasks import TaskResultStatus

    if result.is_finished:
        return progression.suivi_termine()
    if result.status == TaskResultStatus.READY:
        return progression.suivi(None, timezone.now(), en_file_depuis=result.enqueued_at)
    return progression.suivi(progression.lire(conservation.chemin_progression(token)), timezone.now())


@login_required
@require_http_methods(["GET", "HEAD"])
def import_progress(request, result_id: str, token: str):
    """Page shown while a large file is imported in the background: where the import stands (its script
    follows it, see `import_progress_etat`), then the report once it is done."""
    _check(request)
    if not _TOKEN.match(token):
        raise Http404
    result = _task_result(result_id)
    if not result.is_finished:
        context = {"suivi": _suivi(result, token), "etat_url": reverse("imports:suivi_etat", args=[result_id, token])}
        return render(request, "imports/en_cours.html", context)
    report = _task_report(result, "")
    return _render_report(request, ImportForm(), report, token)


@login_required
@require_http_methods(["GET", "HEAD"])
def import_progress_etat(request, result_id: str, token: str):
    """Where a background import stands, as JSON for its page's script (see `progression.suivi`)."""
    _check(request)
    if not _TOKEN.match(token):
        raise Http404
    response = JsonResponse(_suivi(_task_result(result_id), token), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


@login_required
def download_report(request, token: str):
    _check(request)
    if not _TOKEN.match(token):
        raise Http404
    path = conservation.chemin_rapport(token)
    if not path.is_file():
        raise Http404("Rapport introuvable.")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=f"rapport-import-{token[:8]}.csv",
                        content_type="text/csv; charset=utf-8")
