"""Template helpers for the public pages of lieux: words for people, never field names or codes.

    {% load lieux_tags %}
    {{ resultat.distance_m|distance }}          → « à 1,2 km »
    {{ lieu.telephone|telephone }}              → « 04 67 00 00 00 »
    {{ lieu.presentation_detail|texte_lieu }}   → text without HTML, line breaks kept
    {% url_lieu lieu %}                         → /lieux/espace-numerique-42/
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode, urlsplit

import nh3
from django import template
from django.urls import reverse
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe

from mednum.site import csp
from mednum.standard import schema

register = template.Library()


@register.simple_tag
def script_en_ligne(nom: str):
    """An inline script of the site (mednum.site.csp.SCRIPTS_EN_LIGNE, allowed by its hash)."""
    return mark_safe(f"<script>{csp.SCRIPTS_EN_LIGNE[nom]}</script>")


# --- Addresses of pages ----------------------------------------------------------------------------


def lieu_path(lieu) -> str:
    """Canonical address of a lieu's page: « <slug>-<id> », or the id alone when it has no slug."""
    pk = lieu.pk if hasattr(lieu, "pk") else lieu.get("id")
    slug = getattr(lieu, "slug", None) if not isinstance(lieu, dict) else lieu.get("slug")
    ref = f"{slug}-{pk}" if slug else str(pk)
    return reverse("lieux:detail", args=[ref])


@register.simple_tag
def url_lieu(lieu) -> str:
    return lieu_path(lieu)


@register.simple_tag(takes_context=True)
def url_avec(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" removes them), page reset.

    Used for « élargir la recherche à 20 km », the pagination and the list/map switch: every state
    of the search lives in the address, so that it can be shared and the back button works.
    """
    request = context["request"]
    query = request.GET.copy()
    if "page" not in changes:
        query.pop("page", None)
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


# --- Numbers and words -----------------------------------------------------------------------------


def _decimal(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


@register.filter
def distance(metres) -> str:
    """« à 350 m », « à 1,2 km », « à 12 km »."""
    if metres is None or metres == "":
        return ""
    metres = float(metres)
    if metres < 1000:
        return f"à {max(10, int(round(metres / 10.0)) * 10)} m"
    km = metres / 1000.0
    if km < 10:
        return f"à {_decimal(km)} km"
    return f"à {int(round(km))} km"



@register.filter
def nombre(value) -> str:
    """Thousands separated by a narrow no-break space, as French typography wants (18 000)."""
    try:
        return f"{int(value):,}".replace(",", "\u202f")
    except (TypeError, ValueError):
        return ""



_PHONE_DIGITS = re.compile(r"\D+")


def telephone_href(raw: str) -> str:
    """`tel:` target: digits with the international prefix when given (« +33467000000 »)."""
    raw = (raw or "").strip()
    digits = _PHONE_DIGITS.sub("", raw)
    if not digits:
        return ""
    return ("+" + digits) if raw.startswith("+") else digits


@register.filter
def telephone(raw: str) -> str:
    """French numbers in pairs (« 04 67 00 00 00 »); anything else as given."""
    href = telephone_href(raw)
    national = None
    if href.startswith("+33") and len(href) == 12:
        national = "0" + href[3:]
    elif len(href) == 10 and href.startswith("0"):
        national = href
    if national:
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return (raw or "").strip()



@register.filter
def liste(value) -> list[str]:
    """A standard `|`-joined field as a list of values."""
    if isinstance(value, (list, tuple)):
        return list(value)
    return schema.split(value)


@register.filter
def typologies(value) -> list[str]:
    """Typology codes (« TIERS_LIEUX|ASSO ») → their labels; an unknown code is shown as given."""
    labels = schema.typologies()
    return [labels.get(code, code) for code in liste(value)]


@register.filter
def site_affiche(url: str) -> str:
    """A web address as people read it: « www.exemple.fr/atelier »."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url if "//" in url else f"https://{url}")
    except ValueError:  # a host Python cannot read (stored before the import checked it): shown as given
        return url
    text = (parts.netloc + parts.path).rstrip("/")
    return text or url


@register.filter
def lien_web(url: str) -> str:
    """An `href` for a web address that may lack its scheme; only http(s) addresses are linked."""
    url = (url or "").strip()
    if not url:
        return ""
    if "://" not in url:
        url = "https://" + url
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # a host Python cannot read: no link, the address is still shown as text
        return ""
    return url if scheme in ("http", "https") else ""


@register.filter
def texte_lieu(value: str):
    """Free text from a source: every HTML tag removed (nh3), line breaks kept as paragraphs."""
    if not value:
        return ""
    cleaned = nh3.clean(str(value), tags=set())  # tags dropped, text escaped
    return mark_safe(linebreaks(cleaned.strip(), autoescape=False))


@register.filter
def itineraire(lieu) -> str:
    """A plain OpenStreetMap route link to the lieu (nothing is fetched when the page is drawn)."""
    lat, lon = _coordinates(lieu)
    if lat is None:
        query = " ".join(p for p in (_get(lieu, "adresse"), _get(lieu, "code_postal"), _get(lieu, "commune_nom")) if p)
        return "https://www.openstreetmap.org/search?" + urlencode({"query": query})
    return "https://www.openstreetmap.org/directions?" + urlencode({"route": f";{lat:.5f},{lon:.5f}"})


@register.filter
def osm(lieu) -> str:
    """The lieu on openstreetmap.org (a plain link)."""
    lat, lon = _coordinates(lieu)
    if lat is None:
        return ""
    return f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}"



@register.filter
def coordonnees(lieu) -> str:
    """« 43,40280° N, 3,69280° E »."""
    lat, lon = _coordinates(lieu)
    if lat is None:
        return ""
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "O"
    return f"{_decimal(abs(lat), 5)}° {ns}, {_decimal(abs(lon), 5)}° {ew}"


def _get(obj, name):
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _coordinates(lieu):
    lat, lon = _get(lieu, "latitude"), _get(lieu, "longitude")
    if lat is None or lon is None:
        return None, None
    return float(lat), float(lon)


@register.filter
def json_ld(data) -> str:
    """JSON for a `<script type="application/ld+json">`, safe inside HTML (no `</script>` possible)."""
    text = json.dumps(data, ensure_ascii=False, indent=None, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)



_VOYELLES = set("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜaeiouyàâäéèêëîïôöùûü")


@register.filter
def de(nom) -> str:
    """« de » before a place, as French writes it: « d’Aurillac », « du Havre », « des Abymes »,
    « de Sète » (names starting with an H are left with « de »: aspirated or not, no rule tells)."""
    nom = str(nom or "")
    if nom.startswith("Le "):
        return "du " + nom[3:]
    if nom.startswith("Les "):
        return "des " + nom[4:]
    if nom[:1] in _VOYELLES:
        return "d’" + nom
    return "de " + nom
