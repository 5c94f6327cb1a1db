"""Public pages of lieux: the search (list and map), each lieu's page, the widget for partners."""

from django.urls import path

from mednum.lieux import views

app_name = "lieux"

urlpatterns = [
    path("", views.recherche, name="recherche"),
    path("<str:ref>/", views.detail, name="detail"),
    path("<str:ref>/signaler/", views.signaler, name="signaler"),
]
