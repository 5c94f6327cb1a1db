"""URLs for the 500 test: the site's URLs plus one view that fails."""

from django.urls import path

from mednum.urls import handler404, handler500, urlpatterns as site_urlpatterns  # noqa: F401


def broken(request):
    raise RuntimeError("panne simulée")


urlpatterns = [path("panne/", broken), *site_urlpatterns]
