"""The embeddable search (`/widget`) and its documentation page (`/widget/integrer/`).

Mounted in mednum/urls.py as `path("widget", include("mednum.lieux.urls_widget"))`: the routes
below therefore start with the rest of the address after « /widget ».
"""

from django.urls import path, re_path

from mednum.lieux import views

app_name = "widget"

urlpatterns = [
    path("", views.widget, name="recherche"),
    # « [/] » rather than « / »: same address, without Django's warning about routes starting with a slash.
    re_path(r"^[/]integrer/$", views.widget_integrer, name="integrer"),
]
