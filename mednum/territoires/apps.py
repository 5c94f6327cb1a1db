from django.apps import AppConfig


class TerritoiresConfig(AppConfig):
    name = "mednum.territoires"
    label = "territoires"
    verbose_name = "Territoires"
