"""Public pages of territories, mounted under /territoires/."""

from django.urls import path

from mednum.territoires import views_pages

app_name = "territoires_pages"

urlpatterns = [
    path("", views_pages.index, name="index"),
    path("regions/<slug:slug>/", views_pages.region, name="region"),
    path("departements/<slug:slug>/", views_pages.departement, name="departement"),
    path("communes/<slug:slug>/", views_pages.commune, name="commune"),
]
