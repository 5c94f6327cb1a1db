"""Public pages of territories: régions, départements and communes with their lieux.

A territory is summed up once per data version (`mednum.lieux.search.data_version`, which changes with
every import or edit) and the summary is kept in the Django cache: the number of lieux, the counts by
service and the number of lieux of each of its communes. The list of lieux is paginated from that
summary — lieux by commune (in the communes' alphabetical order), then by name — so that a page reads
only the lieux it shows, through the index on (commune, nom, id), however many lieux the territory has
(~180,000 in Île-de-France at a million lieux). A commune's page lists after its own lieux those that
carry its INSEE code but could not be linked to it.
"""

from __future__ import annotations

import json
from functools import cache
from urllib.parse import urlencode

from django.contrib.staticfiles import finders
from django.core.cache import cache as django_cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from mednum.lieux.models import Lieu
from mednum.lieux.views import Resultat, etat_ouverture, pages_a_afficher
from mednum.standard import schema
from mednum.standard.text import fold
from mednum.territoires.models import Commune, Departement, Region

PAR_PAGE = 20
COMPTES_TTL = 24 * 3600
RAYON_VOISINS_KM = 10


def version_donnees() -> str:
    """Changes when lieux are added, removed, merged or saved (the search's data version)."""
    from mednum.lieux.search import data_version

    return data_version()


def lieux_publies():
    return Lieu.objects.filter(fusionne_dans__isnull=True)


def _services(totals_by_mask) -> list[dict]:
    """[{service, nombre}] in the standard's order, from {services bit mask: number of lieux}."""
    totals = dict.fromkeys(schema.enumerations()["services"], 0)
    bits = schema.bits("services")
    for mask, n in totals_by_mask.items():
        for service, bit in bits.items():
            if mask & bit:
                totals[service] += n
    return [{"service": service, "nombre": n} for service, n in totals.items()]


def sommaire_territoire(queryset) -> dict:
    """A territory's lieux summed up in one GROUP BY (commune, services mask):
    {"total", "services": [{service, nombre}], "communes": [[code, nom, slug, n], …]} — the communes
    with at least one lieu, in alphabetical order (accents ignored)."""
    by_mask: dict[int, int] = {}
    by_commune: dict[str, int] = {}
    rows = queryset.order_by().values_list("commune_id", "services_mask").annotate(n=Count("pk"))
    for commune_id, mask, n in rows:
        by_mask[mask] = by_mask.get(mask, 0) + n
        by_commune[commune_id] = by_commune.get(commune_id, 0) + n
    names = Commune.objects.filter(code__in=list(by_commune)).values_list("code", "nom", "slug")
    communes = sorted(([code, nom, slug, by_commune[code]] for code, nom, slug in names),
                      key=lambda c: (fold(c[1]), c[0]))
    return {"total": sum(by_commune.values()), "services": _services(by_mask), "communes": communes}


def comptes_caches(kind: str, code: str, queryset) -> dict:
    key = f"mednum:territoire:{kind}:{code}:{version_donnees()}"
    data = django_cache.get(key)
    if data is None:
        data = sommaire_territoire(queryset)
        django_cache.set(key, data, COMPTES_TTL)
    return data


@cache
def _emprises(fichier: str) -> dict[str, tuple[float, float, float, float]]:
    """code → (min lon, min lat, max lon, max lat) of each outline in a GeoJSON of static/territoires."""
    path = finders.find(f"territoires/{fichier}")
    if not path:
        return {}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    result = {}
    for feature in data.get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        points = [pt for polygon in polygons for ring in polygon[:1] for pt in ring]
        if points:
            lons = [p[0] for p in points]
            lats = [p[1] for p in points]
            result[str(feature.get("properties", {}).get("code"))] = (min(lons), min(lats), max(lons), max(lats))
    return result


def carte_territoire(bbox=None, lat=None, lon=None, zoom=None) -> dict:
    from django.conf import settings

    carte = {
        "api": "/api/v1/carte",
        "filtres": "",
        "lat": lat if lat is not None else 46.6,
        "lon": lon if lon is not None else 2.4,
        "zoom": zoom if zoom is not None else 4.6,
        "style_url": settings.MEDNUM_MAP_STYLE_URL,
        "bbox": ",".join(f"{v:.4f}" for v in bbox) if bbox else "",
        "description": "La carte montre les mêmes lieux que la liste ci-dessus.",
    }
    if bbox and lat is None:
        carte["lat"] = (bbox[1] + bbox[3]) / 2
        carte["lon"] = (bbox[0] + bbox[2]) / 2
    return carte


def _resultats(lieux) -> list[Resultat]:
    out = []
    for lieu in lieux:
        ouvert, libelle = etat_ouverture(lieu)
        out.append(Resultat(lieu=lieu, ouvert=ouvert, ouverture=libelle))
    return out


def _pagination(page, paginator) -> dict:
    return {
        "page": {
            "page": page.number,
            "pages": paginator.num_pages,
            "has_previous": page.has_previous(),
            "has_next": page.has_next(),
            "total": paginator.count,
        },
        "pages_liste": pages_a_afficher(page.number, paginator.num_pages),
    }


