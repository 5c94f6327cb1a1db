from django.urls import path, re_path

from mednum.site import views

app_name = "site"

urlpatterns = [
    path("", views.home, name="home"),
    # INSEE code: 5 characters, "2A"/"2B" for Corsica.
    re_path(r"^commune/(?P<code>[0-9][0-9ABab][0-9]{3})/$", views.commune_choisie, name="commune_choisie"),
    path("accessibilite/", views.accessibilite, name="accessibilite"),
    path("mentions-legales/", views.page_en_preparation, {"title": "Mentions légales"}, name="mentions_legales"),
    path(
        "donnees-personnelles/",
        views.page_en_preparation,
        {"title": "Données personnelles"},
        name="donnees_personnelles",
    ),
]
