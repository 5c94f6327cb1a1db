"""Request hygiene shared by every page and endpoint."""

from django.http import Http404, JsonResponse, QueryDict


class StripNulFromQueryMiddleware:
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
                return JsonResponse({"detail": "Adresse introuvable."}, status=404)
            raise Http404("Adresse introuvable")
        if "%00" in request.META.get("QUERY_STRING", ""):
            cleaned = QueryDict(mutable=True)
            for key, values in request.GET.lists():
                cleaned.setlist(key.replace("\x00", ""), [value.replace("\x00", "") for value in values])
            cleaned._mutable = False
            request.GET = cleaned
        return self.get_response(request)