def lieux_de_la_page(communes: list, start: int, stop: int, *, code_insee: str = "") -> list[Lieu]:
    """The lieux at positions [start, stop) of a territory's list (by commune in the order of
    `communes` — [code, nom, slug, n] — then by name): one query per commune on the page, each an
    index range read. A group whose code is None stands for the lieux linked to no commune whose
    INSEE code is `code_insee` (a commune's page lists them after the others)."""
    lieux: list[Lieu] = []
    position = 0
    for code, _nom, _slug, n in communes:
        if position >= stop:
            break
        if position + n > start:
            first = max(0, start - position)
            last = min(n, stop - position)
            if code is None:
                queryset = lieux_publies().filter(commune__isnull=True, code_insee=code_insee)
            else:
                queryset = lieux_publies().filter(commune_id=code)
            lieux += queryset.select_related("commune").order_by("nom", "pk")[first:last]
        position += n
    return lieux


def _page_par_commune(request, comptes: dict, groupes: list | None = None, code_insee: str = "") -> dict:
    paginator = Paginator(range(comptes["total"]), PAR_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    positions = page.object_list
    groupes = comptes["communes"] if groupes is None else groupes
    lieux = lieux_de_la_page(groupes, positions.start, positions.stop, code_insee=code_insee) if len(positions) else []
    return {"resultats": _resultats(lieux), **_pagination(page, paginator)}


def _fil(*liens):
    return [("Accueil", reverse("site:home")), ("Territoires", reverse("territoires_pages:index")), *liens]


@require_safe
def index(request):
    regions = Region.objects.prefetch_related("departements").order_by("nom")
    return render(
        request,
        "territoires/index.html",
        {"regions": regions, "fil_ariane": [("Accueil", reverse("site:home")), ("Territoires", "")]},
    )


@require_safe
def region(request, slug):
    region = get_object_or_404(Region, slug=slug)
    comptes = comptes_caches("region", region.code, lieux_publies().filter(commune__region=region))
    departements = region.departements.order_by("code")
    context = {
        "territoire": region,
        "type": "region",
        "titre": region.nom,
        "comptes": comptes,
        "departements": departements,
        "carte": carte_territoire(bbox=_emprises("regions.geojson").get(region.code)),
        "fil_ariane": _fil((region.nom, "")),
        "recherche_url": "",
        **_page_par_commune(request, comptes),
    }
    return render(request, "territoires/territoire.html", context)


@require_safe
def departement(request, slug):
    departement = get_object_or_404(Departement.objects.select_related("region"), slug=slug)
    comptes = comptes_caches("departement", departement.code,
                             lieux_publies().filter(commune__departement=departement))
    plus_grandes = sorted(comptes["communes"], key=lambda c: (-c[3], fold(c[1]), c[0]))[:30]
    communes = [{"nom": nom, "slug": slug, "n": n} for _code, nom, slug, n in plus_grandes]
    context = {
        "territoire": departement,
        "type": "departement",
        "titre": f"{departement.nom} ({departement.code})",
        "comptes": comptes,
        "communes": communes,
        "carte": carte_territoire(bbox=_emprises("departements.geojson").get(departement.code)),
        "fil_ariane": _fil(
            (departement.region.nom, reverse("territoires_pages:region", args=[departement.region.slug])),
            (departement.nom, ""),
        ),
        "recherche_url": "",
        **_page_par_commune(request, comptes),
    }
    return render(request, "territoires/territoire.html", context)


@require_safe
def commune(request, slug):
    commune = get_object_or_404(Commune.objects.select_related("departement", "region"), slug=slug)
    # Its lieux: those linked to it, then those of its INSEE code that no commune could be linked to.
    queryset = lieux_publies().filter(Q(commune=commune) | Q(commune__isnull=True, code_insee=commune.code))
    comptes = comptes_caches("commune", commune.code, queryset)
    lies = sum(c[3] for c in comptes["communes"])
    groupes = comptes["communes"] + ([[None, "", "", comptes["total"] - lies]] if comptes["total"] > lies else [])
    voisins = []
    if commune.has_coordinates:
        voisins = _voisins(commune)
    codes = commune.codes_postaux or []
    context = {
        "territoire": commune,
        "type": "commune",
        "titre": f"{commune.nom} ({codes[0]})" if codes else commune.nom,
        "comptes": comptes,
        "voisins": voisins,
        "rayon_voisins_km": RAYON_VOISINS_KM,
        "carte": carte_territoire(lat=commune.latitude, lon=commune.longitude, zoom=12)
        if commune.has_coordinates
        else carte_territoire(bbox=_emprises("departements.geojson").get(commune.departement_id)),
        "fil_ariane": _fil(
            (commune.region.nom, reverse("territoires_pages:region", args=[commune.region.slug])),
            (commune.departement.nom, reverse("territoires_pages:departement", args=[commune.departement.slug])),
            (commune.nom, ""),
        ),
        # Without a position, no search around the commune (its lieux are listed on this page).
        "recherche_url": reverse("lieux:recherche") + "?" + urlencode({"commune": commune.code})
        if commune.has_coordinates
        else "",
        **_page_par_commune(request, comptes, groupes, commune.code),
    }
    return render(request, "territoires/territoire.html", context)


def _voisins(commune: Commune, limit: int = 10) -> list[Resultat]:
    """The closest lieux outside the commune, within RAYON_VOISINS_KM, through the lieux search."""
    from mednum.lieux.views import Origine, Recherche, chercher

    recherche = Recherche(rayon_km=RAYON_VOISINS_KM)
    recherche.origine = Origine(commune.nom, commune.latitude, commune.longitude, commune)
    try:
        page = chercher(recherche)
    except Exception:  # noqa: BLE001 - the nearby list is a bonus; the page must not fail for it
        return []
    voisins = [r for r in page.resultats if r.lieu.code_insee != commune.code]
    return voisins[:limit]
