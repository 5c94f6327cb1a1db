"""Open data downloads: every public lieu in the national standard, for a territory or all of France."""

from __future__ import annotations

from django.core.cache import cache
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from mednum import api_reference, parametres
from mednum.lieux import export
from mednum.lieux.models import SourceRecord

SOURCES_CACHE_KEY = "donnees:sources"


def source_names() -> list[str]:
    """Distinct source names of the records behind the public lieux (cached: a scan at 1M records)."""
    names = cache.get(SOURCES_CACHE_KEY)
    if names is None:
        names = sorted(
            set(SourceRecord.objects.filter(lieu__est_demo=False).values_list("source", flat=True).distinct()),
            key=str.casefold,
        )
        cache.set(SOURCES_CACHE_KEY, names, 300)
    return names


@require_safe
def index(request):
    return render(
        request,
        "lieux/donnees.html",
        {
            "formats": [
                {"fmt": "csv", "label": "CSV", "description": "Tableur, au format du standard national (séparateur virgule, UTF-8)."},
                {"fmt": "json", "label": "JSON", "description": "Tableau d'objets, mêmes champs que le CSV."},
                {"fmt": "geojson", "label": "GeoJSON", "description": "Pour les logiciels de cartographie (lieux dont la position est connue)."},
            ],
            "count": f"{export.public_lieux().count():,}".replace(",", "\u202f"),
            "sources": source_names(),
            "api_operations": api_reference.operations(),
            "licence": export.LICENCE,
            "licence_url": export.LICENCE_URL,
        },
    )


@require_safe
def download(request, fmt: str):
    if fmt not in export.FORMATS:
        raise Http404("Format inconnu")
    # A misspelt territory (« ?departemnt=33 ») would download the whole country: refused, named.
    # Campaign tags of a newsletter's link (`utm_source`…) pass too.
    message = parametres.texte(request.GET, export.TERRITORY_KINDS, admis=(*parametres.PREFIXES_ADMIS, "utm_"))
    if message:
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    codes = {kind: request.GET.get(kind, "").strip() for kind in export.TERRITORY_KINDS}
    try:
        queryset = export.public_lieux(**codes)
    except export.TerritoryError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(export.iter_export(fmt, queryset), content_type=export.CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{export.file_name(fmt, **codes)}"'
    return response
