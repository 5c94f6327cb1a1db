from django.contrib import admin
from django.urls import include, path

from mednum.api import api

admin.site.site_header = "Administration de mednum"
admin.site.site_title = "mednum"
admin.site.index_title = "Gestion de la plateforme"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("compte/", include("mednum.accounts.urls")),
    path("gestion/", include("mednum.imports.urls")),
    path("donnees/", include("mednum.lieux.urls_donnees")),
    path("lieux/", include("mednum.lieux.urls")),
    path("territoires/", include("mednum.territoires.urls_pages")),
    path("widget", include("mednum.lieux.urls_widget")),
    path("", include("mednum.site.urls")),
]

handler400 = "mednum.site.views.bad_request"
handler403 = "mednum.site.views.permission_denied"
handler404 = "mednum.site.views.page_not_found"
handler500 = "mednum.site.views.server_error"
