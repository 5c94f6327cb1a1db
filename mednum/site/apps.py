from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "mednum.site"
    label = "site"
    verbose_name = "Site"
