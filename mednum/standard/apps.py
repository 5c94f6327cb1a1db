from django.apps import AppConfig


class StandardConfig(AppConfig):
    name = "mednum.standard"
    label = "standard"
    verbose_name = "Standard national"
