"""Public pages of the site. Views stay thin: the commune search lives in `territoires.search`."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse

from mednum.lieux.views import adresse_a_geocoder, territoires_nommes, trouver_communes
from mednum.territoires import arrondissements, search
from mednum.territoires.models import Commune

# How many communes the page without JavaScript lists at most.
RESULTS_LIMIT = 20


def home(request):
    """Home page with the commune search; `?q=…` (the form without JavaScript) lists the communes."""
    context = {"skiplink_search": "commune-champ", "results_limit": RESULTS_LIMIT}
    if "q" in request.GET:
        query = request.GET["q"].replace("\x00", "")
        context.update(searched=True, query=query[: search.MAX_LENGTH], communes=[])
        try:
            key = search.clean_query(query)
        except search.RechercheInvalide as error:
            context["error"] = str(error)
        else:
            if not key:
                context["error"] = "Saisissez le nom d’une commune ou son code postal."
            elif not search.is_searchable(key):
                context["error"] = "Saisissez au moins 2 lettres du nom de la commune, ou son code postal."
            elif (settings.MEDNUM_GEOCODER_URL and adresse_a_geocoder(query)) or arrondissements.depuis_texte(query):
                # An address (placed by the geocoder) or an arrondissement of Paris, Lyon or Marseille
                # (« Paris 15e », « 13016 »): the lieux search starts from that very point.
                return redirect(f"{reverse('lieux:recherche')}?{urlencode({'q': query})}")
            else:
                # The communes, as the lieux search reads the text (« Sète 75 », « 34 200 »); a
                # département or région named (« Hérault ») has its own page of lieux.
                context["communes"] = trouver_communes(query, limit=RESULTS_LIMIT)
                context["territoires"] = territoires_nommes(query)
    return render(request, "site/home.html", context)


def commune_choisie(request, code):
    """The commune (or municipal arrondissement) picked in the home search: on to the lieux near it,
    nearest first."""
    arrondissement = arrondissements.par_code(code)
    if arrondissement is None:
        code = get_object_or_404(Commune.objects.only("code"), code=code.upper()).code
    return redirect(f"{reverse('lieux:recherche')}?{urlencode({'commune': code})}")


def accessibilite(request):
    """The accessibility statement (RGAA): what is checked, what is known not to be accessible, recourse."""
    return render(request, "site/accessibilite.html", {"site_url": settings.SITE_URL})


def page_en_preparation(request, title):
    """Footer pages whose text is still being written (accessibility statement, legal notices…)."""
    return render(request, "site/page_en_preparation.html", {"title": title})


def _api(request) -> bool:
    """A request to the public API: its errors are JSON (`{"detail": …}`, as the API's own), not pages."""
    return request.path.startswith("/api/")


def page_not_found(request, exception=None):
    if _api(request):
        return JsonResponse(
            {"detail": "Adresse inconnue de l'API : ses adresses sont décrites dans /api/v1/openapi.json."},
            status=404,
        )
    return render(request, "404.html", status=404)


def bad_request(request, exception=None):
    """The 400 page. The exception's text is Django's, technical and in English (« Invalid HTTP_HOST
    header… », « too many fields »): not shown."""
    if _api(request):
        return JsonResponse(
            {"detail": "Requête refusée : paramètres trop nombreux ou illisibles, ou en-têtes invalides."},
            status=400,
        )
    return render(request, "400.html", status=400)


def permission_denied(request, exception=None):
    """The 403 page, with the reason given by mednum's code (« Vous n'avez pas le droit d'importer des
    lieux. »); Django's own refusals carry none."""
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def csrf_failure(request, reason=""):
    """A form sent without its security token, or with an expired one (Django's page is in English)."""
    message = (
        "Le formulaire n’a pas pu être envoyé : la page était ouverte depuis trop longtemps, ou les cookies "
        "sont bloqués par le navigateur. Rechargez la page, puis envoyez le formulaire à nouveau."
    )
    return render(request, "403.html", {"message": message}, status=403)



_LAST_RESORT_500 = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Erreur inattendue</title></head>'
    "<body><main><h1>Erreur inattendue</h1><p>Désolé, le service rencontre un problème. "
    "Essayez de recharger la page dans quelques minutes.</p></main></body></html>"
)


def server_error(request):
    """The 500 page. Rendered without the request (so no context processor, session or database);
    if even that fails (static files manifest missing…), a page built into the code."""
    try:
        html = loader.get_template("500.html").render(
            {
                "MEDNUM_STATE_BRAND": getattr(settings, "MEDNUM_STATE_BRAND", False),
                "MEDNUM_SITE_NAME": getattr(settings, "MEDNUM_SITE_NAME", ""),
            }
        )
    except Exception:  # noqa: BLE001 — this page must always answer
        html = _LAST_RESORT_500
    return HttpResponseServerError(html)
