from django.urls import path

from mednum.lieux import views_donnees

app_name = "donnees"

urlpatterns = [
    path("", views_donnees.index, name="index"),
    path("lieux.<str:fmt>", views_donnees.download, name="lieux"),
]
