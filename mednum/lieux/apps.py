from django.apps import AppConfig


class LieuxConfig(AppConfig):
    name = "mednum.lieux"
    label = "lieux"
