"""Request hygiene shared by every page and endpoint."""

import logging

from django.db import DataError, OperationalError
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import render

logger = logging.getLogger(__name__)
_UTF8 = {"ensure_ascii": False}  # accents written as such, as in the API's other answers


class NulCharacterMiddleware:
    """Remove NUL characters from the query string's names and values; an address (path) holding one
    is not found (404).

    No form, search or filter means a NUL; PostgreSQL refuses them in text and SQLite cuts strings at
    them. A query string holding one (`%00`) is read as if the character were not there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path_info:  # no address of the site holds one (PostgreSQL refuses it in text)
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": "Adresse introuvable."}, status=404, json_dumps_params=_UTF8)
            raise Http404("Adresse introuvable")
        if "%00" in request.META.get("QUERY_STRING", ""):
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(key.replace("\x00", ""), [value.replace("\x00", "") for value in values])
            cleaned._mutable = False
            request.GET = cleaned
        return self.get_response(request)


# SQLite's refusals of what a query made of a hand-edited address asks (not failures of the database).
_SQLITE_INPUT_ERRORS = (
    "Expression tree is too large",
    "LIKE or GLOB pattern too complex",
    "user-defined function raised exception",
    "too many SQL variables",
)


class AdminBadRequestMiddleware:
    """The administration (`/admin/`) reads ids, filters and searches from addresses and forms that a
    person can edit by hand; Django's admin turns some odd values into exceptions (a text where an id is
    expected, a number beyond 64 bits, a broken regular expression in a filter, a search of a thousand
    words). Under `/admin/` only:

    - a search (`q`, or `term` of the autocomplete) keeps its first SEARCH_WORDS words and SEARCH_CHARS
      characters: a longer one made SQLite refuse the query and PostgreSQL search for minutes;
    - such an exception gives the 400 page in French, and is logged with its traceback, instead of a 500.
    """

    SEARCH_WORDS = 10
    SEARCH_CHARS = 200
    PREFIX = "/admin/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(self.PREFIX):
            for name in ("q", "term"):
                value = request.GET.get(name)
                if value and (len(value) > self.SEARCH_CHARS or value.count(" ") >= self.SEARCH_WORDS):
                    query = request.GET.copy()
                    query[name] = " ".join(value.split()[: self.SEARCH_WORDS])[: self.SEARCH_CHARS]
                    query._mutable = False
                    request.GET = query
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path_info.startswith(self.PREFIX):
            return None
        refused = isinstance(exception, (ValueError, OverflowError, DataError)) or (
            isinstance(exception, OperationalError) and any(text in str(exception) for text in _SQLITE_INPUT_ERRORS)
        )
        if not refused:
            return None
        logger.warning("Administration : valeur refusée dans %s %s", request.method, request.path, exc_info=exception)
        message = (
            "Une valeur de la demande ne peut pas être lue : un identifiant, un filtre ou une recherche de "
            "l’adresse ou du formulaire n’a pas la forme attendue."
        )
        return render(request, "400.html", {"message": message}, status=400)


class ApiHeadAsGetMiddleware:
    """`HEAD` on the JSON API (`/api/`) is answered as `GET` (the server sends the headers only): link
    checkers and caches ask with HEAD, and Django Ninja knows only the methods it routes. A method the
    API does not take (POST…) gets its 405 with a French message, like the API's other errors."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith("/api/"):
            return self.get_response(request)
        if request.method == "HEAD":
            request.method = "GET"
            response = self.get_response(request)
            request.method = "HEAD"
            return response
        response = self.get_response(request)
        if response.status_code == 405:
            allowed = response.get("Allow", "GET")
            french = JsonResponse({"detail": f"Méthode {request.method} non acceptée ici : utilisez {allowed}."},
                                  status=405, json_dumps_params=_UTF8)
            french["Allow"] = allowed
            return french
        return response
