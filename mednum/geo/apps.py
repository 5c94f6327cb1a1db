from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "mednum.geo"
    label = "geo"
