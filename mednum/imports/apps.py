from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "mednum.imports"
    label = "imports"
    verbose_name = "Imports"
