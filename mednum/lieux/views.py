"""Public pages of lieux: the search (list, filters, map), each lieu's page, the partners' widget.

Every page works without JavaScript: the search is a GET form whose whole state lives in the
address (shareable, the back button works), the map only adds to the list and never replaces it.
The search itself is `mednum.lieux.search.search_lieux`; the opening hours are read by
`mednum.lieux.hours`; this module turns their answers into pages for people.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from mednum.lieux.models import Lieu, PositionPrecision
from mednum.lieux.templatetags.lieux_tags import lieu_path, lien_web, telephone_href
from mednum.lieux.templatetags.lieux_tags import telephone as telephone_lisible
from mednum.standard import schema
from mednum.territoires import arrondissements
from mednum.territoires.arrondissements import Arrondissement
from mednum.territoires.models import Commune

# --- Filters of the search -------------------------------------------------------------------------

# Standard field → (legend of its group of checkboxes, labels shown for some values).
FILTER_GROUPS: tuple[tuple[str, str], ...] = (
    ("services", "Services proposés"),
    ("publics_specifiquement_adresses", "Publics accueillis en particulier"),
    ("prise_en_charge_specifique", "Prise en charge spécifique"),
    ("frais_a_charge", "Frais"),
    ("modalites_acces", "Comment y accéder"),
    ("modalites_accompagnement", "Accompagnement proposé"),
    ("dispositif_programmes_nationaux", "Dispositifs et programmes nationaux"),
    ("itinerance", "Lieu fixe ou itinérant"),
)
VALUE_LABELS = {
    "itinerance": {"Itinérant": "Itinérant (se déplace dans plusieurs communes)", "Fixe": "Fixe"},
}
RAYONS_KM = (2, 5, 10, 20, 50, 100)
RAYON_DEFAUT_KM = 10
PAR_PAGE = 20
PAGE_MAX = 1000 // PAR_PAGE

_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_POSTAL_CODE = re.compile(r"\b(\d{5})\b")


@dataclass
class Origine:
    """Where the person searches from."""

    libelle: str  # « Sète (34200) », « Paris 15e arrondissement (75015) », « votre position »
    latitude: float | None
    longitude: float | None
    commune: Commune | None = None
    # « Paris 15e », « 13016 »: the search starts from that arrondissement of its commune.
    arrondissement: Arrondissement | None = None

    @property
    def code(self) -> str:
        """The INSEE code that finds this place again (`commune=` in the address): the
        arrondissement's, else the commune's; "" for a position."""
        if self.arrondissement is not None:
            return self.arrondissement.code
        return self.commune.code if self.commune is not None else ""


@dataclass
class Recherche:
    """The search as read from the address: what was asked, and the place it was resolved to."""

    q: str = ""
    commune_code: str = ""
    lat: float | None = None
    lon: float | None = None
    rayon_km: int = RAYON_DEFAUT_KM
    filtres: dict[str, list[str]] = field(default_factory=dict)
    ouvert_maintenant: bool = False
    ouvert_week_end: bool = False
    page: int = 1
    origine: Origine | None = None
    autres_communes: list[Commune] = field(default_factory=list)
    erreur: str = ""
    adresse_trouvee: bool = False  # the origin is an address found by the geocoder
    adresse_non_localisee: bool = False  # an address no geocoder could place: the origin is its commune
    # A commune whose position the reference data lacks (Nouvelle-Calédonie, Polynésie…): no distances.
    commune_sans_position: Commune | None = None
    # Départements and régions named by the text (« Hérault », « La Réunion », « 34 »): not a point to
    # search around, but each has its page of lieux. (libellé, address) pairs.
    territoires: list[tuple[str, str]] = field(default_factory=list)
    # Criteria of the address that could not be used (a service renamed since a link was shared…): the
    # search runs without them, and the page says which.
    ignores: list[str] = field(default_factory=list)

    @property
    def a_un_lieu_de_depart(self) -> bool:
        return self.origine is not None

    @property
    def nombre_filtres(self) -> int:
        return sum(len(v) for v in self.filtres.values()) + self.ouvert_maintenant + self.ouvert_week_end

    def parametres_filtres(self) -> list[tuple[str, str]]:
        """The filters as query-string pairs (for the map's requests to the API)."""
        pairs = [(name, value) for name, values in self.filtres.items() for value in values]
        if self.ouvert_maintenant:
            pairs.append(("ouvert_maintenant", "1"))
        if self.ouvert_week_end:
            pairs.append(("ouvert_week_end", "1"))
        return pairs


def commune_libelle(commune: Commune, code_postal: str = "") -> str:
    """« Sète (34200) »: the commune with its postal code, the one typed when it is one of its own; for a
    commune with several, and none typed, its département (« Paris (75) », « Toulouse (31) »: no
    postal code names the whole city)."""
    codes = commune.codes_postaux or []
    if code_postal and code_postal in codes:
        return f"{commune.nom} ({code_postal})"
    return f"{commune.nom} ({codes[0]})" if len(codes) == 1 else f"{commune.nom} ({commune.departement_id})"


def _float(raw: str | None, low: float, high: float) -> float | None:
    try:
        value = float((raw or "").replace(",", "."))
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def lire_recherche(params) -> Recherche:
    """Read the search from a QueryDict. A value that cannot be used is never an error: the search runs
    without it, and `ignores` says which (in French, for the page)."""
    r = Recherche()
    r.q = (params.get("q") or "").replace("\x00", "").strip()[:200]
    r.commune_code = (params.get("commune") or "").strip().upper()
    r.lat = _float(params.get("lat"), -90, 90)
    r.lon = _float(params.get("lon"), -180, 180)
    if (params.get("lat") or params.get("lon")) and (r.lat is None or r.lon is None):
        r.lat = r.lon = None
        r.ignores.append("la position (lat et lon) : illisible ou hors du globe")
    try:
        rayon = int(params.get("rayon") or RAYON_DEFAUT_KM)
    except ValueError:
        rayon = None
    r.rayon_km = rayon if rayon in RAYONS_KM else RAYON_DEFAUT_KM
    if rayon not in RAYONS_KM:
        r.ignores.append(f"le rayon « {params.get('rayon')[:20]} » : il est de {RAYON_DEFAUT_KM} km "
                         f"(au choix : {', '.join(str(k) for k in RAYONS_KM)} km)")
    enumerations = schema.enumerations()
    for name, legend in FILTER_GROUPS:
        allowed = enumerations.get(name, [])
        values = [value for value in params.getlist(name) if value.strip()]
        chosen = [value for value in values if value in allowed]
        if chosen:
            r.filtres[name] = list(dict.fromkeys(chosen))
        for value in dict.fromkeys(value for value in values if value not in allowed):
            r.ignores.append(f"{legend.lower()} : « {value[:80]} », qui n’existe pas (ou plus)")
    r.ouvert_maintenant = params.get("ouvert_maintenant") in ("1", "on", "oui", "true")
    r.ouvert_week_end = params.get("ouvert_week_end") in ("1", "on", "oui", "true")
    try:
        # The search serves the first 1,000 results (narrow the search to go further).
        r.page = max(1, min(int(params.get("page") or 1), PAGE_MAX))
    except ValueError:
        r.page = 1
    return r


def trouver_communes(texte: str, limit: int = 6) -> list[Commune]:
    """Communes for what was typed: a commune name, a postal code, or a whole address.

    An address (« 12 rue de la Mairie 34200 Sète ») is not a commune name: when the text finds
    nothing, its postal code (with the words after it) and then its last words are tried.
    """
    from mednum.territoires.search import RechercheInvalide, is_code, search_communes

    try:
        found = search_communes(texte, limit=limit)
        if found:
            return found
        # « Sète 75 », « Lyon 10 »: the name is surer than a code that matches none of its communes.
        tokens = re.split(r"[\s,()]+", texte.strip())
        names = [t for t in tokens if t and not is_code(t)]
        if names and len(names) < len(tokens):
            found = search_communes(" ".join(names), limit=limit)
            if found:
                return found
        match = _POSTAL_CODE.search(texte)
        if match:
            after = texte[match.end() :].strip(" ,")
            found = search_communes(f"{after} {match.group(1)}".strip(), limit=limit) if after else []
            return found or search_communes(match.group(1), limit=limit)
        words = re.split(r"[\s,]+", texte.strip())
        for size in (3, 2, 1):
            if len(words) > size:
                found = search_communes(" ".join(words[-size:]), limit=limit)
                if found:
                    return found
    except RechercheInvalide:
        return []
    return []


_PAS_UNE_COMMUNE = (
    "« {texte} » n’est pas le nom d’une commune : saisissez une commune ou un code postal pour voir les lieux "
    "les plus proches, ou voyez tous les lieux du territoire ci-dessous."
)


def territoires_nommes(texte: str) -> list[tuple[str, str]]:
    """The départements and régions a search text names (`territoires.search.territoires_nommes`), as
    (libellé, address of its page of lieux)."""
    from mednum.territoires.models import Departement
    from mednum.territoires.search import territoires_nommes as nommes

    liens = []
    for territoire in nommes(texte):
        if isinstance(territoire, Departement):
            liens.append((f"{territoire.nom} (département, {territoire.code})",
                          reverse("territoires_pages:departement", args=[territoire.slug])))
        else:
            liens.append((f"{territoire.nom} (région)", reverse("territoires_pages:region", args=[territoire.slug])))
    return liens


def adresse_a_geocoder(texte: str) -> bool:
    """An address (« 12 rue de la Mairie, Sète ») goes to the geocoder, when one is configured; a
    commune's very name (« Rue », a commune of the Somme) never does."""
    from mednum.geo.geocoder import looks_like_address
    from mednum.territoires.text import normalise

    if not looks_like_address(texte):
        return False
    key = normalise(texte)
    return not any(normalise(c.nom) == key for c in trouver_communes(texte, limit=3))


def resoudre_origine(r: Recherche) -> None:
    """Find where the search starts from: the chosen commune, the typed text, or the position.

    A commune chosen in a list (`commune=34301`) stays chosen as long as the text box still shows
    its name; when the person types something else, the new text wins.
    """
    commune = None
    if r.commune_code and _INSEE.match(r.commune_code):
        commune = Commune.objects.select_related("departement").filter(code=r.commune_code).first()
        if commune is None:
            arrondissement = arrondissements.par_code(r.commune_code)
            if arrondissement is not None and (not r.q or r.q == arrondissement.libelle):
                r.q = r.q or arrondissement.libelle
                _partir_de(r, arrondissement)
                return
    if commune is not None and (not r.q or r.q in (commune.nom, commune_libelle(commune))):
        r.q = r.q or commune_libelle(commune)
        r.origine = Origine(commune_libelle(commune), commune.latitude, commune.longitude, commune)
        return
    if r.commune_code and commune is None and not r.q:
        r.erreur = (
            f"Aucune commune ne porte le code {r.commune_code[:10]}. Saisissez le nom de la commune ou son "
            "code postal."
        )
        return
    arrondissement = arrondissements.depuis_texte(r.q) if r.q else None
    if arrondissement is not None:
        _partir_de(r, arrondissement)
        return
    adresse = bool(r.q) and adresse_a_geocoder(r.q)
    if adresse:
        from mednum.geo.geocoder import geocode_search_text

        trouve = geocode_search_text(r.q)
        if trouve is not None:
            commune = None
            if trouve.citycode:
                commune = Commune.objects.select_related("departement").filter(code=trouve.citycode).first()
            r.origine = Origine(trouve.label or r.q, trouve.latitude, trouve.longitude, commune)
            r.adresse_trouvee = True
            return
    if r.q:
        r.territoires = territoires_nommes(r.q)
        communes = trouver_communes(r.q)
        if not communes:
            if r.territoires:
                r.erreur = _PAS_UNE_COMMUNE.format(texte=r.q)
                return
            r.erreur = (
                f"Aucune commune ne correspond à « {r.q} ». Vérifiez l’orthographe, ou saisissez "
                "un code postal (par exemple 34200)."
            )
            return
        commune = communes[0]
        from mednum.territoires.search import is_code
        from mednum.territoires.text import normalise

        key = normalise(r.q)
        nom_exact = normalise(commune.nom) == key
        # (A département named by its code, « 34 », is also the beginning of postal codes: kept as such.)
        if r.territoires and not nom_exact and not is_code(key):
            # « Nord », « Gironde »: the département, not Nordhouse or Gironde-sur-Dropt, which only
            # contain the word; those are offered, the search waits for a commune.
            r.erreur = _PAS_UNE_COMMUNE.format(texte=r.q)
            r.autres_communes = communes[:5]
            return
        # « Vous cherchiez peut-être » only when the choice is uncertain: several communes of that very
        # name (Saint-Denis…), bigger communes whose name starts with it (« Aix » is a village of the
        # Corrèze; Aix-en-Provence and Aix-les-Bains are what most people mean), or none of exactly
        # that name.
        if nom_exact:
            r.autres_communes = [c for c in communes[1:]
                                 if normalise(c.nom) == key or (c.population or 0) > (commune.population or 0)]
        else:
            r.autres_communes = communes[1:]
        r.commune_code = commune.code
        typed = _POSTAL_CODE.search(r.q)
        r.origine = Origine(commune_libelle(commune, typed.group(1) if typed else ""), commune.latitude,
                            commune.longitude, commune)
        r.adresse_non_localisee = adresse and commune.latitude is not None  # else: « position inconnue »
        return
    if r.lat is not None and r.lon is not None:
        r.origine = Origine("votre position", r.lat, r.lon)


def _partir_de(r: Recherche, arrondissement: Arrondissement) -> None:
    """The search starts from a municipal arrondissement (its point), within its commune."""
    commune = Commune.objects.select_related("departement").filter(code=arrondissement.commune).first()
    r.commune_code = arrondissement.code
    r.origine = Origine(arrondissement.libelle, arrondissement.latitude, arrondissement.longitude, commune,
                        arrondissement)


# --- The search's answer ---------------------------------------------------------------------------


class LieuResume:
    """A lieu of the results (a record of `search_lieux`) read like a `Lieu` by the templates."""

    def __init__(self, record):
        self.record = record
        self.pk = self.id = record["id"]
        self.slug = record.get("slug") or ""
        self.nom = record.get("nom") or ""
        self.adresse = record.get("adresse") or ""
        self.complement_adresse = record.get("complement_adresse") or ""
        self.code_postal = record.get("code_postal") or ""
        self.commune_nom = record.get("commune") or ""
        self.code_insee = record.get("code_insee") or ""
        self.latitude = record.get("latitude")
        self.longitude = record.get("longitude")
        self.services = record.get("services") or []
        self.est_demo = bool(record.get("est_demo"))


@dataclass
class Resultat:
    lieu: Lieu | LieuResume
    distance_m: float | None = None
    ouverture: str = ""  # « Ouvert · ferme à 18:00 »
    ouvert: bool | None = None


@dataclass
class PageResultats:
    resultats: list[Resultat]
    total: int
    page: int
    pages: int
    rayon_suggere_km: int | None = None
    lieux_sans_filtre_horaires: bool = False  # nothing open, but lieux here without the hours filters
    total_plafonne: bool = False  # more lieux than a search lists: `total` says « plus de »

    @property
    def has_previous(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def premier_rang(self):
        return (self.page - 1) * PAR_PAGE + 1


def chercher(r: Recherche, par_page: int = PAR_PAGE) -> PageResultats:
    """Run `search_lieux` for the resolved search; a bad page number falls back to the first page."""
    from mednum.lieux import search

    params: dict = {
        "page": str(r.page),
        "taille": str(par_page),
        "rayon_km": str(r.rayon_km),
        "ouvert_maintenant": "true" if r.ouvert_maintenant else "false",
        "ouvert_week_end": "true" if r.ouvert_week_end else "false",
        **r.filtres,
    }
    origine = r.origine
    if origine is not None and origine.latitude is not None and origine.longitude is not None:
        params["lat"], params["lon"] = repr(origine.latitude), repr(origine.longitude)
    elif origine is not None and origine.commune is not None:
        params["commune"] = origine.code
    try:
        answer = search.search_lieux(params)
    except search.PageHorsLimites:
        r.page = params["page"] = 1
        params["page"] = "1"
        answer = search.search_lieux(params)
    resultats = []
    for record in answer.resultats:
        etat = record.get("horaires_etat") or {}
        ouvert = {"ouvert": True, "ferme": False}.get(etat.get("etat"))
        libelle = etat.get("libelle", "") if record.get("horaires") else ""
        distance = record.get("distance_km")
        resultats.append(
            Resultat(
                lieu=LieuResume(record),
                distance_m=distance * 1000 if distance is not None else None,
                ouverture=libelle,
                ouvert=ouvert,
            )
        )
    total = answer.total
    if total is None:  # not counted: at least one more page
        total = (answer.page - 1) * par_page + len(resultats) + (1 if answer.page_suivante else 0)
    pages = max(1, math.ceil(total / par_page))
    if answer.total_plafonne:  # a search lists RESULTATS_MAX lieux at most
        pages = max(answer.page, search.RESULTATS_MAX // par_page)
    return PageResultats(resultats, total, answer.page, pages, answer.rayon_suggere_km,
                         answer.lieux_sans_filtre_horaires, answer.total_plafonne)


def etat_ouverture(lieu, now=None) -> tuple[bool | None, str]:
    """(open now?, « Ouvert · ferme à 18:00 ») from the lieu's hours; (None, "") when not given."""
    if not lieu.horaires:
        return None, ""
    from mednum.lieux import hours

    etat = hours.state_at(lieu.horaires, now, fuseau=hours.fuseau_pour_code_insee(lieu.code_insee))
    return etat.ouvert, etat.libelle


# --- Search page -----------------------------------------------------------------------------------


def groupes_de_filtres(r: Recherche) -> list[dict]:
    enumerations = schema.enumerations()
    groups = []
    for name, legend in FILTER_GROUPS:
        chosen = set(r.filtres.get(name, []))
        labels = VALUE_LABELS.get(name, {})
        options = [
            {
                "valeur": value,
                "libelle": labels.get(value, value),
                "coche": value in chosen,
                "id": f"filtre-{name}-{i}",
            }
            for i, value in enumerate(enumerations.get(name, []))
        ]
        groups.append(
            {
                "nom": name,
                "legende": legend,
                "options": options,
                "nombre_coches": len(chosen),
                "ouvert": bool(chosen) or name == "services",
            }
        )
    return groups


def contexte_recherche(request, r: Recherche, *, action: str) -> dict:
    resolve = r.origine is None and not r.erreur
    if resolve:
        resoudre_origine(r)
    page = None
    if r.origine is not None and r.origine.commune is not None and r.origine.latitude is None:
        r.commune_sans_position = r.origine.commune
    elif r.origine is not None:
        from mednum.lieux.search import ParametresInvalides

        try:
            page = chercher(r)
        except ParametresInvalides as error:
            r.erreur = str(error)
    origine = r.origine
    carte = {
        "api": "/api/v1/carte",
        "filtres": urlencode(r.parametres_filtres()),
        "lat": origine.latitude if origine and origine.latitude is not None else 46.6,
        "lon": origine.longitude if origine and origine.longitude is not None else 2.4,
        "zoom": zoom_pour_rayon(r.rayon_km) if origine and origine.latitude is not None else 4.6,
        # The list's distance, drawn as a circle around its starting point.
        "rayon_km": r.rayon_km if page is not None else None,
        "style_url": settings.MEDNUM_MAP_STYLE_URL,
    }
    rayon_suggere = page.rayon_suggere_km if page else None
    if page and page.total == 0 and not rayon_suggere and not page.lieux_sans_filtre_horaires:
        larger = [k for k in RAYONS_KM if k > r.rayon_km]
        rayon_suggere = larger[0] if larger else None
    sans_filtres = [("rayon", r.rayon_km)]
    if r.adresse_trouvee:
        sans_filtres.insert(0, ("q", r.q))
    elif origine is not None and origine.commune is not None:
        sans_filtres.insert(0, ("commune", origine.code))
    elif origine is not None:
        sans_filtres[:0] = [("lat", f"{origine.latitude:.5f}"), ("lon", f"{origine.longitude:.5f}")]
    return {
        "recherche": r,
        "page": page,
        "url_sans_filtres": action + "?" + urlencode(sans_filtres),
        "groupes": groupes_de_filtres(r),
        "rayons": RAYONS_KM,
        "rayon_suggere_km": rayon_suggere,
        "carte": carte,
        "action": action,
        "pages_liste": pages_a_afficher(page.page, page.pages) if page else [],
    }


def zoom_pour_rayon(km: int) -> float:
    """A zoom level showing about the search circle on a phone screen."""
    return max(5.0, min(14.0, 12.5 - math.log2(max(km, 1))))


def pages_a_afficher(current: int, last: int) -> list[int | None]:
    """Page numbers for the pagination: first, last, and two around the current one; None = « … »."""
    wanted = {1, last, current - 1, current, current + 1}
    shown: list[int | None] = []
    previous = 0
    for number in sorted(n for n in wanted if 1 <= n <= last):
        if number - previous > 1:
            shown.append(None)
        shown.append(number)
        previous = number
    return shown


@require_safe
def recherche(request):
    r = lire_recherche(request.GET)
    context = contexte_recherche(request, r, action=reverse("lieux:recherche"))
    context["vue"] = "carte" if request.GET.get("vue") == "carte" else "liste"
    context["fil_ariane"] = [("Accueil", reverse("site:home")), ("Trouver un lieu", "")]
    return render(request, "lieux/recherche.html", context)


# --- Widget ----------------------------------------------------------------------------------------


@require_safe
@xframe_options_exempt
def widget(request):
    """The search without the site's header and footer, for partners' pages (in an iframe)."""
    r = lire_recherche(request.GET)
    departement = (request.GET.get("departement") or "").strip().upper()
    if not r.commune_code and not r.q and departement:
        commune = _chef_lieu(departement)
        if commune is not None:
            r.commune_code = commune.code
            if "rayon" not in request.GET:
                r.rayon_km = 50  # a whole département: wider than around one commune
    context = contexte_recherche(request, r, action=reverse("widget:recherche"))
    context["departement"] = departement
    return render(request, "lieux/widget.html", context)


def _chef_lieu(code: str) -> Commune | None:
    from mednum.territoires.models import Departement

    dep = Departement.objects.filter(code=code).first()
    if dep is None:
        return None
    commune = Commune.objects.filter(code=dep.chef_lieu).first() if dep.chef_lieu else None
    return commune or Commune.objects.filter(departement=dep).order_by("-population").first()


@require_safe
def widget_integrer(request):
    example = request.GET.get("commune") or "34301"
    if not _INSEE.match(example):
        example = "34301"
    path = reverse("widget:recherche") + "?" + urlencode({"commune": example})
    return render(
        request,
        "lieux/widget_integrer.html",
        {
            "url_exemple": request.build_absolute_uri(path),
            "url_apercu": path,
            "commune_exemple": example,
            "fil_ariane": [("Accueil", reverse("site:home")), ("Intégrer la recherche sur votre site", "")],
        },
    )


# --- A lieu's page ---------------------------------------------------------------------------------

_REF = re.compile(r"^(?:(?P<slug>[-a-z0-9_]*)-)?(?P<pk>\d+)$")


def lieu_depuis_ref(ref: str) -> Lieu:
    from mednum.lieux.search import identifiant_possible

    match = _REF.match(ref)
    if not match or not identifiant_possible(match["pk"]):
        raise Http404("Adresse de lieu inconnue")
    return get_object_or_404(Lieu.objects.select_related("commune__departement__region", "fusionne_dans"), pk=int(match["pk"]))


def survivant(lieu: Lieu) -> Lieu:
    """The lieu that now holds a merged duplicate's sources (merges may chain)."""
    seen = {lieu.pk}
    while lieu.fusionne_dans_id and lieu.fusionne_dans_id not in seen:
        seen.add(lieu.fusionne_dans_id)
        lieu = Lieu.objects.select_related("commune__departement__region", "fusionne_dans").get(pk=lieu.fusionne_dans_id)
    return lieu


def _lieu_ou_redirection(ref: str, suffix: str = ""):
    lieu = lieu_depuis_ref(ref)
    target = survivant(lieu)
    canonical = lieu_path(target)
    if target.pk != lieu.pk or ref != canonical.strip("/").rsplit("/", 1)[-1]:
        return None, HttpResponsePermanentRedirect(canonical + suffix)
    return lieu, None


@require_safe
def detail(request, ref: str):
    lieu, redirect = _lieu_ou_redirection(ref)
    if redirect:
        if request.GET:
            redirect["Location"] += "?" + request.GET.urlencode()
        return redirect
    fiche = Fiche(lieu, request=request)
    return render(
        request,
        "lieux/detail.html",
        {
            "lieu": lieu,
            "fiche": fiche,
            "lieu_ref": ref,
            "fil_ariane": fil_ariane_lieu(lieu),
        },
    )


def fil_ariane_lieu(lieu: Lieu) -> list[tuple[str, str]]:
    liens = [("Accueil", reverse("site:home")), ("Trouver un lieu", reverse("lieux:recherche"))]
    commune = lieu.commune
    if commune is not None:
        liens.append(
            (f"Lieux près de {commune.nom}", reverse("lieux:recherche") + "?" + urlencode({"commune": commune.code}))
        )
    liens.append((lieu.nom, ""))
    return liens


@require_safe
def signaler(request, ref: str):
    lieu, redirect = _lieu_ou_redirection(ref, "signaler/")
    if redirect:
        return redirect
    return render(
        request,
        "lieux/signaler.html",
        {"lieu": lieu, "lieu_ref": ref, "fil_ariane": fil_ariane_lieu(lieu)[:-1] + [(lieu.nom, lieu_path(lieu)), ("Signaler une erreur", "")]},
    )


# Fields counted in « Fiche complète à 80 % », with what to tell the lieu's managers when empty.
CHAMPS_UTILES: tuple[tuple[str, str], ...] = (
    ("adresse", "l’adresse"),
    ("position", "la position sur la carte (latitude et longitude)"),
    ("typologie", "le type de structure"),
    ("telephone", "le numéro de téléphone"),
    ("courriels", "l’adresse électronique"),
    ("site_web", "le site internet"),
    ("horaires", "les horaires d’ouverture"),
    ("presentation_resume", "la présentation en quelques mots"),
    ("presentation_detail", "la présentation détaillée"),
    ("services", "les services proposés"),
    ("publics_specifiquement_adresses", "les publics accueillis en particulier"),
    ("prise_en_charge_specifique", "les prises en charge spécifiques"),
    ("frais_a_charge", "les frais à la charge des personnes"),
    ("modalites_acces", "les façons d’y accéder (sur place, rendez-vous…)"),
    ("modalites_accompagnement", "les façons d’être accompagné"),
    ("fiche_acces_libre", "la fiche d’accessibilité Accès libre"),
    ("prise_rdv", "le lien de prise de rendez-vous"),
    ("pivot", "le SIRET ou le RNA de la structure"),
)

ACCES_LIBELLES = {
    "Se présenter": "Se présenter sur place",
    "Téléphoner": "Téléphoner",
    "Contacter par mail": "Écrire un courriel",
    "Prendre un RDV en ligne": "Prendre un rendez-vous en ligne",
    "Ce lieu n'accueille pas de public": "Ce lieu n’accueille pas de public",
    "Envoyer un mail avec une fiche de prescription": "Envoyer un courriel avec une fiche de prescription (orientation par un professionnel)",
}


class Fiche:
    """Everything a lieu's page shows, in words for people."""

    def __init__(self, lieu: Lieu, request=None, today: datetime.date | None = None):
        self.lieu = lieu
        self.request = request
        self.today = today or timezone.localdate()

    # Identity -------------------------------------------------------------------------------------
    @property
    def typologies(self) -> list[str]:
        labels = schema.typologies()
        return [labels.get(code, code) for code in schema.split(self.lieu.typologie)]

    @property
    def commune_affichee(self) -> str:
        return f"{self.lieu.code_postal} {self.lieu.commune_nom}".strip()

    @property
    def position_approximative(self) -> bool:
        return self.lieu.position_precision in (PositionPrecision.ADRESSE, PositionPrecision.COMMUNE)

    @property
    def a_position(self) -> bool:
        return self.lieu.latitude is not None and self.lieu.longitude is not None

    @property
    def carte_svg(self) -> dict | None:
        if not self.a_position:
            return None
        code = self.lieu.commune.departement_id if self.lieu.commune else _departement_du_code_postal(self.lieu.code_postal)
        return carte_statique(code, self.lieu.latitude, self.lieu.longitude)

    # Contacts -------------------------------------------------------------------------------------
    @property
    def telephone(self) -> dict | None:
        href = telephone_href(self.lieu.telephone)
        return {"texte": self.lieu.telephone, "href": "tel:" + href} if href else None

    @property
    def courriels(self) -> list[str]:
        return schema.split(self.lieu.courriels)

    @property
    def sites(self) -> list[str]:
        return [url for url in schema.split(self.lieu.site_web) if lien_web(url)]

    # Lists ----------------------------------------------------------------------------------------
    def valeurs(self, field_name: str) -> list[str]:
        return schema.split(getattr(self.lieu, field_name))

    @property
    def services(self):
        return self.valeurs("services")

    @property
    def publics(self):
        return self.valeurs("publics_specifiquement_adresses")

    @property
    def prises_en_charge(self):
        return self.valeurs("prise_en_charge_specifique")

    @property
    def frais(self):
        return self.valeurs("frais_a_charge")

    @property
    def accompagnement(self):
        return self.valeurs("modalites_accompagnement")

    @property
    def dispositifs(self):
        return self.valeurs("dispositif_programmes_nationaux")

    @property
    def formations(self):
        return self.valeurs("formations_labels") + self.valeurs("autres_formations_labels")

    @property
    def itinerant(self) -> bool:
        return "Itinérant" in self.valeurs("itinerance")

    @property
    def acces(self) -> list[dict]:
        """How to reach the place: one line per « modalité d'accès », with its link when there is one."""
        lines = []
        for value in self.valeurs("modalites_acces"):
            line = {"texte": ACCES_LIBELLES.get(value, value), "href": "", "lien": ""}
            if value == "Prendre un RDV en ligne" and lien_web(self.lieu.prise_rdv):
                line.update(href=lien_web(self.lieu.prise_rdv), lien="Prendre rendez-vous en ligne")
            elif value == "Téléphoner" and self.telephone:
                line.update(href=self.telephone["href"], lien=telephone_lisible(self.lieu.telephone))
            elif value in ("Contacter par mail", "Envoyer un mail avec une fiche de prescription") and self.courriels:
                line.update(href="mailto:" + self.courriels[0], lien=self.courriels[0])
            lines.append(line)
        return lines

    @property
    def rdv(self) -> str:
        return lien_web(self.lieu.prise_rdv)

    @property
    def acces_libre(self) -> str:
        return lien_web(self.lieu.fiche_acces_libre)

    # Hours ----------------------------------------------------------------------------------------
    @property
    def horaires(self):
        """The hours as `mednum.lieux.hours` reads them (None when there are none)."""
        if not self.lieu.horaires:
            return None
        if not hasattr(self, "_horaires"):
            self._horaires = lire_horaires(self.lieu)
        return self._horaires

    # Freshness and sources ------------------------------------------------------------------------
    @property
    def ancienne(self) -> bool:
        return (self.today - self.lieu.date_maj).days > 365

    @property
    def sources(self) -> list[dict]:
        rows = []
        for record in sorted(self.lieu.source_records.all(), key=lambda rec: (rec.source, rec.source_id)):
            rows.append({"source": record.source, "date_maj": record.date_maj})
        return rows

    # Completeness ---------------------------------------------------------------------------------
    @property
    def manquants(self) -> list[str]:
        missing = []
        for name, label in CHAMPS_UTILES:
            if name == "position":
                filled = self.a_position
            else:
                filled = bool((getattr(self.lieu, name) or "").strip())
            if not filled:
                missing.append(label)
        return missing

    @property
    def completude(self) -> int:
        return int(round(100 * (len(CHAMPS_UTILES) - len(self.manquants)) / len(CHAMPS_UTILES)))

    @property
    def peut_modifier(self) -> bool:
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        try:
            from mednum.accounts.permissions import can

            return bool(can(user, "lieu.change", self.lieu))
        except Exception:  # the permission model is optional for this page
            return bool(user.is_staff)

    # Sharing --------------------------------------------------------------------------------------
    @property
    def url_absolue(self) -> str:
        path = lieu_path(self.lieu)
        if self.request is not None:
            return self.request.build_absolute_uri(path)
        return settings.SITE_URL + path

    @property
    def mailto_partage(self) -> str:
        subject = f"{self.lieu.nom} — lieu de médiation numérique"
        body = f"{self.lieu.nom}\n{self.lieu.adresse}, {self.commune_affichee}\n\n{self.url_absolue}"
        return "mailto:?" + urlencode({"subject": subject, "body": body}, quote_via=_quote)

    @property
    def json_ld(self) -> dict:
        lieu = self.lieu
        data = {
            "@context": "https://schema.org",
            "@type": "LocalBusiness",
            "@id": self.url_absolue,
            "name": lieu.nom,
            "url": self.url_absolue,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": ", ".join(p for p in (lieu.adresse, lieu.complement_adresse) if p),
                "postalCode": lieu.code_postal,
                "addressLocality": lieu.commune_nom,
                "addressCountry": "FR",
            },
        }
        if self.a_position:
            data["geo"] = {"@type": "GeoCoordinates", "latitude": lieu.latitude, "longitude": lieu.longitude}
        from mednum.lieux import hours

        if lieu.horaires and hours.est_valide(lieu.horaires):  # unreadable hours stay off search engines
            data["openingHours"] = lieu.horaires
        if lieu.telephone:
            data["telephone"] = lieu.telephone
        if self.courriels:
            data["email"] = self.courriels[0]
        if self.sites:
            data["sameAs"] = [lien_web(url) for url in self.sites]
        if lieu.presentation_resume:
            data["description"] = lieu.presentation_resume
        if self.services:
            data["knowsAbout"] = self.services
        return data


def _quote(text, safe="", encoding=None, errors=None):
    from urllib.parse import quote

    return quote(text, safe=safe, encoding=encoding or "utf-8", errors=errors or "strict")


def _departement_du_code_postal(code_postal: str) -> str:
    code_postal = code_postal or ""
    if code_postal.startswith("97"):
        return code_postal[:3]
    if code_postal.startswith("20"):
        return "2A" if code_postal < "20200" else "2B"
    return code_postal[:2]


def lire_horaires(lieu: Lieu, now=None) -> dict:
    """The hours for the page: open-now label and the week, or the string as given when unreadable."""
    from mednum.lieux import hours

    fuseau = hours.fuseau_pour_code_insee(lieu.code_insee)
    etat = hours.state_at(lieu.horaires, now, fuseau=fuseau)
    week = hours.semaine(lieu.horaires, now, fuseau=fuseau)
    valide = etat.valide and week.valide
    return {
        "valide": valide,
        "brut": lieu.horaires,
        "libelle": etat.libelle if valide else "",
        "ouvert": etat.ouvert,
        "semaine": week.jours,  # hours.JourHoraires: the page lays out `plages`, `remarque`, `libelle`
        "remarque": week.message if valide else "",
    }


# --- Small static map (SVG) of a lieu's département, drawn on the server ----------------------------


@cache
def _contours_departements() -> dict[str, list]:
    path = finders.find("territoires/departements.geojson")
    if not path:
        return {}
    data = json.loads(open(path, encoding="utf-8").read())
    shapes = {}
    for feature in data.get("features", []):
        geometry = feature.get("geometry") or {}
        polygons = geometry.get("coordinates") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        shapes[str(feature.get("properties", {}).get("code"))] = polygons
    return shapes


def carte_statique(departement: str, lat: float, lon: float, width: int = 240) -> dict | None:
    """The lieu's département outline and a dot at the lieu, as an SVG path and a circle.

    Drawn on the server from the outlines shipped with the site: nothing to download, and it prints.
    """
    polygons = _contours_departements().get(departement)
    if not polygons:
        return None
    rings = [ring for polygon in polygons for ring in polygon[:1]]  # outer rings only
    points = [pt for ring in rings for pt in ring]
    min_lon = min(min(p[0] for p in points), lon)
    max_lon = max(max(p[0] for p in points), lon)
    min_lat = min(min(p[1] for p in points), lat)
    max_lat = max(max(p[1] for p in points), lat)
    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    span = max((max_lon - min_lon) * kx, max_lat - min_lat) or 1.0
    scale = (width - 20) / span
    height = int((max_lat - min_lat) * scale) + 20
    real_width = int((max_lon - min_lon) * kx * scale) + 20

    def xy(p):
        return (10 + (p[0] - min_lon) * kx * scale, 10 + (max_lat - p[1]) * scale)

    parts = []
    for ring in rings:
        step = max(1, len(ring) // 400)
        coords = [xy(p) for p in ring[::step]]
        parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in coords) + "Z")
    x, y = xy((lon, lat))
    return {"width": real_width, "height": height, "path": " ".join(parts), "x": f"{x:.1f}", "y": f"{y:.1f}"}
